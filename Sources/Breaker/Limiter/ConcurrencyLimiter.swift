import Synchronization

/// A bulkhead: bounds the calls in flight to a dependency, and adapts the bound from what the calls
/// show (after Netflix's concurrency-limits). A call with no free slot is rejected at once with
/// ``CircuitBreakerError`` (reason ``CircuitBreakerError/Reason/limited``), or, if the configuration
/// allows, waits a bounded time for one.
///
/// ```swift
/// let limiter = ConcurrencyLimiter(name: "search")                   // Gradient2, 20 to start
/// let hits = try await limiter.call { try await search.query(text) }   // async
/// let row = try limiter.call { try database.row(id) }                 // sync
///
/// let permit = try limiter.acquire()                                  // two steps
/// send(request) { response in permit.release(response.ok ? .success : .failure) }
/// ```
///
/// The limiter is safe to use from any thread or task. Admission takes no lock: one compare-and-swap
/// of the in-flight count against the published limit. An adaptive algorithm samples each finished
/// call under the limiter's lock, for a few arithmetic steps; a fixed limit takes no lock at all
/// while nobody waits. Your function never runs under a lock, and no call hops to an actor. Time
/// comes only from the injected clock: a fixed limit reads none, Gradient2 reads it twice a call,
/// AIMD twice a call while ``DropPolicy/timeout`` is set (the coarse clock for timeouts of 100 ms or
/// more on Linux).
///
/// ``limit`` is the current limit and ``inFlight`` the calls holding a slot, to report as gauges.
/// When a slot frees or the limit rises, waiting calls take the slots in arrival order.
public final class ConcurrencyLimiter: Sendable {
    /// The name given at creation, for logs and errors.
    public let name: String?
    /// The configuration the limiter was created with.
    public let configuration: Configuration

    /// The calls holding a slot: raised by a compare-and-swap that keeps it within ``publishedLimit``.
    @usableFromInline let slotsInUse = Atomic<Int>(0)
    /// The current limit, stored under the lock after each change.
    @usableFromInline let publishedLimit: Atomic<Int>
    /// The calls in the queue; while there are any, a new call does not take a slot past them.
    @usableFromInline let queued = Atomic<Int>(0)
    /// Whether finished calls are sampled (the algorithm is adaptive): their end takes the lock.
    @usableFromInline let samplesCalls: Bool
    /// Whether calls are timed: their admission and end read the clock.
    @usableFromInline let timesCalls: Bool
    /// Whether the coarse clock is precise enough for the timing.
    let timesCoarsely: Bool
    /// A call that runs this long or longer is a drop (`.max`: none is, by time).
    let dropTimeout: Nanoseconds
    /// Whether a failure is a drop.
    let failuresAreDrops: Bool
    /// The limiter's clock.
    let time: TimeSource
    /// The algorithm's state and the waiting calls.
    let state: Locked<State>
    /// What every rejection shares: the limiter's name, and no underlying error.
    let rejectionContext: CircuitBreakerError.Context

    /// What the lock guards.
    struct State: Sendable {
        /// The algorithm's state; its limit is the one published.
        var estimator: LimitEstimator
        /// The waiting calls, oldest first.
        var waiters: [Waiter] = []
        /// The last waiter number given out.
        var lastWaiter: UInt64 = 0
    }

    /// A call that holds a slot: how many were in flight when it got it (itself included), and when
    /// (0 when calls are not timed).
    @usableFromInline
    struct Admission: Sendable {
        @usableFromInline let inFlight: Int
        @usableFromInline let start: Nanoseconds

        @inlinable
        init(inFlight: Int, start: Nanoseconds) {
            self.inFlight = inFlight
            self.start = start
        }
    }

    /// Creates a limiter; an invalid configuration stops the program with a message naming the field
    /// and its allowed range.
    ///
    /// - Parameters:
    ///   - name: A name for logs and errors (``CircuitBreakerError/breakerName``).
    ///   - configuration: The algorithm, its bounds, the wait and the drops. Default: Gradient2 from 20
    ///     calls, no waiting.
    ///   - clock: The clock that times calls and bounds waits; inject a `ManualClock` in tests.
    public convenience init<C: Clock>(name: String? = nil, configuration: Configuration = Configuration(), clock: C = ContinuousClock())
    where C.Duration == Duration {
        do {
            try self.init(name: name, validating: configuration, clock: clock)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    /// Creates a limiter from a configuration read at run time, throwing ``ConfigurationError`` (which
    /// names the field and its allowed range) if a value is invalid.
    public convenience init<C: Clock>(name: String? = nil, validating configuration: Configuration, clock: C = ContinuousClock())
    throws(ConfigurationError) where C.Duration == Duration {
        try configuration.validate()
        self.init(name: name, valid: configuration, time: TimeSource.of(clock))
    }

    /// A limiter from a configuration already validated, on `time` (a breaker's own limiter, on its
    /// circuit's clock).
    init(name: String?, valid configuration: Configuration, time: TimeSource) {
        self.name = name
        self.configuration = configuration
        let estimator = configuration.algorithm.estimator(
            initialLimit: configuration.initialLimit, minLimit: configuration.minLimit, maxLimit: configuration.maxLimit)
        publishedLimit = Atomic(estimator.limit)
        state = Locked(State(estimator: estimator))
        self.time = time
        let timeout = configuration.drops.timeout?.nanoseconds
        switch configuration.algorithm.kind {
        case .fixed:
            timesCalls = false
            timesCoarsely = false
        case .aimd:
            timesCalls = timeout != nil
            timesCoarsely = timeout.map(time.lagIsNegligible(against:)) ?? false
        case .gradient2:
            timesCalls = true
            timesCoarsely = false
        }
        samplesCalls = configuration.algorithm.isAdaptive
        dropTimeout = timeout ?? .max
        failuresAreDrops = configuration.drops.failures
        rejectionContext = CircuitBreakerError.Context(underlying: nil, breakerName: name)
    }

    /// The current limit: at most this many calls are admitted at once. An adaptive algorithm moves
    /// it as calls finish; calls already running when it falls keep their slots.
    public var limit: Int { publishedLimit.load(ordering: .acquiring) }

    /// The calls holding a slot now (running, or holding a ``Permit``).
    public var inFlight: Int { slotsInUse.load(ordering: .acquiring) }

    /// The calls waiting for a slot now (only with ``Configuration/maxWait``).
    public var waiting: Int { queued.load(ordering: .acquiring) }

    // MARK: Admission and release

    /// Admits a call if a slot is free and nobody waits for one; `nil` otherwise. Takes no lock.
    @inlinable
    func admitWithoutWaiting() -> Admission? {
        guard queued.load(ordering: .relaxed) == 0, let inFlight = takeSlot() else { return nil }
        return Admission(inFlight: inFlight, start: timesCalls ? readClock() : 0)
    }

    /// Takes a slot if fewer than the limit are in use, and returns the slots now in use.
    @inlinable
    func takeSlot() -> Int? {
        var current = slotsInUse.load(ordering: .relaxed)
        while current < publishedLimit.load(ordering: .relaxed) {
            let (exchanged, original) = slotsInUse.compareExchange(
                expected: current, desired: current &+ 1, ordering: .sequentiallyConsistent)
            if exchanged { return current &+ 1 }
            current = original
        }
        return nil
    }

    /// Ends an admitted call that returned: samples it (an adaptive algorithm) and frees its slot.
    @inlinable
    func finishSucceeded(_ admission: Admission) {
        if samplesCalls { recordSuccess(admission) } else { freeSlot() }
    }

    /// Ends an admitted call with `outcome`: samples it (an adaptive algorithm) and frees its slot.
    func finish(_ admission: Admission, _ outcome: CallOutcome) {
        if samplesCalls { record(admission, outcome) } else { freeSlot() }
    }

    /// Ends an admitted call that threw `error`: ignored if the calling task was cancelled, a failure
    /// otherwise.
    @usableFromInline
    func finish(_ admission: Admission, error: any Error) {
        finish(admission, Task.isCancelled ? .ignored : .failure)
    }

    /// Frees a slot, and hands it to the oldest waiting call if there is one.
    ///
    /// The in-flight count falls before the queue is read, and a waiter joins the queue before it
    /// looks for a slot, all sequentially consistent: either this sees the waiter, or the waiter sees
    /// the free slot.
    @inlinable
    func freeSlot() {
        slotsInUse.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        if queued.load(ordering: .sequentiallyConsistent) > 0 { serveQueue() }
    }

    /// ``record(_:_:)`` for a success (a separate entry point, so that inlined calls need not reach
    /// the `success` constant across modules).
    @usableFromInline
    func recordSuccess(_ admission: Admission) {
        record(admission, .success)
    }

    /// Samples a finished call, publishes the algorithm's new limit, frees the slot and serves waiters.
    func record(_ admission: Admission, _ outcome: CallOutcome) {
        guard outcome != .ignored else { return freeSlot() }
        let rtt = timesCalls ? max(0, readClock() &- admission.start) : 0
        let dropped = rtt >= dropTimeout || (outcome == .failure && failuresAreDrops)
        let sample = LimitSample(rtt: rtt, inFlight: admission.inFlight, dropped: dropped)
        slotsInUse.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        let served = state.withLock { state -> [Resumption]? in
            let limit = state.estimator.update(sample)
            if limit != publishedLimit.load(ordering: .relaxed) { publishedLimit.store(limit, ordering: .releasing) }
            return queued.load(ordering: .sequentiallyConsistent) > 0 ? grantSlots(&state) : nil
        }
        if let served { resume(served) }
    }

    /// Reads the clock that times calls.
    @usableFromInline
    func readClock() -> Nanoseconds {
        timesCoarsely ? time.laggingNow() : time.now()
    }

    /// The error of a call that found no slot.
    @usableFromInline
    func rejection() -> CircuitBreakerError {
        CircuitBreakerError(reason: .limited, retryAfter: 0, context: rejectionContext)
    }
}
