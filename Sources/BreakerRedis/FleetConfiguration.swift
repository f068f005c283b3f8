#if Redis
/// How a breaker shares its circuit with the rest of a fleet (see ``RedisFleet``).
public struct FleetMode: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case shared
        case quorum(minimum: Int, fraction: Double, window: Duration)
    }

    let kind: Kind

    /// One state fleet-wide: a trip anywhere opens the breaker everywhere.
    public static let shared = FleetMode(kind: .shared)

    /// The fleet opens only when at least `minimum` instances, and at least `fraction` of the instances
    /// alive (0 for no fraction), have tripped on their own within `window`. Until then an instance
    /// that trips is open alone: one instance's local trouble (its own network, its own bad host)
    /// does not open the others. Closes and reopenings of a fleet-wide opening are shared.
    public static func quorum(minimum: Int, fraction: Double = 0, within window: Duration = .seconds(30)) -> FleetMode {
        FleetMode(kind: .quorum(minimum: max(1, minimum), fraction: min(1, max(0, fraction)), window: window))
    }

    /// `shared`, or `quorum of 2 (50 % of those alive) within 30 seconds`.
    public var description: String {
        switch kind {
        case .shared: "shared"
        case .quorum(let minimum, let fraction, let window):
            "quorum of \(minimum)" + (fraction > 0 ? " (\(Int(fraction * 100)) % of those alive)" : "") + " within \(window)"
        }
    }
}

import CoreMetrics

/// What a ``RedisFleet`` does; every field has a default.
public struct FleetConfiguration: Sendable {
    /// The prefix of every key and channel (default `breaker`). Fleets with different namespaces never
    /// see each other. Letters, digits and `-_.:` only.
    public var namespace: String
    /// This instance's name in quorum votes and trial leases (default: random).
    public var instance: String
    /// How long a breaker's keys live without a live instance refreshing them (default 24 h).
    public var keyLifetime: Duration
    /// How often each instance marks itself alive, once for all its breakers (default 5 s). A breaker's
    /// keys are renewed when half of ``keyLifetime`` has passed, not on every heartbeat.
    public var heartbeatInterval: Duration
    /// Whether one instance at a time runs the half-open trials, holding a lease (default `true`).
    public var sharesTrials: Bool
    /// How long a lease outlasts the open period it is taken for: the time its holder has to run the
    /// trial and publish the outcome (default 10 s). If the holder dies, the others probe after it.
    public var trialLeaseMargin: Duration
    /// Where the fleet's metrics go (see ``RedisFleet``'s metrics): `nil`, the default, for
    /// `MetricsSystem.factory`; a test passes a `TestMetrics`.
    public var metricsFactory: (any MetricsFactory)?

    /// The defaults above.
    public init() {
        namespace = "breaker"
        instance = "instance-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        keyLifetime = .seconds(86_400)
        heartbeatInterval = .seconds(5)
        sharesTrials = true
        trialLeaseMargin = .seconds(10)
        metricsFactory = nil
    }

    /// Checks the namespace and the durations.
    func validate() throws(RedisError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
        guard !namespace.isEmpty, namespace.allSatisfy(allowed.contains) else {
            throw RedisError(.invalidConfiguration, "namespace '\(namespace)': letters, digits and -_.: only, not empty")
        }
        guard keyLifetime >= .seconds(1) else { throw RedisError(.invalidConfiguration, "keyLifetime \(keyLifetime): at least 1 second") }
        guard heartbeatInterval > .zero, heartbeatInterval * 2 <= keyLifetime else {
            throw RedisError(.invalidConfiguration, "heartbeatInterval \(heartbeatInterval): more than 0 and at most half of keyLifetime")
        }
        guard trialLeaseMargin > .zero else { throw RedisError(.invalidConfiguration, "trialLeaseMargin \(trialLeaseMargin): more than 0") }
    }
}
#endif
