#if Redis
import Breaker

/// The one backoff formula of the Redis module: reconnections, resubscriptions and the fleet's retries
/// all wait `first × 2^(failures − 1)`, capped at `maximum`, spread by ±20 % so that the instances of a
/// fleet do not retry in step.
struct Backoff: Sendable, Hashable {
    /// The wait after the first failure.
    var first: Duration
    /// The longest wait.
    var maximum: Duration

    /// The wait after `failures` failures in a row (1 or more), its spread drawn from `random`.
    func delay(afterFailures failures: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let grown = Double(first.nanoseconds) * Double(1 << min(max(failures - 1, 0), 30))
        let capped = min(grown, Double(maximum.nanoseconds))
        return .nanoseconds(Int64(capped * Double.random(in: 0.8...1.2, using: &random)))
    }

    /// The wait after `failures` failures in a row (1 or more).
    func delay(afterFailures failures: Int) -> Duration {
        var random = SystemRandomNumberGenerator()
        return delay(afterFailures: failures, using: &random)
    }

    /// The fleet's: its publisher's retries and its resubscriptions (``FleetMachine``).
    static let fleet = Backoff(first: .milliseconds(100), maximum: .seconds(5))
}
#endif
