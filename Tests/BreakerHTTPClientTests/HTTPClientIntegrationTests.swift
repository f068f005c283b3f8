import AsyncHTTPClient
import Breaker
import BreakerHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// `BreakerHTTPClient` against a real HTTP server on a loopback port, through the phases a dependency
/// goes through: healthy, 503 with `Retry-After: 2`, hanging, refusing connections, healthy again.
///
/// It runs on the real clock (the server, the sockets and `Retry-After` are real; about 12 s), under an
/// open-loop load: a new request every 50 ms whatever the earlier ones are doing, as a server's own
/// traffic would send them. Bounds are generous for a loaded machine, and far below what the failure
/// each one guards against would take.
@Suite("BreakerHTTPClient against a real server", .serialized)
struct HTTPClientIntegrationTests {
    /// What one request saw.
    struct Call: Sendable {
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant
        var outcome: Outcome
    }

    enum Outcome: Sendable, Equatable {
        case status(UInt)
        case rejected
        case error(String)
    }

    /// A state change, when it was heard.
    struct Change: Sendable {
        var at: ContinuousClock.Instant
        var change: CircuitChange
    }

    final class ChangeLog: CircuitBreakerListener, Sendable {
        let changes = Mutex<[Change]>([])
        var interests: BreakerEvent.Kinds { .stateChanged }
        func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
            guard let change = event.change else { return }
            changes.withLock { $0.append(Change(at: .now, change: change)) }
        }
        func first(to state: CircuitState, after instant: ContinuousClock.Instant) -> Change? {
            changes.withLock { $0.first { $0.change.state == state && $0.at >= instant } }
        }
    }

    final class CallLog: Sendable {
        let calls = Mutex<[Call]>([])
    }

    static let deadline = Duration.seconds(4)

    @Test func healthyUnavailableHangingRefusingAndHealthyAgain() async throws {
        let server = try await FlakyServer.start()
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool.retryConnectionEstablishment = false  // a refused connection fails at once
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        var configuration = BreakerHTTPClient.Configuration()
        configuration.breaker.trip = .failureRate(0.5, minimumCalls: 5)
        configuration.breaker.window = .lastCalls(10)
        configuration.breaker.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 0.5, minimumCalls: 5)
        configuration.breaker.resetTimeout = .seconds(1)
        configuration.breaker.halfOpen.maxTrialDuration = .seconds(2)
        configuration.timeout = nil  // no timeout configured: hangs must be caught while they hang
        let log = ChangeLog()
        let http = try BreakerHTTPClient(client: client, configuration: configuration, listeners: [log])
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/stock")
        let breaker = http.breaker(for: request)
        #expect(breaker.name == "http://127.0.0.1:\(server.port)")

        let calls = CallLog()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                while !Task.isCancelled {
                    group.addTask {
                        let start = ContinuousClock.now
                        let outcome: Outcome
                        do {
                            let response = try await http.execute(request, timeout: Self.deadline)
                            outcome = .status(response.status.code)
                        } catch let error as CircuitBreakerError where error.reason == .open {
                            outcome = .rejected
                        } catch {
                            outcome = .error(String(describing: error))
                        }
                        calls.calls.withLock { $0.append(Call(start: start, end: .now, outcome: outcome)) }
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
        }

        // Healthy: every request answered, nothing rejected.
        try await Task.sleep(for: .seconds(1))
        #expect(breaker.state == .closed)

        // 503 with Retry-After: 2. The breaker opens for 2 s (its reset timeout is 1 s).
        let unavailable = ContinuousClock.now
        server.set(.unavailable)
        let opened = try await waitFor(log, .open, after: unavailable, within: .seconds(3))
        server.set(.healthy)
        #expect(opened.change.snapshot.openRemaining.map { $0 > .milliseconds(1_900) && $0 <= .seconds(2) } == true,
                "open period \(String(describing: opened.change.snapshot.openRemaining))")
        let trial = try await waitFor(log, .halfOpen, after: opened.at, within: .seconds(4))
        #expect(opened.at.duration(to: trial.at) >= .milliseconds(1_950), "no trial before the server's Retry-After")
        let recovered = try await waitFor(log, .closed, after: trial.at, within: .seconds(3))

        // Hanging, with no timeout configured: the breaker opens while the calls hang.
        try await Task.sleep(for: .milliseconds(500))
        let hanging = ContinuousClock.now
        server.set(.hanging)
        let hungOpen = try await waitFor(log, .open, after: hanging, within: .seconds(4))
        #expect(hanging.duration(to: hungOpen.at) <= .seconds(2), "open \(hanging.duration(to: hungOpen.at)) after the hang began (threshold 1 s)")
        #expect(hungOpen.change.cause.kind == .slowCallRate)
        try await Task.sleep(for: .seconds(1))

        // Refusing connections: trials fail, the breaker stays open.
        try await server.stop()
        let refusing = ContinuousClock.now
        try await Task.sleep(for: .seconds(2))
        #expect(breaker.state != .closed)

        // Healthy again: the breaker closes within one trial cycle, and rejects nothing once closed.
        server.set(.healthy)
        try await server.restart()
        let healthyAgain = ContinuousClock.now
        let closed = try await waitFor(log, .closed, after: healthyAgain, within: .seconds(4))
        #expect(healthyAgain.duration(to: closed.at) <= .milliseconds(1_500), "closed \(healthyAgain.duration(to: closed.at)) after recovery")
        try await Task.sleep(for: .seconds(1))
        load.cancel()
        _ = await load.value
        try await client.shutdown()
        try? await server.stop()

        let all = calls.calls.withLock { $0 }
        func during(_ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> [Call] { all.filter { $0.start >= from && $0.start < to } }
        // (A request sent just before the hang began may reach the server after it.)
        let afterRecovery = during(recovered.at, hanging - .milliseconds(250)).filter { $0.outcome != .status(200) }
        #expect(afterRecovery.isEmpty, "recovered: every call answered; not: \(afterRecovery.map { "\($0.outcome) at \(recovered.at.duration(to: $0.start))" })")
        let afterClosing = during(closed.at, .now).filter { $0.outcome != .status(200) }
        #expect(afterClosing.isEmpty, "once closed again, nothing rejected; not: \(afterClosing.map { "\($0.outcome) at +\(closed.at.duration(to: $0.start)) for \($0.start.duration(to: $0.end))" })")
        #expect(during(unavailable, opened.at).contains { $0.outcome == .status(503) })
        #expect(during(refusing, healthyAgain).allSatisfy { $0.outcome != .status(200) })
        #expect(during(refusing, healthyAgain).contains { $0.outcome == .rejected })
        let late = all.filter { $0.start.duration(to: $0.end) > Self.deadline + .milliseconds(500) }
        #expect(late.isEmpty, "no call waits past its deadline: \(late.map { $0.start.duration(to: $0.end) })")
        #expect(all.count > 150)
    }

    /// The first change to `state` heard after `instant`, waiting on the real clock up to `limit`.
    func waitFor(_ log: ChangeLog, _ state: CircuitState, after instant: ContinuousClock.Instant, within limit: Duration) async throws -> Change {
        let giveUp = ContinuousClock.now + limit
        while ContinuousClock.now < giveUp {
            if let change = log.first(to: state, after: instant) { return change }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no change to \(state) within \(limit)")
        throw CancellationError()
    }
}
