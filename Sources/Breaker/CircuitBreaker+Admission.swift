import Synchronization

/// Admitting or rejecting a call: the circuit decides (see `Circuit+Admission`); the breaker counts the
/// rejection, tells its listeners and builds the error.
extension CircuitBreaker {
    /// A call that has been admitted.
    @usableFromInline typealias Admitted = Circuit.Admitted

    /// Admits a call (telling listeners that want it) or throws the rejection.
    @usableFromInline
    func admit(holding held: HeldLimiterSlot? = nil) throws(CircuitBreakerError) -> Admitted {
        var admitted: Admitted
        do {
            admitted = try circuit.admit(time: time, counters: counters)
        } catch {
            throw reject(error)
        }
        if let held {
            admitted.limiter = held.limiter
            admitted.limiterAdmission = held.admission
        } else if flags.load(ordering: .relaxed) & Flags.limitsConcurrency != 0 {
            try takeLimiterSlot(&admitted)
        }
        // Timed for a listener (`.durations`): only calls that run, so rejections read no clock for it.
        if admitted.start == nil && flags.load(ordering: .relaxed) & Flags.timesAllCalls != 0 { admitted.start = time.now() }
        // Disabled: nothing is counted or heard.
        if flags.load(ordering: .relaxed) & Flags.callEvents != 0 && !circuit.recordsNothing {
            let listeners = beginReading()
            admitted.listeners = listeners
            emit(.admitted, to: listeners)
        }
        return admitted
    }

    /// Admits a call of a circuit that admits freely and times its calls (the fast path of slow-call
    /// detection), or throws the rejection.
    @usableFromInline
    func admitTimed(_ word: UInt64) throws(CircuitBreakerError) -> Admitted {
        do {
            return try circuit.admitTimed(word, time: time, counters: counters)
        } catch {
            throw reject(error)  // a ramp or a throttle may turn it away when it decides again
        }
    }

    /// Admits a call that only the adaptive throttle decides, or throws its rejection; the throttle slot
    /// of its request, or 0 when the general path must decide (see ``Circuit/admitThrottled(_:time:)``).
    @usableFromInline
    func admitThrottled(_ word: UInt64) throws(CircuitBreakerError) -> UInt64 {
        do {
            return try circuit.admitThrottled(word, time: time)
        } catch {
            throw reject(error)
        }
    }

    /// The rejection of a call that the circuit turned away without its lock, or `nil` when its locked
    /// path must decide (see ``Circuit/rejectionWithoutLock(_:time:)``).
    @usableFromInline
    func rejectionWithoutLock(_ word: UInt64) -> CircuitBreakerError? {
        guard let retryAfter = circuit.rejectionWithoutLock(word, time: time) else { return nil }
        return reject(retryAfter: retryAfter)
    }

    /// Counts the circuit's `rejection`, tells listeners that want it, and returns the error to throw.
    func reject(_ rejection: Circuit.Rejection) -> CircuitBreakerError {
        reject(retryAfter: rejection.retryAfter, reason: rejection.reason)
    }

    /// Counts a rejection, tells listeners that want it (the event's error is the rejection), and
    /// returns the error to throw.
    func reject(retryAfter: Nanoseconds, reason: CircuitBreakerError.Reason = .open) -> CircuitBreakerError {
        counters.increment(.rejected)
        let rejection = CircuitBreakerError(reason: reason, retryAfter: retryAfter, context: rejectionContext)
        if flags.load(ordering: .relaxed) & Flags.rejectionEvents != 0 {
            let event = BreakerEvent(kind: .rejected, error: rejection, durationNanoseconds: -1, retryAfterNanoseconds: retryAfter, change: nil)
            listenerList.deliver(event, from: self)
        }
        return rejection
    }
}
