#if Redis
import BreakerRedis
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import NIOConcurrencyHelpers
#endif

/// A throwaway `redis-server` on a free loopback port, for one test. Tests that need one are skipped
/// when `redis-server` is not installed, unless `BREAKER_REQUIRE_REDIS=1` (CI), which makes a missing
/// server a failure instead.
final class RedisServer: Sendable {
    static let executable: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    static var isAvailable: Bool { executable != nil }
    static var isRequired: Bool { ProcessInfo.processInfo.environment["BREAKER_REQUIRE_REDIS"] == "1" }

    let port: Int
    let arguments: [String]
    let directory: URL
    private let process = NIOLockedValueBox<Process?>(nil)

    private init(port: Int, arguments: [String], directory: URL) {
        self.port = port
        self.arguments = arguments
        self.directory = directory
    }

    /// Starts a server; `extra` adds configuration (`--requirepass x`, TLS options), `tlsOnly`
    /// listens with TLS only on `port`, `clusterBus` picks a port whose cluster bus port (10,000 above)
    /// is free too.
    static func start(_ extra: [String] = [], tlsOnly: Bool = false, clusterBus: Bool = false) async throws -> RedisServer {
        guard isAvailable else { throw Skipped() }
        let port = clusterBus ? freeClusterPort() : freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("breaker-redis-\(port)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ports = tlsOnly ? ["--port", "0", "--tls-port", String(port)] : ["--port", String(port)]
        let arguments = ports + ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path] + extra
        let server = RedisServer(port: port, arguments: arguments, directory: directory)
        try await server.launch()
        return server
    }

    /// Starts a sentinel (`redis-server FILE --sentinel`) whose configuration file holds `lines`; the
    /// file is in the server's own directory, where the sentinel rewrites it as it learns.
    static func startSentinel(_ lines: [String]) async throws -> RedisServer {
        guard isAvailable else { throw Skipped() }
        let port = freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("breaker-sentinel-\(port)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("sentinel.conf")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let arguments = [file.path, "--sentinel", "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path]
        let server = RedisServer(port: port, arguments: arguments, directory: directory)
        try await server.launch()
        return server
    }

    struct Skipped: Error {}

    var url: String { "redis://127.0.0.1:\(port)" }

    private func launch() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable!)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process.withLockedValue { $0 = process }
        // Ready when it accepts a connection.
        for _ in 0..<250 {
            if Self.accepts(port) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RedisError(.notConnected, "redis-server did not start on port \(port)")
    }

    /// Whether the server runs (started, and not stopped since).
    var isRunning: Bool { process.withLockedValue { $0 != nil } }

    /// Stops the server (the port then refuses connections).
    func stop() {
        guard let process = process.withLockedValue({ $0.take() }) else { return }
        // SIGKILL: the server keeps nothing, and a child can inherit a mask that blocks SIGTERM.
        // Then reap it (not `waitUntilExit()`: it waits on a run loop a test's thread does not run).
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        var status: Int32 = 0
        for _ in 0..<1_000 {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped == -1 && errno == ECHILD) { break }
            usleep(2_000)
        }
    }

    /// Freezes the server (SIGSTOP): its connections stay open and nothing answers, as with a hung
    /// host or a network partition. `stop()` still kills it.
    func freeze() {
        guard let pid = process.withLockedValue({ $0?.processIdentifier }) else { return }
        kill(pid, SIGSTOP)
    }

    /// Starts it again on the same port, empty.
    func restart() async throws {
        stop()
        try await launch()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A port below the ephemeral range whose cluster bus port (10,000 above) is free as well.
    static func freeClusterPort() -> Int {
        while true {
            let port = Int.random(in: 20_000..<30_000)
            if freePort(port) == port && freePort(port + 10_000) == port + 10_000 { return port }
        }
    }

    /// A free port (`requested`, or any when 0), or -1 when `requested` is taken.
    static func freePort(_ requested: Int = 0) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(requested).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        if bound != 0 { return -1 }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// A loopback port that refuses connections for as long as this lives: bound (so no server of another
/// test can take it) but not listening.
final class RefusingPort: Sendable {
    let port: Int
    private let descriptor: Int32

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// Whether the Redis tests can run here; see ``RedisServer``.
let redisTests: ConditionTrait = .enabled(if: RedisServer.isAvailable, "redis-server is not installed (CI installs it and sets BREAKER_REQUIRE_REDIS=1)")

/// How many times longer than usual the real-time bounds of these tests may be: `BREAKER_TIMING_SCALE`,
/// which the sanitizer passes set (they run everything several times slower), or 1.
let timingScale = Double(ProcessInfo.processInfo.environment["BREAKER_TIMING_SCALE"] ?? "") ?? 1

extension Duration {
    /// This bound, stretched by ``timingScale``.
    var scaled: Duration { self * timingScale }
}

/// Waits, up to 30 s, until this task runs promptly again: three 10 ms sleeps in a row that each end
/// within 50 ms. A real-time bound measured after it (a shutdown within a second) is the code's, not
/// that of an executor kept busy by the other tests of a full run.
func whenTheExecutorIsResponsive() async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    var prompt = 0
    while prompt < 3 && ContinuousClock.now < deadline {
        let start = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(10))
        prompt = start.duration(to: .now) < .milliseconds(50) ? prompt + 1 : 0
    }
}

/// A real-time bound (scaled) that counts only the time the executor gave the waiting task: a sleep
/// that ends far later than asked is the rest of a full run keeping both cores busy (CPU-bound tests
/// hold the cooperative threads for seconds at its start), not the code under test being slow.
struct Patience {
    private var left: Duration
    private var since = ContinuousClock.now

    init(_ limit: Duration) { left = limit.scaled }

    /// Sleeps for `interval`, charges the time since the last pause less a wake-up more than 100 ms
    /// late, and returns whether time is left.
    mutating func pause(_ interval: Duration) async throws -> Bool {
        let asleep = ContinuousClock.now
        try await Task.sleep(for: interval)
        let now = ContinuousClock.now
        let late = max(.zero, asleep.duration(to: now) - interval - .milliseconds(100))
        left -= since.duration(to: now) - late
        since = now
        return left > .zero
    }
}

/// Waits on the real clock for `condition`, up to `limit` (scaled, see ``Patience``); records an issue
/// if it never holds. The default is generous: it costs nothing when the condition holds, and a
/// machine busy starting every suite at once can take seconds to bring a fleet up.
func eventually(within limit: Duration = .seconds(15), _ what: String = "", _ condition: () async throws -> Bool) async throws {
    var patience = Patience(limit)
    repeat {
        if try await condition() { return }
    } while try await patience.pause(.milliseconds(10))
    Issue.record("not within \(limit.scaled): \(what)")
}

@Suite("Redis is available when required")
struct RedisAvailabilityTests {
    @Test func redisServerIsInstalledWhenTheRunRequiresIt() {
        if RedisServer.isRequired {
            #expect(RedisServer.isAvailable, "BREAKER_REQUIRE_REDIS=1 but redis-server is not on PATH: the Redis tests would be skipped")
        }
    }
}
#endif
