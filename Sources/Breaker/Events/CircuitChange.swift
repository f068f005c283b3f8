/// One committed change of a circuit: its state, its mode or its open deadline, with the cause.
///
/// A circuit numbers its changes (``sequence``) under the same lock that makes them, and hands them,
/// in that order and once each, to its storage (``CircuitBreakerStorage/circuitDidChange(_:)``) and to
/// the listeners of every breaker on it, after the lock is released. A storage that shares the circuit
/// publishes ``snapshot``; another process applies it with ``InMemoryStorage/apply(_:)``.
public struct CircuitChange: Sendable, Hashable {
    /// 1 for the circuit's first change in this process, then 2, 3, ... with no gaps.
    public var sequence: UInt64
    /// The state before the change.
    public var previousState: CircuitState
    /// The mode before the change.
    public var previousMode: OperatingMode
    /// The circuit right after the change: state, mode, counters, remaining open time, epoch and origin.
    public var snapshot: CircuitSnapshot
    /// Why the circuit changed.
    public var cause: TransitionCause
    /// Whether the circuit entered a state (manual transitions included, even from a state to itself),
    /// as opposed to changing only its mode or its open deadline.
    public var isTransition: Bool

    /// Creates a change; circuits create these, tests of storages may too.
    public init(
        sequence: UInt64, previousState: CircuitState, previousMode: OperatingMode = .normal, snapshot: CircuitSnapshot,
        cause: TransitionCause, isTransition: Bool = true
    ) {
        self.sequence = sequence
        self.isTransition = isTransition
        self.previousState = previousState
        self.previousMode = previousMode
        self.snapshot = snapshot
        self.cause = cause
    }

    /// The state after the change.
    public var state: CircuitState { snapshot.state }
    /// The mode after the change.
    public var mode: OperatingMode { snapshot.mode }
    /// Whether the operating mode changed.
    public var isModeChange: Bool { previousMode != snapshot.mode }
    /// Whether this change was learned from elsewhere and applied here.
    public var isRemote: Bool { cause.kind == .remote }

}
