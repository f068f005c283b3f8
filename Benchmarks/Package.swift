// swift-tools-version: 6.1
// The benchmark suite of swift-breaker: a package of its own, so that the library itself does not
// depend on package-benchmark. Run from this directory:
//
//     swift package --allow-writing-to-package-directory benchmark
//
// See ../BENCHMARKS.md for the scenarios, the latest results and how to read them.
import PackageDescription

let package = Package(
    name: "swift-breaker-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-breaker", path: "../"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // The MallocInterposer trait replaces the default jemalloc trait, whose package is not mirrored here.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "BreakerBenchmarks",
            dependencies: [
                "BenchmarkWork",
                .product(name: "Breaker", package: "swift-breaker"),
                .product(name: "BreakerLogging", package: "swift-breaker"),
                .product(name: "BreakerMetrics", package: "swift-breaker"),
                .product(name: "BreakerRedis", package: "swift-breaker"),
                .product(name: "BreakerHTTPClient", package: "swift-breaker"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/BreakerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The work every measurement runs, written once.
        .target(name: "BenchmarkWork", path: "Shared/BenchmarkWork"),
        // The same scenarios as plain loops, for valgrind --tool=callgrind and perf (no harness).
        .executableTarget(
            name: "BreakerProfile",
            dependencies: ["BenchmarkWork", .product(name: "Breaker", package: "swift-breaker")],
            path: "Profile/BreakerProfile"
        ),
        // How long a trip takes to reach another process through Redis (p50, p99).
        .executableTarget(
            name: "BreakerFleetLatency",
            dependencies: [
                .product(name: "Breaker", package: "swift-breaker"),
                .product(name: "BreakerRedis", package: "swift-breaker"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Fleet/BreakerFleetLatency"
        ),
        // Memory per idle breaker (RSS growth over 100,000 breakers), one fresh process per measurement.
        .executableTarget(
            name: "BreakerMemory",
            dependencies: ["BenchmarkWork", .product(name: "Breaker", package: "swift-breaker")],
            path: "Memory/BreakerMemory"
        ),
    ],
    swiftLanguageModes: [.v6]
)
