import Breaker

/// What a simulation recorded: the traffic slice by slice, every change of the circuit, and the totals.
public struct SimulationResult: Sendable, Hashable {
    /// The settings the simulation ran with.
    public var settings: SimulationSettings
    /// The dependency the clients called.
    public var dependency: Dependency
    /// The configuration the breaker reported after the run (it equals `settings.policy.configuration`).
    public var configuration: CircuitBreaker.Configuration
    /// The traffic, in consecutive slices covering the whole run.
    public var slices: [TimeSlice]
    /// Every change of the circuit's state, in time order.
    public var transitions: [Transition]

    /// The simulated length of the run, in seconds.
    public var duration: Double { settings.duration.inSeconds }

    /// The sums over all slices.
    public var totals: Totals { Totals(slices) }

    /// The circuit's state from `start` to `end` seconds, in time order, covering the run: what the
    /// chart draws as bands.
    public var stateSpans: [StateSpan] {
        var spans: [StateSpan] = []
        var state = CircuitState.closed
        var since = 0.0
        for transition in transitions where transition.time < duration {
            if transition.time > since { spans.append(StateSpan(start: since, end: transition.time, state: state)) }
            state = transition.to
            since = transition.time
        }
        spans.append(StateSpan(start: since, end: duration, state: state))
        return spans
    }

    /// The trips: transitions into the open state.
    public var trips: [Transition] { transitions.filter(\.isTrip) }
}

/// What happened during one slice of the run. Calls are counted in the slice in which they were made.
public struct TimeSlice: Sendable, Hashable {
    /// Seconds since the start of the run when the slice begins.
    public var start: Double
    /// Seconds since the start of the run when the slice ends.
    public var end: Double
    /// Calls the clients made.
    public var calls = 0
    /// Calls the breaker let through to the dependency.
    public var letThrough = 0
    /// Calls the breaker rejected at once.
    public var rejected = 0
    /// Calls let through that failed (an error, or the client's time-out).
    public var failures = 0
    /// Calls let through that took at least the policy's slow mark.
    public var slowCalls = 0
    /// Rejected calls that would have failed had they been let through.
    public var failuresAvoided = 0
    /// Seconds of waiting the rejected calls were spared: what the dependency would have made them wait.
    public var waitSaved = 0.0
    /// Calls made while the dependency was not healthy.
    public var callsWhileTroubled = 0
    /// Of those, calls the breaker let through.
    public var letThroughWhileTroubled = 0
    /// The circuit's state at the end of the slice.
    public var stateAtEnd = CircuitState.closed
    /// The failure rate of the breaker's window at the end of the slice, as its trip rule reads it:
    /// `nil` unless the circuit is closed and the window holds the rule's minimum of calls.
    public var windowFailureRate: Double?
    /// The slow-call rate of the breaker's window at the end of the slice, on the same terms.
    public var windowSlowRate: Double?

    /// An empty slice from `start` to `end` seconds.
    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }

    /// The share of calls let through that failed; `nil` when none was let through.
    public var failureRate: Double? { letThrough == 0 ? nil : Double(failures) / Double(letThrough) }
    /// The share of calls let through that were slow; `nil` when none was let through.
    public var slowRate: Double? { letThrough == 0 ? nil : Double(slowCalls) / Double(letThrough) }
}

/// One change of the circuit's state, with its cause and simulated time.
public struct Transition: Sendable, Hashable {
    /// Seconds since the start of the run.
    public var time: Double
    /// The state before.
    public var from: CircuitState
    /// The state after.
    public var to: CircuitState
    /// Why the circuit changed, as the breaker reported it.
    public var cause: TransitionCause

    /// A transition at `time` seconds.
    public init(time: Double, from: CircuitState, to: CircuitState, cause: TransitionCause) {
        self.time = time
        self.from = from
        self.to = to
        self.cause = cause
    }

    /// Whether the circuit opened.
    public var isTrip: Bool { to == .open }
}

/// A stretch of time the circuit spent in one state.
public struct StateSpan: Sendable, Hashable {
    /// Seconds since the start of the run when the span begins.
    public var start: Double
    /// Seconds since the start of the run when the span ends.
    public var end: Double
    /// The state.
    public var state: CircuitState
}

/// Sums over a run, or over its first slices.
public struct Totals: Sendable, Hashable {
    /// Calls the clients made.
    public var calls = 0
    /// Calls let through to the dependency.
    public var letThrough = 0
    /// Calls rejected at once.
    public var rejected = 0
    /// Calls let through that failed.
    public var failures = 0
    /// Rejected calls that would have failed.
    public var failuresAvoided = 0
    /// Seconds of waiting the rejected calls were spared.
    public var waitSaved = 0.0
    /// Calls made while the dependency was not healthy.
    public var callsWhileTroubled = 0
    /// Of those, calls let through.
    public var letThroughWhileTroubled = 0

    /// The sums of `slices`.
    public init(_ slices: some Sequence<TimeSlice>) {
        for slice in slices {
            calls += slice.calls
            letThrough += slice.letThrough
            rejected += slice.rejected
            failures += slice.failures
            failuresAvoided += slice.failuresAvoided
            waitSaved += slice.waitSaved
            callsWhileTroubled += slice.callsWhileTroubled
            letThroughWhileTroubled += slice.letThroughWhileTroubled
        }
    }

    /// Rejected calls that would have succeeded: what the protection cost.
    public var successesLost: Int { rejected - failuresAvoided }
}
