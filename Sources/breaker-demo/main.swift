import Breaker
import BreakerTestKit
import Synchronization

// A walk-through of the breaker at work: two minutes of traffic to a flaky in-process dependency,
// simulated on a manual clock so it runs in a moment and prints the same thing every time.

/// The dependency: healthy, then down for 25 seconds, then flaky while it recovers, then healthy.
struct FlakyInventory {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "inventory unavailable" }
    }

    var random = SplitMix(seed: 7)

    mutating func stock(at second: Double) throws -> Int {
        let failureChance: Double
        switch second {
        case ..<20: failureChance = 0.02
        case ..<45: failureChance = 1.0
        case ..<55: failureChance = 0.5
        default: failureChance = 0.01
        }
        if random.nextUnit() < failureChance { throw Unavailable() }
        return 42
    }
}

/// A small deterministic random generator, so every run prints the same story.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextUnit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }
}

/// Prints each state change with the simulated time.
final class TimelineListener: CircuitBreakerListener {
    let clock: ManualClock
    private let tripCount = Atomic<Int>(0)
    var trips: Int { tripCount.load(ordering: .relaxed) }
    init(clock: ManualClock) { self.clock = clock }

    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        if to == .open { tripCount.add(1, ordering: .relaxed) }
        let seconds = Double(clock.now.offset.components.seconds) + Double(clock.now.offset.components.attoseconds) / 1e18
        let label = breaker.name ?? "breaker"
        print("  t=\(pad(format(seconds), 6))s  \(label): \(from) -> \(to)")
    }
}

func format(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}

/// Sends one call every 100 ms for two minutes through `breaker` and prints what happened.
func simulate(_ title: String, configuration: CircuitBreaker.Configuration) {
    print("\n== \(title)")
    let clock = ManualClock()
    let timeline = TimelineListener(clock: clock)
    let breaker = CircuitBreaker(name: "inventory", configuration: configuration, listeners: [timeline], clock: clock)
    var inventory = FlakyInventory()
    var reachedDuringOutage = 0
    var rows: [(String, Int, Int, Int)] = []
    var (ok, failed, rejected) = (0, 0, 0)

    for tick in 0..<1_200 {
        let second = Double(tick) / 10
        do {
            _ = try breaker.call {
                if second >= 20 && second < 45 { reachedDuringOutage += 1 }
                return try inventory.stock(at: second)
            }
            ok += 1
        } catch let error as CircuitBreakerError where error.reason == .open {
            rejected += 1
        } catch {
            failed += 1
        }
        if tick % 200 == 199 {
            rows.append(("\(Int(second) - 19)-\(Int(second) + 1)s", ok, failed, rejected))
            (ok, failed, rejected) = (0, 0, 0)
        }
        clock.advance(by: .milliseconds(100))
    }

    print("  window      ok  failed  rejected")
    for row in rows {
        print("  \(row.0.padding(9))\(pad(String(row.1), 5))\(pad(String(row.2), 8))\(pad(String(row.3), 10))")
    }
    let metrics = breaker.metrics
    print("  calls \(metrics.calls): let through \(metrics.successes + metrics.failures), rejected \(metrics.rejected), trips \(timeline.trips)")
    print("  calls that reached the dependency during its 25 s outage: \(reachedDuringOutage) of 250")
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

print("swift-breaker demo: 2 minutes of traffic (one call per 100 ms) to an inventory service that")
print("is healthy, goes down at t=20s, recovers shakily from t=45s, and is healthy again from t=55s.")

var aiobreakerStyle = CircuitBreaker.Configuration()
aiobreakerStyle.failMax = 5
aiobreakerStyle.resetTimeout = .seconds(5)
simulate("aiobreaker defaults: 5 failures in a row open the circuit for 5 s", configuration: aiobreakerStyle)

var rateWithBackoff = CircuitBreaker.Configuration()
rateWithBackoff.trip = .failureRate(0.5, minimumCalls: 10)
rateWithBackoff.window = .duration(.seconds(5), bucket: .milliseconds(500))
rateWithBackoff.resetTimeout = .seconds(2)
rateWithBackoff.openDuration = .exponential(multiplier: 2, maximum: .seconds(8))
rateWithBackoff.halfOpen = HalfOpenPolicy(permittedCalls: 3, successesToClose: 3)
simulate("failure rate ≥ 50% over 5 s, open 2 s doubling up to 8 s, 3 trials to close", configuration: rateWithBackoff)
