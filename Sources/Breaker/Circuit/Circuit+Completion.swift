import Synchronization

/// How an admitted call's outcome changes the circuit: timing, parking, recording and trips. The breaker
/// asking judges the error first, and counts and tells its listeners what the circuit decided.
extension Circuit {
    /// An admitted call that has ended, as the circuit measured it.
    struct Ending {
        /// The published word when it ended.
        var word: UInt64
        /// The precise clock reading at its end, if one was taken.
        var now: Nanoseconds?
        /// How long it ran, if it was timed.
        var duration: Nanoseconds?
        /// It is slow: timed at or past the threshold, or forced (a time limit reached).
        var slow: Bool
        /// It was counted as slow while it ran (see ``RunningCalls``): it is not recorded again.
        var countedWhileRunning: Bool
    }

    /// A trip the circuit committed: why, and the time until a trial.
    struct Trip {
        var cause: TransitionCause
        var retryAfter: Nanoseconds

        /// The trip reopened the circuit from a trial.
        var reopened: Bool { cause.reopensFromTrial }
    }

    /// Ends `admitted`: leaves the running calls, counts an accept for the throttle that counted its
    /// request (anything but a failure), and times it. `nil` when the circuit records nothing
    /// (disabled): then nothing is counted or heard.
    @inline(__always)  // into ``CircuitBreaker/complete(_:outcome:error:slow:)``, every call's end
    func end(_ admitted: Admitted, _ outcome: CallOutcome, forcedSlow: Bool, time: TimeSource) -> Ending? {
        if admitted.throttleSlot != 0, outcome != .failure { accept(admitted.throttleSlot) }
        let countedWhileRunning = admitted.running?._withUnsafeGuaranteedRef { $0.leave(slot: admitted.slot) } ?? false
        let word = word.load(ordering: .acquiring)
        if word & PublishedWord.recordsNothing != 0 { return nil }
        var ending = Ending(word: word, slow: forcedSlow && !countedWhileRunning, countedWhileRunning: countedWhileRunning)
        if let start = admitted.start {
            // A call timed only for a listener (no slow-call detection) ends on the precise clock it started on.
            let end = Self.timesCalls(word) ? readCallClock(word, time) : time.now()
            if word & PublishedWord.coarseCallTiming == 0 { ending.now = end }  // a lagging reading only measures durations
            let duration = end.addingSaturating(-start)
            ending.duration = duration
            let threshold = slowThreshold.load(ordering: .relaxed)
            if threshold > 0 && duration >= threshold && !countedWhileRunning { ending.slow = true }
        }
        return ending
    }

    /// Counts an accept (anything but a failure) in the throttle slot its request was counted in, in the
    /// current window (a reconfigured one is new).
    @usableFromInline
    func accept(_ throttleSlot: UInt64) {
        throttle?._withUnsafeGuaranteedRef { $0.accept(inSlot: throttleSlot) }
    }

    /// Settles a success that needs no locked section: one that changes nothing, or one parked for a
    /// quiet time window. Returns `false` when ``record(_:_:_:error:time:beforeDelivery:)`` must record
    /// the outcome (`ending` may then hold the clock reading it took).
    @inline(__always)
    func settleWithoutLock(_ admitted: Admitted, _ outcome: CallOutcome, _ ending: inout Ending, time: TimeSource) -> Bool {
        guard outcome == .success && !ending.slow && !admitted.ticket.isTrial else { return false }
        let word = ending.word
        if word & PublishedWord.successIsNoop != 0 { return true }
        // A quiet time window: park the success for the next locked section to count.
        guard word & PublishedWord.successDeferrable != 0 && PublishedWord.generation(of: word) == admitted.ticket.generation else { return false }
        let finished = word & PublishedWord.coarseBuckets != 0 ? time.laggingNow() : (ending.now ?? time.now())
        if parkSuccess(finishedAt: finished, generation: admitted.ticket.generation) { return true }
        if word & PublishedWord.coarseBuckets == 0 { ending.now = ending.now ?? finished }  // a lagging reading only places buckets
        return false
    }

    /// Records the outcome in the machine under the lock and commits the trip it asks for; runs
    /// `beforeDelivery` after the lock is released and before the changes are delivered. Returns the trip.
    func record(
        _ admitted: Admitted, _ outcome: CallOutcome, _ ending: Ending, error: (any Error)?, time: TimeSource,
        beforeDelivery: (() -> Void)?
    ) -> Trip? {
        var now = ending.now
        if now == nil && (outcome != .success || admitted.ticket.isTrial || ending.word & PublishedWord.timesOutcomes != 0) {
            now = time.now()
        }
        let result = step(now: now, { machine, box in
            machine.record(outcome, slow: ending.slow, ticket: admitted.ticket, now: now, policy: box.policy, jitter: box.policy.hasJitter ? .random(in: -1...1) : 0)
        }, beforeDelivery: beforeDelivery)
        return conclude(result, now: now, error: error, time: time)
    }

    /// Gives back an admission that will not run (its breaker's concurrency limiter had no slot): a
    /// trial slot is freed, a running-call slot left, and nothing is counted.
    func withdraw(_ admitted: Admitted, time: TimeSource) {
        var admitted = admitted
        admitted.throttleSlot = 0  // not an accept
        guard let ending = end(admitted, .ignored, forcedSlow: false, time: time), admitted.ticket.isTrial else { return }
        _ = record(admitted, .ignored, ending, error: nil, time: time, beforeDelivery: nil)
    }

    /// Finishes a recorded outcome: runs a custom trip rule or open duration the machine asked for
    /// (outside the lock: user code) and opens the circuit if nothing changed meanwhile. Returns the
    /// trip, if the circuit opened.
    func conclude(_ result: RecordResult, now: Nanoseconds?, error: (any Error)?, time: TimeSource) -> Trip? {
        switch result {
        case .dropped, .counted:
            return nil
        case .opened(let cause, let retryAfter):
            return Trip(cause: cause, retryAfter: retryAfter)
        case .tripRequested(var request):
            request.context.error = error  // a custom open duration may read it (a server's Retry-After)
            return finishTrip(request, now: now ?? time.now()).map { Trip(cause: request.cause, retryAfter: $0) }
        case .evaluateRule(let snapshot, var request):
            guard let shouldTrip = policy.shouldTrip, shouldTrip(snapshot) else { return nil }
            request.context.error = error
            return finishTrip(request, now: now ?? time.now()).map { Trip(cause: request.cause, retryAfter: $0) }
        }
    }

    /// Sizes the open period of `request` (running a custom open-duration policy outside the lock) and
    /// opens the circuit if nothing changed meanwhile; returns the time until a trial, or `nil`.
    func finishTrip(_ request: TripRequest, now: Nanoseconds) -> Nanoseconds? {
        let box = policy
        var duration: Nanoseconds
        if let size = box.openDuration {
            duration = size(request.context).nanoseconds
            if duration <= 0 { duration = box.policy.resetTimeout }
        } else {
            duration = box.policy.builtinOpenDuration(request.context, jitter: box.policy.hasJitter ? .random(in: -1...1) : 0)
        }
        return step(now: now) { machine, _ in machine.finishTrip(request, duration: duration, now: now) }
    }
}
