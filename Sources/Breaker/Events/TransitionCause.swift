/// Why a circuit changed: the rule that tripped it, the trial that closed or reopened it, a manual
/// call, a mode change, or a change learned from elsewhere.
///
/// ```swift
/// print(change.cause)   // failure rate 62 % ≥ 50 %
/// if change.cause.kind == .trialFailed { ... }
/// ```
public struct TransitionCause: Sendable, Hashable, CustomStringConvertible {
    /// The kind of cause. New kinds may be added; compare with `==` or switch with a `default`.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String

        /// `failMax` counted failures in a row opened the circuit.
        public static let consecutiveFailures = Kind(name: "consecutive failures")
        /// The window's failure rate reached the policy's threshold.
        public static let failureRate = Kind(name: "failure rate")
        /// The window's slow-call rate reached the policy's threshold.
        public static let slowCallRate = Kind(name: "slow-call rate")
        /// A custom trip rule said so.
        public static let customRule = Kind(name: "custom rule")
        /// A half-open trial failed and reopened the circuit.
        public static let trialFailed = Kind(name: "trial failed")
        /// Half-open trials ran past `maxTrialDuration`, and the circuit reopened.
        public static let trialTimedOut = Kind(name: "trial timed out")
        /// The open period ended and the circuit went half-open.
        public static let openPeriodElapsed = Kind(name: "open period elapsed")
        /// Enough half-open trials succeeded and the circuit closed.
        public static let trialsSucceeded = Kind(name: "trial succeeded")
        /// `open()`, `halfOpen()`, `close()` or `open(for:)` was called.
        public static let manual = Kind(name: "manual")
        /// `setMode(_:)` changed the operating mode.
        public static let modeChanged = Kind(name: "mode changed")
        /// The configuration changed the current open period.
        public static let reconfigured = Kind(name: "reconfigured")
        /// A change made elsewhere (another process, through a shared storage) was applied here.
        public static let remote = Kind(name: "changed elsewhere")

        /// A short name, such as `trial failed`.
        public var description: String { name }
    }

    /// The kind of cause.
    public let kind: Kind
    /// For rate causes, the measured rate (0...1); for consecutive failures, the count.
    public let measured: Double?
    /// For rate causes, the policy's threshold (0...1); for consecutive failures, `failMax`.
    public let threshold: Double?

    /// A cause of `kind` with optional figures.
    public init(_ kind: Kind, measured: Double? = nil, threshold: Double? = nil) {
        self.kind = kind
        self.measured = measured
        self.threshold = threshold
    }

    /// `failure rate 62 % ≥ 50 %`, `5 consecutive failures`, `trial failed`, ...
    public var description: String {
        switch kind {
        case .failureRate, .slowCallRate:
            guard let measured, let threshold else { return kind.description }
            return "\(kind) \(Self.percent(measured)) ≥ \(Self.percent(threshold))"
        case .consecutiveFailures:
            guard let measured else { return kind.description }
            return "\(Int(measured)) consecutive failures"
        default:
            return kind.description
        }
    }

    private static func percent(_ fraction: Double) -> String {
        let tenths = (fraction * 1000).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(tenths / 10)) %" : "\(tenths / 10) %"
    }
}
