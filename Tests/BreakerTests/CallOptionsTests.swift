import Breaker
import BreakerTestKit
import Synchronization
import Testing

@Suite("Call options: time limit, result classification, fallback")
struct CallOptionsTests {
    /// A body that waits until released, and says whether it saw its task cancelled.
    final class Hang: Sendable {
        private let released = Atomic<Bool>(false)
        let sawCancellation = Flag()
        let started = Flag()

        func run() async throws -> Int {
            started.set()
            while !released.load(ordering: .acquiring) {
                if Task.isCancelled { sawCancellation.set() }
                await Task.yield()
            }
            return 1
        }

        /// Waits ignoring cancellation: the caller must still be answered at the limit.
        func runStubbornly() async -> Int {
            started.set()
            while !released.load(ordering: .acquiring) { await Task.yield() }
            return 1
        }

        func release() { released.store(true, ordering: .releasing) }
    }

    @Test func aCallPastItsTimeLimitIsCancelledAndAnsweredAtOnce() async throws {
        let f = PolicyFixture { $0.failMax = 5 }
        let hang = Hang()
        let caller = Task { try await f.breaker.call(CallOptions(timeLimit: .seconds(2))) { try await hang.run() } }
        await yieldUntil { hang.started.isSet && f.clock.sleeperCount > 0 }
        f.clock.advance(by: .seconds(2))
        let error = await #expect(throws: CircuitBreakerError.self) { try await caller.value }
        #expect(error?.reason == .timedOut)
        #expect(error?.underlying is TimeLimitReached)
        await yieldUntil { hang.sawCancellation.isSet }  // the body's task was cancelled
        let metrics = f.breaker.metrics
        #expect(metrics.failures == 1 && metrics.slowCalls == 1, "a failure, and slow")
        hang.release()
    }

    @Test func aBodyThatIgnoresCancellationDoesNotHoldTheCallerPastTheLimit() async throws {
        let f = PolicyFixture { $0.failMax = 5 }
        let hang = Hang()
        let caller = Task { try await f.breaker.call(CallOptions(timeLimit: .milliseconds(500))) { await hang.runStubbornly() } }
        await yieldUntil { hang.started.isSet && f.clock.sleeperCount > 0 }
        f.clock.advance(by: .milliseconds(500))
        await #expect(throws: CircuitBreakerError.self) { try await caller.value }
        hang.release()
    }

    @Test func theConfigurationsTimeLimitIsTheDefaultAndACallMayOverrideIt() async throws {
        let f = PolicyFixture { $0.timeLimit = .seconds(1) }
        let hang = Hang()
        let byDefault = Task { try await f.breaker.call(CallOptions<Int>()) { try await hang.run() } }
        await yieldUntil { hang.started.isSet && f.clock.sleeperCount > 0 }
        f.clock.advance(by: .seconds(1))
        await #expect(throws: CircuitBreakerError.self) { try await byDefault.value }
        let longer = Hang()
        let overridden = Task { try await f.breaker.call(CallOptions(timeLimit: .seconds(10))) { try await longer.run() } }
        await yieldUntil { longer.started.isSet && f.clock.sleeperCount > 0 }
        f.clock.advance(by: .seconds(5))
        longer.release()
        #expect(try await overridden.value == 1, "within its own, longer limit")
        hang.release()
    }

    @Test func aTimedOutCallThatTripsFallsBack() async throws {
        let f = PolicyFixture { $0.failMax = 1 }
        let hang = Hang()
        let options = CallOptions<Int>(timeLimit: .seconds(1), fallback: { error in error.reason == .tripped ? -1 : -2 })
        let caller = Task { try await f.breaker.call(options) { try await hang.run() } }
        await yieldUntil { hang.started.isSet && f.clock.sleeperCount > 0 }
        f.clock.advance(by: .seconds(1))
        #expect(try await caller.value == -1, "the time-out opened the circuit: the fallback answers")
        #expect(f.breaker.state == .open)
        #expect(try await f.breaker.call(options) { 1 } == -2, "rejected: the fallback answers again")
        hang.release()
    }

    @Test func classificationAndFallbackComposeInOneCall() async throws {
        let f = PolicyFixture { $0.failMax = 2 }
        let options = CallOptions<Int>(
            timeLimit: .seconds(5),
            classifyResult: { status in status >= 500 ? .failure : .success },
            fallback: { _ in 200 })
        #expect(try await f.breaker.call(options) { 503 } == 503, "a failure that does not trip returns its value")
        #expect(try await f.breaker.call(options) { 503 } == 200, "the one that trips falls back")
        #expect(f.breaker.state == .open)
        #expect(try await f.breaker.call(options) { 200 } == 200, "rejected: falls back")
        #expect(f.breaker.metrics.rejected == 1)
    }

    @Test func otherErrorsAreRethrownAndCounted() async throws {
        let f = PolicyFixture { $0.failMax = 3 }
        await #expect(throws: Boom.self) { try await f.breaker.call(CallOptions<Int>(timeLimit: .seconds(1))) { throw Boom() } }
        #expect(f.breaker.failureCount == 1)
    }

    @Test func invalidTimeLimitsAreRejected() {
        var configuration = CircuitBreaker.Configuration()
        configuration.timeLimit = .zero
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }
}
