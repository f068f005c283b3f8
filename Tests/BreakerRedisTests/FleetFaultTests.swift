#if Redis
import Breaker
import BreakerRedis
import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Testing

/// What a fleet does when Redis is not what it should be: refusing the credentials, hung, refusing
/// connections. Calls never notice, the status and the log say why, and shutdown takes under a second.
@Suite("RedisFleet when Redis misbehaves", redisTests)
struct FleetFaultTests {
    struct Boom: Error {}

    /// A fleet with one breaker, its logs in memory, its `run()` in a task of the test's.
    final class Member: Sendable {
        let fleet: RedisFleet
        let breaker: CircuitBreaker
        let logs = InMemoryLogHandler()
        let metrics = TestMetrics()
        let task: Task<Void, any Error>

        init(url: String, commandTimeout: Duration = .seconds(1)) throws {
            var client = try RedisConfiguration(url: url)
            client.reconnectDelay = .milliseconds(20)
            client.maximumReconnectDelay = .milliseconds(100)
            client.commandTimeout = commandTimeout
            client.connectTimeout = .seconds(1)
            var configuration = FleetConfiguration()
            configuration.heartbeatInterval = .milliseconds(100)
            configuration.metricsFactory = metrics
            let handler = logs
            var logger = Logger(label: "fleet-tests") { _ in handler }
            logger.logLevel = .info
            fleet = try RedisFleet(redis: client, configuration: configuration, logger: logger)
            breaker = CircuitBreaker(name: "payments", failMax: 3, resetTimeout: .seconds(30), storage: fleet.storage(named: "payments"))
            let fleet = fleet
            task = Task { try await fleet.run() }
        }

        /// Calls decide locally and at once: 1,000 of them, then a trip on local failures.
        func callsAreUnaffected() throws {
            let start = ContinuousClock.now
            for _ in 0..<1_000 { #expect(try breaker.call { 1 } == 1) }
            #expect(start.duration(to: .now) < Duration.milliseconds(500).scaled, "no call waited on Redis")
            for _ in 0..<3 { _ = try? breaker.call { throw Boom() } }
            #expect(breaker.state == .open, "the breaker still trips on its own")
        }

        /// Cancels `run()` and returns how long it took to return (printed, with `fault`).
        func stop(_ fault: String) async throws -> Duration {
            try await whenTheExecutorIsResponsive()
            let start = ContinuousClock.now
            task.cancel()
            _ = try? await task.value
            let took = start.duration(to: .now)
            print("shutdown with \(fault): \(took)")
            return took
        }

        func entries(_ level: Logger.Level) -> [InMemoryLogHandler.Entry] { logs.entries.filter { $0.level == level } }

        deinit { task.cancel() }
    }

    @Test(arguments: ["redis://:wrong@127.0.0.1:PORT", "redis://nobody:wrong@127.0.0.1:PORT", "redis://127.0.0.1:PORT/2"])
    func refusedCredentialsDegradeLoudlyOnceAndShutdownStaysQuick(_ template: String) async throws {
        let server = try await RedisServer.start(["--requirepass", "right"])
        let member = try Member(url: template.replacingOccurrences(of: "PORT", with: String(server.port)))
        try await eventually(within: .seconds(15), "degraded") { member.fleet.status.condition == .degraded }
        let status = member.fleet.status
        #expect(status.reason?.contains("WRONGPASS") == true || status.reason?.contains("NOAUTH") == true, "\(status)")
        #expect(status.reason?.contains("wrong") == false, "the password is never shown: \(status)")
        try member.callsAreUnaffected()
        try await Task.sleep(for: .milliseconds(500))  // several retries
        #expect(member.entries(.error).count == 1, "refused credentials are an error, logged once per outage: \(member.logs.entries)")
        #expect(member.entries(.error).first?.metadata["redis"]?.description.contains("wrong") == false, "no secret in the log")
        #expect(try await member.stop("credentials refused (\(template))") < .seconds(1), "shutdown within a second")
        #expect(member.fleet.status.condition == .stopped)
    }

    @Test func credentialsFixedOnTheServerAreFoundOnTheNextRetry() async throws {
        let server = try await RedisServer.start(["--requirepass", "old"])
        let member = try Member(url: "redis://:new@127.0.0.1:\(server.port)")
        try await eventually(within: .seconds(15), "degraded") { member.fleet.status.condition == .degraded }
        let admin = RedisClient(configuration: try RedisConfiguration(url: "redis://:old@127.0.0.1:\(server.port)"))
        _ = try await admin.send([.bulk("CONFIG"), .bulk("SET"), .bulk("requirepass"), .bulk("new")])
        try await eventually("sharing once the operator fixed the password") { member.fleet.status.isSharing }
        try await eventually("the return is logged at notice") { member.entries(.notice).count == 1 }
        #expect(member.entries(.notice).first?.metadata["breakers"] == "1", "\(member.logs.entries)")
        #expect(try await member.stop("Redis sharing again") < .seconds(1))
    }

    @Test(arguments: [["DEBUG", "SLEEP", "5"], ["CLIENT", "PAUSE", "5000", "ALL"]])
    func aHungRedisDegradesAndNeverHoldsACallOrTheShutdown(_ hang: [String]) async throws {
        let server = try await RedisServer.start(["--enable-debug-command", "yes"])
        let member = try Member(url: server.url)
        try await eventually("sharing") { member.fleet.status.isSharing }
        let admin = RedisClient(configuration: try RedisConfiguration(url: server.url))
        let hung = Task { try? await admin.send(hang.map(RESPValue.bulk)) }
        defer { hung.cancel() }
        try await eventually(within: .seconds(15), "degraded while Redis does not answer") { member.fleet.status.condition == .degraded }
        #expect(member.fleet.status.reason?.contains("timed out") == true, "\(member.fleet.status)")
        try member.callsAreUnaffected()
        #expect(try await member.stop("Redis hung (\(hang.joined(separator: " ")))") < .seconds(1), "shutdown within a second with Redis hung")
    }

    @Test func aRefusingRedisDegradesAndNeverHoldsACallOrTheShutdown() async throws {
        let refusing = RefusingPort()
        defer { withExtendedLifetime(refusing) {} }  // the port stays taken to the end: no other test's server may get it
        let member = try Member(url: "redis://127.0.0.1:\(refusing.port)")
        try await eventually(within: .seconds(15), "degraded") { member.fleet.status.condition == .degraded }
        try member.callsAreUnaffected()
        #expect(member.entries(.warning).count == 1, "\(member.logs.entries)")
        #expect(try await member.stop("Redis refusing connections") < .seconds(1))
    }

    @Test func statusUpdatesFollowAnOutage() async throws {
        let server = try await RedisServer.start()
        let member = try Member(url: server.url)
        let updates = member.fleet.statusUpdates
        try await eventually("sharing") { member.fleet.status.isSharing }
        server.stop()
        try await eventually(within: .seconds(15), "degraded") { member.fleet.status.condition == .degraded }
        try await eventually("the sharing gauge follows (recorded just after the status changes)") {
            (try? member.metrics.expectGauge("breaker_fleet_sharing", [("fleet", "breaker")]).lastValue) == 0
        }
        try await server.restart()
        try await eventually("sharing again") { member.fleet.status.isSharing }
        try await eventually("the return is logged once caught up") { member.entries(.notice).count == 1 }
        let fleet = [("fleet", "breaker")]
        #expect(try member.metrics.expectGauge("breaker_fleet_sharing", fleet).lastValue == 1)
        #expect(try member.metrics.expectCounter("breaker_fleet_failures_total", fleet).totalValue >= 1, "the outage's failed heartbeats")
        try await eventually("caught up at the start, and on the return") {
            ((try? member.metrics.expectCounter("breaker_fleet_catch_ups_total", fleet).totalValue) ?? 0) >= 2
        }
        _ = try await member.stop("Redis back")
        var seen: [FleetStatus.Condition] = []
        for await status in updates { seen.append(status.condition) }
        let sharing = seen.indices.filter { seen[$0] == .sharing }
        #expect(seen.first == .starting && seen.last == .stopped, "\(seen)")
        #expect(sharing.count == 2 && seen[sharing[0]..<sharing[1]].contains(.degraded), "sharing, degraded, sharing: \(seen)")
        #expect(member.entries(.warning).count == 1, "\(member.logs.entries)")
    }

    @Test(arguments: ["http://127.0.0.1:6379", "redis://127.0.0.1:0", "redis://127.0.0.1:99999", "redis://127.0.0.1:port", "redis://:secret@127.0.0.1:x/1"])
    func aURLThatCanNeverWorkIsRefusedAtOnceNamingThePart(_ url: String) throws {
        let error = #expect(throws: RedisError.self) { try RedisFleet(url: url) }
        #expect(error?.reason == .invalidURL)
        let message = error?.message ?? ""
        #expect(message.hasPrefix("scheme") || message.hasPrefix("port"), "names the part: \(message)")
        #expect(!message.contains("secret"))
    }
}
#endif
