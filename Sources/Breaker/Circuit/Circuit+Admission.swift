import Synchronization

/// Admitting or rejecting a call: every admission decision, the lock-free ones included. The breaker
/// asking counts the rejection and tells its listeners.
extension Circuit {
    /// A call that has been admitted.
    @usableFromInline
    struct Admitted: Sendable {
        @usableFromInline var ticket: Ticket
        /// When the call started, if calls are timed.
        @usableFromInline var start: Nanoseconds?
        /// The listeners that hear this call's events, if any want the events of every call: read by the
        /// breaker without a reference at admission and kept until the outcome is recorded.
        @usableFromInline var listeners: Unmanaged<CircuitBreaker.ListenerList>?
        /// The throttle window that counted this call as a request, to count its success as an accept.
        /// The slot of the throttle window that counted this call as a request, where its success goes
        /// as an accept; 0 if no throttle counted it.
        @usableFromInline var throttleSlot: UInt64 = 0
        /// The breaker's concurrency limiter this call holds a slot of, and how it got it.
        @usableFromInline var limiter: Unmanaged<ConcurrencyLimiter>?
        @usableFromInline var limiterAdmission = ConcurrencyLimiter.Admission(inFlight: 0, start: 0)
        /// The tracker of running calls this call joined, and its slot there (see ``RunningCalls``).
        @usableFromInline var running: Unmanaged<RunningCalls>?
        @usableFromInline var slot: Int64 = 0

        @usableFromInline
        init(ticket: Ticket, start: Nanoseconds?, listeners: Unmanaged<CircuitBreaker.ListenerList>? = nil) {
            self.ticket = ticket
            self.start = start
            self.listeners = listeners
        }
    }

    /// A call turned away: the time until a call may be let through (zero if one may go now, `.max` if
    /// none will until the circuit is changed by hand).
    @usableFromInline
    struct Rejection: Error {
        @usableFromInline let retryAfter: Nanoseconds
        /// Why: ``CircuitBreakerError/Reason/open``, ``CircuitBreakerError/Reason/rampingUp`` or
        /// ``CircuitBreakerError/Reason/throttled``.
        @usableFromInline var reason: CircuitBreakerError.Reason = .open
    }

    /// Whether `word` lets a call in on the fast path: closed and healthy, counted without the lock.
    @inlinable
    static func admitsFreely(_ word: UInt64) -> Bool { word & PublishedWord.admitsFreely != 0 }

    /// Whether a rejection may be decided without the lock (see ``rejectionWithoutLock(_:time:)``).
    @inlinable
    static func mayRejectWithoutLock(_ word: UInt64) -> Bool { word & PublishedWord.rejectsUntilDeadline != 0 }

    /// Whether the adaptive throttle is all that decides a call under `word`: closed, throttling, not
    /// ramping, calls not timed (see ``admitThrottled(_:time:)``).
    @inlinable
    static func onlyThrottles(_ word: UInt64) -> Bool {
        word & (PublishedWord.throttling | PublishedWord.ramping | PublishedWord.timesCalls | PublishedWord.recordsNothing) == PublishedWord.throttling
    }

    /// Whether a call admitted under `word` is timed (slow-call detection).
    @inlinable
    static func timesCalls(_ word: UInt64) -> Bool { word & PublishedWord.timesCalls != 0 }

    /// Whether a success finishing now changes nothing and is counted (not disabled): then only the
    /// breaker's counter moves.
    @inlinable
    var successIsQuiet: Bool {
        word.load(ordering: .acquiring) & (PublishedWord.successIsNoop | PublishedWord.recordsNothing) == PublishedWord.successIsNoop
    }

    /// Whether the circuit counts nothing and no one hears of calls (``OperatingMode/disabled``).
    var recordsNothing: Bool { word.load(ordering: .relaxed) & PublishedWord.recordsNothing != 0 }

    /// A call admitted on the fast path without timing, in the generation `word` was published in.
    @usableFromInline
    static func admittedFreely(_ word: UInt64, throttleSlot: UInt64 = 0) -> Admitted {
        var admitted = Admitted(ticket: Ticket(generation: PublishedWord.generation(of: word), isTrial: false), start: nil)
        admitted.throttleSlot = throttleSlot
        return admitted
    }

    /// Reads the clock that times calls for slow-call detection.
    @inline(__always)
    func readCallClock(_ word: UInt64, _ time: TimeSource) -> Nanoseconds {
        word & PublishedWord.coarseCallTiming != 0 ? time.laggingNow() : time.now()
    }

    /// Decides a call: admits it or throws the rejection. Slow calls found running (see
    /// ``RunningCalls``) are counted in `counters`.
    func admit(time: TimeSource, counters: borrowing CallCounters) throws(Rejection) -> Admitted {
        let word = word.load(ordering: .acquiring)
        if Self.admitsFreely(word) {
            if Self.timesCalls(word) { return try admitTimed(word, time: time, counters: counters) }
            return Self.admittedFreely(word)
        }
        if word & (PublishedWord.ramping | PublishedWord.throttling) != 0 { return try admitControlled(word, time: time, counters: counters) }
        if Self.mayRejectWithoutLock(word) {
            if let retryAfter = rejectionWithoutLock(word, time: time) { throw Rejection(retryAfter: retryAfter) }
            let start = Self.timesCalls(word) ? readCallClock(word, time) : nil
            return try admitLocked(now: time.now(), start: start, time: time)
        }
        let start = Self.timesCalls(word) ? readCallClock(word, time) : nil
        let needsClock = PublishedWord.state(of: word) != .closed
        return try admitLocked(now: needsClock ? time.now() : nil, start: start, time: time)
    }

    /// Admits a call of a circuit that admits freely and times its calls: reads the clock, counts the
    /// calls that have run past the slow-call threshold (deciding again if that opened the circuit),
    /// and joins the running calls.
    @inline(__always)  // into the breaker's own, the one entry of the timed fast path
    func admitTimed(_ word: UInt64, time: TimeSource, counters: borrowing CallCounters) throws(Rejection) -> Admitted {
        let start = readCallClock(word, time)
        var admitted = Admitted(ticket: Ticket(generation: PublishedWord.generation(of: word), isTrial: false), start: start)
        guard word & PublishedWord.recordsNothing == 0, let running = runningCalls else { return admitted }
        let overdue = running._withUnsafeGuaranteedRef { $0.claimOverdue(now: start) }
        if overdue > 0 && countRunningAsSlow(overdue, time: time, counters: counters) != word {
            return try admit(time: time, counters: counters)
        }
        let entry = running._withUnsafeGuaranteedRef { $0.enter(at: start) }
        if let slot = entry.slot {
            admitted.running = running
            admitted.slot = slot
        }
        if entry.orphans > 0 { _ = countRunningAsSlow(entry.orphans, time: time, counters: counters) }
        return admitted
    }

    /// The time until a call may go, for a rejection decided without the lock while the published
    /// deadline is ahead (open, half-open with no free trial slot, or waiting on a trial gate); `nil`
    /// when the locked path must decide. A lagging clock reading is enough far from the deadline;
    /// within a few ticks of it (a loaded machine can delay a tick) the precise clock decides, so that a
    /// caller who waited for the deadline (`waitUntilRetry`) is not turned away by a stale reading.
    @inline(__always)  // into the breaker's own, which builds the error
    func rejectionWithoutLock(_ word: UInt64, time: TimeSource) -> Nanoseconds? {
        let deadline = openUntil.load(ordering: .acquiring)
        let now = time.laggingNow()
        guard self.word.load(ordering: .acquiring) == word && now < deadline && (deadline - now > 8 * (time.lag ?? 0) || time.now() < deadline)
        else { return nil }
        return deadline == .max ? 0 : deadline - now
    }

    /// Admits a call of a closed circuit under admission control, with no lock: while it ramps up after
    /// its recovery, a lot drawn uniformly in 0..<1 gets in if it falls under the fraction the ramp
    /// admits now, and a call turned away learns when that fraction reaches its lot, so that retries
    /// spread over the ramp; while the adaptive throttle decides, the call is counted as a request and
    /// rejected with the throttle's probability. Past the ramp's or the throttle's end the locked path
    /// ends it.
    private func admitControlled(_ word: UInt64, time: TimeSource, counters: borrowing CallCounters) throws(Rejection) -> Admitted {
        let end = openUntil.load(ordering: .acquiring)
        let from = rampFrom.load(ordering: .acquiring)
        let throttledUntil = throttleUntil.load(ordering: .acquiring)
        let now = time.laggingNow()
        let ramping = word & PublishedWord.ramping != 0
        let throttling = word & PublishedWord.throttling != 0
        let throttle = throttling ? self.throttle : nil
        guard self.word.load(ordering: .acquiring) == word, !ramping || (now < end && from < end), !throttling || (now < throttledUntil && throttle != nil)
        else {
            return try admitLocked(now: time.now(), start: Self.timesCalls(word) ? readCallClock(word, time) : nil, time: time)
        }
        if ramping {
            let lot = drawLot()
            let span = Double(end - from)
            if lot * span >= Double(now - from) {
                let due = from.addingSaturating(Nanoseconds(lot * span))
                throw Rejection(retryAfter: max(0, due - now), reason: .rampingUp)
            }
        }
        let throttleSlot = try throttle.map { throttle throws(Rejection) in try drawThrottleLot(throttle, at: now) } ?? 0
        var admitted = Self.timesCalls(word) ? try admitTimed(word, time: time, counters: counters) : Self.admittedFreely(word)
        admitted.throttleSlot = throttleSlot
        return admitted
    }

    /// Admits a call of a circuit that only the adaptive throttle decides (``onlyThrottles(_:)``), with
    /// no lock and no admission record: returns the throttle slot its request was counted in, or 0
    /// when the locked path must decide (the word changed, or the throttle's period is over).
    @usableFromInline
    func admitThrottled(_ word: UInt64, time: TimeSource) throws(Rejection) -> UInt64 {
        let throttledUntil = throttleUntil.load(ordering: .acquiring)
        let now = time.laggingNow()
        guard let throttle, self.word.load(ordering: .acquiring) == word, now < throttledUntil else { return 0 }
        return try drawThrottleLot(throttle, at: now)
    }

    /// Counts a request in the throttle's window and rejects it with the throttle's probability;
    /// returns the slot the request was counted in.
    @inline(__always)
    private func drawThrottleLot(_ throttle: Unmanaged<ThrottleWindow>, at now: Nanoseconds) throws(Rejection) -> UInt64 {
        let (slot, probability, width) = throttle._withUnsafeGuaranteedRef { window in
            let slot = window.slot(at: now)
            return (slot, window.request(inSlot: slot), window.width)
        }
        if probability > 0 && drawLot() < probability { throw Rejection(retryAfter: width, reason: .throttled) }
        return slot
    }

    /// A lot uniform in 0..<1: the next step of a Weyl sequence, mixed (SplitMix64's finalizer). One
    /// `relaxed` add, taken only while the circuit ramps up or throttles.
    func drawLot() -> Double {
        var z = lots.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-53
    }

    private func admitLocked(now: Nanoseconds?, start: Nanoseconds?, time: TimeSource) throws(Rejection) -> Admitted {
        var now = now
        while true {
            let admission = step(now: now) { machine, box in
                machine.admit(now: now, policy: box.policy, jitter: box.policy.hasJitter ? .random(in: -1...1) : 0)
            }
            switch admission {
            case .admitted(let ticket):
                return Admitted(ticket: ticket, start: start)
            case .needsClock:
                now = time.now()
            case .rejected(let retryAfter, nil):
                throw Rejection(retryAfter: retryAfter)
            case .rejected(_, let reopen?):
                throw Rejection(retryAfter: finishTrip(reopen, now: now ?? time.now()) ?? 0)
            }
        }
    }

    /// Records `count` calls still running past the slow-call threshold as slow, trips the circuit if
    /// that is enough, and returns the published word after.
    private func countRunningAsSlow(_ count: Int, time: TimeSource, counters: borrowing CallCounters) -> UInt64 {
        for _ in 0..<count { counters.increment(.slow) }
        let now = time.now()
        let result = step(now: now) { machine, box in
            machine.recordRunningSlowCalls(count, now: now, policy: box.policy, jitter: box.policy.hasJitter ? .random(in: -1...1) : 0)
        }
        _ = conclude(result, now: now, error: nil, time: time)
        return word.load(ordering: .acquiring)
    }
}
