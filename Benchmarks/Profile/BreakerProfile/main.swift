// A loop over one benchmark scenario, for profilers (valgrind --tool=callgrind, perf record):
// the benchmark harness around the same calls would dominate a profile.
//
//     swift build -c release --product BreakerProfile
//     valgrind --tool=callgrind .build/release/BreakerProfile count-window 100000
//
// Scenarios: consecutive, count-window, count-window-10000, time-window, time-window-10000, slow-calls,
// rejection, bare-throw (the rejection's baseline: an error of the same size), half-open, cycle,
// state-observer, every-call-observer.

import BenchmarkWork
import Breaker
import Synchronization

let arguments = CommandLine.arguments
let scenario = arguments.count > 1 ? arguments[1] : "consecutive"
let count = arguments.count > 2 ? Int(arguments[2]) ?? 100_000 : 100_000

func breaker(trip: TripPolicy = .consecutiveFailures, window: SlidingWindow = .lastCalls(100), slow: SlowCallPolicy? = nil) -> CircuitBreaker {
    var configuration = CircuitBreaker.Configuration()
    configuration.trip = trip
    configuration.window = window
    configuration.slowCalls = slow
    configuration.resetTimeout = .seconds(3600)
    configuration.halfOpen = HalfOpenPolicy(permittedCalls: 1, successesToClose: 1, maxTrialDuration: nil)
    return CircuitBreaker(name: scenario, configuration: configuration)
}

/// Implements only `stateChange`: in a steady closed state it has nothing to hear.
final class StateChangeCounter: CircuitBreakerListener {
    let changes = Atomic<Int>(0)
    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        changes.wrappingAdd(1, ordering: .relaxed)
    }
}

/// Implements every per-call hook, each a relaxed atomic increment.
final class EveryCallCounter: CircuitBreakerListener {
    let before = Atomic<Int>(0)
    let successes = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    func beforeCall(_ breaker: CircuitBreaker) { before.wrappingAdd(1, ordering: .relaxed) }
    func success(_ breaker: CircuitBreaker) { successes.wrappingAdd(1, ordering: .relaxed) }
    func failure(_ breaker: CircuitBreaker, error: any Error) { failures.wrappingAdd(1, ordering: .relaxed) }
}

/// A default breaker (`CircuitBreaker(name:)`, like benchmarks 26 and 27) with one listener added; a
/// few calls before the loop let a core that learns which hooks a listener leaves empty do so (run
/// with a count of 0 too, as usual, to subtract them).
func observed(_ listener: any CircuitBreakerListener) -> CircuitBreaker {
    let observed = CircuitBreaker(name: scenario)
    observed.addListener(listener)
    for i in 0..<10 { sink((try? observed.call { work(i) }) ?? 0) }
    return observed
}

func closedLoop(_ breaker: CircuitBreaker) {
    for i in 0..<count { sink((try? breaker.call { work(i) }) ?? 0) }
}

func rejectionLoop(_ breaker: CircuitBreaker) {
    for i in 0..<count {
        do { sink(try breaker.call { work(i) }) } catch let error as CircuitBreakerError { sink(error.retryAfter == .zero ? 1 : 2) } catch { fatalError() }
    }
}

switch scenario {
case "consecutive":
    closedLoop(breaker())
case "count-window":
    closedLoop(breaker(trip: .failureRate(0.5, minimumCalls: 20), window: .lastCalls(10)))
case "count-window-10000":
    closedLoop(breaker(trip: .failureRate(0.5, minimumCalls: 20), window: .lastCalls(10_000)))
case "time-window":
    closedLoop(breaker(trip: .failureRate(0.5, minimumCalls: 20), window: .duration(.seconds(10), bucket: .seconds(1))))
case "time-window-10000":
    closedLoop(breaker(trip: .failureRate(0.5, minimumCalls: 20), window: .duration(.seconds(10), bucket: .milliseconds(1))))
case "slow-calls":
    closedLoop(breaker(slow: SlowCallPolicy(threshold: .seconds(1), rate: 0.5, minimumCalls: 10)))
case "rejection":
    let open = breaker()
    open.open()
    rejectionLoop(open)
case "bare-throw":
    for i in 0..<count {
        do { sink(try failingLikeABreaker(i)) } catch let error as BreakerSizedError { sink(error.nanoseconds == 0 ? 1 : 2) } catch { fatalError() }
    }
case "half-open":
    // One trial admitted and never finished: every later call is a half-open rejection.
    let halfOpen = breaker()
    halfOpen.open()
    halfOpen.halfOpen()
    _ = try? halfOpen.call { () -> Int in rejectionLoop(halfOpen); return 0 }
case "cycle":
    let cycling = breaker()
    for i in 0..<count {
        cycling.open()
        cycling.halfOpen()
        sink((try? cycling.call { work(i) }) ?? 0)
    }
case "throttling":
    // A throttle deciding: a failure within its window (an hour), then healthy calls.
    var configuration = CircuitBreaker.Configuration()
    configuration.throttle = AdaptiveThrottle(window: .seconds(3_600))
    let throttling = CircuitBreaker(name: "throttling", configuration: configuration)
    _ = try? throttling.call { () throws -> Int in throw BreakerSizedError(reason: 0, nanoseconds: 0, context: breakerSizedContext) }
    closedLoop(throttling)
case "state-observer":
    closedLoop(observed(StateChangeCounter()))
case "every-call-observer":
    closedLoop(observed(EveryCallCounter()))
default:
    fatalError("unknown scenario \(scenario)")
}
