import Breaker

/// The three trip policies the demo can run, each mapped to a ``CircuitBreaker/Configuration``.
public enum PolicyChoice: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// aiobreaker's rule: a number of failures in a row opens the circuit (`failMax`).
    case consecutive
    /// A share of failures over a time window opens the circuit (`TripPolicy.failureRate`).
    case failureRate = "failure-rate"
    /// A share of slow calls over a time window opens the circuit (`SlowCallPolicy`).
    case slowCalls = "slow-calls"

    /// The option's spelling: `consecutive`, `failure-rate`, `slow-calls`.
    public var description: String { rawValue }

    /// What opens the circuit, in at most 60 characters, for `--help`: the policy's ``DemoPolicy/trip``.
    public var summary: String { settings.trip }

    /// The demo's settings for this policy.
    public var settings: DemoPolicy {
        switch self {
        case .consecutive: DemoPolicy(rule: .consecutiveFailures(5))
        case .failureRate: DemoPolicy(rule: .failureRate(threshold: 0.5, minimumCalls: 10))
        case .slowCalls: DemoPolicy(rule: .slowCalls(threshold: .milliseconds(500), rate: 0.5, minimumCalls: 10))
        }
    }
}

/// The numbers of one policy: its trip rule, its window and its open period. The breaker's
/// configuration and the report's description both come from these, so the report states what ran.
public struct DemoPolicy: Sendable, Hashable {
    /// What opens a closed circuit.
    public enum Rule: Sendable, Hashable {
        /// `failMax` failures in a row.
        case consecutiveFailures(Int)
        /// Failures make up at least `threshold` of the window, which holds at least `minimumCalls`.
        case failureRate(threshold: Double, minimumCalls: Int)
        /// Calls of at least `threshold` make up at least `rate` of the window, which holds at least
        /// `minimumCalls`; the breaker's default consecutive rule (`failMax`) stays on beside it.
        case slowCalls(threshold: Duration, rate: Double, minimumCalls: Int)
    }

    /// What opens a closed circuit.
    public var rule: Rule
    /// The span of the time window the rate rules read.
    public var window: Duration
    /// The width of the window's buckets.
    public var bucket: Duration
    /// How long each trip keeps the circuit open (`resetTimeout`).
    public var openFor: Duration
    /// Failures in a row that open the circuit under the consecutive rule (and beside the slow-call rule).
    public var failMax: Int { if case .consecutiveFailures(let count) = rule { count } else { 5 } }

    /// Settings for `rule`, with a 10 s window in 1 s buckets and a 5 s open period unless given.
    public init(rule: Rule, window: Duration = .seconds(10), bucket: Duration = .seconds(1), openFor: Duration = .seconds(5)) {
        self.rule = rule
        self.window = window
        self.bucket = bucket
        self.openFor = openFor
    }

    /// The breaker configuration these settings describe.
    public var configuration: CircuitBreaker.Configuration {
        var configuration = CircuitBreaker.Configuration()
        configuration.resetTimeout = openFor
        configuration.failMax = failMax
        switch rule {
        case .consecutiveFailures:
            configuration.trip = .consecutiveFailures
        case .failureRate(let threshold, let minimumCalls):
            configuration.trip = .failureRate(threshold, minimumCalls: minimumCalls)
            configuration.window = .duration(window, bucket: bucket)
        case .slowCalls(let threshold, let rate, let minimumCalls):
            configuration.slowCalls = SlowCallPolicy(threshold: threshold, rate: rate, minimumCalls: minimumCalls)
            configuration.window = .duration(window, bucket: bucket)
        }
        return configuration
    }

    /// The failure rate at which the circuit opens, for the chart's threshold line; `nil` for other rules.
    public var failureRateThreshold: Double? {
        if case .failureRate(let threshold, _) = rule { threshold } else { nil }
    }

    /// The calls the window must hold before the rate rule judges it; `nil` for the consecutive rule.
    public var minimumCalls: Int? {
        switch rule {
        case .consecutiveFailures: nil
        case .failureRate(_, let minimumCalls), .slowCalls(_, _, let minimumCalls): minimumCalls
        }
    }

    /// The duration from which a call counts as slow: the slow-call rule's threshold, or 500 ms.
    public var slowMark: Duration {
        if case .slowCalls(let threshold, _, _) = rule { threshold } else { .milliseconds(500) }
    }

    /// `failure-rate`, `consecutive` or `slow-calls`: the option that selects this rule.
    public var name: String {
        switch rule {
        case .consecutiveFailures: PolicyChoice.consecutive.rawValue
        case .failureRate: PolicyChoice.failureRate.rawValue
        case .slowCalls: PolicyChoice.slowCalls.rawValue
        }
    }

    /// `failure rate ≥ 50 % over 10 s, at least 10 calls; open 5 s; one trial call decides`: the policy
    /// as `configuration` runs it. The trip rule comes from these settings; the open period and the
    /// half-open trials are read from the configuration itself.
    public var summary: String {
        let configuration = configuration
        let trip: String
        switch rule {
        case .consecutiveFailures(let count):
            trip = "\(count) failures in a row"
        case .failureRate(let threshold, let minimumCalls):
            trip = "failure rate ≥ \(Format.percent(threshold)) over \(Format.duration(window)), at least \(minimumCalls) calls"
        case .slowCalls(let threshold, let rate, let minimumCalls):
            trip = "calls ≥ \(Format.duration(threshold)) make up ≥ \(Format.percent(rate)) over \(Format.duration(window)), "
                + "at least \(minimumCalls) calls (or \(configuration.failMax) failures in a row)"
        }
        return "\(trip); \(recovery)"
    }

    /// `open 5 s; one trial call decides`: what follows a trip, read from ``configuration``.
    public var recovery: String {
        let configuration = configuration
        return "open \(Format.duration(configuration.resetTimeout)); \(Self.trials(configuration.halfOpen))"
    }

    /// `≥ 50 % failures over 10 s, at least 10 calls`: what opens the circuit, in short.
    public var trip: String {
        switch rule {
        case .consecutiveFailures(let count):
            "\(count) failures in a row"
        case .failureRate(let threshold, let minimumCalls):
            "≥ \(Format.percent(threshold)) failures over \(Format.duration(window)), at least \(minimumCalls) calls"
        case .slowCalls(let threshold, let rate, _):
            "≥ \(Format.percent(rate)) of calls ≥ \(Format.duration(threshold)) over \(Format.duration(window)), or \(failMax) failures in a row"
        }
    }

    /// `one trial call decides`, `3 trials at a time, 2 successes close`.
    private static func trials(_ halfOpen: HalfOpenPolicy) -> String {
        if halfOpen.permittedCalls == 1 && halfOpen.successesToClose == 1 { return "one trial call decides" }
        let running = halfOpen.permittedCalls == 1 ? "one trial at a time" : "\(halfOpen.permittedCalls) trials at a time"
        let closing = halfOpen.successesToClose == 1 ? "one success closes" : "\(halfOpen.successesToClose) successes close"
        return "\(running), \(closing)"
    }
}
