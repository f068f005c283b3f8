// The code of TestingWithAManualClock.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.Timeout
import Breaker
import BreakerTestKit

struct Timeout: Error {}

let clock = ManualClock()
let breaker = CircuitBreaker(failMax: 2, resetTimeout: .seconds(30), clock: clock)

_ = try? breaker.call { throw Timeout() }
_ = try? breaker.call { throw Timeout() }
precondition(breaker.state == .open)
precondition(breaker.retryAfter == .seconds(30))

clock.advance(by: .seconds(29))
precondition(breaker.retryAfter == .seconds(1))        // still open: one second early

clock.advance(by: .seconds(1))                         // the next call is a half-open trial
let value = try breaker.call { 42 }
precondition(value == 42 && breaker.state == .closed)
// snippet.end

// snippet.slowCalls
var slowCalls = CircuitBreaker.Configuration()
slowCalls.slowCalls = SlowCallPolicy(threshold: .seconds(2), rate: 1.0, minimumCalls: 1)
let slowClock = ManualClock()
let timed = CircuitBreaker(configuration: slowCalls, clock: slowClock)

try timed.call { slowClock.advance(by: .seconds(3)) }  // a call that "took" three seconds
precondition(timed.metrics.slowCalls == 1 && timed.state == .open)
// snippet.end

// snippet.recorder
let recorder = EventRecorder()
let recordedClock = ManualClock()
let recorded = CircuitBreaker(name: "db", failMax: 1, resetTimeout: .seconds(10), listeners: [recorder], clock: recordedClock)

_ = try? recorded.call { throw Timeout() }
precondition(recorder.events == [.beforeCall, .failure("Timeout()"), .stateChange(.closed, .open)])

recorder.removeAll()                        // start afresh for the next part of the test
recordedClock.advance(by: .seconds(10))
try recorded.call {}
precondition(recorder.stateChanges == [.stateChange(.open, .halfOpen), .stateChange(.halfOpen, .closed)])
precondition(recorder.breakerNames.allSatisfy { $0 == "db" })
// snippet.end

// snippet.waitClock
let waitClock = ManualClock()
let waiting = CircuitBreaker(failMax: 1, resetTimeout: .seconds(60), clock: waitClock)
waiting.open()

let waiter = Task {
    try await waiting.waitUntilRetry()      // suspends on the manual clock
    return waiting.retryAfter
}
while waitClock.sleeperCount == 0 { await Task.yield() }
waitClock.advance(by: .seconds(60))         // wakes the waiter at once
let remaining = try await waiter.value
precondition(remaining == .zero)
// snippet.end

// snippet.ProfileService
struct ProfileService {
    let breaker: CircuitBreaker
    func profile(_ id: Int) throws -> String {
        try breaker.call { "profile \(id)" }
    }
}

let serviceClock = ManualClock()
let service = ProfileService(breaker: CircuitBreaker(name: "profiles", clock: serviceClock))
service.breaker.open()
do {
    _ = try service.profile(1)
    preconditionFailure("an open circuit rejects the call")
} catch let error as CircuitBreakerError {
    precondition(error.reason == .open && error.retryAfter == .seconds(60))
}

let rule: @Sendable (WindowSnapshot) -> Bool = { $0.calls >= 10 && $0.failureRate >= 0.25 }
precondition(rule(WindowSnapshot(calls: 12, failures: 3)))
precondition(!rule(WindowSnapshot(calls: 8, failures: 8)))
// snippet.end
