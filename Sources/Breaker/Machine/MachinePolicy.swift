/// The parts of a ``CircuitBreaker/Configuration`` the state machine reads, converted once to
/// nanoseconds and flags so each event costs no conversions.
struct MachinePolicy: Sendable {
    var failMax: Int
    var resetTimeout: Nanoseconds
    var trip: TripPolicy.Kind
    var window: SlidingWindow.Kind?
    var slowThreshold: Nanoseconds?
    var slowRate: Double
    var slowMinimumCalls: Int
    var openDuration: OpenDurationPolicy.Kind
    var permittedTrials: Int
    var successesToClose: Int
    var maxTrialDuration: Nanoseconds?

    init(_ configuration: CircuitBreaker.Configuration) {
        failMax = configuration.failMax
        resetTimeout = configuration.resetTimeout.nanoseconds
        trip = configuration.trip.kind
        let needsWindow = configuration.trip.usesWindow || configuration.slowCalls != nil
        window = needsWindow ? configuration.window.kind : nil
        slowThreshold = configuration.slowCalls?.threshold.nanoseconds
        slowRate = configuration.slowCalls?.rate ?? 1
        slowMinimumCalls = configuration.slowCalls?.minimumCalls ?? 1
        openDuration = configuration.openDuration.kind
        permittedTrials = configuration.halfOpen.permittedCalls
        successesToClose = configuration.halfOpen.successesToClose
        maxTrialDuration = configuration.halfOpen.maxTrialDuration?.nanoseconds
    }

    /// Whether every counted outcome needs a clock reading (to place it in a time window).
    var timesOutcomes: Bool {
        if case .time = window { return true }
        return false
    }

    /// Whether the trip rule is user code (which must see every outcome).
    var hasCustomTrip: Bool {
        if case .custom = trip { return true }
        return false
    }

    /// Whether a trip needs user code (a custom rule or a custom open duration) run outside the lock.
    var tripsOutsideLock: Bool {
        if case .custom = trip { return true }
        if case .custom = openDuration { return true }
        return false
    }
}

/// A ``MachinePolicy`` shared by reference, so the locked sections borrow it instead of copying its
/// closures on every call.
final class PolicyBox: Sendable {
    let policy: MachinePolicy
    init(_ policy: MachinePolicy) { self.policy = policy }
}
