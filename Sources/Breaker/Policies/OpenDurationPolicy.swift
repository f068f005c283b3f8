/// How long the circuit stays open after each trip.
///
/// ```swift
/// configuration.openDuration = .fixed                                   // resetTimeout every time (default)
/// configuration.openDuration = .exponential(multiplier: 2, maximum: .seconds(600), jitter: 0.1)
/// configuration.openDuration = .custom { trip in .seconds(30 * trip.consecutiveTrips) }
/// ```
public struct OpenDurationPolicy: Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        case fixed
        case exponential(multiplier: Double, maximum: Duration, jitter: Double)
        case custom(@Sendable (TripContext) -> Duration)
    }
    let kind: Kind

    /// ``CircuitBreaker/Configuration/resetTimeout`` after every trip.
    public static let fixed = OpenDurationPolicy(kind: .fixed)

    /// `resetTimeout × multiplier^(n-1)` for the n-th trip in a row without the circuit closing,
    /// capped at `maximum`, then spread by up to ±`jitter` (a fraction, 0 ≤ jitter < 1) so a fleet
    /// does not retry in step. A close resets the count.
    public static func exponential(multiplier: Double = 2, maximum: Duration, jitter: Double = 0) -> OpenDurationPolicy {
        OpenDurationPolicy(kind: .exponential(multiplier: multiplier, maximum: maximum, jitter: jitter))
    }

    /// Whatever `duration` returns for the trip (Polly's break-duration generator). It runs outside
    /// the breaker's lock. A result that is not positive is replaced by `resetTimeout`.
    public static func custom(_ duration: @escaping @Sendable (TripContext) -> Duration) -> OpenDurationPolicy {
        OpenDurationPolicy(kind: .custom(duration))
    }

    /// Whether open periods are sized per trip (exponential or custom) rather than fixed to `resetTimeout`.
    var isSized: Bool {
        if case .fixed = kind { return false }
        return true
    }

    /// A short account of the policy.
    public var description: String {
        switch kind {
        case .fixed: "fixed"
        case .exponential(let multiplier, let maximum, let jitter): "exponential ×\(multiplier) up to \(maximum), jitter \(jitter)"
        case .custom: "custom"
        }
    }
}

/// What an open-duration policy knows about the trip it is sizing.
public struct TripContext: Sendable, Hashable {
    /// 1 for the first trip since the circuit was last closed, 2 for the next, and so on.
    public var consecutiveTrips: Int
    /// The window's failure rate at the trip (the consecutive policy reports 1 when it trips).
    public var failureRate: Double
    /// The configured base duration.
    public var resetTimeout: Duration

    /// Creates a context; breakers create these, tests of custom policies may too.
    public init(consecutiveTrips: Int, failureRate: Double, resetTimeout: Duration) {
        self.consecutiveTrips = consecutiveTrips
        self.failureRate = failureRate
        self.resetTimeout = resetTimeout
    }
}
