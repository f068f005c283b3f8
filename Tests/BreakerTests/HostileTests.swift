// Bad input and hostile callers: invalid configurations, listeners that are slow, re-enter the breaker
// or change the listener list from inside a callback, protected functions that throw, are cancelled
// or never return, and configuration changed while calls are in flight. No test sleeps or waits for
// time: waiting is for a condition (an atomic flag, a sleeper on the ManualClock), and each such test
// carries a time limit so a regression shows up as a failure, not a hung run.
import Breaker
import BreakerTestKit
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Spins (yielding the CPU) until `condition` holds. Waits for an event, never for time.
func spin(until condition: () -> Bool) {
    // Yields first (the other side is usually about to arrive), then sleeps between looks, so that a
    // long wait on a 2-core machine does not burn the core the rest of a full run (real-time
    // integration tests) needs.
    var looks = 0
    while !condition() {
        looks += 1
        if looks < 200 { sched_yield() } else { usleep(50) }
    }
}

/// An async spin: yields the task until `condition` holds.
func yieldUntil(_ condition: () -> Bool) async {
    while !condition() { await Task.yield() }
}

/// The `CircuitBreakerError` a call threw, if it threw one.
func breakerErrorOf(_ body: () throws -> Void) -> CircuitBreakerError? {
    do { try body() } catch { return error as? CircuitBreakerError }
    return nil
}

final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

// MARK: - Bad configuration values

@Suite("Hostile: invalid configuration values")
struct HostileConfigurationTests {
    typealias Change = @Sendable (inout CircuitBreaker.Configuration) -> Void

    static let invalid: [(String, Change)] = [
        ("failMax", { $0.failMax = -1 }),
        ("failMax", { $0.failMax = .min }),
        ("resetTimeout", { $0.resetTimeout = .seconds(-5) }),
        ("trip.failureRate threshold", { $0.trip = .failureRate(.nan, minimumCalls: 5) }),
        ("trip.failureRate threshold", { $0.trip = .failureRate(0, minimumCalls: 5) }),
        ("trip.failureRate threshold", { $0.trip = .failureRate(-0.5, minimumCalls: 5) }),
        ("trip.failureRate threshold", { $0.trip = .failureRate(.infinity, minimumCalls: 5) }),
        ("trip.failureRate minimumCalls", { $0.trip = .failureRate(0.5, minimumCalls: -3) }),
        ("window.lastCalls", { $0.window = .lastCalls(-1) }),
        ("window.lastCalls", { $0.window = .lastCalls(1_000_001) }),
        ("window.duration bucket", { $0.window = .duration(.seconds(10), bucket: .seconds(-1)) }),
        ("window.duration span", { $0.window = .duration(.zero, bucket: .seconds(1)) }),
        ("window.duration span", { $0.window = .duration(.milliseconds(500), bucket: .seconds(1)) }),
        ("window.duration span", { $0.window = .duration(.seconds(1_000_001), bucket: .seconds(1)) }),
        ("window.duration span", { $0.window = .duration(.seconds(1), bucket: .nanoseconds(1)) }),
        ("slowCalls.threshold", { $0.slowCalls = SlowCallPolicy(threshold: .seconds(-1)) }),
        ("slowCalls.rate", { $0.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: .nan) }),
        ("slowCalls.rate", { $0.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 1.0001) }),
        ("slowCalls.minimumCalls", { $0.slowCalls = SlowCallPolicy(threshold: .seconds(1), minimumCalls: 0) }),
        ("openDuration.multiplier", { $0.openDuration = .exponential(multiplier: .nan, maximum: .seconds(600)) }),
        ("openDuration.multiplier", { $0.openDuration = .exponential(multiplier: .infinity, maximum: .seconds(600)) }),
        ("openDuration.multiplier", { $0.openDuration = .exponential(multiplier: -2, maximum: .seconds(600)) }),
        ("openDuration.maximum", { $0.openDuration = .exponential(maximum: .seconds(-1)) }),
        ("openDuration.jitter", { $0.openDuration = .exponential(maximum: .seconds(600), jitter: .nan) }),
        ("openDuration.jitter", { $0.openDuration = .exponential(maximum: .seconds(600), jitter: -0.1) }),
        ("openDuration.jitter", { $0.openDuration = .exponential(maximum: .seconds(600), jitter: .infinity) }),
        ("halfOpen.permittedCalls", { $0.halfOpen.permittedCalls = -1 }),
        ("halfOpen.successesToClose", { $0.halfOpen.successesToClose = .min }),
        ("halfOpen.maxTrialDuration", { $0.halfOpen.maxTrialDuration = .zero }),
    ]

    @Test(arguments: 0..<invalid.count)
    func everyInvalidValueIsRejectedNamingItsField(index: Int) throws {
        let (field, change) = Self.invalid[index]
        var configuration = CircuitBreaker.Configuration()
        change(&configuration)
        let error = try #require(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error.field == field)
        #expect(!error.value.isEmpty && !error.allowed.isEmpty)
        #expect(error.description.hasPrefix("invalid circuit breaker configuration: \(field) = "))
        // The same value through every entry point: construction and reconfiguration.
        #expect(throws: ConfigurationError.self) { _ = try CircuitBreaker(validating: configuration, clock: ManualClock()) }
        let breaker = CircuitBreaker(failMax: 2, clock: ManualClock())
        #expect(throws: ConfigurationError.self) { try breaker.reconfigure(change) }
        #expect(breaker.failMax == 2 && breaker.configuration.failMax == 2, "a rejected reconfiguration changes nothing")
    }

    @Test func theFirstInvalidFieldIsNamedWhenSeveralAre() {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 0
        configuration.halfOpen.permittedCalls = 0
        #expect(throws: ConfigurationError(field: "failMax", value: "0", allowed: "1...\(Int.max)")) { try configuration.validate() }
    }

    @Test func extremeButValidValuesWork() throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = .max
        configuration.resetTimeout = .seconds(Int64.max)  // saturates internally
        configuration.window = .lastCalls(1_000_000)
        configuration.trip = .failureRate(1, minimumCalls: .max)
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: .max, successesToClose: .max, maxTrialDuration: nil)
        let clock = ManualClock()
        let breaker = try CircuitBreaker(validating: configuration, clock: clock)
        for _ in 0..<100 { _ = try? breaker.call { throw Boom() } }
        #expect(breaker.state == .closed)
        breaker.open()
        clock.advance(by: .seconds(1_000_000_000))
        #expect(throws: CircuitBreakerError.self) { try breaker.call {} }
        #expect(breaker.retryAfter.map { $0 > .seconds(1_000_000_000) } == true, "no overflow: still open for a very long time")
    }

    @Test func exponentialDurationsNeverOverflow() throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 1
        configuration.resetTimeout = .seconds(1)
        configuration.halfOpen.maxTrialDuration = nil
        configuration.openDuration = .exponential(multiplier: 1e300, maximum: .seconds(Int64.max), jitter: 0.999)
        let clock = ManualClock()
        let breaker = try CircuitBreaker(validating: configuration, clock: clock)
        _ = try? breaker.call { throw Boom() }
        var previous = try #require(breaker.retryAfter)
        for _ in 0..<5 {
            breaker.halfOpen()
            _ = try? breaker.call { throw Boom() }
            let retry = try #require(breaker.retryAfter)
            #expect(retry >= .seconds(1_000_000), "capped near Int64.max ns, jittered down by at most 99.9 %, never wrapped")
            #expect(retry != previous || retry > .zero)
            previous = retry
        }
        #expect(breaker.state == .open)
    }

    @Test func theSettersStopTheProgramOnAnInvalidValue() async {
        await #expect(processExitsWith: .failure) {
            let breaker = CircuitBreaker(clock: ManualClock())
            breaker.failMax = 0
        }
        await #expect(processExitsWith: .failure) {
            let breaker = CircuitBreaker(clock: ManualClock())
            breaker.resetTimeout = .zero
        }
    }
}

// MARK: - Hostile listeners

/// Blocks inside its first `stateChange` until released.
final class BlockingListener: CircuitBreakerListener {
    let entered = Flag()
    let release = Flag()
    private let first = Atomic<Bool>(true)

    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        guard first.exchange(false, ordering: .acquiringAndReleasing) else { return }
        entered.set()
        spin { release.isSet }
    }
}

/// Re-enters the breaker from every hook: reads everything, and on the first trip closes the circuit
/// and makes a call of its own.
final class ReentrantListener: CircuitBreakerListener, @unchecked Sendable {
    private let lock = NSLockLike()
    private var reacted = false
    private(set) var seenInFailure: [Int] = []
    private(set) var nestedResult: Int?

    private func readEverything(_ breaker: CircuitBreaker) {
        _ = breaker.state
        _ = breaker.metrics
        _ = breaker.retryAfter
        _ = breaker.snapshot()
        _ = breaker.listeners
        _ = breaker.configuration
    }

    func beforeCall(_ breaker: CircuitBreaker) { readEverything(breaker) }
    func success(_ breaker: CircuitBreaker) { readEverything(breaker) }

    func failure(_ breaker: CircuitBreaker, error: any Error) {
        readEverything(breaker)
        let count = breaker.failureCount
        lock.run { seenInFailure.append(count) }
    }

    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        readEverything(breaker)
        guard to == .open, !lock.run({ let was = reacted; reacted = true; return was }) else { return }
        breaker.close()
        let value = try? breaker.call { 42 }
        lock.run { nestedResult = value }
    }
}

/// Reads everything the breaker offers from every hook (re-entering it without calling through it).
final class ReaderListener: CircuitBreakerListener {
    private func read(_ breaker: CircuitBreaker) {
        _ = breaker.state
        _ = breaker.failureCount
        _ = breaker.metrics
        _ = breaker.retryAfter
        _ = breaker.snapshot()
        _ = breaker.listeners
    }
    func beforeCall(_ breaker: CircuitBreaker) { read(breaker) }
    func success(_ breaker: CircuitBreaker) { read(breaker) }
    func failure(_ breaker: CircuitBreaker, error: any Error) { read(breaker) }
    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) { read(breaker) }
}

/// Removes itself and adds `replacement` from inside its first state change.
final class SelfRemovingListener: CircuitBreakerListener, @unchecked Sendable {
    let replacement: EventRecorder
    private let lock = NSLockLike()
    private var calls = 0
    var heard: Int { lock.run { calls } }
    init(replacement: EventRecorder) { self.replacement = replacement }

    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        lock.run { calls += 1 }
        breaker.removeListener(self)
        breaker.addListener(replacement)
    }
}

/// Removes another listener (registered after it) from inside a hook.
final class OtherRemovingListener: CircuitBreakerListener {
    let victim: EventRecorder
    init(victim: EventRecorder) { self.victim = victim }
    func beforeCall(_ breaker: CircuitBreaker) { breaker.removeListener(victim) }
}

@Suite("Hostile: listeners", .timeLimit(.minutes(1)))
struct HostileListenerTests {
    @Test func aSlowListenerBlocksOnlyTheDeliveringThreadAndOrderHolds() async throws {
        let clock = ManualClock()
        let blocker = BlockingListener()
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(10), listeners: [blocker, recorder], clock: clock)
        let tripper = Task.detached { () -> CircuitBreakerError? in
            do { try breaker.call { throw Boom() } } catch { return error as? CircuitBreakerError }
            return nil
        }
        await yieldUntil { blocker.entered.isSet }
        // The listener is stuck delivering closed->open. Everything else still works, at once:
        #expect(breaker.state == .open)
        #expect(throws: CircuitBreakerError.self) { try breaker.call {} }
        breaker.close()
        try breaker.call {}
        breaker.open()
        #expect(breaker.failureCount == 0)
        _ = breaker.metrics
        // ...the other calls' own events reach the recorder on their thread at once, but no change past the
        // blocked one: changes of a circuit are delivered one at a time, in order.
        #expect(recorder.events == [.beforeCall, .failure("Boom(1)"), .beforeCall, .success])
        blocker.release.set()
        let tripped = await tripper.value
        #expect(tripped?.reason == .tripped)
        // The blocked thread delivered the changes the others made meanwhile, in the circuit's order.
        #expect(recorder.stateChanges == [.stateChange(.closed, .open), .stateChange(.open, .closed), .stateChange(.closed, .open)])
    }

    @Test func aListenerThatReentersTheBreakerNeitherDeadlocksNorRecurses() throws {
        let reentrant = ReentrantListener()
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(failMax: 1, listeners: [reentrant, recorder], clock: ManualClock())
        let error = try #require(breakerErrorOf { try breaker.call { throw Boom() } })
        #expect(error.reason == .tripped)
        #expect(breaker.state == .closed, "the listener closed the circuit")
        #expect(reentrant.nestedResult == 42, "its own call went through")
        #expect(reentrant.seenInFailure == [1])
        // The nested call's own events are heard during it (per-call events are delivered by the calling
        // thread); the change the listener made is delivered after the one it was handling, not inside it.
        #expect(recorder.events == [
            .beforeCall, .failure("Boom(1)"), .beforeCall, .success, .stateChange(.closed, .open), .stateChange(.open, .closed),
        ])
    }

    @Test func aListenerThatRemovesItselfAndAddsAnotherMidDelivery() throws {
        let late = EventRecorder()
        let remover = SelfRemovingListener(replacement: late)
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(failMax: 1, listeners: [remover, recorder], clock: ManualClock())
        _ = try? breaker.call { throw Boom() }
        #expect(remover.heard == 1)
        #expect(breaker.listeners.count == 2 && breaker.listeners.first === recorder && breaker.listeners.last === late)
        #expect(late.events.isEmpty, "listeners are fixed per event: the newcomer hears the next one")
        breaker.close()
        try breaker.call {}
        #expect(remover.heard == 1, "removed: never called again")
        #expect(late.events == [.stateChange(.open, .closed), .beforeCall, .success])
        #expect(recorder.events == [.beforeCall, .failure("Boom(1)"), .stateChange(.closed, .open), .stateChange(.open, .closed), .beforeCall, .success])
    }

    @Test func aListenerRemovedByAnotherMidEventStillHearsThatEventOnly() throws {
        let victim = EventRecorder()
        let remover = OtherRemovingListener(victim: victim)
        let breaker = CircuitBreaker(listeners: [remover, victim], clock: ManualClock())
        try breaker.call {}
        #expect(victim.events == [.beforeCall], "the list was taken for beforeCall before the removal")
        try breaker.call {}
        #expect(victim.events == [.beforeCall])
    }

    @Test func listenersChurningWhileCallsRunLoseNothingForAStableListener() async {
        let clock = ManualClock()
        let stable = EventRecorder()
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 2
        configuration.resetTimeout = .milliseconds(5)
        let breaker = CircuitBreaker(configuration: configuration, listeners: [stable], clock: clock)
        let counters = StressCounters()
        async let churn: Void = Stress.onThreads(1) { _ in
            for i in 0..<2_000 {
                let temporary = EventRecorder()
                let reentrant = i % 3 == 0 ? ReaderListener() : nil
                breaker.addListener(temporary)
                if let reentrant { breaker.addListener(reentrant) }
                clock.advance(by: .milliseconds(2))
                breaker.removeListener(temporary)
                if let reentrant { breaker.removeListener(reentrant) }
            }
            counters.stop.store(true, ordering: .releasing)
        }
        await Stress.onThreads(3) { index in
            var rng = SplitMix64(seed: UInt64(index))
            var made = 0
            while made < 1_500 || !counters.stop.load(ordering: .acquiring) {
                Stress.call(breaker, .pick(&rng, failurePercent: 40), counters)
                made += 1
            }
        }
        await churn
        let metrics = breaker.metrics
        let events = stable.events
        #expect(metrics.calls == counters.calls.load(ordering: .relaxed))
        #expect(events.filter { $0 == .beforeCall }.count == metrics.successes + metrics.failures + metrics.ignored)
        #expect(events.filter { if case .failure = $0 { true } else { false } }.count == metrics.failures)
        Stress.expectChain(stable.stateChanges, endingAt: breaker.state)
    }
}

// MARK: - Hostile protected functions

@Suite("Hostile: protected functions", .timeLimit(.minutes(1)))
struct HostileBodyTests {
    static func configuration(maxTrial: Duration? = .seconds(5)) -> CircuitBreaker.Configuration {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 1
        configuration.resetTimeout = .seconds(30)
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: 1, successesToClose: 1, maxTrialDuration: maxTrial)
        return configuration
    }

    @Test func aTrialThatNeverReturnsCannotKeepTheCircuitHalfOpen() async throws {
        let clock = ManualClock()
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(configuration: Self.configuration(), listeners: [recorder], clock: clock)
        breaker.open()
        clock.advance(by: .seconds(30))
        // The trial hangs: it sleeps on the manual clock for a day (until this test cancels it).
        let hung = Task { try await breaker.call { try await clock.sleep(for: .seconds(86_400)) } }
        await yieldUntil { clock.sleeperCount == 1 }
        #expect(breaker.state == .halfOpen)
        #expect(breakerErrorOf { try breaker.call {} }?.reason == .open, "its slot is busy")
        clock.advance(by: .seconds(5))
        let reopened = try #require(breakerErrorOf { try breaker.call {} })
        #expect(reopened.reason == .open && reopened.retryAfter == .seconds(30))
        #expect(breaker.state == .open, "the hung trial was given up")
        clock.advance(by: .seconds(30))
        try breaker.call {}
        #expect(breaker.state == .closed, "a fresh trial closed the circuit")
        hung.cancel()
        await #expect(throws: CancellationError.self) { try await hung.value }
        #expect(breaker.state == .closed, "the hung trial's late end changes nothing")
        #expect(recorder.stateChanges == [
            .stateChange(.closed, .open), .stateChange(.open, .halfOpen), .stateChange(.halfOpen, .open), .stateChange(.open, .halfOpen),
            .stateChange(.halfOpen, .closed),
        ])
    }

    /// Regression (fixed in CircuitMachine): the half-open deadline ran from when trials *started
    /// running without a pause*, not from the oldest running trial, so overlapping quick trials that
    /// never let the count reach zero were "timed out" although none ran long.
    @Test func overlappingQuickTrialsAreNotGivenUp() throws {
        var configuration = Self.configuration(maxTrial: .milliseconds(400))
        configuration.halfOpen.permittedCalls = 2
        configuration.halfOpen.successesToClose = 4
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration, clock: clock)
        breaker.halfOpen()
        var older = try breaker.acquirePermit()
        for _ in 0..<3 {
            clock.advance(by: .milliseconds(300))
            let newer = try breaker.acquirePermit()  // admitted: the oldest running trial is 300 ms old
            older.succeeded()
            older = newer
        }
        #expect(breaker.state == .halfOpen, "three quick successes of four")
        clock.advance(by: .milliseconds(399))
        try breaker.call {}  // the running trial is 399 ms old: not given up
        #expect(breaker.state == .closed)
        older.succeeded()  // late, from the half-open generation: dropped
        #expect(breaker.state == .closed)
    }

    @Test func withoutMaxTrialDurationAHungTrialHoldsTheSlotUntilCancelled() async throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: Self.configuration(maxTrial: nil), clock: clock)
        breaker.halfOpen()
        let hung = Task { try await breaker.call { try await clock.sleep(for: .seconds(86_400)) } }
        await yieldUntil { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(3_600))
        #expect(breakerErrorOf { try breaker.call {} }?.reason == .open, "still busy after an hour: nothing gives up on it")
        hung.cancel()
        await #expect(throws: CancellationError.self) { try await hung.value }
        #expect(breaker.metrics.ignored == 1, "a cancelled call counts neither way")
        try breaker.call {}
        #expect(breaker.state == .closed, "cancellation freed the slot")
    }

    @Test func aHungClosedCallDoesNotHoldAnythingAndItsLateFailureIsDropped() async throws {
        let clock = ManualClock()
        let recorder = EventRecorder()
        var configuration = Self.configuration()
        configuration.failMax = 2
        let breaker = CircuitBreaker(configuration: configuration, listeners: [recorder], clock: clock)
        let gate = AsyncGate()
        let hung = Task { try await breaker.call { await gate.wait(); throw Boom(code: 9) } }
        await gate.waitUntilWaiting()
        // While it hangs, the circuit trips, recovers and closes around it.
        _ = try? breaker.call { throw Boom() }
        _ = try? breaker.call { throw Boom() }
        #expect(breaker.state == .open)
        clock.advance(by: .seconds(30))
        try breaker.call {}
        #expect(breaker.state == .closed)
        await gate.open()
        await #expect(throws: Boom(code: 9)) { try await hung.value }
        #expect(breaker.failureCount == 0, "a failure admitted before the trip does not count after it")
        #expect(breaker.metrics.failures == 3, "but it is in the lifetime counts")
    }

    @Test func aCancelledTaskBeforeTheCallStillRunsTheBodyAndCountsItsOutcome() async throws {
        let breaker = CircuitBreaker(failMax: 1, clock: ManualClock())
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await breaker.call { () async throws -> Int in
                try Task.checkCancellation()
                return 1
            }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(breaker.state == .closed, "cancellation is not a failure")
        #expect(breaker.metrics.ignored == 1)
    }

    @Test func aBodyThatThrowsACircuitBreakerErrorOfAnotherBreakerIsAFailure() throws {
        let inner = CircuitBreaker(failMax: 1, clock: ManualClock())
        inner.open()
        let outer = CircuitBreaker(failMax: 2, clock: ManualClock())
        let first = try #require(breakerErrorOf { try outer.call { try inner.call {} } })
        #expect(first.reason == .open && first.breakerName == nil, "the inner rejection passes through unchanged")
        let second = try #require(breakerErrorOf { try outer.call { try inner.call {} } })
        #expect(second.reason == .tripped, "and counts as the outer breaker's failure")
        #expect((second.underlying as? CircuitBreakerError)?.reason == .open)
    }
}

// MARK: - Configuration changed while calls are in flight

@Suite("Hostile: reconfiguration with calls in flight")
struct HostileReconfigurationTests {
    @Test func aCallInFlightFinishesUnderTheNewFailMax() throws {
        let breaker = CircuitBreaker(failMax: 5, clock: ManualClock())
        let error = breakerErrorOf {
            try breaker.call { () throws -> Void in
                breaker.failMax = 1
                throw Boom()
            }
        }
        #expect(error?.reason == .tripped, "admitted under failMax 5, judged under failMax 1")
        #expect(breaker.state == .open)
    }

    @Test func aNewWindowShapeStartsEmptyAndTakesInFlightOutcomes() throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 3)
        configuration.window = .lastCalls(10)
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration, clock: clock)
        _ = try? breaker.call { throw Boom() }
        _ = try? breaker.call { throw Boom() }
        #expect(breaker.metrics.window.calls == 2)
        _ = try? breaker.call { () throws -> Void in
            try breaker.reconfigure { $0.window = .duration(.seconds(10), bucket: .seconds(1)) }
            #expect(breaker.metrics.window.calls == 0, "the new shape starts empty")
            throw Boom()
        }
        #expect(breaker.metrics.window == WindowSnapshot(calls: 1, failures: 1, consecutiveFailures: 3))
        #expect(breaker.state == .closed, "one call is below minimumCalls")
    }

    @Test func fewerPermitsWhileTrialsRunRejectNewTrialsUntilTheyDrain() throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: 3, successesToClose: 3, maxTrialDuration: nil)
        let breaker = CircuitBreaker(configuration: configuration, clock: ManualClock())
        breaker.halfOpen()
        let first = try breaker.acquirePermit()
        let second = try breaker.acquirePermit()
        try breaker.reconfigure { $0.halfOpen.permittedCalls = 1 }
        #expect(throws: CircuitBreakerError.self) { _ = try breaker.acquirePermit() }
        first.succeeded()
        #expect(throws: CircuitBreakerError.self) { _ = try breaker.acquirePermit() }
        second.succeeded()
        try breaker.call {}  // the third success, admitted now that no trial runs
        #expect(breaker.state == .closed)
    }

    @Test func switchingTripPolicyMidFlightCountsUnderTheNewPolicy() throws {
        let breaker = CircuitBreaker(failMax: 100, clock: ManualClock())
        let error = breakerErrorOf {
            try breaker.call { () throws -> Void in
                try breaker.reconfigure { $0.trip = .custom { $0.consecutiveFailures >= 1 } }
                throw Boom()
            }
        }
        #expect(error?.reason == .tripped)
    }
}

// MARK: - Regressions of bugs these tests found

@Suite("Hostile: regressions")
struct HostileRegressionTests {
    /// A success that trips a rate policy used to report `success` before `closed->open` when the call
    /// was untimed (the trip finished in a second locked section) and after it when timed. Now the
    /// transition always comes first, as when a half-open success closes the circuit.
    @Test func aSuccessThatTripsReportsTheTransitionFirstWhetherTimedOrNot() throws {
        func events(timed: Bool) -> [EventRecorder.Event] {
            var configuration = CircuitBreaker.Configuration()
            configuration.trip = .failureRate(0.5, minimumCalls: 3)
            configuration.window = .lastCalls(3)
            if timed { configuration.slowCalls = SlowCallPolicy(threshold: .seconds(3_600), rate: 1, minimumCalls: 1_000) }
            let recorder = EventRecorder()
            let breaker = CircuitBreaker(configuration: configuration, listeners: [recorder], clock: ManualClock())
            _ = try? breaker.call { throw Boom() }
            _ = try? breaker.call { throw Boom() }
            try? breaker.call {}  // 2 of 3 failed: this success trips the circuit
            #expect(breaker.state == .open)
            return Array(recorder.events.suffix(3))
        }
        #expect(events(timed: false) == [.beforeCall, .stateChange(.closed, .open), .success])
        #expect(events(timed: true) == [.beforeCall, .stateChange(.closed, .open), .success])
    }
}
