@testable import Breaker
import BreakerTestKit
import Synchronization
import Testing

@Suite("One event model: interests, rejections, causes")
struct EventModelTests {
    /// A listener in aiobreaker's style that implements only `stateChange`.
    final class StateOnly: CircuitBreakerListener {
        let heard = Guarded<[String]>([])
        func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
            heard.withLock { $0.append("\(from)->\(to)") }
        }
    }

    /// A listener that declares what it wants and takes events whole.
    final class Declared: CircuitBreakerListener {
        let wanted: BreakerEvent.Kinds
        let heard = Guarded<[BreakerEvent]>([])
        init(_ wanted: BreakerEvent.Kinds) { self.wanted = wanted }
        var interests: BreakerEvent.Kinds { wanted }
        func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) { heard.withLock { $0.append(event) } }
        var kinds: [BreakerEvent.Kinds] { heard.withLock { $0.map(\.kind) } }
    }

    private func takesTheFastPath(_ breaker: CircuitBreaker) -> Bool {
        breaker.flags.load(ordering: .relaxed) & CircuitBreaker.Flags.generalPath == 0
    }

    @Test func aStateChangeListenerLeavesHealthyCallsOnTheLockFreePath() throws {
        let listener = StateOnly()
        let breaker = CircuitBreaker(failMax: 1, listeners: [listener], clock: ManualClock())
        #expect(!takesTheFastPath(breaker), "until the listener's default hooks have reported themselves")
        try breaker.call {}
        #expect(takesTheFastPath(breaker), "after one call: beforeCall and success are left to their defaults")
        _ = try? breaker.call { throw Boom() }
        #expect(listener.heard.withLock { $0 } == ["closed->open"])
        #expect(breaker.listeners.count == 1, "learning a listener's interests does not remove it")
    }

    @Test func declaredInterestsAreAllThatIsDelivered() throws {
        let changes = Declared([.stateChanged, .rejected])
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(5), listeners: [changes], clock: ManualClock())
        #expect(takesTheFastPath(breaker), "state changes and rejections cost healthy calls nothing")
        try breaker.call {}
        _ = try? breaker.call { throw Boom() }
        _ = try? breaker.call {}
        #expect(changes.kinds == [.stateChanged, .rejected])
        let rejection = try #require(changes.heard.withLock { $0.last })
        #expect(rejection.retryAfter == .seconds(5))
        let trip = try #require(changes.heard.withLock { $0.first?.change })
        #expect(trip.cause.kind == .consecutiveFailures)
        #expect(trip.cause.description == "1 consecutive failure")
    }

    @Test func everyCallEventCarriesWhatHappened() async throws {
        let all = Declared(.all)
        var configuration = CircuitBreaker.Configuration()
        configuration.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 1, minimumCalls: 100)
        configuration.exclude = [.type(Benign.self)]
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration, listeners: [all], clock: clock)
        try breaker.call { clock.advance(by: .seconds(2)) }
        _ = try? breaker.call { throw Benign() }
        _ = await inCancelledTask { try? breaker.call { throw CancellationError() } }  // the caller gave up: ignored
        _ = try? breaker.call { throw Boom(code: 9) }
        breaker.setMode(.metricsOnly)
        #expect(all.kinds == [
            .admitted, .succeeded, .slow, .admitted, .succeeded, .admitted, .ignored, .admitted, .failed, .stateChanged, .modeChanged,
        ])
        let events = all.heard.withLock { $0 }
        #expect(events[1].duration == .seconds(2) && events[2].duration == .seconds(2))
        #expect(events[4].error is Benign, "an excluded error is a success that carries its error")
        #expect(events[6].error is CancellationError)
        #expect((events[8].error as? Boom)?.code == 9)
        #expect(events[9].change?.cause.kind == .modeChanged && events[10].change?.mode == .metricsOnly)
    }

    @Test func theSeedsListenerGainsRejectedWithADefault() throws {
        final class Rejections: CircuitBreakerListener {
            let count = Count()
            func rejected(_ breaker: CircuitBreaker, retryAfter: Duration) { count.add() }
        }
        let listener = Rejections()
        let breaker = CircuitBreaker(listeners: [listener], clock: ManualClock())
        breaker.open()
        for _ in 0..<3 { _ = try? breaker.call {} }
        #expect(listener.count.value == 3)
    }

    @Test func causesNameTheRuleThatTripped() {
        let rate = TransitionCause(.failureRate, measured: 0.625, threshold: 0.5)
        #expect(rate.description == "failure rate 62.5 % ≥ 50 %")
        #expect(TransitionCause(.slowCallRate, measured: 0.8, threshold: 0.8).description == "slow-call rate 80 % ≥ 80 %")
        #expect(TransitionCause(.trialFailed).description == "trial failed")
    }

    @Test func aTripByRateCarriesTheRateAndThreshold() {
        let journal = Journal()
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 4)
        configuration.window = .lastCalls(4)
        let breaker = CircuitBreaker(configuration: configuration, storage: journal, clock: ManualClock())
        for outcome in "SFFF" { _ = try? breaker.call { if outcome == "F" { throw Boom() } } }
        #expect(journal.changes.first?.cause == TransitionCause(.failureRate, measured: 0.75, threshold: 0.5))
    }

    @Test func timeWindowBucketEdgesSitOnTheClocksOwnSeconds() {
        // The clock starts 300 ms past its zero: buckets still start at whole seconds of the clock.
        let clock = ManualClock(start: .init(offset: .milliseconds(300)))
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(1, minimumCalls: 100)
        configuration.window = .duration(.seconds(2), bucket: .seconds(1))
        let breaker = CircuitBreaker(configuration: configuration, clock: clock)
        _ = try? breaker.call { throw Boom() }  // at 0.3 s: bucket [0 s, 1 s)
        clock.advance(by: .milliseconds(1_699))  // 1.999 s: buckets [0, 1) and [1, 2) are in the window
        #expect(breaker.metrics.window.calls == 1)
        clock.advance(by: .milliseconds(1))  // 2.0 s: [0, 1) has left, whatever instant was read first
        #expect(breaker.metrics.window.calls == 0)
    }
}
