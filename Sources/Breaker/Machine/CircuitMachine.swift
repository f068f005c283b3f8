/// One admitted call, as the state machine remembers it until the call reports its outcome.
@usableFromInline
struct Ticket: Sendable {
    /// The machine's generation at admission; an outcome from an older generation is dropped.
    @usableFromInline var generation: UInt64
    /// Whether the call holds a half-open trial slot.
    @usableFromInline var isTrial: Bool
    /// For a trial, when it was admitted: its half-open deadline runs from then.
    @usableFromInline var admittedAt: Nanoseconds

    @usableFromInline
    init(generation: UInt64, isTrial: Bool, admittedAt: Nanoseconds = 0) {
        self.generation = generation
        self.isTrial = isTrial
        self.admittedAt = admittedAt
    }
}

/// A state change the machine made, for listeners.
struct Transition: Sendable, Equatable {
    var from: CircuitState
    var to: CircuitState
}

/// Why the machine wants to open the circuit.
enum TripReason: Sendable, Equatable {
    /// A failure (or slow call) in the closed state met the trip policy.
    case tripped
    /// A half-open trial failed.
    case trialFailed
    /// Half-open trials ran longer than `maxTrialDuration`.
    case trialTimedOut
}

/// A trip the machine has decided on but cannot finish alone: it needs a user function (custom rule
/// or custom open duration) run outside the lock, then ``CircuitMachine/applyTrip(_:duration:now:changes:)``.
struct TripRequest: Sendable {
    var generation: UInt64
    var reason: TripReason
    var context: TripContext
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
    case opened(TripReason, retryAfter: Nanoseconds)
    /// The outcome opens the circuit once the caller has sized the open period outside the lock.
    case tripRequested(TripRequest)
    /// The caller must run the custom trip rule on this snapshot outside the lock, and trip with the
    /// request if it says so.
    case evaluateRule(WindowSnapshot, TripRequest)
}

extension RecordResult {
    /// Whether the outcome will open the circuit once the caller finishes the trip.
    var isPendingTrip: Bool {
        switch self {
        case .tripRequested, .evaluateRule: true
        case .dropped, .counted, .opened: false
        }
    }
}

/// Up to two transitions produced by one event, without allocating.
struct Transitions: Sendable {
    private(set) var first: Transition?
    private(set) var second: Transition?

    mutating func append(_ transition: Transition) {
        if first == nil { first = transition } else { second = transition }
    }

    var isEmpty: Bool { first == nil }
}

/// The circuit breaker's state machine: a plain value that takes events (an admission, an outcome,
/// a manual transition, each with a clock reading) and returns decisions. It never locks, reads a
/// clock, or calls user code; ``InMemoryStorage`` keeps one under a lock and publishes a summary word
/// that the call path reads without locking.
struct CircuitMachine: Sendable {
    private(set) var state: CircuitState = .closed
    private(set) var mode: OperatingMode = .normal
    /// Bumped on every transition; outcomes of calls admitted in an earlier generation are dropped.
    private(set) var generation: UInt64 = 0
    /// Counted failures in a row (aiobreaker's `fail_counter`); reset by a success and by closing.
    private(set) var consecutiveFailures = 0
    /// When the circuit last opened; `nil` while open means "since the first look" (a storage
    /// created or restored open).
    private(set) var openedAt: Nanoseconds?
    /// When an open circuit lets its first trial through.
    private(set) var openUntil: Nanoseconds = 0
    /// For an open circuit with no `openedAt`: how long it stays open from the first look.
    private var openDurationFromFirstLook: Nanoseconds?
    /// When the current state was entered; `nil` until the first event with a clock reading.
    private(set) var stateSince: Nanoseconds?
    /// Trips since the circuit last closed (sizes exponential open durations).
    private(set) var consecutiveTrips = 0
    private(set) var trialsInFlight = 0
    private(set) var trialSuccesses = 0
    /// When each running trial was admitted; the half-open deadline runs from the oldest.
    private var trialStarts: [Nanoseconds] = []
    /// A trip has been requested and its open period is being sized outside the lock.
    private var reopenPending = false
    private(set) var window: OutcomeWindow?
    private var windowKind: SlidingWindow.Kind?
    /// Counts window replacements, so successes parked for a replaced window are not counted in the new one.
    private var windowEpoch: UInt64 = 0

    init(state: CircuitState = .closed, consecutiveFailures: Int = 0, consecutiveTrips: Int = 0, mode: OperatingMode = .normal, openRemaining: Nanoseconds? = nil, generation: UInt64 = 0) {
        self.state = state
        self.consecutiveFailures = consecutiveFailures
        self.consecutiveTrips = consecutiveTrips
        self.mode = mode
        self.openDurationFromFirstLook = openRemaining
        self.generation = generation & PublishedWord.generationMask
        if mode == .forcedOpen { openUntil = .max }
    }

    /// Starts the open period of a circuit that was created or restored open, if it has not started.
    mutating func anchor(now: Nanoseconds, policy: MachinePolicy) {
        if state == .open, openedAt == nil, mode == .normal {
            startOpenPeriod(at: now, duration: openDurationFromFirstLook ?? policy.resetTimeout)
        }
        if stateSince == nil { stateSince = now }
    }

    // MARK: Admission

    mutating func admit(now: Nanoseconds?, policy: MachinePolicy, changes: inout Transitions) -> Admission {
        switch mode.kind {
        case .disabled, .metricsOnly: return .admitted(Ticket(generation: generation, isTrial: false))
        case .forcedOpen: return .rejected(retryAfter: .max, reopen: nil)
        case .normal: break
        }
        switch state {
        case .closed:
            return .admitted(Ticket(generation: generation, isTrial: false))
        case .open:
            guard let now else { return .needsClock }
            anchor(now: now, policy: policy)
            if now < openUntil { return .rejected(retryAfter: openUntil - now, reopen: nil) }
            enter(.halfOpen, at: now, changes: &changes)
            return admitTrial(now: now)
        case .halfOpen:
            guard let now else { return .needsClock }
            if reopenPending { return .rejected(retryAfter: 0, reopen: nil) }
            if let limit = policy.maxTrialDuration, let oldest = trialStarts.min(),
                now.addingSaturating(-oldest) >= limit
            {
                let request = tripRequest(.trialTimedOut, policy: policy)
                if policy.tripsOutsideLock {
                    reopenPending = true
                    return .rejected(retryAfter: 0, reopen: request)
                }
                let retryAfter = applyTrip(request, duration: policy.builtinOpenDuration(request.context), now: now, changes: &changes)
                return .rejected(retryAfter: retryAfter ?? 0, reopen: nil)
            }
            if trialsInFlight >= policy.permittedTrials { return .rejected(retryAfter: 0, reopen: nil) }
            return admitTrial(now: now)
        }
    }

    private mutating func admitTrial(now: Nanoseconds) -> Admission {
        trialStarts.append(now)
        trialsInFlight += 1
        return .admitted(Ticket(generation: generation, isTrial: true, admittedAt: now))
    }

    // MARK: Outcomes

    /// Records the outcome of an admitted call. `now` may be `nil` only for an outcome that needs no
    /// time (a success outside half-open with no time window); should it trip the circuit, the trip is
    /// returned as a request for the caller to finish with a clock reading.
    mutating func record(_ outcome: CallOutcome, slow: Bool, ticket: Ticket, now: Nanoseconds?, policy: MachinePolicy, changes: inout Transitions) -> RecordResult {
        guard ticket.generation == generation, mode != .disabled else { return .dropped }
        if ticket.isTrial {
            return recordTrial(outcome, ticket: ticket, now: now ?? stateSince ?? 0, policy: policy, changes: &changes)
        }
        guard state == .closed else { return .dropped }
        switch outcome.kind {
        case .ignored: return .counted
        case .success: consecutiveFailures = 0
        case .failure: consecutiveFailures += 1
        }
        window?.record(failure: outcome == .failure, slow: slow, now: now ?? 0)  // a time window always gets a reading
        guard mode == .normal else { return .counted }
        return evaluateTrip(policy: policy, now: now, changes: &changes)
    }

    private mutating func recordTrial(_ outcome: CallOutcome, ticket: Ticket, now: Nanoseconds, policy: MachinePolicy, changes: inout Transitions) -> RecordResult {
        guard state == .halfOpen, !reopenPending else { return .dropped }
        switch outcome.kind {
        case .ignored:
            releaseTrial(ticket)
            return .counted
        case .success:
            releaseTrial(ticket)
            consecutiveFailures = 0
            trialSuccesses += 1
            if trialSuccesses >= policy.successesToClose { enter(.closed, at: now, changes: &changes) }
            return .counted
        case .failure:
            consecutiveFailures += 1
            let request = tripRequest(.trialFailed, policy: policy)
            if policy.tripsOutsideLock {
                reopenPending = true
                return .tripRequested(request)
            }
            let retryAfter = applyTrip(request, duration: policy.builtinOpenDuration(request.context), now: now, changes: &changes)
            return .opened(.trialFailed, retryAfter: retryAfter ?? 0)
        }
    }

    private mutating func releaseTrial(_ ticket: Ticket) {
        trialsInFlight -= 1
        if let index = trialStarts.firstIndex(of: ticket.admittedAt) { trialStarts.remove(at: index) }
    }

    private mutating func evaluateTrip(policy: MachinePolicy, now: Nanoseconds?, changes: inout Transitions) -> RecordResult {
        let snapshot = windowSnapshot
        var trips: Bool
        switch policy.trip {
        case .consecutive:
            trips = consecutiveFailures >= policy.failMax
        case .rate(let threshold, let minimumCalls):
            trips = snapshot.calls >= minimumCalls && snapshot.failureRate >= threshold
        case .custom:
            trips = false
        }
        if !trips, let _ = policy.slowThreshold {
            trips = snapshot.calls >= policy.slowMinimumCalls && snapshot.slowCallRate >= policy.slowRate
        }
        if !trips, case .custom = policy.trip {
            return .evaluateRule(snapshot, tripRequest(.tripped, policy: policy))
        }
        guard trips else { return .counted }
        let request = tripRequest(.tripped, policy: policy)
        guard let now, !policy.tripsOutsideLock else { return .tripRequested(request) }
        let retryAfter = applyTrip(request, duration: policy.builtinOpenDuration(request.context), now: now, changes: &changes)
        return .opened(.tripped, retryAfter: retryAfter ?? 0)
    }

    private func tripRequest(_ reason: TripReason, policy: MachinePolicy) -> TripRequest {
        let rate = window.map { $0.calls == 0 ? 1 : Double($0.failures) / Double($0.calls) } ?? 1
        let context = TripContext(consecutiveTrips: consecutiveTrips + 1, failureRate: rate, resetTimeout: .nanoseconds(policy.resetTimeout))
        return TripRequest(generation: generation, reason: reason, context: context)
    }

    /// Opens the circuit for `duration` if nothing has changed since `request` was made; returns the
    /// time until a trial is allowed, or `nil` when the request is stale.
    mutating func applyTrip(_ request: TripRequest, duration: Nanoseconds, now: Nanoseconds, changes: inout Transitions) -> Nanoseconds? {
        let expected: CircuitState = request.reason == .tripped ? .closed : .halfOpen
        guard request.generation == generation, state == expected, mode == .normal else { return nil }
        reopenPending = false
        consecutiveTrips += 1
        enter(.open, at: now, changes: &changes)
        startOpenPeriod(at: now, duration: duration)
        return openUntil - now
    }

    // MARK: Manual control

    /// `open()`, `halfOpen()` and `close()`: always a transition (even to the same state), always a new
    /// generation, and the mode returns to normal.
    mutating func force(_ target: CircuitState, now: Nanoseconds, policy: MachinePolicy, changes: inout Transitions) {
        mode = .normal
        enter(target, at: now, changes: &changes)
        if target == .open { startOpenPeriod(at: now, duration: policy.resetTimeout) }
    }

    mutating func setMode(_ newMode: OperatingMode, now: Nanoseconds, policy: MachinePolicy, changes: inout Transitions) {
        if newMode == .normal && mode == .normal { return }  // nothing changes; calls in flight still count
        let wasForcedOpen = mode == .forcedOpen
        mode = .normal
        switch newMode.kind {
        case .normal:
            generation = (generation &+ 1) & PublishedWord.generationMask
            // Released from forced open: an ordinary open period, timed from now.
            if wasForcedOpen && state == .open { startOpenPeriod(at: now, duration: policy.resetTimeout) }
        case .forcedOpen:
            enter(.open, at: now, changes: &changes)
            openUntil = .max
            openedAt = now
        case .disabled, .metricsOnly:
            enter(.closed, at: now, changes: &changes)
        }
        mode = newMode
    }

    /// Sets the open period of an open circuit to `duration` from when it opened (aiobreaker applies a
    /// changed timeout to the current period).
    mutating func resizeOpenPeriod(to duration: Nanoseconds) {
        guard state == .open, mode == .normal, let openedAt else { return }
        openUntil = openedAt.addingSaturating(duration)
    }

    /// Replaces the window when the configuration asks for another shape (or for none). A new
    /// generation starts, so outcomes of calls in flight, and successes parked for the old window,
    /// are not counted in the new one.
    mutating func adoptWindow(_ kind: SlidingWindow.Kind?) {
        guard kind != windowKind else { return }
        windowKind = kind
        window = kind.map(OutcomeWindow.init)
        windowEpoch &+= 1
    }

    /// Counts `count` fast successes parked in bucket `bucket` while the time window was quiet, if they
    /// were parked for this window (`tag` holds the low bits of the generation and window epoch) and
    /// the circuit is still closed.
    mutating func absorbParkedSuccesses(_ count: Int, bucket: Nanoseconds, tag: UInt64) {
        guard tag == Self.parkingTag(generation: generation, windowEpoch: windowEpoch), state == .closed, mode != .disabled else { return }
        window?.addSuccesses(count, inBucket: bucket)
    }

    /// The tag successes are parked with: the low 4 bits of the generation and of the window epoch.
    static func parkingTag(generation: UInt64, windowEpoch: UInt64) -> UInt64 {
        ((generation & 0xF) << 4) | (windowEpoch & 0xF)
    }

    mutating func ageWindow(to now: Nanoseconds) { window?.age(to: now) }

    private mutating func enter(_ target: CircuitState, at now: Nanoseconds, changes: inout Transitions) {
        changes.append(Transition(from: state, to: target))
        state = target
        generation = (generation &+ 1) & PublishedWord.generationMask
        stateSince = now
        trialsInFlight = 0
        trialSuccesses = 0
        trialStarts.removeAll()
        reopenPending = false
        if target == .closed {
            consecutiveFailures = 0
            consecutiveTrips = 0
            if let windowKind { window = OutcomeWindow(windowKind) }
        }
    }

    private mutating func startOpenPeriod(at now: Nanoseconds, duration: Nanoseconds) {
        openDurationFromFirstLook = nil
        openedAt = now
        openUntil = now.addingSaturating(duration)
    }

    // MARK: Reading

    var windowSnapshot: WindowSnapshot {
        window?.snapshot(consecutiveFailures: consecutiveFailures) ?? WindowSnapshot(consecutiveFailures: consecutiveFailures)
    }

    /// The time until an open circuit admits a trial; `nil` unless open.
    func retryAfter(now: Nanoseconds, policy: MachinePolicy) -> Nanoseconds? {
        guard state == .open else { return nil }
        if mode == .forcedOpen { return .max }
        guard openedAt != nil else { return openDurationFromFirstLook ?? policy.resetTimeout }
        return max(0, openUntil.addingSaturating(-now))
    }

    /// The summary the lock-free call path reads; see ``PublishedWord``. `policy` is the policy last
    /// installed, if any.
    func published(policy: MachinePolicy?) -> PublishedWord {
        // No failures in a row, and no window or a full window of fast successes: a fast success changes
        // nothing (unless a custom rule must see every outcome).
        let quietSuccesses = policy.map { !$0.hasCustomTrip } ?? false
        let successChangesNothing = consecutiveFailures == 0 && (window.map { quietSuccesses && $0.isFullOfFastSuccesses } ?? true)
        var bits: UInt64 = UInt64(state.code)
        var deadline = openUntil
        // A time window with nothing but fast successes in it: a fast success may be counted later.
        let deferWidth = consecutiveFailures == 0 && quietSuccesses ? window?.quietBucketWidth : nil
        switch mode.kind {
        case .disabled:
            bits |= PublishedWord.admitsFreely | PublishedWord.successIsNoop | PublishedWord.recordsNothing
        case .metricsOnly:
            bits |= PublishedWord.admitsFreely
            if successChangesNothing { bits |= PublishedWord.successIsNoop }
            if deferWidth != nil { bits |= PublishedWord.successDeferrable }
        case .forcedOpen:
            break
        case .normal:
            if state == .closed {
                bits |= PublishedWord.admitsFreely
                if successChangesNothing { bits |= PublishedWord.successIsNoop }
                if deferWidth != nil { bits |= PublishedWord.successDeferrable }
            } else if state == .open && openedAt != nil {
                bits |= PublishedWord.rejectsUntilDeadline
            } else if state == .halfOpen, let policy, !reopenPending, trialsInFlight >= policy.permittedTrials,
                let oldest = trialStarts.min()
            {
                // Every trial slot is taken: callers are rejected until the oldest trial's deadline.
                bits |= PublishedWord.rejectsUntilDeadline | PublishedWord.trialsFull
                deadline = policy.maxTrialDuration.map { oldest.addingSaturating($0) } ?? .max
            }
        }
        return PublishedWord(
            raw: bits | (generation << PublishedWord.generationShift), openUntil: deadline,
            parking: bits & PublishedWord.successDeferrable != 0
                ? PublishedWord.parking(width: deferWidth ?? 0, tag: Self.parkingTag(generation: generation, windowEpoch: windowEpoch)) : 0)
    }
}

extension CircuitState {
    var code: UInt8 {
        switch self {
        case .closed: 0
        case .open: 1
        case .halfOpen: 2
        }
    }

    init(code: UInt8) {
        switch code {
        case 1: self = .open
        case 2: self = .halfOpen
        default: self = .closed
        }
    }
}
