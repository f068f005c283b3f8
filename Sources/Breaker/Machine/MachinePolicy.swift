/// The parts of a ``CircuitBreaker/Configuration`` the state machine reads, converted once to
/// nanoseconds and plain values, so each event costs no conversions and copying a policy is a plain
/// memory copy. User functions (a custom rule or open duration) stay in the ``PolicyBox``: the machine
/// only needs to know they exist, since they run outside the lock.
struct MachinePolicy: Sendable {
    enum OpenDuration: Sendable {
        case fixed
        case exponential(multiplier: Double, maximum: Nanoseconds, jitter: Double)
        case custom
    }

    var failMax: Int
    var resetTimeout: Nanoseconds
    var trip: TripPolicy.Rule
    var window: SlidingWindow.Kind?
    var slowThreshold: Nanoseconds?
    var slowRate: Double
    var slowMinimumCalls: Int
    /// Whether calls still running past ``slowThreshold`` count as slow (``RunningCalls``).
    var countsRunningCalls: Bool
    var openDuration: OpenDuration
    var permittedTrials: Int
    var successesToClose: Int
    var maxTrialDuration: Nanoseconds?
    /// How the circuit comes back after its trials succeed, if it ramps.
    var recoveryRamp: RecoveryRamp?
    /// How long a failure keeps the adaptive throttle deciding, if the circuit throttles.
    var throttleWindow: Nanoseconds?

    init(_ configuration: CircuitBreaker.Configuration) {
        failMax = configuration.failMax
        resetTimeout = configuration.resetTimeout.nanoseconds
        trip = configuration.trip.rule
        let needsWindow = trip.usesWindow || configuration.slowCalls != nil
        window = needsWindow ? configuration.window.kind : nil
        slowThreshold = configuration.slowCalls?.threshold.nanoseconds
        slowRate = configuration.slowCalls?.rate ?? 1
        slowMinimumCalls = configuration.slowCalls?.minimumCalls ?? 1
        countsRunningCalls = configuration.slowCalls?.countsRunningCalls ?? false
        switch configuration.openDuration.kind {
        case .fixed: openDuration = .fixed
        case .exponential(let multiplier, let maximum, let jitter):
            openDuration = .exponential(multiplier: multiplier, maximum: maximum.nanoseconds, jitter: jitter)
        case .custom: openDuration = .custom
        }
        permittedTrials = configuration.halfOpen.permittedCalls
        successesToClose = configuration.halfOpen.successesToClose
        maxTrialDuration = configuration.halfOpen.maxTrialDuration?.nanoseconds
        recoveryRamp = configuration.recoveryRamp
        throttleWindow = configuration.throttle?.window.nanoseconds
    }

    /// Whether a trip needs user code (a custom rule or a custom open duration) run outside the lock.
    var tripsOutsideLock: Bool {
        if case .custom = openDuration { return true }
        return trip.seesEveryOutcome
    }
    /// Whether open periods are spread by a random jitter (the shell then draws a sample per locked step).
    var hasJitter: Bool {
        if case .exponential(_, _, let jitter) = openDuration { return jitter > 0 }
        return false
    }

    /// The open period a built-in policy gives a trip, spread by `jitter` (a sample in -1...1 drawn by
    /// the caller); a custom one is sized by the engine outside the lock (this returns `resetTimeout` for it).
    func builtinOpenDuration(_ context: TripContext, jitter sample: Double) -> Nanoseconds {
        switch openDuration {
        case .fixed, .custom:
            return resetTimeout
        case .exponential(let multiplier, let maximum, let jitter):
            return OpenDurationPolicy.grown(
                resetTimeout, trips: context.consecutiveTrips, multiplier: multiplier, maximum: maximum, jitter: jitter, sample: sample)
        }
    }
}

/// A circuit's policy, shared by reference so locked sections borrow it, with the user functions the
/// engine runs outside the lock, and the configuration it came from.
final class PolicyBox: Sendable {
    let policy: MachinePolicy
    /// The configuration the policy was made from (its per-breaker fields are not used).
    let configuration: CircuitBreaker.Configuration
    /// How calls on this policy are timed: the ``PublishedWord/timesCalls`` ... ``PublishedWord/coarseBuckets`` bits.
    let timing: UInt64
    /// The custom trip rule, if any.
    let shouldTrip: (@Sendable (WindowSnapshot) -> Bool)?
    /// The custom open duration, if any.
    let openDuration: (@Sendable (TripContext) -> Duration)?

    init(_ configuration: CircuitBreaker.Configuration, time: TimeSource) {
        let policy = MachinePolicy(configuration)
        self.policy = policy
        self.configuration = configuration
        var timing: UInt64 = 0
        if let threshold = policy.slowThreshold {
            timing |= PublishedWord.timesCalls
            if time.lagIsNegligible(against: threshold) { timing |= PublishedWord.coarseCallTiming }
        }
        if case .time(_, let bucket) = policy.window {
            timing |= PublishedWord.timesOutcomes
            if time.lagIsNegligible(against: bucket.nanoseconds) { timing |= PublishedWord.coarseBuckets }
        }
        self.timing = timing
        shouldTrip = configuration.trip.customRule
        if case .custom(let size) = configuration.openDuration.kind { openDuration = size } else { openDuration = nil }
    }
}

extension PolicyBox {
    /// The box for `configuration`'s policy on `time`, shared by every circuit with an equal policy
    /// while any of them lives: 100,000 breakers built from one configuration hold one box, not
    /// 100,000. The breaker-only fields (exclusions, classifier, `throwOriginalErrorOnTrip`) are left
    /// out of the policy.
    static func shared(_ configuration: CircuitBreaker.Configuration, time: TimeSource) -> PolicyBox {
        var policy = configuration
        policy.exclude = []
        policy.classifyError = nil
        policy.throwOriginalErrorOnTrip = false
        policy.timeLimit = nil
        let key = InternKey(configuration: policy, lag: time.lag)
        return interned.withLock { table in
            if let box = table.boxes[key]?.box { return box }
            let box = PolicyBox(policy, time: time)
            if table.boxes.count >= table.pruneAt {
                table.boxes = table.boxes.filter { $0.value.box != nil }
                table.pruneAt = max(64, table.boxes.count * 2)
            }
            table.boxes[key] = WeakPolicyBox(box: box)
            return box
        }
    }

    private struct InternKey: Hashable, Sendable {
        var configuration: CircuitBreaker.Configuration
        /// The clock's lag decides which timing bits the box publishes.
        var lag: Nanoseconds?
    }

    private struct WeakPolicyBox: Sendable {
        weak var box: PolicyBox?
    }

    private struct InternTable: Sendable {
        var boxes: [InternKey: WeakPolicyBox] = [:]
        /// Dead entries are dropped when the table reaches this size.
        var pruneAt = 64
    }

    private static let interned = Locked(InternTable())
}
