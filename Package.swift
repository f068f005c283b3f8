// swift-tools-version: 6.2
import PackageDescription

/// Settings every target of the package compiles with. Warnings are errors for this package's own
/// targets only: SwiftPM does not apply warning settings to a package that is a remote dependency.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

/// A dependency that only the `Redis` trait's targets use: not even fetched when the trait is off.
func redis(_ product: String, _ package: String) -> Target.Dependency {
    .product(name: product, package: package, condition: .when(traits: ["Redis"]))
}

/// A dependency that only the `HTTPClient` trait's targets use: not even fetched when the trait is off.
func http(_ product: String, _ package: String) -> Target.Dependency {
    .product(name: product, package: package, condition: .when(traits: ["HTTPClient"]))
}

let package = Package(
    name: "swift-breaker",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "Breaker", targets: ["Breaker"]),
        .library(name: "BreakerTestKit", targets: ["BreakerTestKit"]),
        .library(name: "BreakerLogging", targets: ["BreakerLogging"]),
        .library(name: "BreakerMetrics", targets: ["BreakerMetrics"]),
        .library(name: "BreakerTracing", targets: ["BreakerTracing"]),
        .library(name: "BreakerRedis", targets: ["BreakerRedis"]),
        .library(name: "BreakerHTTPClient", targets: ["BreakerHTTPClient"]),
        .executable(name: "breaker-demo", targets: ["breaker-demo"]),
    ],
    // The two integrations that bring SwiftNIO are traits, on by default. A package that wants only the
    // core (and the API-only logging, metrics and tracing integrations) depends with `traits: []` and
    // resolves no NIO, NIOSSL, AsyncHTTPClient or ServiceLifecycle (README, "Package traits").
    traits: [
        .trait(
            name: "Redis",
            description: "BreakerRedis: breakers shared by a fleet through Redis (SwiftNIO, NIOSSL, ServiceLifecycle)."),
        .trait(
            name: "HTTPClient",
            description: "BreakerHTTPClient: AsyncHTTPClient with a breaker per host (SwiftNIO, AsyncHTTPClient)."),
        .default(enabledTraits: ["Redis", "HTTPClient"]),
    ],
    dependencies: [
        // The core module `Breaker` depends on no package (only on its own C target, a thread-local word). The API-only packages serve the observability
        // integrations, argument-parser the demo; the rest only the two traits.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .target(name: "Breaker", dependencies: ["CBreaker"], exclude: ["Circuit/README.md"], swiftSettings: strictSettings),
        // A thread-local word for the counters' stripes: C, because Swift has no thread-locals.
        .target(name: "CBreaker"),
        .target(name: "BreakerTestKit", dependencies: ["Breaker"], swiftSettings: strictSettings),
        .target(
            name: "BreakerLogging",
            dependencies: ["Breaker", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),
        .target(
            name: "BreakerMetrics",
            dependencies: ["Breaker", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strictSettings),
        .target(
            name: "BreakerTracing",
            dependencies: ["Breaker", .product(name: "Tracing", package: "swift-distributed-tracing")],
            swiftSettings: strictSettings),

        // MARK: The Redis fleet (trait `Redis`; its sources are fenced with `#if Redis`)
        .target(
            name: "BreakerRedis",
            dependencies: [
                "Breaker",
                redis("NIOCore", "swift-nio"), redis("NIOPosix", "swift-nio"),
                redis("NIOConcurrencyHelpers", "swift-nio"), redis("NIOSSL", "swift-nio-ssl"),
                redis("Logging", "swift-log"), redis("CoreMetrics", "swift-metrics"),
                redis("ServiceLifecycle", "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings),
        // One fleet instance driven on standard input, for the tests that run a fleet as processes.
        .executableTarget(
            name: "BreakerFleetProbe",
            dependencies: [
                "Breaker", "BreakerRedis", redis("NIOConcurrencyHelpers", "swift-nio"), redis("NIOSSL", "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings),

        // MARK: The HTTP client (trait `HTTPClient`; its sources are fenced with `#if HTTPClient`)
        .target(
            name: "BreakerHTTPClient",
            dependencies: [
                "Breaker", "BreakerMetrics",
                http("CoreMetrics", "swift-metrics"), http("AsyncHTTPClient", "async-http-client"),
                http("NIOCore", "swift-nio"), http("NIOHTTP1", "swift-nio"), http("Logging", "swift-log"),
            ],
            swiftSettings: strictSettings),

        // MARK: The demo
        // The demo's simulation, report and chart, as a library so that tests can check them.
        .target(name: "BreakerDemo", dependencies: ["Breaker", "BreakerTestKit"], swiftSettings: strictSettings),
        .executableTarget(
            name: "breaker-demo",
            dependencies: [
                "BreakerDemo", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .target(name: "BreakerRedis", condition: .when(traits: ["Redis"])),
            ],
            swiftSettings: strictSettings),

        // MARK: Tests
        .testTarget(name: "BreakerTests", dependencies: ["Breaker", "BreakerTestKit"], swiftSettings: strictSettings),
        .testTarget(
            name: "BreakerObservabilityTests",
            dependencies: [
                "Breaker", "BreakerTestKit", "BreakerLogging", "BreakerMetrics", "BreakerTracing",
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings),
        .testTarget(name: "BreakerDemoTests", dependencies: ["BreakerDemo", "Breaker"], swiftSettings: strictSettings),
        // Against throwaway redis-server processes the tests start on free loopback ports.
        .testTarget(
            name: "BreakerRedisTests",
            dependencies: [
                "Breaker", "BreakerTestKit", "BreakerRedis", "BreakerFleetProbe",
                redis("InMemoryLogging", "swift-log"), redis("MetricsTestKit", "swift-metrics"),
                redis("NIOCore", "swift-nio"), redis("NIOConcurrencyHelpers", "swift-nio"), redis("NIOSSL", "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings),
        // Against a real HTTP server on a loopback port, started by the tests.
        .testTarget(
            name: "BreakerHTTPClientTests",
            dependencies: [
                "Breaker", "BreakerTestKit", "BreakerHTTPClient",
                http("MetricsTestKit", "swift-metrics"), http("AsyncHTTPClient", "async-http-client"),
                http("NIOCore", "swift-nio"), http("NIOPosix", "swift-nio"), http("NIOHTTP1", "swift-nio"),
            ],
            swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
