// swift-tools-version: 6.2
import PackageDescription

/// Settings every target of the package compiles with.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-breaker",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "Breaker", targets: ["Breaker"]),
        .library(name: "BreakerTestKit", targets: ["BreakerTestKit"]),
        .executable(name: "breaker-demo", targets: ["breaker-demo"]),
    ],
    targets: [
        .target(name: "Breaker", dependencies: [], exclude: ["Internal/README.md"], swiftSettings: strictSettings),
        .target(name: "BreakerTestKit", dependencies: ["Breaker"], swiftSettings: strictSettings),
        .executableTarget(name: "breaker-demo", dependencies: ["Breaker", "BreakerTestKit"], swiftSettings: strictSettings),
        .testTarget(name: "BreakerTests", dependencies: ["Breaker", "BreakerTestKit"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
