import Synchronization

/// Admitting or rejecting a call.
extension CircuitBreaker {
    /// A call that has been admitted.
    @usableFromInline
    struct Admitted: Sendable {
        @usableFromInline var ticket: Ticket
        /// When the call started, if calls are timed.
        @usableFromInline var start: Nanoseconds?
        /// The listeners that hear this call's events, if any want the events of every call: read
        /// without a reference at admission (``beginReading()``) and kept until the outcome is
        /// recorded (``endReading()`` in ``complete(_:outcome:error:)``).
        @usableFromInline var listeners: Unmanaged<ListenerList>?
        /// The tracker of running calls this call joined, and its slot there (see ``RunningCalls``).
        @usableFromInline var running: Unmanaged<RunningCalls>?
        @usableFromInline var slot: Int64 = 0

        @usableFromInline
        init(ticket: Ticket, start: Nanoseconds?, listeners: Unmanaged<ListenerList>? = nil) {
            self.ticket = ticket
            self.start = start
            self.listeners = listeners
        }
    }

    /// Admits a call of a circuit that admits freely and times its calls: reads the clock, counts the
    /// calls that have run past the slow-call threshold (deciding again if that opened the circuit),
    /// and joins the running calls.
    @usableFromInline
    func admitTimed(_ word: UInt64) throws(CircuitBreakerError) -> Admitted {
        let start = readCallClock(word)
        var admitted = Admitted(ticket: Ticket(generation: PublishedWord.generation(of: word), isTrial: false), start: start)
        guard word & PublishedWord.recordsNothing == 0, let running = cell.runningCalls else { return admitted }
        let overdue = running._withUnsafeGuaranteedRef { $0.claimOverdue(now: start) }
        if overdue > 0 && countRunningAsSlow(overdue) != word { return try decideAdmission() }
        let entry = running._withUnsafeGuaranteedRef { $0.enter(at: start) }
        if let slot = entry.slot {
            admitted.running = running
            admitted.slot = slot
        }
        if entry.orphans > 0 { _ = countRunningAsSlow(entry.orphans) }
        return admitted
    }

    /// Records `count` calls still running past the slow-call threshold as slow, trips the circuit if
    /// that is enough, and returns the published word after.
    private func countRunningAsSlow(_ count: Int) -> UInt64 {
        for _ in 0..<count { counters.increment(.slow) }
        let now = time.now()
        let result = cell.step(now: now) { machine, box in
            machine.recordRunningSlowCalls(count, now: now, policy: box.policy, jitter: box.policy.hasJitter ? .random(in: -1...1) : 0)
        }
        _ = finish(result, now: now, underlying: nil, error: nil)
        return cell.word.load(ordering: .acquiring)
    }

    /// Admits a call (telling listeners that want it) or throws the rejection.
    @usableFromInline
    func admit() throws(CircuitBreakerError) -> Admitted {
        var admitted = try decideAdmission()
        // Timed for a listener (`.durations`): only calls that run, so rejections read no clock for it.
        if admitted.start == nil && flags.load(ordering: .relaxed) & Flags.timesAllCalls != 0 { admitted.start = time.now() }
        // Disabled: nothing is counted or heard.
        if flags.load(ordering: .relaxed) & Flags.callEvents != 0 && cell.word.load(ordering: .relaxed) & PublishedWord.recordsNothing == 0 {
            let listeners = beginReading()
            admitted.listeners = listeners
            emit(.admitted, to: listeners)
        }
        return admitted
    }

    private func decideAdmission() throws(CircuitBreakerError) -> Admitted {
        let word = cell.word.load(ordering: .acquiring)
        if word & PublishedWord.admitsFreely != 0 {
            if word & PublishedWord.timesCalls != 0 { return try admitTimed(word) }
            return Admitted(ticket: Ticket(generation: PublishedWord.generation(of: word), isTrial: false), start: nil)
        }
        if word & PublishedWord.rejectsUntilDeadline != 0 {
            if let rejection = rejectionWithoutLock(word) { throw rejection }
            let start = word & PublishedWord.timesCalls != 0 ? readCallClock(word) : nil
            return try admitLocked(now: time.now(), start: start)
        }
        let start = word & PublishedWord.timesCalls != 0 ? readCallClock(word) : nil
        let needsClock = PublishedWord.state(of: word) != .closed
        return try admitLocked(now: needsClock ? time.now() : nil, start: start)
    }

    /// The rejection of a call while the published deadline is ahead, decided without the lock (open,
    /// half-open with no free trial slot, or waiting on a trial gate); `nil` when the locked path must
    /// decide. A lagging clock reading is enough far from the deadline; within a few ticks of it (a
    /// loaded machine can delay a tick) the precise clock decides, so that a caller who waited for the
    /// deadline (`waitUntilRetry`) is not turned away by a stale reading.
    @usableFromInline
    func rejectionWithoutLock(_ word: UInt64) -> CircuitBreakerError? {
        let deadline = cell.openUntil.load(ordering: .acquiring)
        let now = time.laggingNow()
        guard cell.word.load(ordering: .acquiring) == word && now < deadline && (deadline - now > 8 * (time.lag ?? 0) || time.now() < deadline)
        else { return nil }
        return reject(retryAfter: deadline == .max ? 0 : deadline - now)
    }

    private func admitLocked(now: Nanoseconds?, start: Nanoseconds?) throws(CircuitBreakerError) -> Admitted {
        var now = now
        while true {
            let admission = cell.step(now: now) { machine, box in
                machine.admit(now: now, policy: box.policy, jitter: box.policy.hasJitter ? .random(in: -1...1) : 0)
            }
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

    /// Counts a rejection, tells listeners that want it, and returns the error to throw.
    func reject(retryAfter: Nanoseconds) -> CircuitBreakerError {
        counters.increment(.rejected)
        if flags.load(ordering: .relaxed) & Flags.rejectionEvents != 0 {
            let event = BreakerEvent(kind: .rejected, error: nil, durationNanoseconds: -1, retryAfterNanoseconds: retryAfter, change: nil)
            listenerList.deliver(event, from: self)
        }
        return CircuitBreakerError(reason: .open, retryAfter: retryAfter, context: rejectionContext)
    }

    /// Sizes the open period of `request` (running a custom open-duration policy outside the lock) and
    /// opens the circuit if nothing changed meanwhile; returns the time until a trial, or `nil`.
    func finishTrip(_ request: TripRequest, now: Nanoseconds) -> Nanoseconds? {
        let box = cell.policy
        var duration: Nanoseconds
        if let size = box.openDuration {
            duration = size(request.context).nanoseconds
            if duration <= 0 { duration = box.policy.resetTimeout }
        } else {
            duration = box.policy.builtinOpenDuration(request.context, jitter: box.policy.hasJitter ? .random(in: -1...1) : 0)
        }
        return cell.step(now: now) { machine, _ in machine.finishTrip(request, duration: duration, now: now) }
    }
}
