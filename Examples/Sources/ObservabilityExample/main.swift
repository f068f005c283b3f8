// A circuit breaker's metrics in Prometheus, its traces in OpenTelemetry and its log lines in swift-log.
import Breaker
import BreakerLogging
import BreakerMetrics
import BreakerTracing
import Logging
import Metrics
import OTel
import Prometheus
import ServiceLifecycle
import Tracing

// Metrics: swift-metrics records into this registry, which a /metrics endpoint serves.
let registry = PrometheusCollectorRegistry()
MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

// Logs: to standard output, tagged with the current trace and span IDs.
LoggingSystem.bootstrap(StreamLogHandler.standardOutput, metadataProvider: OTel.makeLoggingMetadataProvider())

// Traces: exported over OTLP/HTTP to a collector on localhost:4318 (swift-otel's default).
var otelConfiguration = OTel.Configuration.default
otelConfiguration.serviceName = "inventory-client"
otelConfiguration.logs.enabled = false  // logs go to the stream handler above
otelConfiguration.metrics.enabled = false  // metrics go to Prometheus
otelConfiguration.traces.otlpExporter.timeout = .seconds(1)  // give up on a missing collector after 1 s, not 10
let otel = try OTel.bootstrap(configuration: otelConfiguration)  // sets the global tracer
let observability = ServiceGroup(services: [otel], logger: Logger(label: "otel"))

// Create the listeners after bootstrapping: they take the global metrics factory and tracer.
let breaker = CircuitBreaker(
    name: "inventory", failMax: 3, resetTimeout: .seconds(5),
    listeners: [
        BreakerMetricsListener(name: "inventory", options: .init(recordsDurations: true)),
        BreakerLogger(logger: Logger(label: "breaker")),
        BreakerTracer(),
    ])

struct InventoryUnavailable: Error {}

/// The remote call the breaker protects.
func fetchStock(failing: Bool) async throws -> Int {
    try await Task.sleep(for: .milliseconds(5))
    if failing { throw InventoryUnavailable() }
    return 42
}

try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await observability.run() }  // exports finished spans in the background
    // Two successes, three failures (the third opens the circuit), then two calls rejected without running.
    for failing in [false, false, true, true, true, false, false] {
        await withSpan("GET /stock") { span in
            do {
                span.attributes["stock"] = try await breaker.call { try await fetchStock(failing: failing) }
            } catch {
                span.recordError(error)  // on a rejection, BreakerTracer has also added a circuit_breaker.rejected event
            }
        }
    }
    await observability.triggerGracefulShutdown()  // the group then waits for the last spans to be exported
}

// What a Prometheus scrape of /metrics gets.
var exposition: [UInt8] = []
registry.emit(into: &exposition)
print(String(decoding: exposition, as: UTF8.self))
