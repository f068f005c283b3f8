/// How a circuit comes back after its trials succeed: instead of letting every caller in at once, on a
/// dependency that has just recovered and is cold, it admits a rising fraction of calls over
/// ``duration``, then all.
///
/// ```swift
/// var configuration = CircuitBreaker.Configuration()
/// configuration.recoveryRamp = .linear(over: .seconds(20))              // 10 % at the close, 100 % 20 s later
/// configuration.recoveryRamp = .linear(over: .seconds(20), from: 0.25)  // 25 % at the close
/// ```
///
/// While the ramp runs, the circuit reads `closed`; a call it turns away throws
/// ``CircuitBreakerError/Reason/rampingUp`` with a ``CircuitBreakerError/retryAfter`` at which a call
/// that drew the same lot would be let in, so retries spread over the ramp instead of returning
/// together. Calls admitted are judged as usual: a failure that trips the trip policy reopens the
/// circuit. Deciding a call during the ramp takes no lock: one clock reading and one random draw.
/// A circuit closed by hand (``CircuitBreaker/close()``) does not ramp.
public struct RecoveryRamp: Sendable, Hashable, CustomStringConvertible {
    /// How long the fraction of calls admitted takes to rise from ``initialFraction`` to all. Positive.
    public var duration: Duration
    /// The fraction of calls admitted at the instant the circuit closes. Default 0.1; 0 ≤ fraction < 1.
    public var initialFraction: Double

    /// A ramp from `initialFraction` of calls at the close to all of them `duration` later, in a
    /// straight line.
    public init(duration: Duration, initialFraction: Double = 0.1) {
        self.duration = duration
        self.initialFraction = initialFraction
    }

    /// A ramp that rises in a straight line from `initialFraction` at the close to every call
    /// `duration` later.
    public static func linear(over duration: Duration, from initialFraction: Double = 0.1) -> RecoveryRamp {
        RecoveryRamp(duration: duration, initialFraction: initialFraction)
    }

    /// `linear over 20.0 seconds from 10 %`.
    public var description: String { "linear over \(duration) from \(Int((initialFraction * 100).rounded())) %" }

    /// The fraction of calls admitted `elapsed` after the close.
    public func admittedFraction(after elapsed: Duration) -> Double {
        let span = duration.nanoseconds
        guard span > 0, elapsed.nanoseconds < span else { return 1 }
        return initialFraction + (1 - initialFraction) * Double(max(0, elapsed.nanoseconds)) / Double(span)
    }

    func validate() throws(ConfigurationError) {
        try ConfigurationError.check(duration.nanoseconds > 0, "recoveryRamp.duration", duration, "at least one nanosecond")
        try ConfigurationError.check(initialFraction >= 0 && initialFraction < 1, "recoveryRamp.initialFraction", initialFraction, "0 ≤ fraction < 1")
    }

    /// The instant from which a straight line through 0 reaches 1 at `end`, passing `initialFraction` at
    /// `end - duration`: the lock-free admission compares a uniform draw with `(now - from) / (end - from)`.
    func virtualStart(end: Nanoseconds) -> Nanoseconds {
        let span = Double(duration.nanoseconds) / (1 - initialFraction)
        return end.addingSaturating(-Nanoseconds(min(span, Double(Int64.max / 2))))
    }
}
