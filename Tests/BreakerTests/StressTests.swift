// Stress tests: many threads and thousands of tasks through one breaker while another thread moves the
// ManualClock, flips states by hand, changes modes and reconfigures. The invariants are checked at the
// end, never timing: no sleeps, no waiting for time, so they cannot be flaky; each is bounded by a
// fixed number of calls (a few seconds at most, also under the thread sanitizer).
//
// - Every call is accounted for exactly once: what callers saw (value, own error, tripped/trialFailed,
//   rejected) matches `metrics` kind by kind, and listener events match too (one `beforeCall` per
//   admitted call, one `success`/`failure` per counted outcome).
// - Listener state changes chain: each event's `from` is the previous event's `to`, the first starts
//   at `closed`, the last ends at the final state; every manual transition was heard.
// - Half-open never runs more than `permittedCalls` trials at once (an atomic count of trial bodies
//   in flight and its maximum).
import Breaker
import BreakerTestKit
import Dispatch
import Foundation
import Synchronization
import Testing

/// Counters shared by workers; `Atomic` so the thread sanitizer sees every access as synchronized.
final class StressCounters: Sendable {
    let values = Atomic<Int>(0)
    let successes = Atomic<Int>(0)  // values + excluded errors rethrown
    let failures = Atomic<Int>(0)  // Boom rethrown + tripped + trialFailed
    let ignored = Atomic<Int>(0)
    let rejected = Atomic<Int>(0)
    let calls = Atomic<Int>(0)
    let inBody = Atomic<Int>(0)
    let maxInBody = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
    let manualTransitions = Atomic<Int>(0)

    func add(_ counter: borrowing Atomic<Int>) { counter.wrappingAdd(1, ordering: .relaxed) }

    func enterBody() {
        let now = inBody.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        var seen = maxInBody.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = maxInBody.compareExchange(expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    func leaveBody() { inBody.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
}

/// What a body does.
enum StressOutcome: CaseIterable {
    case success, failure, excluded, cancelled

    static func pick(_ rng: inout SplitMix64, failurePercent: Int) -> StressOutcome {
        rng.weighted([(60 - failurePercent / 2, .success), (failurePercent, .failure), (15, .excluded), (25 - failurePercent / 2, .cancelled)])
    }
}

enum Stress {
    /// One call through `breaker`; records what the caller saw.
    static func call(_ breaker: CircuitBreaker, _ outcome: StressOutcome, _ counters: StressCounters, trackTrials: Bool = false) {
        counters.add(counters.calls)
        do {
            _ = try breaker.call { () throws -> Int in
                if trackTrials { counters.enterBody() }
                defer { if trackTrials { counters.leaveBody() } }
                for _ in 0..<3 { sched_yield() }  // widen the window in which bodies overlap
                return try finish(outcome)
            }
            counters.add(counters.values)
            counters.add(counters.successes)
        } catch {
            classify(error, counters)
        }
    }

    static func callAsync(_ breaker: CircuitBreaker, _ outcome: StressOutcome, _ counters: StressCounters, trackTrials: Bool = false) async {
        counters.add(counters.calls)
        do {
            _ = try await breaker.call { () async throws -> Int in
                if trackTrials { counters.enterBody() }
                defer { if trackTrials { counters.leaveBody() } }
                await Task.yield()
                return try finish(outcome)
            }
            counters.add(counters.values)
            counters.add(counters.successes)
        } catch {
            classify(error, counters)
        }
    }

    static func finish(_ outcome: StressOutcome) throws -> Int {
        switch outcome {
        case .success: return 1
        case .failure: throw Boom()
        case .excluded: throw Benign()
        case .cancelled: throw CancellationError()
        }
    }

    static func classify(_ error: any Error, _ counters: StressCounters) {
        switch error {
        case let error as CircuitBreakerError:
            if error.reason == .open { counters.add(counters.rejected) } else { counters.add(counters.failures) }
        case is Boom: counters.add(counters.failures)
        case is Benign: counters.add(counters.successes)
        case is CancellationError: counters.add(counters.ignored)
        default: Issue.record("unexpected error \(error)")
        }
    }

    /// Runs `work(i)` on `count` new threads and returns when all have finished (without blocking the
    /// caller's cooperative thread).
    static func onThreads(_ count: Int, _ work: @escaping @Sendable (Int) -> Void) async {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                work(index)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global()) { continuation.resume() }
        }
    }

    /// Checks that `changes` chain from `closed` to `final`.
    static func expectChain(_ changes: [EventRecorder.Event], endingAt final: CircuitState, sourceLocation: SourceLocation = #_sourceLocation) {
        var current: CircuitState = .closed
        for (index, change) in changes.enumerated() {
            guard case .stateChange(let from, let to) = change else { continue }
            if from != current {
                Issue.record("state change #\(index + 1) is \(from)->\(to), but the previous one ended at \(current)", sourceLocation: sourceLocation)
                return
            }
            current = to
        }
        #expect(current == final, "the last state change ends at \(current), the breaker is \(final)", sourceLocation: sourceLocation)
    }
}

@Suite("Stress: many threads and tasks through one breaker")
struct StressTests {
    /// The controller: moves the clock, flips states and modes, reconfigures, until the workers stop
    /// (and at least `minimumActions` times, so the test never depends on who runs first).
    static func control(_ breaker: CircuitBreaker, _ clock: ManualClock, _ counters: StressCounters, seed: UInt64, minimumActions: Int = 300) {
        var rng = SplitMix64(seed: seed)
        var actions = 0
        while actions < minimumActions || !counters.stop.load(ordering: .acquiring) {
            actions += 1
            switch rng.int(0...99) {
            case 0..<40: clock.advance(by: .milliseconds(rng.int(1...20)))
            case 40..<50: breaker.open(); counters.add(counters.manualTransitions)
            case 50..<60: breaker.halfOpen(); counters.add(counters.manualTransitions)
            case 60..<70: breaker.close(); counters.add(counters.manualTransitions)
            case 70..<75: breaker.failMax = rng.int(1...6)
            case 75..<78: breaker.resetTimeout = .milliseconds(rng.int(1...30))
            case 78..<81:
                try? breaker.reconfigure { configuration in
                    configuration.trip = rng.chance(50) ? .consecutiveFailures : .failureRate(0.5, minimumCalls: rng.int(1...10))
                    configuration.window = rng.chance(50) ? .lastCalls(rng.int(1...20)) : .duration(.milliseconds(40), bucket: .milliseconds(10))
                }
            case 81..<84:
                try? breaker.reconfigure {
                    $0.halfOpen = HalfOpenPolicy(permittedCalls: rng.int(1...4), successesToClose: rng.int(1...3), maxTrialDuration: .milliseconds(rng.int(1...50)))
                }
            case 84..<86:
                // Not `.disabled`: calls that end while disabled are not counted at all (by design), which
                // would break the exact accounting this test checks. `DisabledModeTests` covers it.
                breaker.setMode([OperatingMode.forcedOpen, .metricsOnly][rng.int(0...1)])
                breaker.setMode(.normal)
            default:
                _ = breaker.metrics  // readers race with everything else
                _ = breaker.retryAfter
                _ = breaker.failureCount
            }
            sched_yield()
        }
    }

    @Test(arguments: [true, false])
    func everyCallIsAccountedForAndTransitionsChain(listening: Bool) async {
        let clock = ManualClock()
        let recorder = EventRecorder()
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 3
        configuration.resetTimeout = .milliseconds(10)
        configuration.exclude = [.type(Benign.self)]
        configuration.classifyError = ignoreCancellationErrors  // "cancelled" bodies throw from tasks that were not cancelled
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: 2, successesToClose: 2, maxTrialDuration: .milliseconds(30))
        let breaker = CircuitBreaker(name: "stress", configuration: configuration, listeners: listening ? [recorder] : [], clock: clock)
        let counters = StressCounters()
        let threads = 4, callsPerThread = 2_500, tasks = 2_000, callsPerTask = 3

        async let controller: Void = Stress.onThreads(1) { _ in Self.control(breaker, clock, counters, seed: 42) }
        async let workers: Void = Stress.onThreads(threads) { index in
            var rng = SplitMix64(seed: UInt64(index))
            for _ in 0..<callsPerThread { Stress.call(breaker, .pick(&rng, failurePercent: 30), counters) }
        }
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<tasks {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(1_000 + index))
                    for _ in 0..<callsPerTask { await Stress.callAsync(breaker, .pick(&rng, failurePercent: 30), counters) }
                }
            }
        }
        await workers
        counters.stop.store(true, ordering: .releasing)
        await controller
        breaker.setMode(.normal)

        let made = threads * callsPerThread + tasks * callsPerTask
        let metrics = breaker.metrics
        #expect(counters.calls.load(ordering: .relaxed) == made)
        #expect(metrics.calls == made, "successes + failures + ignored + rejected == calls made")
        #expect(metrics.successes == counters.successes.load(ordering: .relaxed))
        #expect(metrics.failures == counters.failures.load(ordering: .relaxed))
        #expect(metrics.ignored == counters.ignored.load(ordering: .relaxed))
        #expect(metrics.rejected == counters.rejected.load(ordering: .relaxed))
        #expect(metrics.rejected > 0 && metrics.failures > 0 && metrics.successes > 0 && metrics.ignored > 0)
        guard listening else { return }
        let events = recorder.events
        let admitted = metrics.successes + metrics.failures + metrics.ignored
        #expect(events.filter { $0 == .beforeCall }.count == admitted, "one beforeCall per admitted call")
        #expect(events.filter { $0 == .success }.count == metrics.successes)
        #expect(events.filter { if case .failure = $0 { true } else { false } }.count == metrics.failures)
        let changes = recorder.stateChanges
        #expect(changes.count >= counters.manualTransitions.load(ordering: .relaxed), "every manual transition is heard")
        Stress.expectChain(changes, endingAt: breaker.state)
    }

    @Test func halfOpenNeverRunsMoreTrialsThanPermitted() async {
        let clock = ManualClock()
        var configuration = CircuitBreaker.Configuration()
        configuration.exclude = [.type(Benign.self)]
        configuration.classifyError = ignoreCancellationErrors  // "cancelled" bodies throw from tasks that were not cancelled
        // Trials succeed, are excluded or cancelled, but never close the circuit nor fail it: every body
        // that runs is a trial of the same half-open generation, so the bound is exact.
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: 3, successesToClose: 1_000_000, maxTrialDuration: nil)
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(name: "trials", configuration: configuration, listeners: [recorder], clock: clock)
        breaker.halfOpen()
        let counters = StressCounters()
        let threads = 4, callsPerThread = 2_000, tasks = 1_000, callsPerTask = 3
        async let workers: Void = Stress.onThreads(threads) { index in
            var rng = SplitMix64(seed: UInt64(index))
            for _ in 0..<callsPerThread { Stress.call(breaker, .pick(&rng, failurePercent: 0), counters, trackTrials: true) }
        }
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<tasks {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(7_000 + index))
                    for _ in 0..<callsPerTask { await Stress.callAsync(breaker, .pick(&rng, failurePercent: 0), counters, trackTrials: true) }
                }
            }
        }
        await workers
        let maxTrials = counters.maxInBody.load(ordering: .relaxed)
        #expect(maxTrials >= 1 && maxTrials <= 3, "at most 3 trials at once, saw \(maxTrials)")
        #expect(counters.inBody.load(ordering: .relaxed) == 0)
        #expect(breaker.state == .halfOpen)
        let metrics = breaker.metrics
        #expect(metrics.calls == threads * callsPerThread + tasks * callsPerTask)
        #expect(metrics.failures == 0)
        #expect(metrics.rejected == counters.rejected.load(ordering: .relaxed))
        #expect(metrics.successes + metrics.ignored == counters.successes.load(ordering: .relaxed) + counters.ignored.load(ordering: .relaxed))
        #expect(recorder.stateChanges == [.stateChange(.closed, .halfOpen)])
    }

    @Test func aFailingTrialAmongManyReopensExactlyOnce() async {
        // Half-open with 3 permits; every trial fails. However the threads interleave, the first failed
        // trial reopens the circuit and the other trials' failures belong to the old generation: exactly
        // one half-open -> open, and the failure count goes up by exactly one.
        for round in 0..<20 {
            let clock = ManualClock()
            var configuration = CircuitBreaker.Configuration()
            configuration.failMax = 2
            configuration.halfOpen = HalfOpenPolicy(permittedCalls: 3, successesToClose: 1, maxTrialDuration: nil)
            let recorder = EventRecorder()
            let breaker = CircuitBreaker(name: "reopen", configuration: configuration, listeners: [recorder], clock: clock)
            breaker.halfOpen()
            let counters = StressCounters()
            await Stress.onThreads(4) { _ in
                for _ in 0..<50 { Stress.call(breaker, .failure, counters) }
            }
            #expect(recorder.stateChanges == [.stateChange(.closed, .halfOpen), .stateChange(.halfOpen, .open)], "round \(round)")
            #expect(breaker.failureCount == 1, "round \(round)")
            #expect(breaker.state == .open)
            let metrics = breaker.metrics
            #expect(metrics.failures + metrics.rejected == 200)
            #expect((1...3).contains(metrics.failures), "round \(round): at most 3 trials ran, \(metrics.failures) did")
        }
    }
}
