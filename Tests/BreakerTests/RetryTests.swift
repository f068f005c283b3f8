import Breaker
import BreakerTestKit
import Synchronization
import Testing

@Suite("Retrying through the breaker")
struct RetryTests {
    /// Attempts made, and a script of outcomes for them.
    final class Attempts: Sendable {
        private let count = Atomic<Int>(0)
        let failFirst: Int
        init(failFirst: Int) { self.failFirst = failFirst }
        var made: Int { count.load(ordering: .acquiring) }
        func attempt() throws -> String {
            let number = count.add(1, ordering: .acquiringAndReleasing).newValue
            if number <= failFirst { throw Boom(code: number) }
            return "ok after \(number)"
        }
    }

    /// Advances `clock` each time the retrying task sleeps, until it finishes.
    private func drive<R: Sendable>(_ clock: ManualClock, by step: Duration, _ task: Task<R, any Error>, done: @Sendable () -> Bool) async {
        while !done() {
            await yieldUntil { clock.sleeperCount > 0 || done() }
            if clock.sleeperCount > 0 { clock.advance(by: step) }
        }
        _ = await task.result
    }

    @Test func backsOffExponentiallyOnTheBreakersClock() async throws {
        let f = Fixture(failMax: 10)
        let attempts = Attempts(failFirst: 2)
        let retry = RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(100), jitter: 0)
        let task = Task { try await f.breaker.call(retrying: retry) { try attempts.attempt() } }
        await yieldUntil { f.clock.sleeperCount > 0 }
        #expect(attempts.made == 1)
        f.clock.advance(by: .milliseconds(99))
        #expect(attempts.made == 1, "not before the first backoff of 100 ms")
        f.clock.advance(by: .milliseconds(1))
        await yieldUntil { attempts.made == 2 && f.clock.sleeperCount > 0 }
        f.clock.advance(by: .milliseconds(199))
        #expect(attempts.made == 2, "the second backoff is twice the first")
        f.clock.advance(by: .milliseconds(1))
        #expect(try await task.value == "ok after 3")
        #expect(f.breaker.metrics.failures == 2 && f.breaker.metrics.successes == 1)
    }

    @Test func neverRetriesIntoAnOpenCircuit() async throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(10))
        let attempts = Attempts(failFirst: 1)
        let times = Guarded<[Duration]>([])
        let retry = RetryPolicy(maxAttempts: 5, initialDelay: .milliseconds(100), jitter: 0)
        let start = f.clock.now
        let task = Task {
            try await f.breaker.call(retrying: retry) {
                times.withLock { $0.append(start.duration(to: f.clock.now)) }
                return try attempts.attempt()
            }
        }
        await drive(f.clock, by: .milliseconds(100), task) { attempts.made >= 2 }
        #expect(try await task.value == "ok after 2")
        let second = try #require(times.withLock { $0 }.last)
        #expect(second >= .seconds(10), "the retry ran once the 10 s open period was over, not after the 100 ms backoff")
        #expect(f.breaker.metrics.rejected <= 1, "at most one rejected attempt, then it waited for the open period")
        #expect(f.breaker.state == .closed, "the retry was the trial that closed it")
    }

    @Test func theLastErrorIsThrownWhenAttemptsRunOut() async throws {
        let f = Fixture(failMax: 10)
        let attempts = Attempts(failFirst: 99)
        let task = Task { try await f.breaker.call(retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10), jitter: 0)) { try attempts.attempt() } }
        await drive(f.clock, by: .seconds(1), task) { attempts.made >= 3 }
        await #expect(throws: Boom(code: 3)) { try await task.value }
        #expect(attempts.made == 3)
    }

    @Test func anEmptyBudgetStopsRetries() async throws {
        let f = Fixture(failMax: 10)
        let attempts = Attempts(failFirst: 99)
        let budget = RetryBudget(ratio: 0.1, minimumTokens: 1)
        let retry = RetryPolicy(maxAttempts: 5, initialDelay: .milliseconds(10), jitter: 0, budget: budget)
        let first = Task { try await f.breaker.call(retrying: retry) { try attempts.attempt() } }
        await drive(f.clock, by: .seconds(1), first) { attempts.made >= 2 }
        #expect(attempts.made == 2, "one first attempt, one retry from the minimum; 0.1 token is not a retry")
        let second = Task { try await f.breaker.call(retrying: retry) { try attempts.attempt() } }
        _ = await second.result
        #expect(attempts.made == 3, "the budget is spent: no retry")
    }

    @Test func errorsThatAreNotFailuresAreNotRetried() async throws {
        let f = Fixture(failMax: 10, exclude: [.type(Benign.self)])
        let count = Count()
        await #expect(throws: Benign.self) {
            try await f.breaker.call(retrying: RetryPolicy(maxAttempts: 5)) { () throws -> Int in
                count.add()
                throw Benign()
            }
        }
        #expect(count.value == 1)
    }

    @Test func cancellationStopsAtOnce() async throws {
        let f = Fixture(failMax: 10)
        let attempts = Attempts(failFirst: 99)
        let task = Task { try await f.breaker.call(retrying: RetryPolicy(maxAttempts: 5, initialDelay: .seconds(1))) { try attempts.attempt() } }
        await yieldUntil { f.clock.sleeperCount > 0 }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(attempts.made == 1)
    }

    @Test func invalidPoliciesAreRejectedNamingTheField() async {
        let f = Fixture()
        await #expect(throws: ConfigurationError(field: "retry.maxAttempts", value: "0", allowed: "1...\(Int.max)")) {
            try await f.breaker.call(retrying: RetryPolicy(maxAttempts: 0)) { 1 }
        }
    }
}
