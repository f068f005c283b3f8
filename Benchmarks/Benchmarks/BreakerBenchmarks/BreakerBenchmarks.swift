// The benchmark suite of swift-breaker. Run from the Benchmarks directory:
//
//     swift package --allow-writing-to-package-directory benchmark
//
// Every benchmark's iteration makes many calls (see `scalingFactor`). With `--scale` the tool prints
// raw totals per iteration, and `report.py` divides them by the calls per iteration to give ns and
// mallocs per call (see ../BENCHMARKS.md). Names start with a number so that the tool lists them in
// the order of the report's table.

import Benchmark
import BenchmarkWork
import Breaker
import AsyncHTTPClient
import BreakerHTTPClient
import BreakerRedis
import BreakerLogging
import BreakerMetrics
import Logging
import Dispatch
import Foundation
import Synchronization

// The work every call runs (`work`, `failing`, `failingLikeABreaker`, ...) is in `BenchmarkWork`.

/// The monotonic clock in nanoseconds, read as the library reads it on Linux (`clock_gettime`), for the
/// baseline of the limiter rows that time their calls.
@inline(never)
func monotonicNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
}

// MARK: - Helpers

/// Runs `total` calls of `body`, split evenly over `threads` threads (the calling thread is one of them).
func split(threads: Int, total: Int, _ body: @Sendable (_ count: Int) -> Void) {
    if threads == 1 {
        body(total)
    } else {
        DispatchQueue.concurrentPerform(iterations: threads) { _ in body(total / threads) }
    }
}

/// A half-open breaker whose one trial slot is held by a call parked on another thread, so every
/// other call is rejected after taking the breaker's lock (the half-open admission path).
final class HeldTrial: Sendable {
    let breaker: CircuitBreaker
    private let gate = DispatchSemaphore(value: 0)
    private let entered = Atomic<Bool>(false)

    init() {
        var configuration = CircuitBreaker.Configuration()
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: 1, successesToClose: 1, maxTrialDuration: nil)
        configuration.resetTimeout = .seconds(3600)
        breaker = CircuitBreaker(name: "held-trial", configuration: configuration)
    }

    /// Moves the breaker to half-open and parks a trial call in it.
    func hold() async {
        entered.store(false, ordering: .sequentiallyConsistent)
        breaker.open()
        breaker.halfOpen()
        let thread = Thread { [self] in
            _ = try? breaker.call { () -> Int in
                entered.store(true, ordering: .sequentiallyConsistent)
                gate.wait()
                return 0
            }
        }
        thread.start()
        while !entered.load(ordering: .sequentiallyConsistent) { try? await Task.sleep(for: .milliseconds(1)) }
    }

    /// Lets the parked trial finish (it succeeds and closes the breaker).
    func release() { gate.signal() }
}

/// One call per op that the breaker is expected to reject; counts the rejections so the optimizer
/// keeps the catch.
@inline(__always)
func rejectedCall(_ breaker: CircuitBreaker, _ value: Int) -> Int {
    do {
        return try breaker.call { work(value) }
    } catch let error as CircuitBreakerError {
        blackHole(error)
        return -1
    } catch {
        fatalError("unexpected error \(error)")
    }
}

/// A listener that implements only `stateChange`, so a breaker in a steady closed state has nothing
/// to tell it: scenario 26 measures what merely having such a listener costs each call.
final class StateChangeCounter: CircuitBreakerListener {
    let changes = Atomic<Int>(0)

    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        changes.wrappingAdd(1, ordering: .relaxed)
    }
}

/// A listener that implements every per-call hook (`beforeCall`, `success`, `failure`), each a relaxed
/// atomic increment: scenario 27 measures the cost of delivering two events per successful call.
final class EveryCallCounter: CircuitBreakerListener {
    let before = Atomic<Int>(0)
    let successes = Atomic<Int>(0)
    let failures = Atomic<Int>(0)

    func beforeCall(_ breaker: CircuitBreaker) { before.wrappingAdd(1, ordering: .relaxed) }
    func success(_ breaker: CircuitBreaker) { successes.wrappingAdd(1, ordering: .relaxed) }
    func failure(_ breaker: CircuitBreaker, error: any Error) { failures.wrappingAdd(1, ordering: .relaxed) }
}

// MARK: - The suite

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal]
    /// 1,000 calls per iteration.
    let perKilo = Benchmark.Configuration(
        metrics: metrics, warmupIterations: 100, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 100_000)
    /// 1,000,000 calls per iteration, for the runs across threads.
    let perMega = Benchmark.Configuration(
        metrics: metrics, warmupIterations: 3, scalingFactor: .mega, maxDuration: .seconds(2), maxIterations: 400)
    /// 1,000 calls per iteration split across threads, for the slow half-open path.
    let perKiloThreaded = Benchmark.Configuration(
        metrics: metrics, warmupIterations: 10, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 4_000)

    // MARK: Closed, sync

    Benchmark("01 baseline: bare sync call", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(work(i)) }
    }

    let consecutive = CircuitBreaker(name: "consecutive", failMax: 5, resetTimeout: .seconds(60))
    Benchmark("02 ours: closed, consecutive, sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try consecutive.call { work(i) }) }
    }

    // The same breaker on a fleet's storage, its fleet connected to Redis in the background
    // (BREAKER_BENCH_REDIS, default redis://127.0.0.1:6379): a call still does no I/O.
    let fleet = try! RedisFleet(url: ProcessInfo.processInfo.environment["BREAKER_BENCH_REDIS"] ?? "redis://127.0.0.1:6379")
    let fleetRun = Task.detached { try await fleet.run() }
    let fleetBreaker = CircuitBreaker(name: "consecutive-fleet", failMax: 5, resetTimeout: .seconds(60), storage: fleet.storage(named: "bench-\(UInt32.random(in: 0...UInt32.max))"))
    Benchmark("32 ours: closed, consecutive, sync, Redis-backed fleet breaker", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try fleetBreaker.call { work(i) }) }
        _ = fleetRun
    }

    // Admission control (issue 18). Row 39: a ramp and a throttle configured but idle (healthy and
    // closed): the call path is row 02's. Row 40: the throttle deciding (a failure within its window,
    // an hour here): each call reads the lagging clock and the ten buckets, and counts itself. Row 41:
    // ramping up (from 50 %, over an hour): a clock reading and a lot per call; about half the calls
    // are rejected, so the row mixes admitted calls and rejections.
    var controlled = CircuitBreaker.Configuration()
    controlled.recoveryRamp = .linear(over: .seconds(3_600), from: 0.5)
    controlled.throttle = AdaptiveThrottle(window: .seconds(3_600))
    controlled.resetTimeout = .milliseconds(1)
    let idleControl = CircuitBreaker(name: "idle-control", configuration: controlled)
    Benchmark("39 ours: closed, ramp and throttle configured, idle, sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try idleControl.call { work(i) }) }
    }
    var throttledOnly = controlled
    throttledOnly.recoveryRamp = nil
    let throttling = CircuitBreaker(name: "throttling", configuration: throttledOnly)
    _ = try? throttling.call { () throws -> Int in try failing(0) }
    Benchmark("40 ours: closed, throttle deciding (healthy calls), sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try throttling.call { work(i) }) }
    }
    var rampOnly = controlled
    rampOnly.throttle = nil
    let ramping = CircuitBreaker(name: "ramping", configuration: rampOnly)
    ramping.open()
    Thread.sleep(forTimeInterval: 0.01)
    _ = try? ramping.call { work(0) }  // the trial closes the circuit: the ramp starts at 50 %
    Benchmark("41 ours: closed, ramping up at about 50 % (admitted or rejected), sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try? ramping.call { work(i) }) }
    }

    let mutexSync = MutexBreaker(failMax: 5, resetTimeout: .seconds(60))
    Benchmark("03 reference: double Mutex, closed, sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try mutexSync.call { work(i) }) }
    }

    // MARK: Closed, sync, with an observer
    //
    // The listener is added before the benchmark is registered, so the harness's warm-up iterations
    // (100 × 1,000 calls) run through the breaker with it first: a core that learns after the first
    // event which hooks a listener leaves empty is measured after it has learnt.

    let stateObserved = CircuitBreaker(name: "state-observer")
    stateObserved.addListener(StateChangeCounter())
    Benchmark("26 ours: closed, consecutive, sync, with a state-change observer", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try stateObserved.call { work(i) }) }
    }

    let everyCallObserved = CircuitBreaker(name: "every-call-observer")
    everyCallObserved.addListener(EveryCallCounter())
    Benchmark("27 ours: closed, consecutive, sync, with an every-call observer", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try everyCallObserved.call { work(i) }) }
    }

    // The integrations, with the process's default (no-op) metrics backend and a no-op log handler, so
    // that the rows measure what attaching them costs a call, not a backend.
    let logged = CircuitBreaker(name: "logged")
    logged.addListener(BreakerLogger(logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })))
    Benchmark("28 ours: closed, consecutive, sync, with BreakerLogging", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try logged.call { work(i) }) }
    }

    let counted = CircuitBreaker(name: "counted")
    counted.addListener(BreakerMetricsListener(name: "counted"))  // the default: counters, gauge, transitions
    Benchmark("29 ours: closed, consecutive, sync, with BreakerMetrics (counters)", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try counted.call { work(i) }) }
    }

    let timed = CircuitBreaker(name: "timed")
    timed.addListener(BreakerMetricsListener(name: "timed", options: .init(recordsDurations: true)))  // plus the opt-in call timer
    Benchmark("30 ours: closed, consecutive, sync, with BreakerMetrics (counters and call timer)", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try timed.call { work(i) }) }
    }

    // MARK: Closed, async

    Benchmark("04 baseline: bare async call", configuration: perKilo) { benchmark async in
        for i in benchmark.scaledIterations { blackHole(await workAsync(i)) }
    }

    let consecutiveAsync = CircuitBreaker(name: "consecutive-async", failMax: 5, resetTimeout: .seconds(60))
    Benchmark("05 ours: closed, consecutive, async", configuration: perKilo) { benchmark async throws in
        for i in benchmark.scaledIterations { blackHole(try await consecutiveAsync.call { await workAsync(i) }) }
    }

    let mutexAsync = MutexBreaker(failMax: 5, resetTimeout: .seconds(60))
    Benchmark("06 reference: double Mutex, closed, async", configuration: perKilo) { benchmark async throws in
        for i in benchmark.scaledIterations { blackHole(try await mutexAsync.call { await workAsync(i) }) }
    }

    let actorBreaker = ActorBreaker(failMax: 5, resetTimeout: .seconds(60))
    Benchmark("07 reference: actor, closed, async", configuration: perKilo) { benchmark async throws in
        for i in benchmark.scaledIterations { blackHole(try await actorBreaker.call { await workAsync(i) }) }
    }

    // MARK: Closed, windows and slow-call detection

    func rateBreaker(_ name: String, _ window: SlidingWindow) -> CircuitBreaker {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 20)
        configuration.window = window
        return CircuitBreaker(name: name, configuration: configuration)
    }

    let calls10 = rateBreaker("calls-10", .lastCalls(10))
    Benchmark("08 ours: closed, count window lastCalls(10), sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try calls10.call { work(i) }) }
    }

    let calls10k = rateBreaker("calls-10000", .lastCalls(10_000))
    Benchmark("09 ours: closed, count window lastCalls(10000), sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try calls10k.call { work(i) }) }
    }

    let buckets10 = rateBreaker("buckets-10", .duration(.seconds(10), bucket: .seconds(1)))
    Benchmark("10 ours: closed, time window 10 buckets, sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try buckets10.call { work(i) }) }
    }

    // 10,000 buckets of the same 1 s width as row 10, so the two rows differ in size only.
    let buckets10k = rateBreaker("buckets-10000", .duration(.seconds(10_000), bucket: .seconds(1)))
    Benchmark("11 ours: closed, time window 10000 buckets, sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try buckets10k.call { work(i) }) }
    }

    // Buckets narrower than 25 ticks of the coarse clock: outcomes are placed with the precise clock.
    let fineBuckets = rateBreaker("buckets-1ms", .duration(.seconds(10), bucket: .milliseconds(1)))
    Benchmark("25 ours: closed, time window of 1 ms buckets, sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try fineBuckets.call { work(i) }) }
    }

    var slowConfiguration = CircuitBreaker.Configuration()
    slowConfiguration.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 0.5, minimumCalls: 10)
    let slow = CircuitBreaker(name: "slow-calls", configuration: slowConfiguration, clock: ContinuousClock())
    Benchmark("12 ours: closed, slow-call detection with in-flight detection (ContinuousClock), sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try slow.call { work(i) }) }
    }

    // Row 12 without tracking running calls: what in-flight detection of hung calls costs.
    slowConfiguration.slowCalls?.countsRunningCalls = false
    let slowCompletedOnly = CircuitBreaker(name: "slow-calls-completed", configuration: slowConfiguration, clock: ContinuousClock())
    Benchmark("31 ours: closed, slow-call detection without in-flight detection (ContinuousClock), sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try slowCompletedOnly.call { work(i) }) }
    }

    // MARK: Concurrency limiter (issue 18, item 3)
    //
    // One admitted call at a time through a `ConcurrencyLimiter`: the compare-and-swap that takes a
    // slot, the call, and the release. A fixed limit reads no clock and takes no lock. Gradient2 (the
    // default configuration, on `ContinuousClock`) reads the precise clock at admission and at the end,
    // and samples the call under the limiter's lock; row 38 is the bare call with the same two clock
    // readings, so row 37 against row 38 is what the limiter adds besides its clock reads. (One call at
    // a time is "app-limited" for Gradient2: the sample updates its long RTT, not the limit.)

    var fixedLimit = ConcurrencyLimiter.Configuration()
    fixedLimit.algorithm = .fixed(16)
    let fixedLimiter = ConcurrencyLimiter(name: "fixed", configuration: fixedLimit)
    Benchmark("36 ours: limiter: admitted call (fixed limit), sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try fixedLimiter.call { work(i) }) }
    }

    let gradientLimiter = ConcurrencyLimiter(name: "gradient2")
    Benchmark("37 ours: limiter: admitted call (gradient2), sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try gradientLimiter.call { work(i) }) }
    }

    Benchmark("38 baseline: bare sync call between two clock_gettime(CLOCK_MONOTONIC) readings", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations {
            let start = monotonicNanoseconds()
            blackHole(work(i))
            blackHole(monotonicNanoseconds() &- start)
        }
    }

    // MARK: Open

    Benchmark("13 baseline: bare throw + catch", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations {
            do {
                blackHole(try failing(i))
            } catch let error as SmallError {
                blackHole(error)
            } catch {
                fatalError("unexpected error \(error)")
            }
        }
    }

    Benchmark("35 baseline: bare throw + catch of an error the size of CircuitBreakerError", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations {
            do {
                blackHole(try failingLikeABreaker(i))
            } catch let error as BreakerSizedError {
                blackHole(error)
            } catch {
                fatalError("unexpected error \(error)")
            }
        }
    }

    let open = CircuitBreaker(name: "open", failMax: 5, resetTimeout: .seconds(3600))
    open.open()
    Benchmark("14 ours: rejection while open, sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(rejectedCall(open, i)) }
    }

    let openAsync = CircuitBreaker(name: "open-async", failMax: 5, resetTimeout: .seconds(3600))
    openAsync.open()
    Benchmark("33 ours: rejection while open, async", configuration: perKilo) { benchmark async in
        for i in benchmark.scaledIterations {
            do {
                blackHole(try await openAsync.call { await workAsync(i) })
            } catch let error as CircuitBreakerError {
                blackHole(error)
            } catch {
                fatalError("unexpected error \(error)")
            }
        }
    }

    // A rejected request through BreakerHTTPClient: the host's breaker found from the URL, then rejected
    // without touching the network. Against row 33, what the client adds to a rejection.
    var rejecting = BreakerHTTPClient.Configuration()  // the defaults, but open for an hour once opened
    rejecting.breaker.resetTimeout = .seconds(3600)
    rejecting.breaker.openDuration = .fixed
    let http = try! BreakerHTTPClient(client: .shared, configuration: rejecting)
    let rejectedRequest = HTTPClientRequest(url: "https://inventory.internal.example:8443/stock/42")
    http.breaker(for: rejectedRequest).open()
    Benchmark("34 ours: rejected execute through BreakerHTTPClient", configuration: perKilo) { benchmark async in
        for _ in benchmark.scaledIterations {
            do {
                blackHole(try await http.execute(rejectedRequest))
            } catch let error as CircuitBreakerError {
                blackHole(error)
            } catch {
                fatalError("unexpected error \(error)")
            }
        }
    }

    let openFallback = CircuitBreaker(name: "open-fallback", failMax: 5, resetTimeout: .seconds(3600))
    openFallback.open()
    Benchmark("15 ours: fallback call while open, sync", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations { blackHole(try openFallback.call(fallback: { _ in -1 }) { work(i) }) }
    }

    // MARK: Two threads against one

    Benchmark("16 baseline: bare sync call, 1 thread", configuration: perMega) { benchmark in
        split(threads: 1, total: benchmark.scaledIterations.count) { count in for i in 0..<count { blackHole(work(i)) } }
    }
    Benchmark("17 baseline: bare sync call, 2 threads", configuration: perMega) { benchmark in
        split(threads: 2, total: benchmark.scaledIterations.count) { count in for i in 0..<count { blackHole(work(i)) } }
    }

    let shared = CircuitBreaker(name: "shared", failMax: 5, resetTimeout: .seconds(60))
    Benchmark("18 ours: closed, consecutive, 1 thread", configuration: perMega) { benchmark in
        split(threads: 1, total: benchmark.scaledIterations.count) { count in
            for i in 0..<count { blackHole(try? shared.call { work(i) }) }
        }
    }
    Benchmark("19 ours: closed, consecutive, 2 threads", configuration: perMega) { benchmark in
        split(threads: 2, total: benchmark.scaledIterations.count) { count in
            for i in 0..<count { blackHole(try? shared.call { work(i) }) }
        }
    }

    let sharedMutex = MutexBreaker(failMax: 5, resetTimeout: .seconds(60))
    Benchmark("20 reference: double Mutex, closed, 1 thread", configuration: perMega) { benchmark in
        split(threads: 1, total: benchmark.scaledIterations.count) { count in
            for i in 0..<count { blackHole(try? sharedMutex.call { work(i) }) }
        }
    }
    Benchmark("21 reference: double Mutex, closed, 2 threads", configuration: perMega) { benchmark in
        split(threads: 2, total: benchmark.scaledIterations.count) { count in
            for i in 0..<count { blackHole(try? sharedMutex.call { work(i) }) }
        }
    }

    // MARK: Half-open

    let held = HeldTrial()
    Benchmark(
        "22 ours: half-open, trial held, rejections, 1 thread", configuration: perKiloThreaded,
        closure: { benchmark in
            split(threads: 1, total: benchmark.scaledIterations.count) { count in
                for i in 0..<count { blackHole(rejectedCall(held.breaker, i)) }
            }
        },
        setup: { await held.hold() }, teardown: { held.release() })
    Benchmark(
        "23 ours: half-open, trial held, rejections, 2 threads", configuration: perKiloThreaded,
        closure: { benchmark in
            split(threads: 2, total: benchmark.scaledIterations.count) { count in
                for i in 0..<count { blackHole(rejectedCall(held.breaker, i)) }
            }
        },
        setup: { await held.hold() }, teardown: { held.release() })

    let cycling = CircuitBreaker(name: "cycling", failMax: 5, resetTimeout: .seconds(3600))
    Benchmark("24 ours: open → halfOpen → successful trial, cycle", configuration: perKilo) { benchmark in
        for i in benchmark.scaledIterations {
            cycling.open()
            cycling.halfOpen()
            blackHole(try cycling.call { work(i) })
        }
    }
}
