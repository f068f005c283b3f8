// The code of CallingHTTPServices.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.hide
#if HTTPClient
// snippet.show

// snippet.http
import AsyncHTTPClient
import Breaker
import BreakerHTTPClient
import BreakerTestKit

let http = try BreakerHTTPClient()  // its own HTTP client; call shutdown() when done

func stock(of item: Int) async throws -> HTTPClientResponse {
    try await http.execute(HTTPClientRequest(url: "https://inventory.internal/stock/\(item)"))
}

let inventory = http.breaker(for: HTTPClientRequest(url: "https://inventory.internal/stock/1"))
precondition(inventory.name == "inventory.internal:443")
precondition(http.configuration.breaker.slowCalls?.threshold == .seconds(1) && http.configuration.timeout == .seconds(10))
// snippet.end

// snippet.tuned
var tuned = BreakerHTTPClient.Configuration()
tuned.breaker.slowCalls?.threshold = .milliseconds(500)       // a dependency that answers in 50 ms
tuned.breaker.halfOpen.maxTrialDuration = .milliseconds(500)
tuned.breaker.resetTimeout = .milliseconds(500)
tuned.timeout = .seconds(2)
let ownClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: tuned.httpClientConfiguration)
let tunedHTTP = try BreakerHTTPClient(client: ownClient, configuration: tuned)
precondition(tunedHTTP.configuration.breaker.timeLimit == .seconds(2))
try await ownClient.shutdown().get()
// snippet.end

// snippet.stockOrCached
func stockOrCached(of item: Int) async throws -> HTTPClientResponse {
    try await http.execute(HTTPClientRequest(url: "https://inventory.internal/stock/\(item)")) { _ in
        HTTPClientResponse(status: .ok, body: .bytes(.init(string: "cached")))
    }
}
// snippet.end

// snippet.hangs
let hangs = ManualClock()
var hangPolicy = CircuitBreaker.Configuration()
hangPolicy.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 0.5, minimumCalls: 4)
hangPolicy.window = .lastCalls(10)
let catalog = try CircuitBreaker(name: "catalog", validating: hangPolicy, clock: hangs)

let hung = try (1...4).map { _ in try catalog.acquirePermit() }  // four calls that never answer
hangs.advance(by: .milliseconds(1_200))
do {
    _ = try catalog.acquirePermit()
    preconditionFailure("the hung calls opened the breaker")
} catch {
    precondition(catalog.state == .open && catalog.metrics.slowCalls == 4)
}
for call in hung { call.succeeded() }  // they end at last: not counted a second time
precondition(catalog.metrics.slowCalls == 4)
// snippet.end

// snippet.limited
let limited = CircuitBreaker(name: "pricing")
let price = try await limited.call(CallOptions(
    timeLimit: .seconds(2),
    classifyResult: { (cents: Int) in cents < 0 ? .failure : .success },
    fallback: { _ in 999 }
)) {
    1_250   // try await pricing.quote(item)
}
precondition(price == 1_250)
// snippet.end

// snippet.budget
let budget = RetryBudget(ratio: 0.1, minimumTokens: 10)  // retries at most 10 % of requests, plus 10

func stockRetrying(of item: Int) async throws -> HTTPClientResponse {
    try await http.execute(
        HTTPClientRequest(url: "https://inventory.internal/stock/\(item)"),
        retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(200), budget: budget),
        timeout: .seconds(3))  // for the three attempts together
}

try await http.shutdown()  // when the service stops: the client it made is shut down
// snippet.end

// snippet.hide
#endif
