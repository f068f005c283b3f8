#if Redis
/// Whether a ``RedisFleet`` is sharing its breakers' circuits right now, and since when.
///
/// ```swift
/// if case .degraded = fleet.status.condition { alert(fleet.status.description) }
/// for await status in fleet.statusUpdates { print(status) }  // "degraded since 3.2 s: authentication failed: WRONGPASS …"
/// ```
///
/// While the fleet is not ``Condition-swift.struct/sharing``, every instance decides on its own
/// breakers from what it knew last: calls are never failed or delayed because Redis is away.
public struct FleetStatus: Sendable, Hashable, CustomStringConvertible {
    /// The fleet's condition. A struct rather than an enum, so that conditions can be added.
    public struct Condition: Sendable, Hashable, CustomStringConvertible {
        let name: String

        /// `run()` has not reached Redis yet.
        public static let starting = Condition(name: "starting")
        /// Commands reach Redis, but the subscription to other instances' changes is not confirmed yet.
        public static let connected = Condition(name: "connected")
        /// Connected and subscribed: changes go out and come in.
        public static let sharing = Condition(name: "sharing")
        /// Redis is unreachable, refuses the credentials, or does not answer in time: the instance
        /// decides alone and keeps retrying with backoff (``FleetStatus/reason`` says why).
        public static let degraded = Condition(name: "degraded")
        /// `run()` has returned.
        public static let stopped = Condition(name: "stopped")

        /// The condition's name.
        public var description: String { name }
    }

    /// The condition.
    public var condition: Condition
    /// Why the fleet is degraded (the last error, with the server's words and without secrets), or `nil`.
    public var reason: String?
    /// When the fleet entered this condition.
    public var since: ContinuousClock.Instant

    /// Creates a status.
    public init(_ condition: Condition, reason: String? = nil, since: ContinuousClock.Instant) {
        self.condition = condition
        self.reason = reason
        self.since = since
    }

    /// Whether changes are shared with the rest of the fleet.
    public var isSharing: Bool { condition == .sharing }

    /// `sharing since 12.5 s`, or `degraded since 3 s: not connected: …`.
    public var description: String {
        let elapsed = since.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let text = "\(condition) since \((seconds * 10).rounded() / 10) s"
        return reason.map { "\(text): \($0)" } ?? text
    }
}
#endif
