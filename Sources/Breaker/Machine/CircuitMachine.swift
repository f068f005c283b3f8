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

/// The circuit breaker's state machine: a plain value that takes events (an admission, an outcome, a
/// manual transition, a mode, a change from elsewhere, a trial gate, each with a clock reading) and
/// returns a ``MachineStep``: the decision, and the changes it committed. It never locks, reads a
/// clock, draws a random number or calls user code; ``InMemoryStorage`` keeps one under a lock and
/// publishes the summary the call path reads without locking (``published(policy:)``).
struct CircuitMachine: Sendable {
    private(set) var state: CircuitState = .closed
    private(set) var mode: OperatingMode = .normal
    /// Bumped on every transition and window replacement; outcomes of calls admitted in an earlier
    /// generation are dropped. Kept to ``PublishedWord/generationMask``.
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
    /// For a circuit restored closed and ramping up: how long the ramp goes on from the first look.
    private var rampFromFirstLook: Nanoseconds?
    /// When the current state was entered; `nil` until the first event with a clock reading.
    private(set) var stateSince: Nanoseconds?
    /// While the circuit recovers after its trials succeeded (``RecoveryRamp``): when the ramp ends.
    private(set) var rampUntil: Nanoseconds?
    /// While a closed circuit's adaptive throttle decides (``AdaptiveThrottle``): a window after the
    /// latest failure.
    private(set) var throttledUntil: Nanoseconds?
    /// Trips since the circuit last closed (sizes exponential open durations).
    private(set) var consecutiveTrips = 0
    private(set) var trialsInFlight = 0
    private(set) var trialSuccesses = 0
    /// When each running trial was admitted; the half-open deadline runs from the oldest.
    private(set) var trialStarts: [Nanoseconds] = []
    /// A trip has been requested and its open period is being sized outside the lock.
    private(set) var reopenPending = false
    private(set) var window: OutcomeWindow?
    private var windowKind: SlidingWindow.Kind?
    /// Counts window replacements, so successes parked for a replaced window are not counted in the new one.
    private(set) var windowEpoch: UInt64 = 0
    /// Who may start trials (see ``TrialGate``).
    private(set) var gate: Gate = .local
    /// Committed changes so far, across every process sharing the circuit (see ``CircuitSnapshot``).
    private(set) var epoch: UInt64 = 0
    /// The origin of the latest change: ``localOrigin`` or the process a remote change came from.
    private(set) var origin: UInt64 = 0
    /// This circuit instance's origin, stamped on its own changes.
    let localOrigin: UInt64

    /// The trial gate with its deadline on the machine's time line.
    enum Gate: Sendable, Equatable {
        case local
        case heldHere
        case heldElsewhere(until: Nanoseconds)
    }

    init(
        state: CircuitState = .closed, consecutiveFailures: Int = 0, consecutiveTrips: Int = 0, mode: OperatingMode = .normal,
        openRemaining: Nanoseconds? = nil, rampRemaining: Nanoseconds? = nil, epoch: UInt64 = 0, origin: UInt64 = 0, localOrigin: UInt64
    ) {
        self.state = state
        self.consecutiveFailures = consecutiveFailures
        self.consecutiveTrips = consecutiveTrips
        self.mode = mode
        self.openDurationFromFirstLook = openRemaining
        self.rampFromFirstLook = state == .closed && mode == .normal ? rampRemaining : nil
        self.epoch = epoch
        self.origin = origin
        self.localOrigin = localOrigin
        if mode == .forcedOpen { openUntil = .max }
    }

    /// Starts the open period of a circuit that was created or restored open, if it has not started.
    mutating func anchor(now: Nanoseconds, policy: MachinePolicy) {
        if state == .open, openedAt == nil, mode == .normal {
            startOpenPeriod(at: now, duration: openDurationFromFirstLook ?? policy.resetTimeout)
        }
        if let remaining = rampFromFirstLook {
            rampFromFirstLook = nil
            rampUntil = rampEnd(continuing: remaining, at: now, policy: policy)
        }
        if stateSince == nil { stateSince = now }
    }

    // MARK: Admission

    /// Admits a call, or rejects it. `jitter` is a random sample in -1...1 for the open period this
    /// step starts when a half-open trial has run past its deadline; the shell draws it when the
    /// policy has jitter.
    mutating func admit(now: Nanoseconds?, policy: MachinePolicy, jitter: Double = 0) -> MachineStep<Admission> {
        var changes = MachineChanges()
        switch mode.kind {
        case .disabled, .metricsOnly: return MachineStep(.admitted(Ticket(generation: generation, isTrial: false)))
        case .forcedOpen: return MachineStep(.rejected(retryAfter: .max, reopen: nil))
        case .normal: break
        }
        switch state {
        case .closed:
            // The call path decides during a ramp and while throttling; it comes here when they are over.
            if rampUntil != nil || throttledUntil != nil {
                guard let now else { return MachineStep(.needsClock) }
                if let end = rampUntil, now >= end { rampUntil = nil }
                if let end = throttledUntil, now >= end { throttledUntil = nil }
            }
            return MachineStep(.admitted(Ticket(generation: generation, isTrial: false)))
        case .open:
            guard let now else { return MachineStep(.needsClock) }
            anchor(now: now, policy: policy)
            let gateWait = gateWait(now: now)
            if now < openUntil { return MachineStep(.rejected(retryAfter: max(openUntil - now, gateWait ?? 0), reopen: nil)) }
            if let gateWait { return MachineStep(.rejected(retryAfter: gateWait, reopen: nil)) }
            enter(.halfOpen, at: now, cause: TransitionCause(.openPeriodElapsed), changes: &changes)
            return MachineStep(admitTrial(now: now), changes)
        case .halfOpen:
            guard let now else { return MachineStep(.needsClock) }
            if reopenPending { return MachineStep(.rejected(retryAfter: 0, reopen: nil)) }
            if let limit = policy.maxTrialDuration, let oldest = trialStarts.min(), now.addingSaturating(-oldest) >= limit {
                let request = tripRequest(.trialTimedOut, policy: policy)
                if policy.tripsOutsideLock {
                    reopenPending = true
                    return MachineStep(.rejected(retryAfter: 0, reopen: request))
                }
                let retryAfter = applyTrip(request, duration: policy.builtinOpenDuration(request.context, jitter: jitter), now: now, changes: &changes)
                return MachineStep(.rejected(retryAfter: retryAfter ?? 0, reopen: nil), changes)
            }
            if trialsInFlight >= policy.permittedTrials {
                return MachineStep(.rejected(retryAfter: trialDeadline(policy: policy).map { max(0, $0 - now) } ?? 0, reopen: nil))
            }
            if let wait = gateWait(now: now) { return MachineStep(.rejected(retryAfter: wait, reopen: nil)) }
            return MachineStep(admitTrial(now: now))
        }
    }

    private mutating func admitTrial(now: Nanoseconds) -> Admission {
        trialStarts.append(now)
        trialsInFlight += 1
        return .admitted(Ticket(generation: generation, isTrial: true, admittedAt: now))
    }

    /// How long a gate held elsewhere still keeps trials from starting here; an expired gate falls back to local.
    private mutating func gateWait(now: Nanoseconds) -> Nanoseconds? {
        guard case .heldElsewhere(let until) = gate else { return nil }
        if now < until { return until - now }
        gate = .local
        return nil
    }

    /// When the oldest running trial reaches `maxTrialDuration`, if there is a limit and a trial.
    func trialDeadline(policy: MachinePolicy) -> Nanoseconds? {
        guard state == .halfOpen, let limit = policy.maxTrialDuration, let oldest = trialStarts.min() else { return nil }
        return oldest.addingSaturating(limit)
    }

    // MARK: Outcomes

    /// Records the outcome of an admitted call. `now` may be `nil` only for an outcome that needs no
    /// time (a success outside half-open with no time window); should it trip the circuit, the trip is
    /// returned as a request for the caller to finish with a clock reading.
    mutating func record(_ outcome: CallOutcome, slow: Bool, ticket: Ticket, now: Nanoseconds?, policy: MachinePolicy, jitter: Double = 0) -> MachineStep<RecordResult> {
        guard ticket.generation == generation, mode != .disabled else { return MachineStep(.dropped) }
        var changes = MachineChanges()
        if ticket.isTrial {
            // With slow-call detection on, a slow trial is a failed trial: it must not close the circuit
            // on a dependency that is still too slow (Resilience4j's half-open slow-call rate, with one trial).
            let judged: CallOutcome = slow && outcome == .success && policy.slowThreshold != nil ? .failure : outcome
            let result = recordTrial(judged, ticket: ticket, now: now ?? stateSince ?? 0, policy: policy, jitter: jitter, changes: &changes)
            return MachineStep(result, changes)
        }
        guard state == .closed else { return MachineStep(.dropped) }
        switch outcome.kind {
        case .ignored: return MachineStep(.counted)
        case .success: consecutiveFailures = 0
        case .failure:
            consecutiveFailures += 1
            if let span = policy.throttleWindow, let now { throttledUntil = now.addingSaturating(span) }
        }
        window?.record(failure: outcome == .failure, slow: slow, now: now ?? 0)  // a time window always gets a reading
        guard mode == .normal else { return MachineStep(.counted) }
        let result = evaluateTrip(policy: policy, now: now, jitter: jitter, changes: &changes)
        return MachineStep(result, changes)
    }

    /// Records `count` calls of the closed circuit that are still running past the slow-call threshold
    /// as slow (``RunningCalls``); they may trip the circuit like any recorded outcome.
    mutating func recordRunningSlowCalls(_ count: Int, now: Nanoseconds, policy: MachinePolicy, jitter: Double = 0) -> MachineStep<RecordResult> {
        guard count > 0, state == .closed, mode != .disabled, window != nil else { return MachineStep(.dropped) }
        for _ in 0..<count { window?.record(failure: false, slow: true, now: now) }
        guard mode == .normal else { return MachineStep(.counted) }
        var changes = MachineChanges()
        let result = evaluateTrip(policy: policy, now: now, jitter: jitter, changes: &changes)
        return MachineStep(result, changes)
    }

    private mutating func recordTrial(
        _ outcome: CallOutcome, ticket: Ticket, now: Nanoseconds, policy: MachinePolicy, jitter: Double, changes: inout MachineChanges
    ) -> RecordResult {
        guard state == .halfOpen, !reopenPending else { return .dropped }
        switch outcome.kind {
        case .ignored:
            releaseTrial(ticket)
            return .counted
        case .success:
            releaseTrial(ticket)
            consecutiveFailures = 0
            trialSuccesses += 1
            if trialSuccesses >= policy.successesToClose {
                let ramp = policy.recoveryRamp.map { now.addingSaturating($0.duration.nanoseconds) }
                enter(.closed, at: now, rampUntil: ramp, cause: TransitionCause(.trialsSucceeded), changes: &changes)
            }
            return .counted
        case .failure:
            consecutiveFailures += 1
            let request = tripRequest(.trialFailed, policy: policy)
            if policy.tripsOutsideLock {
                reopenPending = true
                return .tripRequested(request)
            }
            let retryAfter = applyTrip(request, duration: policy.builtinOpenDuration(request.context, jitter: jitter), now: now, changes: &changes)
            return .opened(request.cause, retryAfter: retryAfter ?? 0)
        }
    }

    private mutating func releaseTrial(_ ticket: Ticket) {
        trialsInFlight -= 1
        if let index = trialStarts.firstIndex(of: ticket.admittedAt) { trialStarts.remove(at: index) }
    }

    private mutating func evaluateTrip(policy: MachinePolicy, now: Nanoseconds?, jitter: Double, changes: inout MachineChanges) -> RecordResult {
        let snapshot = windowSnapshot
        var cause = policy.trip.cause(snapshot, failMax: policy.failMax)
        if cause == nil, policy.slowThreshold != nil, snapshot.calls >= policy.slowMinimumCalls, snapshot.slowCallRate >= policy.slowRate {
            cause = TransitionCause(.slowCallRate, measured: snapshot.slowCallRate, threshold: policy.slowRate)
        }
        if cause == nil, case .custom = policy.trip {
            return .evaluateRule(snapshot, tripRequest(TransitionCause(.customRule), policy: policy))
        }
        guard let cause else { return .counted }
        let request = tripRequest(cause, policy: policy)
        guard let now, !policy.tripsOutsideLock else { return .tripRequested(request) }
        let retryAfter = applyTrip(request, duration: policy.builtinOpenDuration(request.context, jitter: jitter), now: now, changes: &changes)
        return .opened(cause, retryAfter: retryAfter ?? 0)
    }

    private func tripRequest(_ cause: TransitionCause.Kind, policy: MachinePolicy) -> TripRequest {
        tripRequest(TransitionCause(cause), policy: policy)
    }

    private func tripRequest(_ cause: TransitionCause, policy: MachinePolicy) -> TripRequest {
        let rate = window.map { $0.calls == 0 ? 1 : Double($0.failures) / Double($0.calls) } ?? 1
        let context = TripContext(consecutiveTrips: consecutiveTrips + 1, failureRate: rate, resetTimeout: .nanoseconds(policy.resetTimeout))
        return TripRequest(generation: generation, cause: cause, context: context)
    }

    /// Opens the circuit for `duration` if nothing has changed since `request` was made; returns the
    /// time until a trial is allowed, or `nil` when the request is stale.
    mutating func applyTrip(_ request: TripRequest, duration: Nanoseconds, now: Nanoseconds, changes: inout MachineChanges) -> Nanoseconds? {
        let expected: CircuitState = request.reopens ? .halfOpen : .closed
        guard request.generation == generation, state == expected, mode == .normal else { return nil }
        reopenPending = false
        consecutiveTrips += 1
        enter(.open, at: now, openFor: duration, cause: request.cause, changes: &changes)
        return openUntil - now
    }

    /// ``applyTrip(_:duration:now:changes:)`` as a step of its own, for a trip finished outside the lock.
    mutating func finishTrip(_ request: TripRequest, duration: Nanoseconds, now: Nanoseconds) -> MachineStep<Nanoseconds?> {
        var changes = MachineChanges()
        let retryAfter = applyTrip(request, duration: duration, now: now, changes: &changes)
        return MachineStep(retryAfter, changes)
    }

    // MARK: Manual control, modes, configuration, gates and changes from elsewhere

    /// `open()`, `halfOpen()` and `close()`: always a transition (even to the same state), always a new
    /// generation, and the mode returns to normal. An open circuit stays open for `openFor`.
    mutating func force(_ target: CircuitState, now: Nanoseconds, openFor duration: Nanoseconds) -> MachineStep<Void> {
        var changes = MachineChanges()
        let previousMode = mode
        mode = .normal
        enter(target, at: now, openFor: target == .open ? duration : nil, cause: TransitionCause(.manual), previousMode: previousMode, changes: &changes)
        return MachineStep((), changes)
    }

    mutating func setMode(_ newMode: OperatingMode, now: Nanoseconds, policy: MachinePolicy) -> MachineStep<Void> {
        var changes = MachineChanges()
        // Normal to normal changes nothing (calls in flight still count); any other mode is entered again,
        // like a manual transition, and heard even when it was the mode already.
        if newMode == .normal && mode == .normal { return MachineStep(()) }
        let previousState = state
        let previousMode = mode
        let cause = TransitionCause(.modeChanged)
        mode = newMode
        switch newMode.kind {
        case .normal:
            generation = (generation &+ 1) & PublishedWord.generationMask
            // Released from forced open: an ordinary open period, timed from now.
            if previousMode == .forcedOpen && state == .open { startOpenPeriod(at: now, duration: policy.resetTimeout) }
            commit(previousState: previousState, previousMode: previousMode, cause: cause, isTransition: false, changes: &changes)
        case .forcedOpen:
            enter(.open, at: now, openFor: .max, cause: cause, previousMode: previousMode, changes: &changes)
        case .disabled, .metricsOnly:
            enter(.closed, at: now, cause: cause, previousMode: previousMode, changes: &changes)
        }
        return MachineStep((), changes)
    }

    /// Sets the open period of an open circuit to `duration` from when it opened (aiobreaker applies a
    /// changed timeout to the current period).
    mutating func resizeOpenPeriod(to duration: Nanoseconds) -> MachineStep<Void> {
        var changes = MachineChanges()
        guard state == .open, mode == .normal, let openedAt else { return MachineStep(()) }
        let resized = openedAt.addingSaturating(duration)
        guard resized != openUntil else { return MachineStep(()) }
        openUntil = resized
        commit(previousState: state, previousMode: mode, cause: TransitionCause(.reconfigured), isTransition: false, changes: &changes)
        return MachineStep((), changes)
    }

    /// Sets who may start trials; a gate held elsewhere ends at `until` on the machine's time line.
    mutating func setGate(_ newGate: Gate) {
        gate = newGate
    }

    /// Takes `snapshot`, a change made elsewhere, if it is newer than this circuit's latest change
    /// (``CircuitSnapshot/isNewer(thanEpoch:origin:)``); returns whether it did. Calls in flight are
    /// dropped when they finish, and the window is cleared when the state changes.
    mutating func applyRemote(_ snapshot: CircuitSnapshot, now: Nanoseconds, policy: MachinePolicy) -> MachineStep<Bool> {
        guard snapshot.isNewer(thanEpoch: epoch, origin: origin) else { return MachineStep(false) }
        var changes = MachineChanges()
        let previousState = state
        let previousMode = mode
        mode = snapshot.mode
        consecutiveFailures = max(0, snapshot.failureCount)
        consecutiveTrips = max(0, snapshot.consecutiveTrips)
        generation = (generation &+ 1) & PublishedWord.generationMask
        trialsInFlight = 0
        trialSuccesses = 0
        trialStarts.removeAll()
        reopenPending = false
        if snapshot.state != previousState {
            state = snapshot.state
            stateSince = now
            throttledUntil = nil
            if state == .closed, let windowKind { window = OutcomeWindow(windowKind) }
        }
        // A ramp started elsewhere goes on here, to the same end: the fleet's traffic follows one ramp.
        rampUntil = state == .closed && mode == .normal ? rampEnd(continuing: snapshot.rampRemaining?.nanoseconds, at: now, policy: policy) : nil
        if state == .open {
            if mode == .forcedOpen {
                openedAt = now
                openUntil = .max
            } else {
                startOpenPeriod(at: now, duration: snapshot.openRemaining.map { max(0, $0.nanoseconds) } ?? policy.resetTimeout)
            }
        }
        epoch = snapshot.epoch
        origin = snapshot.origin
        changes.append(change(previousState: previousState, previousMode: previousMode, cause: TransitionCause(.remote), isTransition: state != previousState))
        return MachineStep(true, changes)
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
    /// (Why 4 bits are enough: see `Circuit/README.md`, "the parking tag".)
    static func parkingTag(generation: UInt64, windowEpoch: UInt64) -> UInt64 {
        ((generation & 0xF) << 4) | (windowEpoch & 0xF)
    }

    mutating func ageWindow(to now: Nanoseconds) { window?.age(to: now) }

    // MARK: Transitions

    private mutating func enter(
        _ target: CircuitState, at now: Nanoseconds, openFor duration: Nanoseconds? = nil, rampUntil rampEnd: Nanoseconds? = nil,
        cause: TransitionCause, previousMode: OperatingMode? = nil, changes: inout MachineChanges
    ) {
        let previousState = state
        state = target
        generation = (generation &+ 1) & PublishedWord.generationMask
        stateSince = now
        trialsInFlight = 0
        trialSuccesses = 0
        trialStarts.removeAll()
        reopenPending = false
        rampUntil = rampEnd  // set before the commit: the change carries the ramp to the fleet
        throttledUntil = nil
        if target == .closed {
            consecutiveFailures = 0
            consecutiveTrips = 0
            if let windowKind { window = OutcomeWindow(windowKind) }
        }
        if let duration { startOpenPeriod(at: now, duration: duration) }
        commit(previousState: previousState, previousMode: previousMode ?? mode, cause: cause, isTransition: true, changes: &changes)
    }

    /// Numbers a change made here (a new epoch from this origin) and adds it to `changes`.
    private mutating func commit(
        previousState: CircuitState, previousMode: OperatingMode, cause: TransitionCause, isTransition: Bool, changes: inout MachineChanges
    ) {
        epoch &+= 1
        origin = localOrigin
        changes.append(change(previousState: previousState, previousMode: previousMode, cause: cause, isTransition: isTransition))
    }

    private func change(previousState: CircuitState, previousMode: OperatingMode, cause: TransitionCause, isTransition: Bool) -> MachineChange {
        MachineChange(
            previousState: previousState, previousMode: previousMode, cause: cause, isTransition: isTransition, state: state, mode: mode,
            failureCount: consecutiveFailures, consecutiveTrips: consecutiveTrips,
            openUntil: state == .open ? (mode == .forcedOpen ? .max : openUntil) : nil, rampUntil: rampingUntil, epoch: epoch,
            origin: origin)
    }

    /// The end of a ramp with `remaining` left at `now`, started elsewhere (another instance, or before a
    /// restart): this circuit's own ramp, no longer than its length; `nil` without one or with none left.
    private func rampEnd(continuing remaining: Nanoseconds?, at now: Nanoseconds, policy: MachinePolicy) -> Nanoseconds? {
        guard let ramp = policy.recoveryRamp, let remaining, remaining > 0 else { return nil }
        return now.addingSaturating(min(remaining, ramp.duration.nanoseconds))
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

    /// How long until a call may be let through: for an open circuit, until its open period (or a trial
    /// lease held elsewhere) ends, zero once it has; for a half-open one whose trial slots are all
    /// taken, until the oldest trial's deadline (`nil` without one); otherwise `nil`.
    func retryAfter(now: Nanoseconds, policy: MachinePolicy) -> Nanoseconds? {
        let gateDeadline: Nanoseconds = if case .heldElsewhere(let until) = gate { until } else { .min }
        switch state {
        case .closed:
            return nil
        case .open:
            if mode == .forcedOpen { return .max }
            guard openedAt != nil else { return openDurationFromFirstLook ?? policy.resetTimeout }
            return max(0, max(openUntil, gateDeadline).addingSaturating(-now))
        case .halfOpen:
            if reopenPending { return 0 }
            if trialsInFlight >= policy.permittedTrials { return trialDeadline(policy: policy).map { max(0, $0 - now) } }
            return gateDeadline > now ? gateDeadline - now : nil
        }
    }

    /// Whether a caller must wait for a running trial to settle (half-open, every slot taken).
    /// The fraction of ordinary calls admitted at `now`: 1 while closed (or not deciding), the ramp's
    /// while ramping up, 0 while open or half-open.
    func admittedFraction(now: Nanoseconds, policy: MachinePolicy) -> Double {
        switch mode.kind {
        case .disabled, .metricsOnly: return 1
        case .forcedOpen: return 0
        case .normal: break
        }
        guard state == .closed else { return 0 }
        guard let ramp = policy.recoveryRamp, let end = rampUntil else { return 1 }
        return ramp.admittedFraction(after: .nanoseconds(now - end.addingSaturating(-ramp.duration.nanoseconds)))
    }

    func trialsAreFull(policy: MachinePolicy) -> Bool {
        state == .halfOpen && mode == .normal && !reopenPending && trialsInFlight >= policy.permittedTrials
    }

    /// The circuit as a ``CircuitSnapshot``, with times as durations remaining at `now`.
    func snapshot(now: Nanoseconds, policy: MachinePolicy) -> CircuitSnapshot {
        CircuitSnapshot(
            state: state, mode: mode, failureCount: consecutiveFailures, consecutiveTrips: consecutiveTrips,
            openRemaining: state == .open ? retryAfter(now: now, policy: policy).map { Duration(nanoseconds: $0) } : nil,
            rampRemaining: rampingUntil.flatMap { $0 > now ? Duration(nanoseconds: $0 - now) : nil }, epoch: epoch, origin: origin)
    }

    /// The end of the recovery ramp under way, if the circuit is closed in normal mode and ramping.
    private var rampingUntil: Nanoseconds? {
        state == .closed && mode == .normal ? rampUntil : nil
    }
}

extension CircuitMachine {
    init(restoring snapshot: CircuitSnapshot, localOrigin: UInt64) {
        self.init(
            state: snapshot.state, consecutiveFailures: max(0, snapshot.failureCount),
            consecutiveTrips: max(0, snapshot.consecutiveTrips), mode: snapshot.mode,
            openRemaining: snapshot.openRemaining.map { max(0, $0.nanoseconds) }, rampRemaining: snapshot.rampRemaining?.nanoseconds,
            epoch: snapshot.epoch, origin: snapshot.origin, localOrigin: localOrigin)
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
