@testable import Breaker
import BreakerTestKit
import Synchronization
import Testing

@Suite("A breaker's own concurrency limit (issue 18, item 3)")
struct BreakerConcurrencyLimitTests {
    static func limited(_ algorithm: LimitAlgorithm = .fixed(2), initial: Int = 10, change: (inout CircuitBreaker.Configuration) -> Void = { _ in })
        -> (CircuitBreaker, ManualClock)
    {
        let clock = ManualClock()
        var configuration = CircuitBreaker.Configuration()
        var limit = ConcurrencyLimiter.Configuration()
        limit.algorithm = algorithm
        limit.initialLimit = initial
        configuration.concurrencyLimit = limit
        change(&configuration)
        return (CircuitBreaker(name: "limited", configuration: configuration, clock: clock), clock)
    }

    @Test func aCallPastTheLimitIsRejectedAsLimitedAndCountsNothingAgainstTheDependency() throws {
        let (breaker, _) = Self.limited()
        let first = try breaker.acquirePermit()
        let second = try breaker.acquirePermit()
        #expect(breaker.concurrencyLimiter?.inFlight == 2)
        var ran = false
        let rejection = try #require(catching { try breaker.call { ran = true } })
        #expect(rejection.reason == .limited && rejection.retryAfter == .zero && !ran)
        #expect(breaker.metrics.rejected == 1 && breaker.metrics.failures == 0 && breaker.state == .closed)
        _ = first.succeeded()
        try breaker.call {}
        _ = second.succeeded()
        #expect(breaker.concurrencyLimiter?.inFlight == 0, "every slot given back")
    }

    @Test func aTrialTurnedAwayByTheLimiterGivesItsTrialSlotBack() throws {
        let (breaker, _) = Self.limited(.fixed(1))
        let holder = try breaker.acquirePermit()  // the one slot, taken while closed
        breaker.halfOpen()
        #expect(catching { try breaker.call {} }?.reason == .limited)
        _ = holder.succeeded()  // from the closed generation: not a trial
        try breaker.call {}  // the trial slot was free again: this is the trial, and it closes the circuit
        #expect(breaker.state == .closed)
    }

    @Test func failuresAndSlowCallsAreDropsForTheLimiter() throws {
        let (breaker, clock) = Self.limited(.aimd(), initial: 10) {
            $0.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 1, minimumCalls: 100)
        }
        _ = try? breaker.call { () throws in throw Boom() }
        #expect(breaker.concurrencyLimiter?.limit == 9, "a failure is a drop")
        for _ in 0..<9 { try breaker.call {} }  // the rest of that window
        try breaker.call { clock.advance(by: .seconds(1)) }
        #expect(breaker.concurrencyLimiter?.limit == 8, "a slow success is a drop too")
    }

    /// A breaker whose limiter holds one slot and lets async calls wait up to 1 s: the slot taken by a
    /// permit, and an async call waiting for it.
    struct OneWaiting {
        let breaker: CircuitBreaker
        let clock: ManualClock
        let held: CallPermit
        let ran = Flag()
        let call: Task<Void, any Error>

        init() async throws {
            let (breaker, clock) = BreakerConcurrencyLimitTests.limited(.fixed(1)) { $0.concurrencyLimit?.maxWait = .seconds(1) }
            held = try breaker.acquirePermit()
            call = Task { [ran] in try await breaker.call { () async in ran.set() } }
            await yieldUntil { breaker.concurrencyLimiter?.waiting == 1 }
            (self.breaker, self.clock) = (breaker, clock)
        }
    }

    @Test func anAsyncCallWaitsForASlotWhenTheLimitSaysSoAndASyncCallDoesNot() async throws {
        let f = try await OneWaiting()
        #expect(catching { try f.breaker.call {} }?.reason == .limited, "a sync call never waits")
        #expect(!f.ran.isSet)
        _ = f.held.succeeded()
        try await f.call.value
        #expect(f.ran.isSet)
        #expect(f.breaker.metrics.successes == 2 && f.breaker.metrics.rejected == 1, "the waiter was not a rejection")
        #expect(f.breaker.concurrencyLimiter?.inFlight == 0)
    }

    @Test func aWaitThatRunsOutIsTheBreakersLimitedRejection() async throws {
        let f = try await OneWaiting()
        await yieldUntil { f.clock.sleeperCount == 1 }
        f.clock.advance(by: .seconds(1))
        let error = await #expect(throws: CircuitBreakerError.self) { try await f.call.value }
        #expect(error?.reason == .limited && error?.breakerName == "limited")
        #expect(!f.ran.isSet && f.breaker.metrics.rejected == 1)
        _ = f.held.succeeded()
        #expect(f.breaker.concurrencyLimiter?.inFlight == 0 && f.breaker.concurrencyLimiter?.waiting == 0)
    }

    @Test func theCircuitDecidesAfterTheWaitAndASlotItTurnsAwayGoesBackUnused() async throws {
        let f = try await OneWaiting()
        f.breaker.open()  // while the call waits: it holds no admission of the circuit meanwhile
        _ = f.held.succeeded()
        let error = await #expect(throws: CircuitBreakerError.self) { try await f.call.value }
        #expect(error?.reason == .open && !f.ran.isSet)
        #expect(f.breaker.concurrencyLimiter?.inFlight == 0, "the slot it got went back")
        f.breaker.close()
        try await f.breaker.call { () async in }
        #expect(f.breaker.concurrencyLimiter?.inFlight == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueueAndTakesNoSlot() async throws {
        let f = try await OneWaiting()
        f.call.cancel()
        await #expect(throws: CancellationError.self) { try await f.call.value }
        #expect(f.breaker.concurrencyLimiter?.waiting == 0 && !f.ran.isSet)
        _ = f.held.succeeded()
        #expect(f.breaker.concurrencyLimiter?.inFlight == 0 && f.breaker.metrics.rejected == 0)
    }

    @Test func reconfiguringAddsReplacesOrRemovesTheLimiter() throws {
        let (breaker, _) = Self.limited(.fixed(1))
        let first = breaker.concurrencyLimiter
        try breaker.reconfigure { $0.concurrencyLimit?.algorithm = .fixed(1) }
        #expect(breaker.concurrencyLimiter === first, "the same configuration keeps the limiter")
        try breaker.reconfigure { $0.concurrencyLimit?.algorithm = .fixed(3) }
        #expect(breaker.concurrencyLimiter?.limit == 3 && breaker.configuration.concurrencyLimit?.algorithm == .fixed(3))
        let held = try breaker.acquirePermit()
        try breaker.reconfigure { $0.concurrencyLimit = nil }
        #expect(breaker.concurrencyLimiter == nil)
        #expect(breaker.flags.load(ordering: .relaxed) & CircuitBreaker.Flags.generalPath == 0, "back on the fast path")
        _ = held.succeeded()  // ends in the limiter it came from
        for _ in 0..<5 { try breaker.call {} }
    }

    @Test func anInvalidLimitNamesItsFieldUnderConcurrencyLimit() {
        var configuration = CircuitBreaker.Configuration()
        var limit = ConcurrencyLimiter.Configuration()
        limit.initialLimit = 0
        configuration.concurrencyLimit = limit
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        do { try configuration.validate() } catch { #expect(error.field == "concurrencyLimit.initialLimit") }
    }

    @Test func manyThreadsNeverExceedTheLimitAndLeakNoSlot() async throws {
        let (breaker, _) = Self.limited(.fixed(3))
        final class Peak: Sendable {
            let running = Atomic<Int>(0)
            let most = Atomic<Int>(0)
        }
        let peak = Peak()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for call in 0..<500 {
                        try? breaker.call { () throws in
                            let now = peak.running.wrappingAdd(1, ordering: .relaxed).newValue
                            peak.most.max(now, ordering: .relaxed)
                            defer { peak.running.wrappingSubtract(1, ordering: .relaxed) }
                            if (task + call) % 7 == 0 { throw Boom() }
                        }
                    }
                }
            }
        }
        #expect(peak.most.load(ordering: .relaxed) <= 3)
        #expect(breaker.concurrencyLimiter?.inFlight == 0)
    }
}
