import Synchronization

/// The general call path: everything a call can need beyond the lock-free fast path (listeners,
/// timing, trips, rejections). The fast path in `CircuitBreaker+Call.swift` falls back to these.
extension CircuitBreaker {
    /// A call that has been admitted.
    @usableFromInline
    struct Admitted: Sendable {
        @usableFromInline var ticket: Ticket
        /// When the call started, if calls are timed.
        @usableFromInline var start: Nanoseconds?

        @usableFromInline
        init(ticket: Ticket, start: Nanoseconds?) {
            self.ticket = ticket
            self.start = start
        }
    }

    /// What a finished call does next.
    @usableFromInline
    enum Verdict: Sendable {
        /// Return the value, or rethrow the call's own error.
        case proceed
        /// Throw this instead.
        case `throw`(CircuitBreakerError)
    }

    /// Admits a call or throws the rejection.
    @usableFromInline
    func admit() throws(CircuitBreakerError) -> Admitted {
        let flags = flags.load(ordering: .relaxed)
        let word = cell.word.load(ordering: .acquiring)
        let start = flags & Flags.timesCalls != 0 ? readCallClock(flags) : nil
        if flags & Flags.hasListeners == 0 && word & PublishedWord.admitsFreely != 0 {
            return Admitted(ticket: Ticket(generation: PublishedWord.generation(of: word), isTrial: false), start: start)
        }
        if flags & Flags.hasListeners == 0 && word & PublishedWord.rejectsUntilDeadline != 0 {
            // Open, or half-open with no free trial slot: reject without the lock while the published
            // deadline is ahead. (With listeners, the lock is taken, so that changes made through a
            // shared storage are noticed and reported.)
            // A lagging clock reading is enough: it can only reject a little past the deadline, never admit early.
            let deadline = cell.openUntil.load(ordering: .acquiring)
            let now = time.laggingNow()
            if cell.word.load(ordering: .acquiring) == word && now < deadline {
                throw reject(retryAfter: word & PublishedWord.trialsFull != 0 ? 0 : deadline - now)
            }
            return try admitLocked(now: time.now(), start: start)
        }
        let needsClock = PublishedWord.state(of: word) != .closed
        return try admitLocked(now: needsClock ? time.now() : nil, start: start)
    }

    private func admitLocked(now: Nanoseconds?, start: Nanoseconds?) throws(CircuitBreakerError) -> Admitted {
        var now = now
        while true {
            let (admission, changes) = withPolicy(now: now) { machine, policy, notifier in
                var changes = Transitions()
                let admission = machine.admit(now: now, policy: policy, changes: &changes)
                notifier.transitions(changes)
                if case .admitted = admission { notifier.event(.beforeCall) }
                return (admission, changes)
            }
            finishEvents(changes)
            switch admission {
            case .admitted(let ticket):
                return Admitted(ticket: ticket, start: start)
            case .needsClock:
                now = time.now()
            case .rejected(let retryAfter, nil):
                throw reject(retryAfter: retryAfter)
            case .rejected(_, let reopen?):
                let retryAfter = finishTrip(reopen, now: now ?? time.now())
                throw reject(retryAfter: retryAfter ?? 0)
            }
        }
    }

    private func reject(retryAfter: Nanoseconds) -> CircuitBreakerError {
        counters.increment(.rejected)
        return CircuitBreakerError(reason: .open, retryAfter: retryAfter, context: rejectionContext)
    }

    /// Records a success of a call admitted on the fast path.
    @usableFromInline
    func recordSuccess(_ admitted: Admitted) {
        _ = complete(admitted, outcome: .success, error: nil)
    }

    /// Classifies and records a thrown error; `.proceed` means rethrow it.
    @usableFromInline
    func recordError(_ admitted: Admitted, _ error: any Error) -> Verdict {
        let configuration = settings.withLock { $0.configuration }
        let outcome = Self.classify(error, configuration)
        let verdict = complete(admitted, outcome: outcome, error: error)
        // An excluded error is a success: it is rethrown as it is, even if it completed a window that trips.
        return outcome == .failure ? verdict : .proceed
    }

    /// Records a returned value that `classify` judged; `.proceed` means return it.
    @usableFromInline
    func recordResult<R>(_ admitted: Admitted, _ result: R, _ outcome: CallOutcome) -> Verdict {
        let error: (any Error)? = outcome == .failure ? FailedResult(description: String(describing: result)) : nil
        let verdict = complete(admitted, outcome: outcome, error: error)
        // A success never throws, even one slow enough to trip the circuit: its value is good.
        return outcome == .failure ? verdict : .proceed
    }

    /// Runs `body` marked as inside this breaker's call, when wrapped functions need to know.
    @usableFromInline
    func runMarked<R>(_ body: () throws -> R) rethrows -> R {
        guard flags.load(ordering: .relaxed) & Flags.hasWrappers != 0 else { return try body() }
        return try ActiveCalls.$breakers.withValue(ActiveCalls.breakers.inserting(ObjectIdentifier(self))) { try body() }
    }

    /// The async form of ``runMarked(_:)``.
    @usableFromInline
    nonisolated(nonsending) func runMarked<R>(_ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        guard flags.load(ordering: .relaxed) & Flags.hasWrappers != 0 else { return try await body() }
        return try await ActiveCalls.$breakers.withValue(ActiveCalls.breakers.inserting(ObjectIdentifier(self))) { try await body() }
    }

    /// Records `outcome` of an admitted call; `error` is the call's error, if it threw.
    @usableFromInline
    func complete(_ admitted: Admitted, outcome: CallOutcome, error: (any Error)?) -> Verdict {
        let flags = flags.load(ordering: .relaxed)
        var now: Nanoseconds?
        var slow = false
        if let start = admitted.start {
            let end = readCallClock(flags)
            if flags & Flags.coarseCallTiming == 0 { now = end }  // a lagging reading only measures durations
            let threshold = slowThreshold.load(ordering: .relaxed)
            if threshold > 0 && end.addingSaturating(-start) >= threshold {
                slow = true
                counters.increment(.slow)
            }
        }
        switch outcome.kind {
        case .success: counters.increment(.success)
        case .failure: counters.increment(.failure)
        case .ignored: counters.increment(.ignored)
        }
        if outcome == .success && !slow && flags & Flags.hasListeners == 0 && !admitted.ticket.isTrial {
            let word = cell.word.load(ordering: .acquiring)
            if word & PublishedWord.successIsNoop != 0 { return .proceed }
            // A quiet time window: park the success for the next locked section to count.
            if word & PublishedWord.successDeferrable != 0 && PublishedWord.generation(of: word) == admitted.ticket.generation {
                let finished = flags & Flags.coarseBuckets != 0 ? time.laggingNow() : (now ?? time.now())
                if cell.parkSuccess(finishedAt: finished, generation: admitted.ticket.generation) { return .proceed }
                if flags & Flags.coarseBuckets == 0 { now = now ?? finished }  // a lagging reading only places buckets
            }
        }
        if now == nil && (outcome != .success || admitted.ticket.isTrial || flags & Flags.timesOutcomes != 0) {
            now = time.now()
        }
        let (result, changes) = withPolicy(now: now) { machine, policy, notifier in
            var changes = Transitions()
            if outcome == .failure { notifier.event(.failure(error ?? ReportedFailure())) }
            let result = machine.record(outcome, slow: slow, ticket: admitted.ticket, now: now, policy: policy, changes: &changes)
            notifier.transitions(changes)
            // A success reports after the transitions it causes; a trip still pending reports it later.
            if outcome == .success && !result.isPendingTrip { notifier.event(.success) }
            return (result, changes)
        }
        finishEvents(changes)
        let trailing: BreakerEvent? = outcome == .success ? .success : nil
        let underlying = error ?? (outcome == .failure ? ReportedFailure() : nil)
        switch result {
        case .dropped, .counted:
            return .proceed
        case .opened(let reason, let retryAfter):
            return tripVerdict(reason, retryAfter: retryAfter, underlying: underlying)
        case .tripRequested(let request):
            guard let retryAfter = finishTrip(request, now: now ?? time.now(), then: trailing) else { return .proceed }
            return tripVerdict(request.reason, retryAfter: retryAfter, underlying: underlying)
        case .evaluateRule(let snapshot, let request):
            guard let shouldTrip = settings.withLock({ $0.policy }).shouldTrip, shouldTrip(snapshot) else {
                if let trailing { report(trailing) }
                return .proceed
            }
            guard let retryAfter = finishTrip(request, now: now ?? time.now(), then: trailing) else { return .proceed }
            return tripVerdict(request.reason, retryAfter: retryAfter, underlying: underlying)
        }
    }

    private func tripVerdict(_ reason: TripReason, retryAfter: Nanoseconds, underlying: (any Error)?) -> Verdict {
        if settings.withLock({ $0.configuration.throwOriginalErrorOnTrip }) { return .proceed }
        let publicReason: CircuitBreakerError.Reason = reason == .tripped ? .tripped : .trialFailed
        return .throw(CircuitBreakerError(reason: publicReason, retryAfter: Duration(nanoseconds: retryAfter), underlying: underlying, breakerName: name))
    }

    /// Sizes the open period of `request` (running a custom open-duration policy outside the lock) and
    /// opens the circuit if nothing changed meanwhile; returns the time until a trial, or `nil`.
    ///
    /// `trailing` is queued after the trip's transition (or alone, if the trip is stale): the success
    /// event of a success that tripped the circuit.
    private func finishTrip(_ request: TripRequest, now: Nanoseconds, then trailing: BreakerEvent? = nil) -> Nanoseconds? {
        let box = settings.withLock { $0.policy }
        let policy = box.policy
        var duration: Nanoseconds
        if let size = box.openDuration {
            duration = size(request.context).nanoseconds
            if duration <= 0 { duration = policy.resetTimeout }
        } else {
            duration = policy.builtinOpenDuration(request.context)
        }
        let (retryAfter, changes) = withPolicy(now: now) { machine, _, notifier in
            var changes = Transitions()
            let retryAfter = machine.applyTrip(request, duration: duration, now: now, changes: &changes)
            notifier.transitions(changes)
            if let trailing { notifier.event(trailing) }
            return (retryAfter, changes)
        }
        finishEvents(changes)
        return retryAfter
    }

    /// Queues `event` in the machine's order and delivers it.
    private func report(_ event: BreakerEvent) {
        withPolicy(now: nil) { _, _, notifier in notifier.event(event) }
        finishEvents(Transitions())
    }

    /// Decides how a thrown error counts: the configured classifier, then cancellation (ignored), then
    /// the exclusions (success), else failure.
    static func classify(_ error: any Error, _ configuration: Configuration) -> CallOutcome {
        if let classifier = configuration.classifyError, let outcome = classifier(error) { return outcome }
        if error is CancellationError { return .ignored }
        if configuration.exclude.contains(where: { $0.matches(error) }) { return .success }
        return .failure
    }

    // MARK: The locked section

    /// Queues events for the listeners while the storage lock is held; does nothing without listeners.
    struct Notifier {
        let queue: EventQueue?

        func event(_ event: BreakerEvent) { queue?.enqueue(event) }

        func transitions(_ changes: Transitions) {
            guard let queue else { return }
            if let first = changes.first { queue.enqueue(.stateChange(from: first.from, to: first.to)) }
            if let second = changes.second { queue.enqueue(.stateChange(from: second.from, to: second.to)) }
        }
    }

    /// Runs `body` on the circuit under the storage lock with this breaker's policy installed, and
    /// with a notifier that queues events in the machine's order. `now` anchors a circuit restored open.
    func withPolicy<R>(now: Nanoseconds?, _ body: (inout CircuitMachine, MachinePolicy, Notifier) -> R) -> R {
        let me = id
        let version = policyVersion.load(ordering: .acquiring)
        let listening = flags.load(ordering: .relaxed) & Flags.hasListeners != 0
        return cell.withCircuit { circuit in
            let box: PolicyBox
            if let installed = circuit.policy, circuit.policyOwner == me, circuit.policyVersion == version {
                box = installed
            } else {
                // Lock order: storage, then settings. Settings are never held while taking the storage lock.
                box = settings.withLock { $0.policy }
                circuit.policy = box
                circuit.policyOwner = me
                circuit.policyVersion = version
                circuit.machine.adoptWindow(box.policy.window)
            }
            let policy = box.policy
            if let now { circuit.machine.anchor(now: now, policy: policy) }
            let notifier = Notifier(queue: listening ? events : nil)
            if listening { events.catchUp(state: circuit.machine.state, generation: circuit.machine.generation) }
            let result = body(&circuit.machine, policy, notifier)
            if listening { events.markSeen(state: circuit.machine.state, generation: circuit.machine.generation) }
            return result
        }
    }

    /// After the lock is released: delivers queued events and tells a sharing storage about changes.
    func finishEvents(_ changes: Transitions) {
        if flags.load(ordering: .relaxed) & Flags.hasListeners != 0 { deliverEvents() }
        if !changes.isEmpty && storage !== cell {
            let now = time.now()
            let snapshot = withPolicy(now: nil) { machine, policy, _ in machine.snapshot(now: now, policy: policy) }
            storage.stateDidChange(snapshot)
        }
    }

    /// Delivers queued events to the listeners registered at the moment of delivery.
    func deliverEvents() {
        events.drain { event in
            let listeners = settings.withLock { $0.listeners }
            for listener in listeners {
                switch event {
                case .beforeCall: listener.beforeCall(self)
                case .success: listener.success(self)
                case .failure(let error): listener.failure(self, error: error)
                case .stateChange(let from, let to): listener.stateChange(self, from: from, to: to)
                }
            }
        }
    }
}
