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

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let port = arguments.first ?? 8080
let inventoryPort = arguments.dropFirst().first ?? 8081

// Metrics: swift-metrics records into this registry; /metrics serves it.
let registry = PrometheusCollectorRegistry()
MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

// The flaky downstream.
let served = Atomic<Int>(0)
let inventoryRouter = Router()
inventoryRouter.get("stock/:id") { _, context -> Response in
    let number = served.add(1, ordering: .relaxed).newValue
    if (4...10).contains(number) {
        return Response(status: .serviceUnavailable, headers: [.retryAfter: "3"])
    }
    let id = context.parameters.get("id") ?? "?"
    return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "item \(id): 7 in stock")))
}
let inventory = Application(router: inventoryRouter, configuration: .init(address: .hostname("127.0.0.1", port: inventoryPort)))

// The storefront: each request for stock goes to the inventory through the host's breaker.
// The defaults: its own HTTP client, a hang noticed within about a second, recovery as fast, and
// metrics for each host, labelled with its breaker's name ("127.0.0.1:<inventory-port>").
let http = try BreakerHTTPClient()
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
