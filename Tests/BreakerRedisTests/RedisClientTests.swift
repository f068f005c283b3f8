#if Redis
import BreakerRedis
import Foundation
import NIOSSL
import Testing

@Suite("RedisClient against a real redis-server", redisTests)
struct RedisClientTests {
    static func client(_ server: RedisServer, _ change: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: server.url)
        change(&configuration)
        return RedisClient(configuration: configuration)
    }

    @Test func commandsArePipelinedAndAnsweredInOrder() async throws {
        let server = try await RedisServer.start()
        let client = try Self.client(server)
        #expect(try await client.send([.bulk("PING")]) == .simpleString("PONG"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 { group.addTask { _ = try await client.send([.bulk("INCR"), .bulk("counter")]) } }
            try await group.waitForAll()
        }
        #expect(try await client.send([.bulk("GET"), .bulk("counter")]).string == "200")
        let values = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for index in 0..<50 {
                group.addTask { (index, try await client.send([.bulk("ECHO"), .bulk("value \(index)")]).string) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(values.allSatisfy { $0.value == "value \($0.key)" }, "each reply matched to its own command")
    }

    @Test func aTimedOutCommandFailsAloneAndItsLateReplyIsAbsorbed() async throws {
        let server = try await RedisServer.start(["--enable-debug-command", "yes"])
        let client = try Self.client(server) { $0.commandTimeout = .milliseconds(100) }
        // Connected first (on a busy machine the handshake may take longer than this timeout): only the
        // reply is timed below.
        try await eventually("connected") { (try? await client.send([.bulk("PING")])) == .simpleString("PONG") }
        let start = ContinuousClock.now
        let error = await #expect(throws: RedisError.self) { try await client.send([.bulk("DEBUG"), .bulk("SLEEP"), .bulk("1")]) }
        #expect(error?.reason == .timedOut)
        #expect(start.duration(to: .now) < Duration.milliseconds(800).scaled, "answered at the timeout, not when the server woke")
        try await Task.sleep(for: .seconds(1))
        // Each reply belongs to its own command: the late OK is never taken for a later command's reply
        // (retried, since on a busy machine a reply may miss this short timeout).
        var replies: [String?] = []
        try await eventually("the next command answered") {
            replies.append(try? await client.send([.bulk("ECHO"), .bulk("next")]).string)
            return replies.last == "next"
        }
        #expect(!replies.contains("OK"), "not the late OK: \(replies)")
    }

    @Test func aServerErrorIsAnErrorForThatCommandOnly() async throws {
        let server = try await RedisServer.start()
        let client = try Self.client(server)
        _ = try await client.send([.bulk("SET"), .bulk("text"), .bulk("abc")])
        let error = await #expect(throws: RedisError.self) { try await client.send([.bulk("INCR"), .bulk("text")]) }
        #expect(error?.reason == .server && error?.message.contains("not an integer") == true)
        #expect(try await client.send([.bulk("PING")]) == .simpleString("PONG"))
    }

    @Test func whileTheServerIsDownCommandsFailFastThenTheClientReconnects() async throws {
        let server = try await RedisServer.start()
        let client = try Self.client(server) { $0.reconnectDelay = .milliseconds(50); $0.maximumReconnectDelay = .milliseconds(200) }
        #expect(try await client.send([.bulk("PING")]) == .simpleString("PONG"))
        server.stop()
        for _ in 0..<5 {
            let start = ContinuousClock.now
            await #expect(throws: (any Error).self) { try await client.send([.bulk("PING")]) }
            #expect(start.duration(to: .now) < Duration.seconds(1).scaled, "never waits out a dead server")
        }
        try await server.restart()
        try await eventually(within: .seconds(3), "reconnected") { (try? await client.send([.bulk("PING")])) == .simpleString("PONG") }
    }

    @Test func concurrentCallersShareOneConnectionAndACancelledOneLeavesTheOthersTheirs() async throws {
        let server = try await RedisServer.start()
        let probe = try Self.client(server)
        func connectionsReceived() async throws -> Int {
            let stats = try await probe.send([.bulk("INFO"), .bulk("stats")]).string ?? ""
            let line = stats.split(whereSeparator: \.isNewline).first { $0.hasPrefix("total_connections_received:") }
            return Int(line?.split(separator: ":").last ?? "") ?? -1
        }
        let before = try await connectionsReceived()
        let client = try Self.client(server)
        let replies = try await withThrowingTaskGroup(of: RESPValue.self) { group in
            for _ in 0..<50 { group.addTask { try await client.send([.bulk("PING")]) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.count == 50 && replies.allSatisfy { $0 == .simpleString("PONG") })
        #expect(try await connectionsReceived() - before == 1, "one connection for fifty callers")

        // Whichever caller makes the attempt, cancelling it (or a waiter) never fails or strands the others.
        for round in 0..<20 {
            let client = try Self.client(server)
            let callers = (0..<8).map { _ in Task { try await client.send([.bulk("PING")]) } }
            for _ in 0..<(round % 4) { await Task.yield() }
            for (index, caller) in callers.enumerated() where index % 2 == round % 2 { caller.cancel() }
            for (index, caller) in callers.enumerated() where index % 2 != round % 2 {
                #expect(try await caller.value == .simpleString("PONG"), "round \(round), caller \(index)")
            }
        }
    }

    @Test func passwordsAndACLUsersAuthenticate() async throws {
        let server = try await RedisServer.start(["--requirepass", "s3cret"])
        let anonymous = try Self.client(server)
        let refused = await #expect(throws: RedisError.self) { try await anonymous.send([.bulk("GET"), .bulk("x")]) }
        #expect(refused?.message.contains("NOAUTH") == true)
        let withPassword = RedisClient(configuration: try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(server.port)"))
        _ = try await withPassword.send([.bulk("ACL"), .bulk("SETUSER"), .bulk("fleet"), .bulk("on"), .bulk(">fleet-pass"), .bulk("~*"), .bulk("&*"), .bulk("+@all")])
        let user = RedisClient(configuration: try RedisConfiguration(url: "redis://fleet:fleet-pass@127.0.0.1:\(server.port)"))
        #expect(try await user.send([.bulk("ACL"), .bulk("WHOAMI")]).string == "fleet")
        let wrong = RedisClient(configuration: try RedisConfiguration(url: "redis://fleet:wrong@127.0.0.1:\(server.port)"))
        await #expect(throws: RedisError.self) { try await wrong.send([.bulk("PING")]) }
    }

    @Test func tlsWithAThrowawayCertificateAuthority() async throws {
        let certificates = try await ThrowawayCertificates.shared()
        let server = try await RedisServer.start(
            [
                "--tls-cert-file", certificates.serverCertificate, "--tls-key-file", certificates.serverKey,
                "--tls-ca-cert-file", certificates.authority, "--tls-auth-clients", "no",
            ], tlsOnly: true)
        var configuration = try RedisConfiguration(url: "rediss://127.0.0.1:\(server.port)")
        configuration.tls?.trustRoots = .file(certificates.authority)
        configuration.tlsServerName = "localhost"
        let client = RedisClient(configuration: configuration)
        #expect(try await client.send([.bulk("PING")]) == .simpleString("PONG"))
        let plain = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(server.port)"))
        await #expect(throws: (any Error).self) { try await plain.send([.bulk("PING")]) }
        var untrusted = try RedisConfiguration(url: "rediss://127.0.0.1:\(server.port)")
        untrusted.tlsServerName = "localhost"
        await #expect(throws: (any Error).self) { try await RedisClient(configuration: untrusted).send([.bulk("PING")]) }
    }
}

/// A certificate authority and a server certificate for `localhost` and 127.0.0.1, made with `openssl`
/// once per test run (every TLS test can trust the same authority) without holding a thread of the
/// pool while `openssl` works.
struct ThrowawayCertificates: Sendable {
    let directory: URL
    var authority: String { directory.appendingPathComponent("ca.crt").path }
    var serverCertificate: String { directory.appendingPathComponent("server.crt").path }
    var serverKey: String { directory.appendingPathComponent("server.key").path }

    /// The run's certificates, made by the first test that asks.
    static func shared() async throws -> ThrowawayCertificates { try await made.value }

    private static let made = Task { try await ThrowawayCertificates() }

    private init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("breaker-tls-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let extensions = directory.appendingPathComponent("server.ext")
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(to: extensions, atomically: true, encoding: .utf8)
        try await Self.openssl(directory, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=breaker test CA", "-keyout", "ca.key", "-out", "ca.crt"])
        try await Self.openssl(directory, ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"])
        try await Self.openssl(directory, [
            "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "server.ext",
            "-out", "server.crt",
        ])
    }

    private static func openssl(_ directory: URL, _ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        guard process.terminationStatus == 0 else { throw RedisError(.invalidConfiguration, "openssl \(arguments.first ?? "") failed") }
    }
}
#endif
