#if HTTPClient
import AsyncHTTPClient
import Breaker
import BreakerHTTPClient
import Synchronization
import Testing

/// What the dependency sees around an outage, with the client's defaults, on a real loopback server
/// under an open-loop load of 50 requests a second: retries do not flood it when its breaker closes,
/// and a dependency that is only slow does not make the breaker flap.
@Suite("BreakerHTTPClient: load on the dependency around an outage", .serialized)
struct RecoveryLoadTests {
    typealias ChangeLog = HTTPClientIntegrationTests.ChangeLog

    /// The load `load(_:)` offers: one request every 20 ms.
    static let offeredPerSecond = 50

    /// Sends `send` every 20 ms until cancelled; counts its outcomes.
    static func load(_ send: @escaping @Sendable () async throws -> Void) -> Task<Void, Never> {
        Task {
            await withTaskGroup(of: Void.self) { group in
                while !Task.isCancelled {
                    group.addTask { try? await send() }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }
    }

    /// Waits until the server has seen at least 30 requests in the last second (the load's 50 a second,
    /// give or take a busy machine): a slow start-up on a loaded machine delays the test, not its baseline.
    static func waitForSteadyLoad(on server: FlakyServer) async throws {
        let limit = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < limit {
            let now = ContinuousClock.now
            if server.arrivals.withLock({ $0.filter { $0 >= now - .seconds(1) }.count }) >= 30 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the load never reached 30 requests a second")
    }

    /// Retries waiting for the breaker to reopen are bounded by the retry budget and spread over the
    /// reset timeout: the first second after the close brings at most twice the offered load.
    @Test func retriesWaitingForTheCloseDoNotFloodTheDependency() async throws {
        let server = try await FlakyServer.start()
        let log = ChangeLog()
        let http = try BreakerHTTPClient(listeners: [log])
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/")
        let load = Self.load { _ = try await http.execute(request, retrying: RetryPolicy(maxAttempts: 5, initialDelay: .milliseconds(50))) }
        try await Self.waitForSteadyLoad(on: server)
        let unavailable = ContinuousClock.now
        server.set(.unavailable)  // Retry-After: 2
        let opened = try await HTTPClientIntegrationTests().waitFor(log, .open, after: unavailable, within: .seconds(3))
        server.set(.healthy)
        let closed = try await HTTPClientIntegrationTests().waitFor(log, .closed, after: opened.at, within: .seconds(6))
        try await Task.sleep(for: .milliseconds(1_500))
        load.cancel()
        _ = await load.value
        try await http.shutdown()
        try await server.stop()

        let arrivals = server.arrivals.withLock { $0 }
        let normal = arrivals.filter { $0 >= unavailable - .seconds(1) && $0 < unavailable }.count
        let afterClose = arrivals.filter { $0 >= closed.at && $0 < closed.at + .seconds(1) }.count
        print("load in the first second after close: \(afterClose) requests, normal \(normal) a second")
        #expect(normal >= 30, "the load ran: \(normal) a second")
        // Against the offered load (a busy machine can slow the measured one): without the retry budget
        // and the spread, the retries that waited for the close would come on top of it all at once
        // (316 within 300 ms, when this was found).
        #expect(afterClose <= 2 * Self.offeredPerSecond, "\(afterClose) requests in the first second after the close, normal \(normal)")
    }

    /// A dependency that answers, but slower than the threshold: the breaker opens and stays open; its
    /// slow trials do not close it (each would reopen it at once).
    @Test func aSlowDependencyKeepsTheBreakerOpenWithoutFlapping() async throws {
        let server = try await FlakyServer.start()
        let log = ChangeLog()
        let http = try BreakerHTTPClient(listeners: [log])
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/")
        let load = Self.load { _ = try await http.execute(request) }
        try await Task.sleep(for: .seconds(1))
        let slow = ContinuousClock.now
        server.set(.slow)
        let opened = try await HTTPClientIntegrationTests().waitFor(log, .open, after: slow, within: .seconds(4))
        #expect(opened.change.cause.kind == .slowCallRate)
        try await Task.sleep(for: .seconds(6))  // trials at 1 s, 2 s after each failed one: at least two
        let healthy = ContinuousClock.now
        server.set(.healthy)
        let closed = try await HTTPClientIntegrationTests().waitFor(log, .closed, after: healthy, within: .seconds(20))
        load.cancel()
        _ = await load.value
        try await http.shutdown()
        try await server.stop()

        let changes = log.changes.withLock { $0 }.filter { $0.at >= slow && $0.at < healthy }
        let trials = changes.filter { $0.change.state == .halfOpen }.count
        let closes = changes.filter { $0.change.state == .closed }.count
        #expect(trials >= 2, "trials were made while slow: \(trials)")
        #expect(closes == 0, "no slow trial closed the breaker: \(changes.map { "\($0.change.state) (\($0.change.cause.kind))" })")
        #expect(closed.at >= healthy)
    }
}
#endif
