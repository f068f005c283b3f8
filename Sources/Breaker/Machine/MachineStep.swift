/// What one event did to a ``CircuitMachine``: the decision for the caller, and the changes the
/// machine committed, in order. The shell turns the changes into numbered ``CircuitChange``s under the
/// same lock, and delivers them after releasing it.
struct MachineStep<Decision> {
    var decision: Decision
    var changes: MachineChanges

    init(_ decision: Decision, _ changes: MachineChanges = MachineChanges()) {
        self.decision = decision
        self.changes = changes
    }
}

/// One committed change, as the machine describes it: the circuit right after it, with the open
/// deadline still on the machine's time line (the shell turns it into time remaining).
struct MachineChange: Sendable, Equatable {
    var previousState: CircuitState
    var previousMode: OperatingMode
    var cause: TransitionCause
    /// Whether the circuit entered a state (see ``CircuitChange/isTransition``).
    var isTransition: Bool
    var state: CircuitState
    var mode: OperatingMode
    var failureCount: Int
    var consecutiveTrips: Int
    var openUntil: Nanoseconds?
    /// The end of the recovery ramp this change started or kept, while closed and ramping.
    var rampUntil: Nanoseconds?
    var epoch: UInt64
    var origin: UInt64
}

/// The changes one event committed, in order, without allocating. Every event commits at most one
/// today; a second slot keeps the shell's loop honest should an event ever commit two.
struct MachineChanges: Sendable {
    private(set) var first: MachineChange?
    private(set) var second: MachineChange?

    mutating func append(_ change: MachineChange) {
        if first == nil { first = change } else { second = change }
    }

    var isEmpty: Bool { first == nil }

    /// The changes, oldest first.
    var all: [MachineChange] { [first, second].compactMap { $0 } }
}

enum Admission: Sendable {
    case admitted(Ticket)
    /// Rejected; `reopen` is a trip the caller must finish (custom open duration).
    case rejected(retryAfter: Nanoseconds, reopen: TripRequest?)
    /// The machine needs the time to decide; ask again with a clock reading.
    case needsClock
}

enum RecordResult: Sendable {
    /// The outcome belonged to an earlier generation, or the breaker is disabled.
    case dropped
    case counted
    /// The outcome opened the circuit.
    case opened(TransitionCause, retryAfter: Nanoseconds)
    /// The outcome opens the circuit once the caller has sized the open period outside the lock.
    case tripRequested(TripRequest)
    /// The caller must run the custom trip rule on this snapshot outside the lock, and trip with the
    /// request if it says so.
    case evaluateRule(WindowSnapshot, TripRequest)
}

/// A trip the machine has decided on but cannot finish alone: it needs a user function (custom rule
/// or custom open duration) run outside the lock, then ``CircuitMachine/finishTrip(_:duration:now:)``.
struct TripRequest: Sendable {
    var generation: UInt64
    var cause: TransitionCause
    var context: TripContext

    /// Whether the trip reopens a half-open circuit (rather than opening a closed one).
    var reopens: Bool { cause.reopensFromTrial }
}
