import Breaker
import BreakerTestKit
import Testing

@Suite("Calling through the breaker (aiobreaker §3.1–3.4)")
struct CallingTests {
    @Test func syncAndAsyncCallsReturnTheValue() async throws {
        let f = Fixture()
        #expect(try f.breaker.call { 41 + 1 } == 42)
        let value = try await f.breaker.call { () async throws -> String in
            await Task.yield()
            return "async"
        }
        #expect(value == "async")
        #expect(f.recorder.events == [.beforeCall, .success, .beforeCall, .success])
    }

    @Test func aSyncCallInsideAnAsyncFunctionNeedsNoAwait() async throws {
        let breaker = CircuitBreaker(clock: ManualClock())
        let value = try breaker.call { 7 }
        #expect(value == 7)
    }

    @Test func failuresBelowFailMaxRethrowTheOriginalError() {
        let f = Fixture(failMax: 3)
        #expect(f.fail(Boom(code: 7)) as? Boom == Boom(code: 7))
        #expect(f.fail() as? Boom == Boom())
        #expect(f.breaker.failureCount == 2)
        #expect(f.breaker.state == .closed)
    }

    @Test func aSuccessResetsTheCounter() throws {
        let f = Fixture(failMax: 3)
        f.fail()
        f.fail()
        try f.succeed()
        #expect(f.breaker.failureCount == 0)
        f.fail()
        f.fail()
        #expect(f.breaker.state == .closed)
    }

    @Test func theTrippingCallThrowsTrippedWithTheCause() throws {
        let f = Fixture(failMax: 2, resetTimeout: .seconds(30))
        f.fail()
        let error = try #require(f.fail(Boom(code: 9)).breakerError)
        #expect(error.reason == .tripped)
        #expect(error.underlying as? Boom == Boom(code: 9))
        #expect(error.retryAfter == .seconds(30))
        #expect(error.breakerName == "test")
        #expect(error.reason.message == "Failures threshold reached, circuit breaker opened.")
        #expect(f.breaker.state == .open)
        #expect(f.breaker.failureCount == 2)
    }

    @Test func throwOriginalErrorOnTripRethrowsTheCallsOwnError() {
        let f = Fixture(failMax: 1, throwOriginalErrorOnTrip: true)
        #expect(f.fail(Boom(code: 3)) as? Boom == Boom(code: 3))
        #expect(f.breaker.state == .open)
        f.clock.advance(by: .seconds(10))
        #expect(f.fail(Boom(code: 4)) as? Boom == Boom(code: 4), "a failed trial rethrows its own error too")
        #expect(f.breaker.state == .open)
    }

    @Test func throwOriginalErrorOnTripWithAClock() {
        let breaker = CircuitBreaker(failMax: 1, throwOriginalErrorOnTrip: true, clock: ManualClock())
        #expect(throws: Boom.self) { try breaker.call { throw Boom() } }
        #expect(breaker.state == .open)
    }

    @Test func anOpenCircuitRejectsWithoutRunning() throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(10))
        f.fail()
        f.recorder.removeAll()
        f.clock.advance(by: .seconds(4))
        var ran = false
        let error = try #require(f.fail().breakerError)
        #expect(throws: CircuitBreakerError.self) { try f.breaker.call { ran = true } }
        #expect(!ran)
        #expect(error.reason == .open)
        #expect(error.retryAfter == .seconds(6))
        #expect(error.underlying == nil)
        #expect(error.reason.message == "Timeout not elapsed yet, circuit breaker still open")
        #expect(f.recorder.events.isEmpty, "a rejection fires no listener")
        #expect(f.breaker.failureCount == 1, "a rejection does not count")
    }

    @Test func asyncCallsAreRejectedToo() async throws {
        let f = Fixture(failMax: 1)
        f.breaker.open()
        await #expect(throws: CircuitBreakerError.self) {
            try await f.breaker.call { () async throws -> Int in 1 }
        }
    }

    @Test func theMoveToHalfOpenIsLazyAndHappensAtTheTimeout() throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(10))
        f.fail()
        f.clock.advance(by: .nanoseconds(9_999_999_999))
        #expect(f.fail().breakerError?.reason == .open, "one nanosecond early is still open")
        f.clock.advance(by: .nanoseconds(1))
        #expect(f.breaker.state == .open, "nothing moves without a call")
        #expect(f.breaker.retryAfter == .zero)
        f.recorder.removeAll()
        try f.succeed()
        #expect(f.breaker.state == .closed)
        #expect(f.recorder.events == [.stateChange(.open, .halfOpen), .beforeCall, .stateChange(.halfOpen, .closed), .success])
    }

    @Test func aFailedTrialReopensForAFullTimeout() throws {
        let f = Fixture(failMax: 2, resetTimeout: .seconds(10))
        f.fail()
        f.fail()
        f.clock.advance(by: .seconds(10))
        f.recorder.removeAll()
        let error = try #require(f.fail(Boom(code: 5)).breakerError)
        #expect(error.reason == .trialFailed)
        #expect(error.reason.message == "Trial call failed, circuit breaker opened.")
        #expect(error.underlying as? Boom == Boom(code: 5))
        #expect(error.retryAfter == .seconds(10))
        #expect(f.breaker.failureCount == 3, "aiobreaker: failMax + 1 after a failed trial")
        #expect(f.recorder.events == [.stateChange(.open, .halfOpen), .beforeCall, .failure("Boom(5)"), .stateChange(.halfOpen, .open)])
        f.clock.advance(by: .seconds(9))
        #expect(f.fail().breakerError?.reason == .open)
    }

    @Test func halfOpenAdmitsOneTrialAtATime() async throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(1))
        f.breaker.halfOpen()
        let gate = AsyncGate()
        let trial = Task { try await f.breaker.call { await gate.wait(); return 1 } }
        await gate.waitUntilWaiting()
        let rejected = try #require(f.fail().breakerError)
        #expect(rejected.reason == .open)
        #expect(rejected.retryAfter == .seconds(60), "busy until the running trial's deadline (maxTrialDuration, 60 s)")
        await gate.open()
        #expect(try await trial.value == 1)
        #expect(f.breaker.state == .closed)
    }

    @Test func aCancelledCallCountsNeitherWayAndFreesTheTrialSlot() async throws {
        let f = Fixture(failMax: 2)
        f.fail()
        #expect(await inCancelledTask { f.fail(CancellationError()) is CancellationError })
        #expect(f.breaker.failureCount == 1, "not a failure")
        f.fail()
        #expect(f.breaker.state == .open, "and not a success either: the count went on")
        f.breaker.halfOpen()
        f.recorder.removeAll()
        #expect(await inCancelledTask { f.fail(CancellationError()) is CancellationError })
        #expect(f.breaker.state == .halfOpen)
        #expect(f.recorder.events == [.beforeCall], "no success or failure hook")
        try f.succeed()
        #expect(f.breaker.state == .closed, "the slot was freed for the next trial")
    }

    @Test func aCancelledTasksOwnErrorTypeIsIgnoredToo() async throws {
        // A client that wraps cancellation in an error of its own does not fail the trial.
        struct ClientCancelled: Error {}
        let f = Fixture(failMax: 1)
        f.breaker.halfOpen()
        _ = await inCancelledTask { f.fail(ClientCancelled()) }
        #expect(f.breaker.state == .halfOpen)
        try f.succeed()
        #expect(f.breaker.state == .closed)
    }

    @Test func aCancellationErrorFromATaskThatWasNotCancelledIsAFailure() {
        let f = Fixture(failMax: 1)
        #expect(f.fail(CancellationError()).breakerError?.reason == .tripped, "classified like any other error")
        #expect(f.breaker.state == .open)
    }

    @Test func theClassifierDecidesBeforeTheCancellationRule() async {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 1
        configuration.classifyError = { _ in .failure }
        let breaker = CircuitBreaker(configuration: configuration, clock: ManualClock())
        _ = await inCancelledTask { try? breaker.call { throw CancellationError() } }
        #expect(breaker.state == .open, "the classifier said failure, even in a cancelled task")
    }

    @Test func anActorCanPassAClosureOverItsOwnState() async throws {
        actor Counter {
            var calls = 0
            let breaker = CircuitBreaker(clock: ManualClock())
            func bump() async throws -> Int {
                try await breaker.call { () async throws -> Int in
                    calls += 1  // actor-isolated state, no hop, no Sendable requirement
                    return calls
                }
            }
        }
        let counter = Counter()
        _ = try await counter.bump()
        #expect(try await counter.bump() == 2)
    }

    @Test func theErrorDescriptionReadsWellInALog() {
        let error = CircuitBreakerError(reason: .tripped, retryAfter: .milliseconds(1500), underlying: Boom(code: 2), breakerName: "db")
        #expect(error.description == "circuit breaker 'db': Failures threshold reached, circuit breaker opened. (retry after 1.5 s); caused by: Boom(2)")
        let rejection = CircuitBreakerError(reason: .open, retryAfter: .seconds(60))
        #expect(rejection.description == "circuit breaker: Timeout not elapsed yet, circuit breaker still open (retry after 60 s)")
    }
}

/// Holds a task until the test opens the gate.
actor AsyncGate {
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var isOpen = false
    private var arrivals: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { continuation in
            waiters.append(continuation)
            arrivals.forEach { $0.resume() }
            arrivals.removeAll()
        }
    }

    /// Returns once at least one task waits at the gate.
    func waitUntilWaiting() async {
        if !waiters.isEmpty { return }
        await withCheckedContinuation { arrivals.append($0) }
    }

    func open() {
        isOpen = true
        waiters.forEach { $0.resume() }
        waiters.removeAll()
    }
}
