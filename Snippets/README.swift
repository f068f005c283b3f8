// The code of README.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.hide
#if Redis && HTTPClient
// snippet.show

// snippet.DatabaseError
import Breaker

struct DatabaseError: Error {}
func loadUser(_ id: Int) throws -> String { "user \(id)" }
func fetchPage(_ path: String) async throws -> String { "<html>\(path)</html>" }

let breaker = CircuitBreaker(name: "db", failMax: 5, resetTimeout: .seconds(60))

// Route a call through the breaker at will, sync or async:
let user = try breaker.call { try loadUser(1) }
let page = try await breaker.call { try await fetchPage("/") }

// Or wrap a function once ("set it and forget it"); the wrapper has the same signature:
let protectedLoadUser = breaker.wrap(loadUser)
let same = try protectedLoadUser(1)

// A wrapped function called inside the same breaker's `call` is counted once, not twice.
let once = try breaker.call { try protectedLoadUser(2) }
// Opt out with `ignoreOnCall: false` to count nested uses separately.
let counted = breaker.wrap(loadUser, ignoreOnCall: false)
// snippet.end

// snippet.block2
do {
    _ = try breaker.call { try loadUser(3) }
} catch let error as CircuitBreakerError {
    print(error)   // circuit breaker 'db': Timeout not elapsed yet, circuit breaker still open (retry after 42.1 s)
    try await breaker.waitUntilRetry()
}
// snippet.end

// snippet.block3
breaker.open()       // reject calls for resetTimeout from now
breaker.halfOpen()   // let the next call through as a trial
breaker.close()      // back to normal, failure count reset
print(breaker.state, breaker.failureCount, breaker.retryAfter as Any)
breaker.failMax = 10                 // both can change at run time
breaker.resetTimeout = .seconds(30)
// snippet.end

// snippet.LogListener
final class LogListener: CircuitBreakerListener {
    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        print("\(breaker.name ?? "breaker"): \(from) -> \(to)")
    }
}

let logged = CircuitBreaker(name: "payments", listeners: [LogListener()])
let audit = LogListener()
logged.addListener(audit)      // listeners can be added and removed on the fly
logged.removeListener(audit)
// snippet.end

// snippet.observed
import BreakerLogging
import BreakerMetrics
import BreakerTracing
import Logging

let observed = CircuitBreaker(name: "inventory", listeners: [
    BreakerLogger(logger: Logger(label: "inventory")),   // transitions with their cause; rejections, rate-limited
    BreakerMetricsListener(name: "inventory"),            // breaker_calls_total, breaker_state, breaker_transitions_total
    BreakerTracer(),                                      // marks the active span when a call is rejected
])
let stateChanges = observed.events([.stateChanged])      // costs healthy calls nothing
observed.open()
for await event in stateChanges {
    print(event.change?.cause as Any)                     // manual (or: failure rate 62.5 % ≥ 50 %, trial failed, ...)
    break
}
// snippet.end

// snippet.HTTPError
struct HTTPError: Error { var status: Int }

let api = CircuitBreaker(exclude: [
    .type(DatabaseError.self),
    .matching { ($0 as? HTTPError).map { $0.status < 500 } ?? false },
])
let notFound = ErrorFilter.matching { ($0 as? HTTPError)?.status == 404 }
api.addExcluded(notFound)
api.removeExcluded(notFound)
print(api.isFailure(HTTPError(status: 503)))   // true
// snippet.end

// snippet.shared
let shared = InMemoryStorage()
let reads = CircuitBreaker(name: "db-reads", storage: shared)
let writes = CircuitBreaker(name: "db-writes", storage: shared)   // trips together with `reads`
// snippet.end

// snippet.clock
import BreakerTestKit

let clock = ManualClock()
let recorder = EventRecorder()
let tested = CircuitBreaker(failMax: 1, resetTimeout: .seconds(30), listeners: [recorder], clock: clock)
_ = try? tested.call { throw DatabaseError() }
clock.advance(by: .seconds(30))        // the next call is a trial
_ = try tested.call { 1 }
print(recorder.stateChanges)           // [closed->open, open->half-open, half-open->closed]
// snippet.end

// snippet.configuration
var configuration = CircuitBreaker.Configuration()
configuration.trip = .failureRate(0.5, minimumCalls: 20)             // or .consecutiveFailures, .custom { window in ... }
configuration.window = .duration(.seconds(30), bucket: .seconds(3))  // or .lastCalls(100)
configuration.slowCalls = SlowCallPolicy(threshold: .milliseconds(800), rate: 0.5)
configuration.openDuration = .exponential(multiplier: 2, maximum: .seconds(300), jitter: 0.1)
configuration.halfOpen = HalfOpenPolicy(permittedCalls: 3, successesToClose: 2, maxTrialDuration: .seconds(10))
let payments = try CircuitBreaker(name: "payments", validating: configuration)

// Judge returned values too, and fall back instead of throwing when rejected:
let status = try payments.call(classifyingResult: { (code: Int) in code >= 500 ? .failure : .success }) { 200 }
let quote = try payments.call(fallback: { _ in "cached quote" }) { "live quote" }
print(payments.metrics.failureRate, status, quote)
// snippet.end

// snippet.quoted
let quoted = try await payments.call(CallOptions(
    timeLimit: .seconds(2),
    classifyResult: { (code: Int) in code >= 500 ? .failure : .success },
    fallback: { _ in 503 }
)) {
    200   // try await client.get(url).status
}
payments.open(for: .seconds(30))   // e.g. a 503 with Retry-After: 30
print(quoted, payments.retryAfter as Any)
// snippet.end

// snippet.budget
let budget = RetryBudget(ratio: 0.1, minimumTokens: 10)        // retries ≤ 10 % of calls, plus 10
let retried = try await CircuitBreaker(name: "search").call(
    retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(50), budget: budget)
) {
    "results"   // try await search.query(text)
}
print(retried)
// snippet.end

// snippet.admission
var admission = CircuitBreaker.Configuration()
admission.recoveryRamp = .linear(over: .seconds(20))   // after a successful trial: 10 % of calls, rising to all in 20 s
admission.throttle = AdaptiveThrottle()                 // while failing: shed calls locally, SRE-style (k = 2)
let catalog = CircuitBreaker(name: "catalog", configuration: admission)

var bulkhead = ConcurrencyLimiter.Configuration()
bulkhead.algorithm = .aimd()                            // bound the calls in flight, adapted from drops
bulkhead.drops = ConcurrencyLimiter.DropPolicy(failures: true, timeout: .milliseconds(100))
let limiter = ConcurrencyLimiter(name: "catalog", configuration: bulkhead)
let item = try catalog.call { try limiter.call { "item 42" } }   // try catalog.item(42)
print(item, catalog.metrics.admittedFraction, limiter.limit)
// snippet.end

// snippet.http
import AsyncHTTPClient
import BreakerHTTPClient

let http = try BreakerHTTPClient()  // call `try await http.shutdown()` when done

func stock(_ item: Int) async throws -> HTTPClientResponse {
    // Rejected at once (CircuitBreakerError) while inventory.internal's breaker is open.
    try await http.execute(HTTPClientRequest(url: "https://inventory.internal/stock/\(item)"))
}

func stockOrDefault(_ item: Int) async throws -> HTTPClientResponse {
    // A rejection, a failure or a failing status answered from a default.
    try await http.execute(HTTPClientRequest(url: "https://inventory.internal/stock/\(item)")) { _ in
        HTTPClientResponse(status: .ok, body: .bytes(.init(string: "unknown")))
    }
}

func stockRetrying(_ item: Int) async throws -> HTTPClientResponse {
    // Backoff with jitter, never back before the breaker (or the server's Retry-After) allows;
    // one 3 s deadline for all the attempts.
    try await http.execute(
        HTTPClientRequest(url: "https://inventory.internal/stock/\(item)"),
        retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(200)), timeout: .seconds(3))
}
// snippet.end

// snippet.fleet
import BreakerRedis

let fleet = try RedisFleet(url: "redis://127.0.0.1:6379")  // or rediss://user:password@host:port/db, or any cluster node
let orders = CircuitBreaker(name: "orders", failMax: 5, resetTimeout: .seconds(30), storage: fleet.storage(named: "orders"))
// Run `fleet` in a ServiceGroup, or: Task { try await fleet.run() }
print(orders.state, fleet.status)  // closed starting since 0.0 s
// snippet.end

// snippet.hide
#endif
