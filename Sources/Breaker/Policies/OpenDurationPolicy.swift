/// How long the circuit stays open after each trip.
///
/// ```swift
/// configuration.openDuration = .fixed                                   // resetTimeout every time (default)
/// configuration.openDuration = .exponential(multiplier: 2, maximum: .seconds(600), jitter: 0.1)
/// configuration.openDuration = .custom { trip in .seconds(30 * trip.consecutiveTrips) }
/// ```
///
/// Two policies are equal when they are the same rule with the same numbers. A ``custom(_:)`` policy
/// is equal only to itself and its copies, like ``ErrorFilter/matching(_:)``: calling `custom` twice,
/// even with the same closure, makes two different policies.
public struct OpenDurationPolicy: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable {
        case fixed
        case exponential(multiplier: Double, maximum: Duration, jitter: Double)
        case custom(@Sendable (TripContext) -> Duration)
    }
    let kind: Kind
    /// Made when a custom sizing closure is given and kept with it (so its identity is never reused):
    /// what equality compares for `.custom`. `nil` for the other kinds.
    private let customIdentity: ClosureIdentity?

    /// What equality and hashing compare.
    private enum Identity: Hashable {
        case fixed
        case exponential(multiplier: Double, maximum: Duration, jitter: Double)
        case custom(ClosureIdentity)
    }

    init(kind: Kind) {
        self.kind = kind
        if case .custom = kind { customIdentity = ClosureIdentity() } else { customIdentity = nil }
    }

    private var identity: Identity {
        switch kind {
        case .fixed: .fixed
        case .exponential(let multiplier, let maximum, let jitter): .exponential(multiplier: multiplier, maximum: maximum, jitter: jitter)
        case .custom: .custom(customIdentity!)
        }
    }

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

    /// Opens for as long as the failure that tripped the circuit asks, when it carries a wait
    /// (``RetryAfterProviding``, such as an HTTP 429 or 503 with `Retry-After`), capped at `maximum`;
    /// otherwise as `otherwise` says.
    ///
    /// ```swift
    /// configuration.openDuration = .honoringRetryAfter(maximum: .seconds(300), otherwise: .exponential(maximum: .seconds(60)))
    /// ```
    public static func honoringRetryAfter(maximum: Duration, otherwise: OpenDurationPolicy = .fixed) -> OpenDurationPolicy {
        .custom { trip in
            if let wait = (trip.error as? any RetryAfterProviding)?.retryAfter, wait > .zero { return min(wait, maximum) }
            return otherwise.duration(for: trip)
        }
    }

    /// The open period this policy gives `trip`: `resetTimeout` for ``fixed``, the grown and jittered
    /// period for ``exponential(multiplier:maximum:jitter:)``, the closure's answer for ``custom(_:)``
    /// (`resetTimeout` if it is not positive).
    public func duration(for trip: TripContext) -> Duration {
        switch kind {
        case .fixed:
            return trip.resetTimeout
        case .exponential(let multiplier, let maximum, let jitter):
            let nanos = Self.grown(
                trip.resetTimeout.nanoseconds, trips: trip.consecutiveTrips, multiplier: multiplier, maximum: maximum.nanoseconds,
                jitter: jitter, sample: jitter > 0 ? .random(in: -1...1) : 0)
            return .nanoseconds(nanos)
        case .custom(let size):
            let duration = size(trip)
            return duration > .zero ? duration : trip.resetTimeout
        }
    }

    /// The exponential rule: `base × multiplier^(trips-1)` capped at `maximum`, spread by `jitter × sample`
    /// (`sample` in -1...1), at least 1 ns.
    static func grown(_ base: Nanoseconds, trips: Int, multiplier: Double, maximum: Nanoseconds, jitter: Double, sample: Double) -> Nanoseconds {
        let cap = Double(maximum)
        var nanos = Double(base)
        for _ in 1..<max(1, trips) where nanos < cap { nanos *= multiplier }
        nanos = min(nanos, cap)
        if jitter > 0 { nanos *= 1 + jitter * min(1, max(-1, sample)) }
        return max(1, Nanoseconds(min(nanos, Double(Nanoseconds.max / 2))))
    }

    /// Whether open periods are sized per trip (exponential or custom) rather than fixed to `resetTimeout`.
    var isSized: Bool {
        if case .fixed = kind { return false }
        return true
    }

    /// Equal when both are ``fixed``, both the same
    /// ``exponential(multiplier:maximum:jitter:)``, or both the same ``custom(_:)`` policy (one call
    /// of `custom` and its copies).
    public static func == (lhs: OpenDurationPolicy, rhs: OpenDurationPolicy) -> Bool { lhs.identity == rhs.identity }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) { hasher.combine(identity) }

    /// A short account of the policy.
    public var description: String {
        switch kind {
        case .fixed: "fixed"
        case .exponential(let multiplier, let maximum, let jitter): "exponential ×\(multiplier) up to \(maximum), jitter \(jitter)"
        case .custom: "custom"
        }
    }
}

/// A failure that carries how long its source asked callers to wait before trying again: an HTTP 429
/// or 503 response's `Retry-After`, a gRPC retry delay. ``OpenDurationPolicy/honoringRetryAfter(maximum:otherwise:)``
/// opens the circuit for that long when such a failure trips it.
public protocol RetryAfterProviding: Error {
    /// The wait asked for, or `nil` if none was given.
    var retryAfter: Duration? { get }
}

/// What an open-duration policy knows about the trip it is sizing.
///
/// A custom policy can read the failure that tripped the circuit, to honour a server's `Retry-After`:
///
/// ```swift
/// configuration.openDuration = .custom { trip in
///     if let limited = trip.error as? RateLimited { return min(limited.retryAfter, .seconds(300)) }
///     return trip.resetTimeout
/// }
/// ```
public struct TripContext: Sendable, Hashable {
    /// 1 for the first trip since the circuit was last closed, 2 for the next, and so on.
    public var consecutiveTrips: Int
    /// The window's failure rate at the trip (the consecutive policy reports 1 when it trips).
    public var failureRate: Double
    /// The configured base duration.
    public var resetTimeout: Duration
    /// The failure that tripped the circuit: the call's error, a ``FailedResult`` for a returned value
    /// judged a failure, or `nil` (a slow success, a trial past its deadline, a custom rule). Not part
    /// of equality.
    public var error: (any Error)?

    /// Creates a context; breakers create these, tests of custom policies may too.
    public init(consecutiveTrips: Int, failureRate: Double, resetTimeout: Duration, error: (any Error)? = nil) {
        self.consecutiveTrips = consecutiveTrips
        self.failureRate = failureRate
        self.resetTimeout = resetTimeout
        self.error = error
    }

    /// Equal when the counts, rate and timeout are; the error is left out.
    public static func == (lhs: TripContext, rhs: TripContext) -> Bool {
        lhs.consecutiveTrips == rhs.consecutiveTrips && lhs.failureRate == rhs.failureRate && lhs.resetTimeout == rhs.resetTimeout
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(consecutiveTrips)
        hasher.combine(failureRate)
        hasher.combine(resetTimeout)
    }
}
