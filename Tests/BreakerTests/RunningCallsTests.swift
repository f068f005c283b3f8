import Breaker
import BreakerTestKit
import Foundation
import Synchronization
import Testing

/// Calls still running past the slow-call threshold count as slow at the next admission (issue 11).
///
/// With a 1 s threshold the tracker's slots are 2^27 ns (about 134 ms) wide: a call started at 0 is
/// counted by the first admission at or after 1.134 s.
@Suite("In-flight detection of hung calls")
struct RunningCallsTests {
    static func slowCalls(counting: Bool = true, rate: Double = 0.5, minimumCalls: Int = 4) -> (inout CircuitBreaker.Configuration) -> Void {
        { configuration in
            configuration.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: rate, minimumCalls: minimumCalls, countsRunningCalls: counting)
            configuration.window = .lastCalls(10)
            configuration.failMax = 100
        }
    }

    @Test func hungCallsOpenTheBreakerBeforeAnyOfThemReturns() throws {
        let f = PolicyFixture(Self.slowCalls())
        f.run("SS")
        let hung = try (1...4).map { _ in try f.breaker.acquirePermit() }
        f.clock.advance(by: .milliseconds(1100))
        let early = try f.breaker.acquirePermit()  // not yet past the threshold and a slot
        #expect(f.breaker.metrics.window.slowCalls == 0)
        f.clock.advance(by: .milliseconds(100))
        let rejection = breakerErrorOf { _ = try f.breaker.acquirePermit() }
        #expect(rejection?.reason == .open, "the admission that counts them decides on the new state")
        #expect(f.breaker.state == .open)
        #expect(f.breaker.metrics.slowCalls == 4, "each hung call counted once, as slow")
        #expect(f.recorder.stateChanges == [.stateChange(.closed, .open)])
        for permit in hung { permit.succeeded() }
        early.succeeded()
        #expect(f.breaker.metrics.slowCalls == 4, "not counted again when they end")
        #expect(f.breaker.metrics.successes == 2 + 5, "their outcomes still reach the metrics")
    }

    @Test func aCallCountedWhileRunningIsNotRecordedAgainWhenItEnds() throws {
        let f = PolicyFixture(Self.slowCalls(rate: 1, minimumCalls: 100))
        let hung = try f.breaker.acquirePermit()
        let alsoHung = try f.breaker.acquirePermit()
        f.clock.advance(by: .milliseconds(1200))
        let fresh = try f.breaker.acquirePermit()
        #expect(f.breaker.metrics.window.calls == 2 && f.breaker.metrics.window.slowCalls == 2)
        hung.succeeded()
        alsoHung.failed(Boom())
        let window = f.breaker.metrics.window
        #expect(window.calls == 2 && window.slowCalls == 2 && window.failures == 0, "neither is recorded a second time")
        #expect(f.breaker.metrics.failures == 1, "the failure is still counted in the lifetime metrics")
        fresh.succeeded()
        #expect(f.breaker.metrics.window.calls == 3 && f.breaker.metrics.window.slowCalls == 2)
    }

    /// Counts the `slow` events a breaker sends.
    final class SlowEvents: CircuitBreakerListener, Sendable {
        let count = Mutex(0)
        var interests: BreakerEvent.Kinds { [.slow] }
        func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
            if event.kind == .slow { count.withLock { $0 += 1 } }
        }
    }

    /// A slow-call counter (a metrics listener's) counts the calls counted slow while they ran, when
    /// they end, as it counts a call judged slow at its end.
    @Test func aCallCountedWhileRunningIsHeardAsSlowWhenItEnds() throws {
        let f = PolicyFixture(Self.slowCalls(rate: 1, minimumCalls: 100))
        let slowEvents = SlowEvents()
        f.breaker.addListener(slowEvents)
        let hung = try f.breaker.acquirePermit()
        let alsoHung = try f.breaker.acquirePermit()
        f.clock.advance(by: .milliseconds(1200))
        let fresh = try f.breaker.acquirePermit()
        #expect(f.breaker.metrics.window.slowCalls == 2)
        hung.succeeded()
        alsoHung.ignored()
        fresh.succeeded()
        #expect(slowEvents.count.withLock { $0 } == 2, "both hung calls heard as slow, the fresh one not")
        #expect(f.breaker.metrics.window.slowCalls == 2, "and still counted once in the window")
    }

    @Test func aSlowCallThatEndsBeforeItIsClaimedIsRecordedOnceAsUsual() throws {
        let f = PolicyFixture(Self.slowCalls(rate: 1, minimumCalls: 100))
        let call = try f.breaker.acquirePermit()
        f.clock.advance(by: .milliseconds(1050))
        call.succeeded()
        #expect(f.breaker.metrics.window.slowCalls == 1, "slow by its duration")
        f.clock.advance(by: .seconds(5))
        try f.breaker.acquirePermit().succeeded()
        #expect(f.breaker.metrics.window.slowCalls == 1 && f.breaker.metrics.slowCalls == 1, "the claim finds nothing left running")
    }

    @Test func aCallHungForLongWithNoAdmissionMeanwhileIsStillCountedOnce() throws {
        let f = PolicyFixture(Self.slowCalls(rate: 1, minimumCalls: 100))
        let hung = try f.breaker.acquirePermit()
        f.clock.advance(by: .seconds(60))  // hundreds of slot widths: its slot's word has come round many times
        try f.breaker.acquirePermit().succeeded()
        try f.breaker.acquirePermit().succeeded()
        #expect(f.breaker.metrics.window.slowCalls == 1 && f.breaker.metrics.slowCalls == 1)
        hung.succeeded()
        #expect(f.breaker.metrics.slowCalls == 1)
    }

    @Test func turnedOffHungCallsCountOnlyWhenTheyEnd() throws {
        let f = PolicyFixture(Self.slowCalls(counting: false))
        let hung = try (1...4).map { _ in try f.breaker.acquirePermit() }
        f.clock.advance(by: .seconds(3))
        try f.breaker.acquirePermit().succeeded()
        #expect(f.breaker.state == .closed && f.breaker.metrics.slowCalls == 0)
        for permit in hung { permit.succeeded() }
        #expect(f.breaker.state == .open, "4 of 5 slow once they end")
    }

    @Test func callsRunningFromBeforeATransitionDoNotWeighOnTheNewCircuit() throws {
        let f = PolicyFixture(Self.slowCalls(minimumCalls: 1))
        let hung = try f.breaker.acquirePermit()
        f.breaker.open()
        f.breaker.close()
        f.clock.advance(by: .seconds(2))
        try f.breaker.acquirePermit().succeeded()
        #expect(f.breaker.state == .closed)
        #expect(f.breaker.metrics.window.slowCalls == 0, "the hung call belongs to the circuit before the reopening")
        hung.succeeded()
        #expect(f.breaker.metrics.window.calls == 1, "and its late outcome is dropped")
    }

    @Test func aThresholdChangedByReconfiguringStartsAFreshCount() throws {
        let f = PolicyFixture(Self.slowCalls(rate: 1, minimumCalls: 100))
        let hung = try f.breaker.acquirePermit()
        try f.breaker.reconfigure { $0.slowCalls?.threshold = .seconds(2) }
        let hungAfter = try f.breaker.acquirePermit()
        f.clock.advance(by: .milliseconds(1500))
        try f.breaker.acquirePermit().succeeded()
        #expect(f.breaker.metrics.window.slowCalls == 0, "1.5 s is not slow with a 2 s threshold")
        f.clock.advance(by: .seconds(1))
        try f.breaker.acquirePermit().succeeded()
        #expect(f.breaker.metrics.window.slowCalls == 1, "only the call admitted under the new policy")
        hungAfter.succeeded()
        #expect(f.breaker.metrics.slowCalls == 1, "counted once, while it ran")
        hung.succeeded()
        #expect(f.breaker.metrics.slowCalls == 2, "the older call was never counted while running: slow by its duration now")
    }

    @Test func hungAsyncCallsOnTheFastPathOpenTheBreaker() async throws {
        let clock = ManualClock()
        var configuration = CircuitBreaker.Configuration()
        Self.slowCalls()(&configuration)
        let breaker = CircuitBreaker(name: "hangs", configuration: configuration, clock: clock)
        let gate = CallGate()
        let callers = (1...4).map { _ in Task { try await breaker.call { await gate.wait() } } }
        await yieldUntil { gate.waiting == 4 }
        clock.advance(by: .milliseconds(1200))
        await #expect(throws: CircuitBreakerError.self) { try await breaker.call { () async -> Int in 0 } }
        #expect(breaker.state == .open && breaker.metrics.slowCalls == 4)
        gate.open()
        for caller in callers { _ = try await caller.value }
        #expect(breaker.metrics.slowCalls == 4 && breaker.metrics.successes == 4)
    }

    /// Threads join and leave the running calls while others claim them and a thread moves the clock:
    /// every call runs at least twice the threshold, so each must be counted as slow exactly once,
    /// either while it runs or when it ends.
    @Test func underContentionEveryHungCallIsCountedExactlyOnce() async {
        let clock = ManualClock()
        var configuration = CircuitBreaker.Configuration()
        configuration.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 1, minimumCalls: .max)
        configuration.window = .lastCalls(100)
        configuration.failMax = .max
        let breaker = CircuitBreaker(name: "contended", configuration: configuration, clock: clock)
        let threads = 4, callsPerThread = 400
        let done = StressCounters()  // `calls` counts the workers that finished
        async let mover: Void = Stress.onThreads(1) { _ in
            while done.calls.load(ordering: .acquiring) < threads {
                clock.advance(by: .milliseconds(300))
                usleep(20)  // a tick, not a spinning core: the rest of a full test run needs the machine too
            }
        }
        async let workers: Void = Stress.onThreads(threads) { index in
            for call in 0..<callsPerThread {
                guard let permit = try? breaker.acquirePermit() else { continue }
                let start = clock.now
                spin { start.duration(to: clock.now) >= .seconds(2) }
                if (call + index) % 3 == 0 { permit.failed(Boom()) } else { permit.succeeded() }
            }
            done.calls.add(1, ordering: .releasing)
        }
        _ = await (mover, workers)
        let metrics = breaker.metrics
        #expect(metrics.rejected == 0 && metrics.successes + metrics.failures == threads * callsPerThread)
        #expect(metrics.slowCalls == threads * callsPerThread)
    }
}
