// The code of Observability.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.Unavailable
import Breaker
import BreakerLogging
import BreakerMetrics
import BreakerTracing
import Logging
import CoreMetrics
import Tracing

struct Unavailable: Error {}

let inventory = CircuitBreaker(name: "inventory", failMax: 2, resetTimeout: .seconds(30))
let changes = inventory.events([.stateChanged, .rejected], bufferingNewest: 64)

_ = try? inventory.call { throw Unavailable() }
_ = try? inventory.call { throw Unavailable() }   // trips
_ = try? inventory.call { "in stock" }            // rejected

var heard: [BreakerEvent] = []
for await event in changes {
    heard.append(event)
    if heard.count == 2 { break }
}
print(heard[0].change?.cause as Any)              // 2 consecutive failures
print(heard[1].kind == .rejected)                 // true
print(changes.dropped)                            // 0
// snippet.end

// snippet.logger
let logger = Logger(label: "payments")
let payments = CircuitBreaker(name: "payments", listeners: [BreakerLogger(logger: logger)])
// circuit breaker 'payments' opened: failure rate 62.5 % ≥ 50 %   breaker=payments breaker.cause=... retry_after=30
// snippet.end

// snippet.orders
let orders = CircuitBreaker(name: "orders")
orders.addListener(BreakerMetricsListener(name: "orders"))
orders.addListener(BreakerMetricsListener(name: "orders-timed", options: .init(recordsDurations: true)))
// snippet.end

// snippet.search
let search = CircuitBreaker(name: "search", listeners: [BreakerTracer()])   // the bootstrapped tracer
// snippet.end
