// swift-tools-version: 6.2
import Foundation
import PackageDescription

/// Settings every target of the package compiles with.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The HTTP client integration and its tests, left out when `BREAKER_SKIP_HTTP=1` (the sanitizer passes
/// of `scripts/sanitizers.sh`: the concurrency they prove is the core's, and AsyncHTTPClient would add
/// minutes to each of them).
let includesHTTP = ProcessInfo.processInfo.environment["BREAKER_SKIP_HTTP"] != "1"

let httpProducts: [Product] = [.library(name: "BreakerHTTPClient", targets: ["BreakerHTTPClient"])]
let httpDependencies: [Package.Dependency] = [
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
]
let httpTargets: [Target] = [
    .target(
        name: "BreakerHTTPClient",
        dependencies: [
            "Breaker", "BreakerMetrics",
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strictSettings),
    // Against a real HTTP server on a loopback port, started by the tests.
    .testTarget(
        name: "BreakerHTTPClientTests",
        dependencies: [
            "Breaker", "BreakerTestKit", "BreakerHTTPClient",
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ],
        swiftSettings: strictSettings),
]

/// The Redis fleet module, its tests, and the probe the tests run as separate processes.
let redisProducts: [Product] = [.library(name: "BreakerRedis", targets: ["BreakerRedis"])]
let redisDependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
]
let redisTargets: [Target] = [
    .target(
        name: "BreakerRedis",
        dependencies: [
            "Breaker",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ],
        swiftSettings: strictSettings),
    // One fleet instance driven on standard input, for the tests that run a fleet as processes.
    .executableTarget(
        name: "BreakerFleetProbe",
        dependencies: [
            "Breaker", "BreakerRedis", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ],
        swiftSettings: strictSettings),
    // Against throwaway redis-server processes the tests start on free loopback ports.
    .testTarget(
        name: "BreakerRedisTests",
        dependencies: [
            "Breaker", "BreakerTestKit", "BreakerRedis", "BreakerFleetProbe",
            .product(name: "InMemoryLogging", package: "swift-log"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ],
        swiftSettings: strictSettings),
]

/// A dependency once, however many optional parts ask for it.
func unique(_ dependencies: [Package.Dependency]) -> [Package.Dependency] {
    var seen: Set<String> = []
    return dependencies.filter { seen.insert(String(describing: $0.kind)).inserted }
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
        .executable(name: "breaker-demo", targets: ["breaker-demo"]),
    ] + (includesHTTP ? httpProducts : []) + redisProducts,
    dependencies: [
        // Only the integrations and the demo use these; the core module `Breaker` has no dependencies.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
    ] + unique((includesHTTP ? httpDependencies : []) + redisDependencies),
    targets: [
        .target(name: "Breaker", dependencies: [], exclude: ["Internal/README.md"], swiftSettings: strictSettings),
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
        // The demo's simulation, report and chart, as a library so that tests can check them.
        .target(name: "BreakerDemo", dependencies: ["Breaker", "BreakerTestKit"], swiftSettings: strictSettings),
        .executableTarget(
            name: "breaker-demo",
            dependencies: ["BreakerDemo", "BreakerRedis", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings),
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
    ] + (includesHTTP ? httpTargets : []) + redisTargets,
    swiftLanguageModes: [.v6]
)

