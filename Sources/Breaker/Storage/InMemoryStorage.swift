/// A circuit kept in this process's memory: the default storage, and the local circuit every other
/// storage keeps (see ``CircuitBreakerStorage``).
///
/// The circuit is the unit of sharing: its state, window, policy and clock live here together. Hand
/// one instance to several breakers and they share one circuit, each with its own listeners and
/// exclusions:
///
/// ```swift
/// let shared = InMemoryStorage()
/// let reads = CircuitBreaker(name: "db-reads", storage: shared)
/// let writes = CircuitBreaker(name: "db-writes", storage: shared)   // trips together with `reads`
/// ```
///
/// **The circuit's policy wins.** The first breaker created on a circuit gives it its policy (every
/// field of ``CircuitBreaker/Configuration`` except ``CircuitBreaker/Configuration/exclude``,
/// ``CircuitBreaker/Configuration/classifyError``, ``CircuitBreaker/Configuration/throwOriginalErrorOnTrip``,
/// ``CircuitBreaker/Configuration/timeLimit`` and ``CircuitBreaker/Configuration/concurrencyLimit``, which
/// stay each breaker's own) and its clock. A later
/// breaker on the same circuit takes that policy and clock, whatever it was given, and reads them back in
/// ``CircuitBreaker/configuration``; ``CircuitBreaker/reconfigure(_:)`` on any of them changes the policy
/// of all.
public final class InMemoryStorage: CircuitBreakerStorage {
    /// The circuit itself, which breakers on this storage decide from.
    let circuit: Circuit

    /// A circuit in `state` with `failureCount` failures counted. A circuit created open stays open for
    /// the reset timeout of the first breaker that uses it, from then.
    public convenience init(state: CircuitState = .closed, failureCount: Int = 0) {
        self.init(machine: CircuitMachine(state: state, consecutiveFailures: max(0, failureCount), localOrigin: Origin.next()))
    }

    /// A circuit holding what `snapshot` describes, its epoch included: an open circuit stays open for
    /// the snapshot's remaining time from the first time a breaker uses it.
    public convenience init(restoring snapshot: CircuitSnapshot) {
        self.init(machine: CircuitMachine(restoring: snapshot, localOrigin: Origin.next()))
    }

    private init(machine: CircuitMachine) {
        circuit = Circuit(machine: machine)
    }

    /// This storage itself: it keeps the circuit.
    public var local: InMemoryStorage { self }

    /// The state, read without locking.
    public var state: CircuitState { circuit.state }

    /// The counted failures in a row.
    public var failureCount: Int { circuit.failureCount }

    /// The number that stamps this circuit's own changes (``CircuitSnapshot/origin``): random per circuit.
    public var origin: UInt64 { circuit.origin }

    /// The circuit's policy, once a breaker has given it one (see the type's discussion).
    public var configuration: CircuitBreaker.Configuration? { circuit.configuration }

    /// The circuit as it is now, with times as durations remaining.
    public func snapshot() -> CircuitSnapshot { circuit.snapshot() }

    /// Applies `snapshot`, a change made elsewhere (another process sharing the circuit), if it is newer
    /// than this circuit's latest change by ``CircuitSnapshot/isNewer(thanEpoch:origin:)``; returns
    /// whether it was applied. An applied change is delivered at once, as a ``CircuitChange`` with
    /// cause ``TransitionCause/Kind/remote``, to the storage and to the breakers' listeners; calls in
    /// flight are not counted when they finish, and the window starts again if the state changed.
    /// An open circuit stays open for the snapshot's remaining time from now.
    @discardableResult
    public func apply(_ snapshot: CircuitSnapshot) -> Bool { circuit.apply(snapshot) }

    /// Sets who may start half-open trials (see ``TrialGate``). A gate held elsewhere keeps the
    /// circuit rejecting, without the lock, until its time is up or the gate changes.
    public func setTrialGate(_ gate: TrialGate) { circuit.setTrialGate(gate) }
}
