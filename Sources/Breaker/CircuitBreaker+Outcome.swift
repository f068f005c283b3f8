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

    /// Records `outcome` of an admitted call; `error` is the call's error, if it threw. The circuit
    /// decides (see `Circuit+Completion`); the breaker counts and tells its listeners.
    @usableFromInline
    func complete(_ admitted: Admitted, outcome: CallOutcome, error: (any Error)?, slow forcedSlow: Bool = false) -> Verdict {
        defer { if admitted.listeners != nil { endReading() } }
        let ended = circuit.end(admitted, outcome, forcedSlow: forcedSlow, time: time)
        if admitted.limiter != nil { releaseLimiterSlot(admitted, outcome, slow: ended?.slow ?? forcedSlow) }
        guard var ending = ended else { return .proceed }  // disabled
        if ending.slow { counters.increment(.slow) }
        switch outcome.kind {
        case .success: counters.increment(.success)
        case .failure: counters.increment(.failure)
        case .ignored: counters.increment(.ignored)
        }
        // Look the listeners up only if one may want this outcome: a plain success is wanted only by
        // listeners of every call, which the call found at admission.
        let plain = outcome == .success && !(ending.slow || ending.countedWhileRunning)
        let wanted = plain ? Flags.callEvents : Flags.callEvents | Flags.outcomeEvents
        let listeners = flags.load(ordering: .relaxed) & wanted != 0 ? outcomeListeners(isReading: admitted.listeners != nil) : (list: nil, retained: false)
        defer { if listeners.retained { listeners.list?.release() } }
        if ending.countedWhileRunning {
            switch outcome.kind {
            case .success: emit(.succeeded, to: listeners.list, error: error, duration: ending.duration)
            case .failure: emit(.failed, to: listeners.list, error: error ?? ReportedFailure(), duration: ending.duration)
            case .ignored: emit(.ignored, to: listeners.list, error: error, duration: ending.duration)
            }
            // Heard as slow when it ends, as a call judged slow at its end is: a slow counter then counts
            // every call the window counted as slow.
            emit(.slow, to: listeners.list, error: error, duration: ending.duration)
            return .proceed
        }
        if circuit.settleWithoutLock(admitted, outcome, &ending, time: time) {
            emit(.succeeded, to: listeners.list, error: error, duration: ending.duration)
            return .proceed
        }
        return record(admitted, outcome: outcome, error: error, ending: ending, listeners: listeners.list)
    }

    /// The locked part of ``complete(_:outcome:error:slow:)``: the circuit records the outcome, and the
    /// listeners hear it. (Apart, so the lock-free part captures no variable.)
    private func record(
        _ admitted: Admitted, outcome: CallOutcome, error: (any Error)?, ending: Circuit.Ending, listeners: Unmanaged<ListenerList>?
    ) -> Verdict {
        // A failure is heard once counted and before the change it causes; a success and an ignored call
        // after the changes.
        let heardFailure: (() -> Void)? =
            outcome == .failure && listeners != nil
            ? { self.emit(.failed, to: listeners, error: error ?? ReportedFailure(), duration: ending.duration) } : nil
        let trip = circuit.record(admitted, outcome, ending, error: error, time: time, beforeDelivery: heardFailure)
        let verdict = trip.map { tripVerdict($0, underlying: error ?? (outcome == .failure ? ReportedFailure() : nil)) } ?? .proceed
        switch outcome.kind {
        case .success: emit(.succeeded, to: listeners, error: error, duration: ending.duration)
        case .ignored: emit(.ignored, to: listeners, error: error, duration: ending.duration)
        case .failure: break
        }
        if ending.slow { emit(.slow, to: listeners, error: error, duration: ending.duration) }
        return verdict
    }

    /// What the caller of a call that tripped the circuit throws: the breaker's error with the call's
    /// as its cause, or (with `throwOriginalErrorOnTrip`) the call's own.
    private func tripVerdict(_ trip: Circuit.Trip, underlying: (any Error)?) -> Verdict {
        if settings.withLock({ $0.judging.throwOriginalErrorOnTrip }) { return .proceed }
        return .throw(
            CircuitBreakerError(
                reason: trip.reopened ? .trialFailed : .tripped, retryAfter: Duration(nanoseconds: trip.retryAfter), underlying: underlying,
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
