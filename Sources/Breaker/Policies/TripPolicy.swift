/// When a closed circuit opens.
///
/// ```swift
/// var configuration = CircuitBreaker.Configuration()
/// configuration.trip = .consecutiveFailures                    // aiobreaker: failMax in a row (default)
/// configuration.trip = .failureRate(0.5, minimumCalls: 20)     // ≥ 50 % of the window, once it holds 20 calls
/// configuration.trip = .custom { window in window.failures >= 10 && window.calls < 50 }
/// ```
///
/// The rate and custom policies read the sliding window set by
/// ``CircuitBreaker/Configuration/window``; the consecutive policy needs no window.
///
/// Two policies are equal when they are the same rule with the same numbers. A ``custom(_:)`` policy
/// is equal only to itself and its copies, like ``ErrorFilter/matching(_:)``: calling `custom` twice,
/// even with the same closure, makes two different policies.
public struct TripPolicy: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable {
        case consecutive
        case rate(threshold: Double, minimumCalls: Int)
        case custom(@Sendable (WindowSnapshot) -> Bool)
    }
    let kind: Kind
    /// Made when a custom rule is given and kept with it (so its identity is never reused): what
    /// equality compares for `.custom`. `nil` for the other kinds.
    private let customIdentity: ClosureIdentity?

    /// What equality and hashing compare.
    private enum Identity: Hashable {
        case consecutive
        case rate(threshold: Double, minimumCalls: Int)
        case custom(ClosureIdentity)
    }

    init(kind: Kind) {
        self.kind = kind
        if case .custom = kind { customIdentity = ClosureIdentity() } else { customIdentity = nil }
    }

    private var identity: Identity {
        switch kind {
        case .consecutive: .consecutive
        case .rate(let threshold, let minimumCalls): .rate(threshold: threshold, minimumCalls: minimumCalls)
        case .custom: .custom(customIdentity!)
        }
    }

    /// Opens after ``CircuitBreaker/Configuration/failMax`` counted failures in a row (aiobreaker's
    /// rule). Any success, or excluded error, resets the count.
    public static let consecutiveFailures = TripPolicy(kind: .consecutive)

    /// Opens when failures make up at least `threshold` (0 < threshold ≤ 1) of the calls in the
    /// window, provided the window holds at least `minimumCalls` calls. Ignored calls are not part
    /// of either count.
    public static func failureRate(_ threshold: Double, minimumCalls: Int) -> TripPolicy {
        TripPolicy(kind: .rate(threshold: threshold, minimumCalls: minimumCalls))
    }

    /// Opens when `shouldTrip` returns `true` for the window's counts (gobreaker's `ReadyToTrip`).
    /// The rule runs after each counted outcome while the circuit is closed, outside the breaker's
    /// lock, so it may read the breaker. Keep it cheap: it runs on the call path.
    public static func custom(_ shouldTrip: @escaping @Sendable (WindowSnapshot) -> Bool) -> TripPolicy {
        TripPolicy(kind: .custom(shouldTrip))
    }

    /// The rule as the state machine keeps it: plain values, so copying a policy copies no closure.
    var rule: Rule {
        switch kind {
        case .consecutive: .consecutive
        case .rate(let threshold, let minimumCalls): .rate(threshold: threshold, minimumCalls: minimumCalls)
        case .custom: .custom
        }
    }

    /// The user's rule, for a ``custom(_:)`` policy.
    var customRule: (@Sendable (WindowSnapshot) -> Bool)? {
        if case .custom(let shouldTrip) = kind { return shouldTrip }
        return nil
    }

    /// Throws an error naming the first value out of range (``CircuitBreaker/Configuration/validate()``).
    func validate() throws(ConfigurationError) {
        switch kind {
        case .consecutive, .custom: break
        case .rate(let threshold, let minimumCalls):
            try ConfigurationError.check(threshold > 0 && threshold <= 1, "trip.failureRate threshold", threshold, "0 < threshold ≤ 1")
            try ConfigurationError.check(minimumCalls >= 1, "trip.failureRate minimumCalls", minimumCalls, "1...\(Int.max)")
        }
    }

    /// A trip policy as the state machine judges it. Everything a new built-in policy needs is here
    /// and in ``TripPolicy``: its kind, factory, validation, and the cause it sees in the counts.
    enum Rule: Sendable {
        case consecutive
        case rate(threshold: Double, minimumCalls: Int)
        /// User code: judged outside the lock (``CircuitMachine`` asks the breaker to run it).
        case custom

        /// Whether the rule reads the sliding window.
        var usesWindow: Bool {
            if case .consecutive = self { return false }
            return true
        }

        /// Whether user code must see every outcome: then no success is "nothing to change", and none
        /// is parked (``PublishedWord``).
        var seesEveryOutcome: Bool {
            if case .custom = self { return true }
            return false
        }

        /// The cause of a trip that the counts call for, or `nil`. A custom rule returns `nil` here: it
        /// runs outside the lock.
        func cause(_ counts: WindowSnapshot, failMax: Int) -> TransitionCause? {
            switch self {
            case .consecutive:
                guard counts.consecutiveFailures >= failMax else { return nil }
                return TransitionCause(.consecutiveFailures, measured: Double(counts.consecutiveFailures), threshold: Double(failMax))
            case .rate(let threshold, let minimumCalls):
                guard counts.calls >= minimumCalls && counts.failureRate >= threshold else { return nil }
                return TransitionCause(.failureRate, measured: counts.failureRate, threshold: threshold)
            case .custom:
                return nil
            }
        }
    }

    /// Equal when both are ``consecutiveFailures``, both the same ``failureRate(_:minimumCalls:)``,
    /// or both the same ``custom(_:)`` policy (one call of `custom` and its copies).
    public static func == (lhs: TripPolicy, rhs: TripPolicy) -> Bool { lhs.identity == rhs.identity }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) { hasher.combine(identity) }

    /// A short account of the policy.
    public var description: String {
        switch kind {
        case .consecutive: "consecutive failures"
        case .rate(let threshold, let minimumCalls): "failure rate ≥ \(threshold) over ≥ \(minimumCalls) calls"
        case .custom: "custom rule"
        }
    }
}

/// The counts of a breaker's sliding window at one moment, as a trip rule sees them.
public struct WindowSnapshot: Sendable, Hashable, Codable {
    /// Counted calls in the window (successes and failures; ignored calls are left out).
    public var calls: Int
    /// Failures in the window.
    public var failures: Int
    /// Calls in the window slower than the slow-call threshold, failed or not.
    public var slowCalls: Int
    /// Slow calls that also failed.
    public var slowFailures: Int
    /// Counted failures in a row, window or not.
    public var consecutiveFailures: Int

    /// Successes in the window.
    public var successes: Int { calls - failures }
    /// `failures / calls`, or 0 for an empty window.
    public var failureRate: Double { calls == 0 ? 0 : Double(failures) / Double(calls) }
    /// `slowCalls / calls`, or 0 for an empty window.
    public var slowCallRate: Double { calls == 0 ? 0 : Double(slowCalls) / Double(calls) }

    /// Creates a snapshot; breakers create these, tests of custom rules may too.
    public init(calls: Int = 0, failures: Int = 0, slowCalls: Int = 0, slowFailures: Int = 0, consecutiveFailures: Int = 0) {
        self.calls = calls
        self.failures = failures
        self.slowCalls = slowCalls
        self.slowFailures = slowFailures
        self.consecutiveFailures = consecutiveFailures
    }
}
