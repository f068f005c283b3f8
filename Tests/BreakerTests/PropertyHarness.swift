import BreakerTestKit
import Foundation

/// A tiny seeded property-testing harness (no package dependencies).
///
/// - ``SplitMix64`` (the test kit's `SeededRandom`) is the deterministic generator: a seed always produces the same test case.
/// - ``Property/check(_:generate:shrink:describe:property:)`` runs `runs` cases, each from its own seed
///   (`base + i`), and on the first failure shrinks the case greedily (try every smaller candidate the
///   `shrink` function proposes, keep the first that still fails, repeat until none does), then returns
///   a report with the seed, the original size, and the minimal failing case.
///
/// Environment:
/// - `BREAKER_PROPERTY_RUNS=N`  runs N cases per property instead of the default (soak runs).
/// - `BREAKER_PROPERTY_SEED=S`  replays exactly the case with seed S (decimal or 0x-hex), as printed in
///   a failure report.
/// - `BREAKER_PROPERTY_RANDOMIZE=1` starts from a time-based base seed (printed) instead of the fixed one.
///
/// The harness's generator: the test kit's seeded SplitMix64, under the name the property tests use.
typealias SplitMix64 = SeededRandom

extension SeededRandom {
    /// `true` with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    /// One of `choices`, picked with the given weights.
    mutating func weighted<T>(_ choices: [(Int, T)]) -> T {
        let total = choices.reduce(0) { $0 + $1.0 }
        var pick = int(0...(total - 1))
        for (weight, value) in choices {
            if pick < weight { return value }
            pick -= weight
        }
        return choices[choices.count - 1].1
    }
}

struct PropertyFailure: CustomStringConvertible {
    var property: String
    var seed: UInt64
    var originalSize: String
    var minimal: String
    var message: String
    var shrinkSteps: Int

    var description: String {
        """
        property '\(property)' failed for seed \(seed) (replay: BREAKER_PROPERTY_SEED=\(seed) swift test --filter Model)
        original case: \(originalSize); shrunk in \(shrinkSteps) steps to the minimal failing case:
        \(minimal)
        failure: \(message)
        """
    }
}

enum Property {
    static let environment = ProcessInfo.processInfo.environment

    /// Cases per property: `BREAKER_PROPERTY_RUNS`, else `defaultRuns`.
    static func runs(default defaultRuns: Int) -> Int {
        if let text = environment["BREAKER_PROPERTY_RUNS"], let value = Int(text), value > 0 { return value }
        return defaultRuns
    }

    static func parseSeed(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    /// The base seed of a property: a hash of its name, or a time-based one when randomizing.
    static func baseSeed(for name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        if environment["BREAKER_PROPERTY_RANDOMIZE"] == "1" {
            let random = UInt64(Date().timeIntervalSince1970 * 1_000_000) ^ hash
            print("property '\(name)': randomized base seed \(random)")
            return random
        }
        return hash
    }

    /// Runs the property; returns `nil` when every case passed, else the shrunk failure.
    static func check<Case>(
        _ name: String,
        runs defaultRuns: Int = 1_000,
        generate: (inout SplitMix64) -> Case,
        shrink: (Case) -> [Case],
        size: (Case) -> String,
        describe: (Case) -> String,
        property: (Case) -> String?
    ) -> PropertyFailure? {
        let seeds: [UInt64]
        if let text = environment["BREAKER_PROPERTY_SEED"], let seed = parseSeed(text) {
            seeds = [seed]
        } else {
            let base = baseSeed(for: name)
            seeds = (0..<runs(default: defaultRuns)).map { base &+ UInt64($0) }
        }
        for seed in seeds {
            var rng = SplitMix64(seed: seed)
            let original = generate(&rng)
            guard var message = property(original) else { continue }
            var current = original
            var steps = 0
            var budget = 5_000  // property evaluations spent on shrinking
            shrinking: while budget > 0 {
                for candidate in shrink(current) {
                    budget -= 1
                    if let failure = property(candidate) {
                        current = candidate
                        message = failure
                        steps += 1
                        continue shrinking
                    }
                    if budget <= 0 { break shrinking }
                }
                break
            }
            return PropertyFailure(
                property: name, seed: seed, originalSize: size(original), minimal: describe(current), message: message,
                shrinkSteps: steps)
        }
        return nil
    }
}

/// Shrinking helpers for sequences.
enum Shrink {
    /// Candidates that delete a chunk of `items`: halves first, then quarters, ..., then single items.
    static func removals<T>(_ items: [T]) -> [[T]] {
        var result: [[T]] = []
        var chunk = items.count / 2
        while chunk >= 1 {
            var start = 0
            while start < items.count {
                var copy = items
                copy.removeSubrange(start..<min(items.count, start + chunk))
                result.append(copy)
                start += chunk
            }
            chunk /= 2
        }
        if items.count == 1 { result.append([]) }
        return result
    }

    /// Smaller non-negative values to try in place of `value`, down to `floor`.
    static func smaller(_ value: Int, floor: Int = 0) -> [Int] {
        guard value > floor else { return [] }
        var out = [floor]
        let half = floor + (value - floor) / 2
        if half != floor && half != value { out.append(half) }
        if value - 1 != floor && value - 1 != half { out.append(value - 1) }
        return out
    }
}
