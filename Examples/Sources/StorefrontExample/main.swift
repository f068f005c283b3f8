// A Hummingbird service whose handler calls a flaky downstream through BreakerHTTPClient, with the
// breaker's metrics served for Prometheus at /metrics.
//
//     swift run StorefrontExample [port] [inventory-port]     # defaults 8080 and 8081
//     curl localhost:8080/stock/42                            # through the breaker
//     curl localhost:8080/metrics                             # breaker_calls_total, breaker_state, ...
//
// The downstream ("inventory", on the second port, in the same process) answers 503 with
// `Retry-After: 3` to its requests 4 to 10, and 200 otherwise. With BreakerHTTPClient's defaults the
// breaker opens once half of at least 10 calls failed (the 10th: 7 of 10), for the 3 s the server
// asked; the storefront answers from its fallback meanwhile, and the first request after that is the
// trial that closes the breaker again.
//
// Overload, as `scripts/storefront-overload.sh` runs it under wrk:
//
//     swift run -c release StorefrontExample 8080 8081 --capacity 8 [--limiter]
//
// With `--capacity N` the inventory is never flaky but has a capacity: a request takes 10 ms while at
// most N are in flight, and proportionally longer past that (they share it); the storefront gives each
// request 100 ms and records every call's duration. With `--limiter` the inventory's breaker also bounds the requests in flight with
// an AIMD concurrency limit that backs off on failures and on requests slower than 25 ms.
import AsyncHTTPClient
import Breaker
import BreakerHTTPClient
import BreakerMetrics
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

let options = Array(CommandLine.arguments.dropFirst())
let arguments = options.prefix { !$0.hasPrefix("--") }.compactMap { Int($0) }
let port = arguments.first ?? 8080
let inventoryPort = arguments.dropFirst().first ?? 8081
let capacity = options.firstIndex(of: "--capacity").flatMap { options.index(after: $0) < options.endIndex ? Int(options[$0 + 1]) : nil }
let limited = options.contains("--limiter")

// Metrics: swift-metrics records into this registry; /metrics serves it.
let registry = PrometheusCollectorRegistry()
MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

// The flaky downstream, or with `--capacity` one that slows down under load.
let served = Atomic<Int>(0)
let inFlight = Atomic<Int>(0)
let inventoryRouter = Router()
inventoryRouter.get("stock/:id") { _, context -> Response in
    if let capacity {
        let running = inFlight.add(1, ordering: .relaxed).newValue
        defer { inFlight.subtract(1, ordering: .relaxed) }
        try await Task.sleep(for: .milliseconds(10) * max(1, Double(running) / Double(capacity)))
    } else if (4...10).contains(served.add(1, ordering: .relaxed).newValue) {
        return Response(status: .serviceUnavailable, headers: [.retryAfter: "3"])
    }
    let id = context.parameters.get("id") ?? "?"
    return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "item \(id): 7 in stock")))
}
let inventory = Application(router: inventoryRouter, configuration: .init(address: .hostname("127.0.0.1", port: inventoryPort)))

// The storefront: each request for stock goes to the inventory through the host's breaker.
// The defaults: its own HTTP client, a hang noticed within about a second, recovery as fast, and
// metrics for each host, labelled with its breaker's name ("127.0.0.1:<inventory-port>").
var configuration = BreakerHTTPClient.Configuration()
if capacity != nil {
    configuration.timeout = .milliseconds(100)
    configuration.metricsOptions.recordsDurations = true  // breaker_call_duration, for the successes' p99
    if limited {
        var limit = ConcurrencyLimiter.Configuration()
        limit.algorithm = .aimd()
        limit.initialLimit = 8
        limit.drops = ConcurrencyLimiter.DropPolicy(failures: true, timeout: .milliseconds(25))
        configuration.breaker.concurrencyLimit = limit
    }
}
let http = try BreakerHTTPClient(configuration: configuration)
let inventoryHost = "http://127.0.0.1:\(inventoryPort)"

let router = Router()
router.get("stock/:id") { _, context -> Response in
    let id = context.parameters.get("id") ?? "0"
    do {
        let response = try await http.execute(HTTPClientRequest(url: "\(inventoryHost)/stock/\(id)"))
        guard response.status == .ok else {
            return Response(status: .badGateway, body: ResponseBody(byteBuffer: ByteBuffer(string: "inventory answered \(response.status.code)\n")))
        }
        let body = try await response.body.collect(upTo: 64 * 1024)
        return Response(status: .ok, body: ResponseBody(byteBuffer: body))
    } catch let rejection as CircuitBreakerError {
        // Rejected without calling: answer from the fallback, and tell the client when to come back.
        let seconds = Int(rejection.retryAfter.components.seconds) + 1
        return Response(
            status: .serviceUnavailable, headers: [.retryAfter: "\(seconds)"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: "stock unknown for now (inventory's breaker is open)\n")))
    }
}
router.get("metrics") { _, _ -> String in
    var exposition: [UInt8] = []
    registry.emit(into: &exposition)
    // swift-metrics carries no help text: add the breaker metrics' HELP lines before their TYPE lines.
    return String(decoding: exposition, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { line in
        let words = line.split(separator: " ")
        guard words.count >= 3, words[0] == "#", words[1] == "TYPE", let help = BreakerMetricsListener.help[String(words[2])] else {
            return String(line)
        }
        return "# HELP \(words[2]) \(help)\n\(line)"
    }.joined(separator: "\n")
}
let storefront = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))

let services = ServiceGroup(services: [inventory, storefront], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "storefront"))
try await services.run()
try await http.shutdown()
