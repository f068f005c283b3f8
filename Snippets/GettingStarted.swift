// The code of GettingStarted.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.DatabaseError
import Breaker

struct DatabaseError: Error {}
struct HTTPError: Error { var status: Int }

func loadUser(_ id: Int) throws -> String { "user \(id)" }
func fetchPage(_ path: String) async throws -> String { "<html>\(path)</html>" }
func brokenQuery() throws -> String { throw DatabaseError() }
// snippet.end

// snippet.breaker
let breaker = CircuitBreaker(name: "db", failMax: 3, resetTimeout: .seconds(60))

let user = try breaker.call { try loadUser(1) }                   // synchronous
let page = try await breaker.call { try await fetchPage("/") }    // asynchronous
// snippet.end

// snippet.attempts
for attempt in 1...4 {
    do {
        _ = try breaker.call { try brokenQuery() }
    } catch let error as CircuitBreakerError {
        // attempt 3: tripped, caused by DatabaseError; attempt 4: open, rejected without running
        print(attempt, error.reason, error.underlying as Any, error.retryAfter)
    } catch {
        print(attempt, "failed:", error)   // attempts 1 and 2: the DatabaseError itself
    }
}
precondition(breaker.state == .open)
// snippet.end

// snippet.profile
let profile = try breaker.call(fallback: { _ in "cached profile" }) { try loadUser(2) }
print(profile)   // "cached profile": the circuit is open
// snippet.end

// snippet.api
let api = CircuitBreaker(name: "api")
let status = try api.call(classifyingResult: { (code: Int) in code >= 500 ? .failure : .success }) { 503 }
precondition(status == 503 && api.failureCount == 1)
// snippet.end

// snippet.users
let users = CircuitBreaker(name: "users")
let protectedLoadUser = users.wrap(loadUser)
let first = try protectedLoadUser(1)

let protectedFetchPage = users.wrap(fetchPage)   // async functions too
let home = try await protectedFetchPage("/")
// snippet.end

// snippet.manual
let manual = CircuitBreaker(name: "manual", failMax: 5, resetTimeout: .seconds(60))
manual.open()        // rejects calls for resetTimeout from now
precondition(manual.state == .open && manual.retryAfter != nil)
manual.halfOpen()    // the next call is a trial
manual.close()       // back to normal, the failure count reset
precondition(manual.state == .closed && manual.failureCount == 0)

manual.failMax = 10                   // settings can change while the breaker runs
manual.resetTimeout = .seconds(30)
try manual.reconfigure { $0.trip = .failureRate(0.5, minimumCalls: 20) }

manual.setMode(.forcedOpen)           // rejects every call until the mode changes
manual.setMode(.disabled)             // lets every call through and records nothing
manual.setMode(.metricsOnly)          // records and reports, but never opens
manual.setMode(.normal)
// snippet.end

// snippet.StateLogger
final class StateLogger: CircuitBreakerListener {
    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        print("\(breaker.name ?? "breaker"): \(from) -> \(to)")
    }
    func failure(_ breaker: CircuitBreaker, error: any Error) {
        print("\(breaker.name ?? "breaker") failed: \(error)")
    }
}

let logger = StateLogger()
let observed = CircuitBreaker(name: "payments", failMax: 1, listeners: [logger])
_ = try? observed.call { try brokenQuery() }   // "payments failed: ...", then "payments: closed -> open"

let extra = StateLogger()
observed.addListener(extra)      // listeners can come and go at any time
observed.removeListener(extra)
// snippet.end

// snippet.TripLog
final class TripLog: CircuitBreakerListener {
    var interests: BreakerEvent.Kinds { [.stateChanged, .rejected] }
    func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        if let change = event.change {
            print("\(breaker.name ?? "breaker"): \(change.previousState) -> \(change.state) (\(change.cause))")
        }
    }
}
observed.addListener(TripLog())
// snippet.end

// snippet.ValidationError
struct ValidationError: Error {}

let notFound = ErrorFilter.matching { ($0 as? HTTPError)?.status == 404 }
let backend = CircuitBreaker(name: "backend", failMax: 2, exclude: [.type(ValidationError.self), notFound])

_ = try? backend.call { throw HTTPError(status: 503) }
_ = try? backend.call { throw HTTPError(status: 404) }   // excluded: resets the count
precondition(backend.failureCount == 0)
precondition(backend.isFailure(HTTPError(status: 503)) && !backend.isFailure(ValidationError()))

backend.removeExcluded(notFound)   // keep the filter to remove it later
backend.addExcluded(.matching { ($0 as? HTTPError).map { $0.status < 500 } ?? false })
// snippet.end

// snippet.twoStep
let twoStep = CircuitBreaker(name: "callbacks")
do {
    let permit = try twoStep.acquirePermit()   // throws CircuitBreakerError when rejected
    // ... start the work; when it reports back:
    permit.succeeded()                         // or failed(error), ignored(), record(outcome)
}
// snippet.end
