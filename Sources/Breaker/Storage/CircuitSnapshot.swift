/// A circuit's state at one moment: what ``CircuitBreaker/snapshot()`` returns (to restore with
/// ``InMemoryStorage/init(restoring:)``), what every ``CircuitChange`` carries, and what a shared
/// storage publishes and applies elsewhere with ``InMemoryStorage/apply(_:)``.
///
/// Times are kept as durations *remaining* at capture, not as clock instants, so a snapshot survives
/// a restart (monotonic clocks start again) and crossing to another host.
///
/// ``epoch`` and ``origin`` order snapshots across processes: every committed change increases the
/// circuit's epoch by one and stamps it with the circuit's origin. A snapshot is newer than another
/// when its epoch is higher, or, at the same epoch, its origin is higher; ties between two processes
/// that changed at once are broken the same way everywhere, so a fleet converges.
public struct CircuitSnapshot: Sendable, Hashable, Codable {
    /// The state.
    public var state: CircuitState
    /// The operating mode.
    public var mode: OperatingMode
    /// Counted failures in a row.
    public var failureCount: Int
    /// Trips since the circuit last closed.
    public var consecutiveTrips: Int
    /// For an open circuit, the time left before a trial is allowed; `nil` otherwise.
    public var openRemaining: Duration?
    /// For a closed circuit coming back through a ``RecoveryRamp``, the time left before it admits every
    /// call; `nil` otherwise. A circuit that applies the snapshot ramps up to the same end, so a fleet's
    /// instances admit the same rising fraction together.
    public var rampRemaining: Duration?
    /// The number of changes behind this state, across every process that shares the circuit.
    public var epoch: UInt64
    /// Which circuit instance made the change (random per ``InMemoryStorage``); breaks epoch ties.
    public var origin: UInt64

    /// Creates a snapshot, for example to restore a circuit that was open when the process stopped.
    public init(
        state: CircuitState, mode: OperatingMode = .normal, failureCount: Int = 0, consecutiveTrips: Int = 0,
        openRemaining: Duration? = nil, rampRemaining: Duration? = nil, epoch: UInt64 = 0, origin: UInt64 = 0
    ) {
        self.state = state
        self.mode = mode
        self.failureCount = failureCount
        self.consecutiveTrips = consecutiveTrips
        self.openRemaining = openRemaining
        self.rampRemaining = rampRemaining
        self.epoch = epoch
        self.origin = origin
    }

    /// Whether this snapshot is newer than one at `epoch` from `origin` (see the type's discussion).
    public func isNewer(thanEpoch epoch: UInt64, origin: UInt64) -> Bool {
        self.epoch > epoch || (self.epoch == epoch && self.origin > origin)
    }
}
