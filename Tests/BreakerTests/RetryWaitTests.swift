import Breaker
import BreakerTestKit
import Synchronization
import Testing

@Suite("Waiting for a retry")
struct RetryWaitTests {
    @Test func whileATrialRunsWaitUntilRetryWaitsForItToSettle() async throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(10))
        f.breaker.halfOpen()
        let trial = try f.breaker.acquirePermit()
        #expect(f.breaker.retryAfter == .seconds(60), "the running trial's remaining deadline")
        let returned = Flag()
        let waiter = Task {
            try await f.breaker.waitUntilRetry()
            returned.set()
        }
        await yieldUntil { f.clock.sleeperCount > 0 }  // the waiter is waiting (with the trial's deadline as a bound)
        #expect(!returned.isSet, "a running trial holds every slot: nothing to retry yet")
        trial.succeeded()
        try await waiter.value
        #expect(returned.isSet)
        #expect(f.breaker.state == .closed)
    }

    @Test func waitUntilRetryReturnsAtTheTrialsDeadline() async throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(10))
        try f.breaker.reconfigure { $0.halfOpen = HalfOpenPolicy(maxTrialDuration: .seconds(5)) }
        f.breaker.halfOpen()
        let hung = try f.breaker.acquirePermit()
        let returned = Flag()
        let waiter = Task {
            try await f.breaker.waitUntilRetry()
            returned.set()
        }
        await yieldUntil { f.clock.sleeperCount > 0 }
        f.clock.advance(by: .nanoseconds(4_999_999_999))
        await yieldUntil { f.clock.sleeperCount > 0 }  // woken by nothing: still waiting for the deadline
        #expect(!returned.isSet, "just before the trial's deadline")
        f.clock.advance(by: .nanoseconds(1))
        try await waiter.value
        // At the deadline the trial is given up: the caller that comes back finds the circuit reopened.
        #expect(breakerErrorOf { try f.breaker.call {} }?.retryAfter == .seconds(10))
        #expect(f.breaker.state == .open)
        hung.ignored()
    }

    @Test func theReadmeRetryLoopMakesABoundedNumberOfAttemptsPerTrial() async throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(10))
        f.breaker.halfOpen()
        let trial = try f.breaker.acquirePermit()
        let attempts = Atomic<Int>(0)
        let loop = Task { () -> Int in
            while true {
                attempts.add(1, ordering: .relaxed)
                do {
                    return try f.breaker.call { 7 }
                } catch is CircuitBreakerError {
                    try await f.breaker.waitUntilRetry()
                }
            }
        }
        await yieldUntil { f.clock.sleeperCount > 0 }
        #expect(attempts.load(ordering: .relaxed) == 1, "one rejected attempt, then waiting: no spinning")
        trial.succeeded()
        #expect(try await loop.value == 7)
        #expect(attempts.load(ordering: .relaxed) == 2)
        #expect(f.breaker.metrics.rejected == 1)
    }

    @Test func waitUntilRetryReturnsWhenTheCircuitIsClosedByHand() async throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(60))
        f.breaker.open()
        let waiter = Task { try await f.breaker.waitUntilRetry() }
        await yieldUntil { f.clock.sleeperCount > 0 }
        f.breaker.close()
        try await waiter.value
        #expect(f.breaker.state == .closed)
    }

    @Test func waitUntilRetryIsCancellable() async throws {
        let f = Fixture(failMax: 1)
        f.breaker.halfOpen()
        let trial = try f.breaker.acquirePermit()
        let waiter = Task { try await f.breaker.waitUntilRetry() }
        await yieldUntil { f.clock.sleeperCount > 0 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        trial.ignored()
    }
}
