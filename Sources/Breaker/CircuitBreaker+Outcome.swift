import Synchronization

/// Recording how an admitted call ended: timing, counting, events and trips.
extension CircuitBreaker {
    /// What a finished call does next.
    @usableFromInline
    enum Verdict: Sendable {
        /// Return the value, or rethrow the call's own error.
        case proceed
        /// Throw this instead.
        case `throw`(CircuitBreakerError)
    }

    /// Records a success of a call admitted on the fast path.
    @usableFromInline
    func recordSuccess(_ admitted: Admitted) {
        _ = complete(admitted, outcome: .success, error: nil)
    }

    /// Classifies and records a thrown error; `.proceed` means rethrow it.
    @usableFromInline
    func recordError(_ admitted: Admitted, _ error: any Error) -> Verdict {
        let outcome = Self.classify(error, settings.withLock { $0.judging })
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
    func complete(_ admitted: Admitted, outcome: CallOutcome, error: (any Error)?, slow forcedSlow: Bool = false) -> Verdict {
        defer { if admitted.listeners != nil { endReading() } }
        // A call counted as slow while it ran is heard and counted in metrics, but not recorded again.
        let countedWhileRunning = admitted.running?._withUnsafeGuaranteedRef { $0.leave(slot: admitted.slot) } ?? false
        let word = cell.word.load(ordering: .acquiring)
        if word & PublishedWord.recordsNothing != 0 { return .proceed }  // disabled: nothing counted, nothing heard
        var now: Nanoseconds?
        var slow = forcedSlow && !countedWhileRunning
        var duration: Nanoseconds?
        if let start = admitted.start {
            // A call timed only for a listener (no slow-call detection) ends on the precise clock it started on.
            let end = word & PublishedWord.timesCalls != 0 ? readCallClock(word) : time.now()
            if word & PublishedWord.coarseCallTiming == 0 { now = end }  // a lagging reading only measures durations
            duration = end.addingSaturating(-start)
            let threshold = cell.slowThreshold.load(ordering: .relaxed)
            if threshold > 0 && duration! >= threshold && !countedWhileRunning { slow = true }
        }
        if slow { counters.increment(.slow) }
        switch outcome.kind {
        case .success: counters.increment(.success)
        case .failure: counters.increment(.failure)
        case .ignored: counters.increment(.ignored)
        }
        // Look the listeners up only if one may want this outcome: a plain success is wanted only by
        // listeners of every call, which the call found at admission.
        let wanted = outcome == .success && !(slow || countedWhileRunning) ? Flags.callEvents : Flags.callEvents | Flags.outcomeEvents
        let listeners = flags.load(ordering: .relaxed) & wanted != 0 ? outcomeListeners(isReading: admitted.listeners != nil) : (list: nil, retained: false)
        defer { if listeners.retained { listeners.list?.release() } }
        if countedWhileRunning {
            switch outcome.kind {
            case .success: emit(.succeeded, to: listeners.list, error: error, duration: duration)
            case .failure: emit(.failed, to: listeners.list, error: error ?? ReportedFailure(), duration: duration)
            case .ignored: emit(.ignored, to: listeners.list, error: error, duration: duration)
            }
            // Heard as slow when it ends, as a call judged slow at its end is: a slow counter then counts
            // every call the window counted as slow.
            emit(.slow, to: listeners.list, error: error, duration: duration)
            return .proceed
        }
        return settle(admitted, outcome: outcome, error: error, at: now, slow: slow, duration: duration, word: word, listeners: listeners.list)
    }

    /// What ``complete(_:outcome:error:)`` does once the call is timed and counted, with the listeners
    /// that may hear it.
    private func settle(
        _ admitted: Admitted, outcome: CallOutcome, error: (any Error)?, at now: Nanoseconds?, slow: Bool, duration: Nanoseconds?,
        word: UInt64, listeners: Unmanaged<ListenerList>?
    ) -> Verdict {
        var now = now
        if outcome == .success && !slow && !admitted.ticket.isTrial {
            if word & PublishedWord.successIsNoop != 0 {
                emit(.succeeded, to: listeners, error: error, duration: duration)
                return .proceed
            }
            // A quiet time window: park the success for the next locked section to count.
            if word & PublishedWord.successDeferrable != 0 && PublishedWord.generation(of: word) == admitted.ticket.generation {
                let finished = word & PublishedWord.coarseBuckets != 0 ? time.laggingNow() : (now ?? time.now())
                if cell.parkSuccess(finishedAt: finished, generation: admitted.ticket.generation) {
                    emit(.succeeded, to: listeners, error: error, duration: duration)
                    return .proceed
                }
                if word & PublishedWord.coarseBuckets == 0 { now = now ?? finished }  // a lagging reading only places buckets
            }
        }
        if now == nil && (outcome != .success || admitted.ticket.isTrial || word & PublishedWord.timesOutcomes != 0) {
            now = time.now()
        }
        return record(admitted, outcome: outcome, error: error, at: now, slow: slow, duration: duration, listeners: listeners)
    }

    /// The locked part of ``complete(_:outcome:error:)``: records the outcome in the machine, trips if
    /// it says so, and tells the listeners. (Apart, so the lock-free part captures no variable.)
    private func record(
        _ admitted: Admitted, outcome: CallOutcome, error: (any Error)?, at now: Nanoseconds?, slow: Bool, duration: Nanoseconds?,
        listeners: Unmanaged<ListenerList>?
    ) -> Verdict {
        // A failure is heard once counted and before the change it causes; a success and an ignored call
        // after the changes.
        let heardFailure: (() -> Void)? =
            outcome == .failure && listeners != nil
            ? { self.emit(.failed, to: listeners, error: error ?? ReportedFailure(), duration: duration) } : nil
        let result = cell.step(now: now, { machine, box in
            machine.record(outcome, slow: slow, ticket: admitted.ticket, now: now, policy: box.policy, jitter: box.policy.hasJitter ? .random(in: -1...1) : 0)
        }, beforeDelivery: heardFailure)
        let verdict = finish(result, now: now, underlying: error ?? (outcome == .failure ? ReportedFailure() : nil), error: error)
        switch outcome.kind {
        case .success: emit(.succeeded, to: listeners, error: error, duration: duration)
        case .ignored: emit(.ignored, to: listeners, error: error, duration: duration)
        case .failure: break
        }
        if slow { emit(.slow, to: listeners, error: error, duration: duration) }
        return verdict
    }

    /// Finishes a recorded outcome: trips the circuit if the machine asked for it, and says what the
    /// caller throws.
    func finish(_ result: RecordResult, now: Nanoseconds?, underlying: (any Error)?, error: (any Error)?) -> Verdict {
        switch result {
        case .dropped, .counted:
            return .proceed
        case .opened(let cause, let retryAfter):
            return tripVerdict(cause, retryAfter: retryAfter, underlying: underlying)
        case .tripRequested(var request):
            request.context.error = error  // a custom open duration may read it (a server's Retry-After)
            guard let retryAfter = finishTrip(request, now: now ?? time.now()) else { return .proceed }
            return tripVerdict(request.cause, retryAfter: retryAfter, underlying: underlying)
        case .evaluateRule(let snapshot, var request):
            guard let shouldTrip = cell.policy.shouldTrip, shouldTrip(snapshot) else { return .proceed }
            request.context.error = error
            guard let retryAfter = finishTrip(request, now: now ?? time.now()) else { return .proceed }
            return tripVerdict(request.cause, retryAfter: retryAfter, underlying: underlying)
        }
    }

    private func tripVerdict(_ cause: TransitionCause, retryAfter: Nanoseconds, underlying: (any Error)?) -> Verdict {
        if settings.withLock({ $0.judging.throwOriginalErrorOnTrip }) { return .proceed }
        let reopened = cause.kind == .trialFailed || cause.kind == .trialTimedOut
        return .throw(
            CircuitBreakerError(
                reason: reopened ? .trialFailed : .tripped, retryAfter: Duration(nanoseconds: retryAfter), underlying: underlying,
                breakerName: name))
    }

    /// Decides how a thrown error counts: the classifier, then cancellation (ignored when the calling
    /// task is cancelled, whatever the error, since a client may wrap cancellation in an error of its
    /// own), then the exclusions (success), else failure. A `CancellationError` from a task that was not
    /// cancelled counts like any other error.
    static func classify(_ error: any Error, _ judging: Judging) -> CallOutcome {
        if let classifier = judging.classifyError, let outcome = classifier(error) { return outcome }
        if Task.isCancelled { return .ignored }
        if judging.exclude.contains(where: { $0.matches(error) }) { return .success }
        return .failure
    }
}
