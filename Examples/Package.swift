// swift-tools-version: 6.2
// Examples of swift-breaker with real backends: a package of its own, so that the library itself does
// not depend on them. Run from this directory:
//
//     swift run ObservabilityExample
//     swift run StorefrontExample
//
// ObservabilityExample reports a breaker's metrics to swift-prometheus, its traces to swift-otel (OTLP/HTTP,
// localhost:4318; no collector is needed to run it) and its log lines to standard output.
// StorefrontExample is a Hummingbird service that calls a flaky downstream through BreakerHTTPClient and
// serves the breaker's metrics for Prometheus at /metrics.
import PackageDescription

let package = Package(
    name: "swift-breaker-examples",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-breaker", path: "../"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        // OTLP/HTTP only: the default OTLPGRPC trait would also build grpc-swift, which this example does not use.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .executableTarget(
            name: "ObservabilityExample",
            dependencies: [
                .product(name: "Breaker", package: "swift-breaker"),
                .product(name: "BreakerLogging", package: "swift-breaker"),
                .product(name: "BreakerMetrics", package: "swift-breaker"),
                .product(name: "BreakerTracing", package: "swift-breaker"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            path: "Sources/ObservabilityExample"
        ),
        .executableTarget(
            name: "StorefrontExample",
            dependencies: [
                .product(name: "Breaker", package: "swift-breaker"),
                .product(name: "BreakerHTTPClient", package: "swift-breaker"),
                .product(name: "BreakerMetrics", package: "swift-breaker"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/StorefrontExample"
        ),
    ],
    swiftLanguageModes: [.v6]
)
