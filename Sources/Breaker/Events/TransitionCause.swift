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
        private enum Name: Sendable, Hashable {
            case consecutiveFailures, failureRate, slowCallRate, customRule, trialFailed, trialTimedOut
            case openPeriodElapsed, trialsSucceeded, manual, modeChanged, reconfigured, remote
        }
        private let name: Name

        /// `failMax` counted failures in a row opened the circuit.
        public static let consecutiveFailures = Kind(name: .consecutiveFailures)
        /// The window's failure rate reached the policy's threshold.
        public static let failureRate = Kind(name: .failureRate)
        /// The window's slow-call rate reached the policy's threshold.
        public static let slowCallRate = Kind(name: .slowCallRate)
        /// A custom trip rule said so.
        public static let customRule = Kind(name: .customRule)
        /// A half-open trial failed and reopened the circuit.
        public static let trialFailed = Kind(name: .trialFailed)
        /// Half-open trials ran past `maxTrialDuration`, and the circuit reopened.
        public static let trialTimedOut = Kind(name: .trialTimedOut)
        /// The open period ended and the circuit went half-open.
        public static let openPeriodElapsed = Kind(name: .openPeriodElapsed)
        /// Enough half-open trials succeeded and the circuit closed.
        public static let trialsSucceeded = Kind(name: .trialsSucceeded)
        /// `open()`, `halfOpen()` or `close()` was called.
        public static let manual = Kind(name: .manual)
        /// `setMode(_:)` changed the operating mode.
        public static let modeChanged = Kind(name: .modeChanged)
        /// The configuration changed the current open period.
        public static let reconfigured = Kind(name: .reconfigured)
        /// A change made elsewhere (another process, through a shared storage) was applied here.
        public static let remote = Kind(name: .remote)

        /// A short name, such as `trial failed`.
        public var description: String {
            switch name {
            case .consecutiveFailures: "consecutive failures"
            case .failureRate: "failure rate"
            case .slowCallRate: "slow-call rate"
            case .customRule: "custom rule"
            case .trialFailed: "trial failed"
            case .trialTimedOut: "trial timed out"
            case .openPeriodElapsed: "open period elapsed"
            case .trialsSucceeded: "trial succeeded"
            case .manual: "manual"
            case .modeChanged: "mode changed"
            case .reconfigured: "reconfigured"
            case .remote: "changed elsewhere"
            }
        }

        /// The kind as a metric label or log value: snake case, such as `trial_failed`.
        package var label: String {
            switch name {
            case .consecutiveFailures: "consecutive_failures"
            case .failureRate: "failure_rate"
            case .slowCallRate: "slow_call_rate"
            case .customRule: "custom_rule"
            case .trialFailed: "trial_failed"
            case .trialTimedOut: "trial_timed_out"
            case .openPeriodElapsed: "open_period_elapsed"
            case .trialsSucceeded: "trial_succeeded"
            case .manual: "manual"
            case .modeChanged: "mode_changed"
            case .reconfigured: "reconfigured"
            case .remote: "remote"
            }
        }

        /// The causes a policy opens the circuit with (a trip rule, or a failed or overrun trial): what
        /// the metrics integration counts apart among transitions to open. A new trip policy's cause
        /// goes here.
        package static let trips: [Kind] = [.consecutiveFailures, .failureRate, .slowCallRate, .customRule, .trialFailed, .trialTimedOut]
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
            return measured == 1 ? "1 consecutive failure" : "\(Int(measured)) consecutive failures"
        default:
            return kind.description
        }
    }

    private static func percent(_ fraction: Double) -> String {
        let tenths = (fraction * 1000).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(tenths / 10)) %" : "\(tenths / 10) %"
    }
}

extension TransitionCause {
    /// The cause reopens a half-open circuit: a trial failed or ran past its deadline.
    var reopensFromTrial: Bool { kind == .trialFailed || kind == .trialTimedOut }
}
