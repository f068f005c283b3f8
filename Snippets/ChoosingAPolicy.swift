// The code of ChoosingAPolicy.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.ServiceError
import Breaker
import BreakerTestKit

struct ServiceError: Error {}

/// Makes one call per letter of `outcomes` ("S" succeeds, "F" throws `ServiceError`), each taking
/// `duration` on `clock`, and returns what each call saw: "ok", "failed" (its own error), or the
/// reason of the `CircuitBreakerError` it threw: "tripped", "open" or "trialFailed".
func drive(_ breaker: CircuitBreaker, _ outcomes: String, clock: ManualClock, taking duration: Duration = .zero) -> [String] {
    outcomes.map { outcome in
        do {
            try breaker.call {
                clock.advance(by: duration)
                if outcome == "F" { throw ServiceError() }
            }
            return "ok"
        } catch let error as CircuitBreakerError {
            return error.reason.description
        } catch {
            return "failed"
        }
    }
}
// snippet.end

// snippet.consecutiveClock
let consecutiveClock = ManualClock()
let consecutive = CircuitBreaker(failMax: 3, resetTimeout: .seconds(30), clock: consecutiveClock)

let consecutiveCalls = drive(consecutive, "FFSFFFS", clock: consecutiveClock)
precondition(consecutiveCalls == ["failed", "failed", "ok", "failed", "failed", "tripped", "open"])
precondition(consecutive.state == .open && consecutive.retryAfter == .seconds(30))
// snippet.end

// snippet.rateConfiguration
var rateConfiguration = CircuitBreaker.Configuration()
rateConfiguration.trip = .failureRate(0.5, minimumCalls: 4)
rateConfiguration.window = .lastCalls(4)

let rateClock = ManualClock()
let byRate = CircuitBreaker(configuration: rateConfiguration, clock: rateClock)
precondition(drive(byRate, "SFSF", clock: rateClock) == ["ok", "failed", "ok", "tripped"])
// snippet.end

// snippet.minimumClock
let minimumClock = ManualClock()
let withMinimum = CircuitBreaker(configuration: rateConfiguration, clock: minimumClock)
precondition(drive(withMinimum, "FFF", clock: minimumClock) == ["failed", "failed", "failed"])
precondition(withMinimum.state == .closed)
precondition(drive(withMinimum, "SS", clock: minimumClock) == ["ok", "open"])
// snippet.end

// snippet.timeConfiguration
var timeConfiguration = CircuitBreaker.Configuration()
timeConfiguration.trip = .failureRate(1.0, minimumCalls: 2)
timeConfiguration.window = .duration(.seconds(10), bucket: .seconds(1))

let timeClock = ManualClock()
let byTime = CircuitBreaker(configuration: timeConfiguration, clock: timeClock)
timeClock.advance(by: .milliseconds(500))
_ = drive(byTime, "F", clock: timeClock)           // t = 0.5 s
timeClock.advance(by: .milliseconds(9_400))
precondition(drive(byTime, "F", clock: timeClock) == ["tripped"])   // t = 9.9 s: 2 of 2 failed

let laterClock = ManualClock()
let forgetting = CircuitBreaker(configuration: timeConfiguration, clock: laterClock)
laterClock.advance(by: .milliseconds(500))
_ = drive(forgetting, "F", clock: laterClock)      // t = 0.5 s
laterClock.advance(by: .milliseconds(9_900))
precondition(drive(forgetting, "F", clock: laterClock) == ["failed"])  // t = 10.4 s: 1 of 1
precondition(forgetting.state == .closed && forgetting.metrics.window.calls == 1)
// snippet.end

// snippet.ruleConfiguration
var ruleConfiguration = CircuitBreaker.Configuration()
ruleConfiguration.window = .duration(.seconds(60), bucket: .seconds(1))
ruleConfiguration.trip = .custom { window in window.failures >= 3 }   // 3 failures within a minute

let ruleClock = ManualClock()
let byRule = CircuitBreaker(configuration: ruleConfiguration, clock: ruleClock)
precondition(drive(byRule, "FSSSSF", clock: ruleClock) == ["failed", "ok", "ok", "ok", "ok", "failed"])
ruleClock.advance(by: .seconds(30))
precondition(drive(byRule, "F", clock: ruleClock) == ["tripped"])   // the third failure within 30 s
// snippet.end

// snippet.slowConfiguration
var slowConfiguration = CircuitBreaker.Configuration()
slowConfiguration.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 0.5, minimumCalls: 4)
slowConfiguration.window = .lastCalls(4)

let slowClock = ManualClock()
let slow = CircuitBreaker(configuration: slowConfiguration, clock: slowClock)
_ = drive(slow, "S", clock: slowClock, taking: .seconds(1))          // slow: >= threshold
_ = drive(slow, "S", clock: slowClock, taking: .milliseconds(999))   // not slow
_ = drive(slow, "F", clock: slowClock, taking: .seconds(2))          // slow, and a failure
precondition(slow.state == .closed && slow.metrics.window.slowCalls == 2)
precondition(drive(slow, "SS", clock: slowClock) == ["ok", "open"])   // 2 of 4 slow: opens
// snippet.end

// snippet.trialClock
let trialClock = ManualClock()
let trial = CircuitBreaker(failMax: 1, resetTimeout: .seconds(30), clock: trialClock)
precondition(drive(trial, "F", clock: trialClock) == ["tripped"])
trialClock.advance(by: .seconds(29))
precondition(drive(trial, "S", clock: trialClock) == ["open"])        // 1 s early
trialClock.advance(by: .seconds(1))
precondition(drive(trial, "F", clock: trialClock) == ["trialFailed"])  // the trial fails: open again
trialClock.advance(by: .seconds(30))
precondition(drive(trial, "S", clock: trialClock) == ["ok"])        // the trial succeeds
precondition(trial.state == .closed)
// snippet.end

// snippet.trialsConfiguration
var trialsConfiguration = CircuitBreaker.Configuration()
trialsConfiguration.halfOpen = HalfOpenPolicy(permittedCalls: 2, successesToClose: 2, maxTrialDuration: .seconds(5))
trialsConfiguration.resetTimeout = .seconds(30)

let trialsClock = ManualClock()
let trials = CircuitBreaker(configuration: trialsConfiguration, clock: trialsClock)
trials.halfOpen()
do {
    let firstTrial = try trials.acquirePermit()
    let secondTrial = try trials.acquirePermit()
    precondition(drive(trials, "S", clock: trialsClock) == ["open"])   // both trial slots are taken
    firstTrial.succeeded()
    precondition(trials.state == .halfOpen)
    secondTrial.succeeded()
    precondition(trials.state == .closed)
}

// A trial that hangs: once it has run for maxTrialDuration, the circuit reopens.
trials.halfOpen()
do {
    let hungTrial = try trials.acquirePermit()
    trialsClock.advance(by: .seconds(5))
    precondition(drive(trials, "S", clock: trialsClock) == ["open"])
    precondition(trials.state == .open && trials.retryAfter == .seconds(30))
    hungTrial.succeeded()                                               // too late to count
    precondition(trials.state == .open)
}
// snippet.end

// snippet.openPeriods
/// Opens `breaker` with a failure, then lets `trips - 1` trials fail; returns each open period.
func openPeriods(_ breaker: CircuitBreaker, clock: ManualClock, trips: Int) -> [Duration] {
    var periods: [Duration] = []
    _ = drive(breaker, "F", clock: clock)
    for _ in 0..<trips {
        let period = breaker.retryAfter ?? .zero
        periods.append(period)
        clock.advance(by: period)
        _ = drive(breaker, "F", clock: clock)   // the trial fails: the next trip
    }
    return periods
}

var backoffConfiguration = CircuitBreaker.Configuration()
backoffConfiguration.failMax = 1
backoffConfiguration.resetTimeout = .seconds(1)
backoffConfiguration.openDuration = .exponential(multiplier: 2, maximum: .seconds(5))

let backoffClock = ManualClock()
let backoff = CircuitBreaker(configuration: backoffConfiguration, clock: backoffClock)
precondition(openPeriods(backoff, clock: backoffClock, trips: 5) == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
// snippet.end

// snippet.customConfiguration
var customConfiguration = CircuitBreaker.Configuration()
customConfiguration.failMax = 1
customConfiguration.openDuration = .custom { trip in .seconds(10 * trip.consecutiveTrips) }

let customClock = ManualClock()
let customBackoff = CircuitBreaker(configuration: customConfiguration, clock: customClock)
precondition(openPeriods(customBackoff, clock: customClock, trips: 3) == [.seconds(10), .seconds(20), .seconds(30)])
// snippet.end

// snippet.bulkhead
var bulkheadConfiguration = ConcurrencyLimiter.Configuration()
bulkheadConfiguration.algorithm = .fixed(2)
let bulkhead = ConcurrencyLimiter(name: "reports", configuration: bulkheadConfiguration)

do {
    let first = try bulkhead.acquire()     // two calls in flight ...
    let second = try bulkhead.acquire()
    var ran = false
    do {
        try bulkhead.call { ran = true }
    } catch let error as CircuitBreakerError {
        precondition(error.reason == .limited && !ran)   // ... so a third is turned away at once
    }
    first.release(.success)
    second.release(.success)
}
let inFlightDuringTheCall = try bulkhead.call { bulkhead.inFlight }
precondition(inFlightDuringTheCall == 1 && bulkhead.inFlight == 0)
// snippet.end

// snippet.adaptiveLimiter
var adaptive = ConcurrencyLimiter.Configuration()
adaptive.algorithm = .aimd(backoffRatio: 0.9)
adaptive.initialLimit = 10
adaptive.maxLimit = 100
adaptive.maxWait = .milliseconds(20)   // async calls may wait up to 20 ms for a slot
adaptive.drops = ConcurrencyLimiter.DropPolicy(failures: true, timeout: .seconds(1))

let limiterClock = ManualClock()
let search = try ConcurrencyLimiter(name: "search", validating: adaptive, clock: limiterClock)
_ = try? search.call { () throws in throw ServiceError() }   // a failure is a drop ...
precondition(search.limit == 9)                               // ... and the limit backs off by 10 %
try search.call { limiterClock.advance(by: .seconds(1)) }     // so is a call of the timeout or more, but
precondition(search.limit == 9)                               // one back-off answers a window of calls
// snippet.end

// snippet.limiterAndBreaker
var besideALimiter = CircuitBreaker.Configuration()
besideALimiter.classifyError = { error in
    // A full bulkhead says nothing about the dependency's health.
    (error as? CircuitBreakerError)?.reason == .limited ? .ignored : nil
}
let searchBreaker = CircuitBreaker(name: "search", configuration: besideALimiter)
let hits = try searchBreaker.call { try search.call { 42 } }   // open circuit: rejected before taking a slot
precondition(hits == 42)
// snippet.end

// snippet.recoveryRamp
var recovering = CircuitBreaker.Configuration()
recovering.resetTimeout = .seconds(10)
recovering.recoveryRamp = .linear(over: .seconds(20))   // 10 % of calls at the close, all of them 20 s later
let rampClock = ManualClock()
let catalog = CircuitBreaker(name: "catalog", configuration: recovering, clock: rampClock)

catalog.open()
rampClock.advance(by: .seconds(10))
try catalog.call {}                                      // the trial succeeds: closed, ramping up
rampClock.advance(by: .seconds(10))
precondition(catalog.state == .closed && catalog.metrics.admittedFraction == 0.55)
var turnedAway: CircuitBreakerError?
while turnedAway == nil {
    do { try catalog.call {} } catch let error as CircuitBreakerError { turnedAway = error }
}
// Turned away with a time to come back at: when the ramp admits the lot this call drew.
precondition(turnedAway!.reason == .rampingUp && turnedAway!.retryAfter <= .seconds(10))
// snippet.end

// snippet.adaptiveThrottle
var shedding = CircuitBreaker.Configuration()
shedding.trip = .failureRate(0.9, minimumCalls: 100)      // trip only on a sustained, near-total failure
shedding.window = .lastCalls(100)
shedding.throttle = AdaptiveThrottle()                    // k = 2 over 30 s; nothing to pay until a call fails
let inventory = CircuitBreaker(name: "inventory", configuration: shedding, clock: ManualClock())

var shed = 0
for call in 0..<200 {
    do {
        try inventory.call { if call % 4 != 0 { throw ServiceError() } }   // 3 calls in 4 fail
    } catch let error as CircuitBreakerError {
        precondition(error.reason == .throttled)
        shed += 1
    } catch {}
}
precondition(inventory.state == .closed && shed > 50)    // load shed at the client; the circuit stays closed
// snippet.end

// snippet.aiobreakerLike
// aiobreaker and pybreaker: fail_max 5, open 60 s. These are the defaults.
let aiobreakerLike = CircuitBreaker.Configuration()

// Resilience4j: a 50 % failure rate over the last 100 calls (at least 100), 10 half-open calls,
// open 60 s; a call of 60 s or more is slow, and 100 % slow calls open the circuit.
var resilience4jLike = CircuitBreaker.Configuration()
resilience4jLike.trip = .failureRate(0.5, minimumCalls: 100)
resilience4jLike.window = .lastCalls(100)
resilience4jLike.slowCalls = SlowCallPolicy(threshold: .seconds(60), rate: 1.0, minimumCalls: 100)
resilience4jLike.halfOpen = HalfOpenPolicy(permittedCalls: 10, successesToClose: 10, maxTrialDuration: nil)

// Polly v8: a 10 % failure ratio over 30 s (at least 100 calls), 10 sub-windows, broken for 5 s.
var pollyLike = CircuitBreaker.Configuration()
pollyLike.trip = .failureRate(0.1, minimumCalls: 100)
pollyLike.window = .duration(.seconds(30), bucket: .seconds(3))
pollyLike.resetTimeout = .seconds(5)

// gobreaker: opens when consecutive failures exceed 5 (so on the 6th), one half-open request, open 60 s.
var gobreakerLike = CircuitBreaker.Configuration()
gobreakerLike.failMax = 6

for configuration in [aiobreakerLike, resilience4jLike, pollyLike, gobreakerLike] {
    try configuration.validate()
}
// snippet.end
