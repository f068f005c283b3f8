#if HTTPClient
import AsyncHTTPClient
import Breaker
import BreakerHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// `BreakerHTTPClient` against a real HTTP server on a loopback port, through the phases a dependency
/// goes through: healthy, 503 with `Retry-After: 2`, healthy, hanging, healthy, refusing connections,
/// healthy again; with the client's defaults and with the tuned configuration the docs show.
///
/// It runs on the real clock (the server, the sockets and `Retry-After` are real; about 20 s per
/// configuration), under an open-loop load: a new request every 20 ms whatever the earlier ones are
/// doing, as a server's own traffic would send them. Bounds are generous for a loaded machine, and far
/// below what the failure each one guards against would take.
@Suite("BreakerHTTPClient against a real server", .serialized)
struct HTTPClientIntegrationTests {
    /// What one request saw.
    struct Call: Sendable {
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant
        var outcome: Outcome
        var duration: Duration { start.duration(to: end) }
    }

    enum Outcome: Sendable, Equatable {
        case status(UInt)
        case rejected
        case cancelledAsHung
        case error(String)
    }

    /// A state change, when it was heard.
    struct Change: Sendable {
        var at: ContinuousClock.Instant
        var change: CircuitChange
        /// When the open period this change began ends (for a change to open).
        var openEnd: ContinuousClock.Instant? { change.snapshot.openRemaining.map { at + $0 } }
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
        func last(to state: CircuitState, before instant: ContinuousClock.Instant) -> Change? {
            changes.withLock { $0.last { $0.change.state == state && $0.at <= instant } }
        }
    }

    final class CallLog: Sendable {
        let calls = Mutex<[Call]>([])
    }

    /// A configuration under test, and its slow-call threshold.
    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var configuration: BreakerHTTPClient.Configuration
        var threshold: Duration { configuration.breaker.slowCalls!.threshold }
        var testDescription: String { name }

        static let defaults = Scenario(name: "defaults", configuration: .init())
        /// The tuned configuration of the docs ("Calling HTTP services").
        static let tuned: Scenario = {
            var configuration = BreakerHTTPClient.Configuration()
            configuration.breaker.slowCalls?.threshold = .milliseconds(500)
            configuration.breaker.halfOpen.maxTrialDuration = .milliseconds(500)
            configuration.breaker.resetTimeout = .milliseconds(500)
            configuration.timeout = .seconds(2)
            return Scenario(name: "tuned", configuration: configuration)
        }()
    }

    @Test(arguments: [Scenario.defaults, .tuned])
    func healthyUnavailableHangingRefusingAndHealthyAgain(_ scenario: Scenario) async throws {
        let server = try await FlakyServer.start()
        let log = ChangeLog()
        let http = try BreakerHTTPClient(configuration: scenario.configuration, listeners: [log])
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/stock")
        let breaker = http.breaker(for: request)
        #expect(breaker.name == "127.0.0.1:\(server.port)")
        var timings: [String] = []

        let calls = CallLog()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                while !Task.isCancelled {
                    group.addTask {
                        let start = ContinuousClock.now
                        let outcome: Outcome
                        do {
                            let response = try await http.execute(request)
                            outcome = .status(response.status.code)
                        } catch let error as CircuitBreakerError where error.reason == .open {
                            outcome = .rejected
                        } catch let error as CircuitBreakerError where error.reason == .timedOut {
                            outcome = .cancelledAsHung
                        } catch {
                            outcome = .error(String(describing: error))
                        }
                        calls.calls.withLock { $0.append(Call(start: start, end: .now, outcome: outcome)) }
                    }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }

        // Healthy: every request answered, nothing rejected.
        try await Task.sleep(for: .seconds(1))
        #expect(breaker.state == .closed)

        // 503 with Retry-After: 2. The breaker opens for 2 s (its reset timeout is shorter).
        let unavailable = ContinuousClock.now
        server.set(.unavailable)
        let opened = try await waitFor(log, .open, after: unavailable, within: .seconds(3))
        server.set(.healthy)
        #expect(opened.change.snapshot.openRemaining.map { $0 > .milliseconds(1_900) && $0 <= .seconds(2) } == true,
                "open period \(String(describing: opened.change.snapshot.openRemaining))")
        let trial = try await waitFor(log, .halfOpen, after: opened.at, within: .seconds(4))
        #expect(opened.at.duration(to: trial.at) >= .milliseconds(1_950), "no trial before the server's Retry-After")
        let recovered = try await waitFor(log, .closed, after: trial.at, within: .seconds(3))

        // Hanging: the breaker opens while the calls hang, within the slow threshold and a second.
        try await Task.sleep(for: .milliseconds(500))
        let hanging = ContinuousClock.now
        server.set(.hanging)
        let hungOpen = try await waitFor(log, .open, after: hanging, within: .seconds(5))
        timings.append("hang → open \(hanging.duration(to: hungOpen.at))")
        #expect(hanging.duration(to: hungOpen.at) <= scenario.threshold + .seconds(1), "open \(hanging.duration(to: hungOpen.at)) after the hang began")
        #expect(hungOpen.change.cause.kind == .slowCallRate)
        try await Task.sleep(for: .milliseconds(1_500))  // a trial or two hang too

        // Healthy after the hang: the hung requests were cancelled, the trial finds a connection at once.
        let healthyAfterHang = ContinuousClock.now
        server.set(.healthy)
        let closedAfterHang = try await waitFor(log, .closed, after: healthyAfterHang, within: .seconds(40))
        let afterHang = recovery(log, healthy: healthyAfterHang, closed: closedAfterHang)
        timings.append("recovery after hang \(afterHang) (healthy → closed \(healthyAfterHang.duration(to: closedAfterHang.at)))")
        #expect(afterHang <= .milliseconds(1_500), "closed \(afterHang) after the later of recovery and the open period's end")

        // Refusing connections: the breaker opens at once, trials fail, it stays open.
        try await Task.sleep(for: .milliseconds(500))
        try await server.stop()
        let refusing = ContinuousClock.now
        let refusedOpen = try await waitFor(log, .open, after: refusing, within: .seconds(3))
        timings.append("refused → open \(refusing.duration(to: refusedOpen.at))")
        #expect(refusing.duration(to: refusedOpen.at) <= .seconds(1))
        try await Task.sleep(for: .seconds(2))
        #expect(breaker.state != .closed)

        // Healthy again: the breaker closes within one trial cycle, and rejects nothing once closed.
        server.set(.healthy)
        let healthyAgain = ContinuousClock.now  // before the port listens: no call started earlier can be answered
        try await server.restart()
        let closed = try await waitFor(log, .closed, after: healthyAgain, within: .seconds(40))
        let afterRefusal = recovery(log, healthy: healthyAgain, closed: closed)
        timings.append("recovery after refusal \(afterRefusal) (healthy → closed \(healthyAgain.duration(to: closed.at)))")
        #expect(afterRefusal <= .milliseconds(1_500), "closed \(afterRefusal) after the later of recovery and the open period's end")
        try await Task.sleep(for: .seconds(1))
        // Calls that end after this are the ones `load.cancel()` cancels: they say nothing about the breaker.
        let stopping = ContinuousClock.now
        load.cancel()
        _ = await load.value
        try await http.shutdown()
        try? await server.stop()
        print("phase timings (\(scenario.name)): \(timings.joined(separator: ", "))")

        let all = calls.calls.withLock { $0 }
        func during(_ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> [Call] { all.filter { $0.start >= from && $0.start < to } }
        // (A request sent just before the hang began may reach the server after it.)
        let afterRecovery = during(recovered.at, hanging - .milliseconds(250)).filter { $0.outcome != .status(200) }
        #expect(afterRecovery.isEmpty, "recovered: every call answered; not: \(afterRecovery.map { "\($0.outcome) at \(recovered.at.duration(to: $0.start))" })")
        let afterClosing = during(closed.at, stopping).filter { $0.end < stopping && $0.outcome != .status(200) }
        #expect(afterClosing.isEmpty, "once closed again, nothing rejected; not: \(afterClosing.map { "\($0.outcome) at +\(closed.at.duration(to: $0.start)) for \($0.duration)" })")
        #expect(during(unavailable, opened.at).contains { $0.outcome == .status(503) })
        #expect(during(hanging, healthyAfterHang).contains { $0.outcome == .cancelledAsHung }, "hung requests were cancelled")
        // (A connection accepted as the server stopped may still answer a request just after.)
        let whileRefusing = during(refusing + .milliseconds(100), healthyAgain).filter { $0.outcome == .status(200) }
        #expect(whileRefusing.isEmpty, "nothing answered while refusing: \(whileRefusing.map { "+\(refusing.duration(to: $0.start))" })")
        #expect(during(refusing, healthyAgain).contains { $0.outcome == .rejected })
        // No request holds on to a hung dependency: each is cancelled once the breaker opens and it is slow.
        let held = all.filter { $0.end < stopping && $0.duration > scenario.threshold + .milliseconds(1_500) }
        #expect(held.isEmpty, "no call waits long on a hung dependency: \(held.map { "\($0.outcome) for \($0.duration)" })")
        #expect(all.count > 250, "the load ran: \(all.count) requests")
    }

    /// How long after the later of `healthy` and the end of the open period in force then the breaker
    /// closed.
    func recovery(_ log: ChangeLog, healthy: ContinuousClock.Instant, closed: Change) -> Duration {
        let openEnd = log.last(to: .open, before: closed.at)?.openEnd ?? healthy
        return max(healthy, openEnd).duration(to: closed.at)
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
#endif
