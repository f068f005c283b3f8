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
    private let customRule: CustomRuleIdentity?

    private final class CustomRuleIdentity: Sendable {}

    /// What equality and hashing compare.
    private enum Identity: Hashable {
        case consecutive
        case rate(threshold: Double, minimumCalls: Int)
        case custom(ObjectIdentifier)
    }

    init(kind: Kind) {
        self.kind = kind
        if case .custom = kind { customRule = CustomRuleIdentity() } else { customRule = nil }
    }

    private var identity: Identity {
        switch kind {
        case .consecutive: .consecutive
        case .rate(let threshold, let minimumCalls): .rate(threshold: threshold, minimumCalls: minimumCalls)
        case .custom: .custom(ObjectIdentifier(customRule!))
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

    var usesWindow: Bool {
        if case .consecutive = kind { return false }
        return true
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
