import Synchronization

/// A circuit breaker: calls a dependency through it, and when the dependency keeps failing it stops
/// calling for a while, failing fast instead, then lets a trial call find out whether it recovered.
///
/// ```swift
/// let breaker = CircuitBreaker(name: "db", failMax: 5, resetTimeout: .seconds(60))
///
/// let user = try breaker.call { try database.user(id: 42) }            // sync
/// let page = try await breaker.call { try await client.get(url) }      // async
///
/// let protectedFetch = breaker.wrap(fetch)                             // same signature as fetch
/// let value = try protectedFetch(1)
/// ```
///
/// The breaker is safe to use from any thread or task. Deciding a call takes no lock while the
/// circuit is closed and healthy; the protected function never runs under a lock, and no call hops
/// to an actor. Time comes only from the injected clock, and state changes happen on the next call:
/// there are no timers.
public final class CircuitBreaker: Sendable {
    /// The name given at creation, for logs and errors.
    public let name: String?
    /// Where the circuit's state lives.
    public let storage: any CircuitBreakerStorage

    /// The storage's in-memory copy, read on the call path.
    @usableFromInline let cell: InMemoryStorage
    /// Why a call must take the general path; zero lets it take the fast path. See ``Flags``.
    @usableFromInline let flags: Atomic<UInt32>
    @usableFromInline let counters = CallCounters()
    let time: TimeSource
    let settings: Locked<Settings>
    let events = EventQueue()
    /// Bumped whenever the configuration changes, so the storage knows to take this breaker's policy again.
    let policyVersion = Atomic<UInt64>(1)
    /// What every rejection of this breaker shares: its name, and no underlying error.
    let rejectionContext: CircuitBreakerError.Context
    /// Identifies this breaker to a shared storage (unlike an object address, never reused).
    let id = BreakerID.next()
    /// The slow-call threshold in nanoseconds, or 0 when calls are not timed; read without a lock.
    let slowThreshold = Atomic<Int64>(0)

    /// Bits of ``flags``.
    @usableFromInline
    enum Flags {
        /// At least one listener is registered.
        @usableFromInline static let hasListeners: UInt32 = 1
        /// Slow-call detection is on: calls are timed.
        @usableFromInline static let timesCalls: UInt32 = 2
        /// A function was wrapped with `ignoreOnCall`: calls mark themselves active for it.
        @usableFromInline static let hasWrappers: UInt32 = 4
        /// A time window is kept: every outcome needs a clock reading.
        static let timesOutcomes: UInt32 = 8
        /// Calls are timed with the cheap lagging clock: the slow-call threshold is wide enough.
        static let coarseCallTiming: UInt32 = 16
        /// Successes are placed in time buckets with the cheap lagging clock: the buckets are wide enough.
        static let coarseBuckets: UInt32 = 32
        /// The flags that send a call down the general path.
        @usableFromInline static let generalPath: UInt32 = hasListeners | hasWrappers
    }

    /// Process-unique breaker identities.
    enum BreakerID {
        private static let counter = Atomic<UInt64>(0)
        static func next() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }
    }

    struct Settings: Sendable {
        var configuration: Configuration
        var policy: PolicyBox
        var listeners: [any CircuitBreakerListener]
    }

    /// Creates a breaker with aiobreaker's parameters.
    ///
    /// - Parameters:
    ///   - name: A name for logs and errors.
    ///   - failMax: Counted failures in a row that open the circuit; at least 1.
    ///   - resetTimeout: How long the circuit stays open before a trial call; positive.
    ///   - exclude: Errors that count as successes.
    ///   - listeners: Observers of the breaker's events, in delivery order.
    ///   - storage: Where the state lives; pass one storage to several breakers to share a circuit.
    ///     A storage that is already open keeps its failure count and open period.
    ///   - throwOriginalErrorOnTrip: Rethrow the tripping call's own error instead of ``CircuitBreakerError``.
    ///   - clock: The clock for every time decision; inject a `ManualClock` in tests.
    ///
    /// Invalid values stop the program with a message naming the field and its allowed range; use
    /// ``init(name:validating:listeners:storage:clock:)`` for values read at run time.
    public convenience init<C: Clock>(
        name: String? = nil,
        failMax: Int = 5,
        resetTimeout: Duration = .seconds(60),
        exclude: [ErrorFilter] = [],
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage(),
        throwOriginalErrorOnTrip: Bool = false,
        clock: C
    ) where C.Duration == Duration {
        var configuration = Configuration()
        configuration.failMax = failMax
        configuration.resetTimeout = resetTimeout
        configuration.exclude = exclude
        configuration.throwOriginalErrorOnTrip = throwOriginalErrorOnTrip
        self.init(name: name, configuration: configuration, listeners: listeners, storage: storage, clock: clock)
    }

    /// Creates a breaker with aiobreaker's parameters on the continuous clock.
    ///
    /// See ``init(name:failMax:resetTimeout:exclude:listeners:storage:throwOriginalErrorOnTrip:clock:)``.
    public convenience init(
        name: String? = nil,
        failMax: Int = 5,
        resetTimeout: Duration = .seconds(60),
        exclude: [ErrorFilter] = [],
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage(),
        throwOriginalErrorOnTrip: Bool = false
    ) {
        self.init(
            name: name, failMax: failMax, resetTimeout: resetTimeout, exclude: exclude, listeners: listeners,
            storage: storage, throwOriginalErrorOnTrip: throwOriginalErrorOnTrip, clock: ContinuousClock())
    }

    /// Creates a breaker with aiobreaker's parameters, `throwOriginalErrorOnTrip` given after the clock.
    ///
    /// The same as ``init(name:failMax:resetTimeout:exclude:listeners:storage:throwOriginalErrorOnTrip:clock:)``;
    /// it exists so the argument may be written in either place.
    public convenience init<C: Clock>(
        name: String? = nil,
        failMax: Int = 5,
        resetTimeout: Duration = .seconds(60),
        exclude: [ErrorFilter] = [],
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage(),
        clock: C,
        throwOriginalErrorOnTrip: Bool
    ) where C.Duration == Duration {
        self.init(
            name: name, failMax: failMax, resetTimeout: resetTimeout, exclude: exclude, listeners: listeners,
            storage: storage, throwOriginalErrorOnTrip: throwOriginalErrorOnTrip, clock: clock)
    }

    /// Creates a breaker from a configuration; an invalid one stops the program with a message naming
    /// the field and its allowed range.
    public convenience init<C: Clock>(
        name: String? = nil,
        configuration: Configuration,
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage(),
        clock: C
    ) where C.Duration == Duration {
        do {
            try self.init(name: name, validating: configuration, listeners: listeners, storage: storage, clock: clock)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    /// Creates a breaker from a configuration on the continuous clock; an invalid one stops the program.
    public convenience init(
        name: String? = nil,
        configuration: Configuration,
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage()
    ) {
        self.init(name: name, configuration: configuration, listeners: listeners, storage: storage, clock: ContinuousClock())
    }

    /// Creates a breaker from a configuration read at run time, throwing ``ConfigurationError`` (which
    /// names the field and its allowed range) if a value is invalid.
    public init<C: Clock>(
        name: String? = nil,
        validating configuration: Configuration,
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage(),
        clock: C
    ) throws(ConfigurationError) where C.Duration == Duration {
        try configuration.validate()
        self.name = name
        rejectionContext = CircuitBreakerError.Context(underlying: nil, breakerName: name)
        self.storage = storage
        cell = storage.local
        time = TimeSource(clock)
        let box = PolicyBox(configuration)
        let policy = box.policy
        settings = Locked(Settings(configuration: configuration, policy: box, listeners: listeners))
        flags = Atomic(0)
        refreshFlags()
        let now = time.now()
        cell.withCircuit { circuit in
            circuit.machine.adoptWindow(policy.window)
            circuit.machine.anchor(now: now, policy: policy)
            events.markSeen(state: circuit.machine.state, generation: circuit.machine.generation)
        }
    }

    /// Creates a breaker from a configuration read at run time on the continuous clock, throwing
    /// ``ConfigurationError`` if a value is invalid.
    public convenience init(
        name: String? = nil,
        validating configuration: Configuration,
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage()
    ) throws(ConfigurationError) {
        try self.init(name: name, validating: configuration, listeners: listeners, storage: storage, clock: ContinuousClock())
    }

    static func flags(for policy: MachinePolicy, listeners: [any CircuitBreakerListener], wrappers: Bool, time: TimeSource) -> UInt32 {
        var bits: UInt32 = 0
        if !listeners.isEmpty { bits |= Flags.hasListeners }
        if let threshold = policy.slowThreshold {
            bits |= Flags.timesCalls
            if time.lagIsNegligible(against: threshold) { bits |= Flags.coarseCallTiming }
        }
        if wrappers { bits |= Flags.hasWrappers }
        if case .time(_, let bucket) = policy.window {
            bits |= Flags.timesOutcomes
            if time.lagIsNegligible(against: bucket.nanoseconds) { bits |= Flags.coarseBuckets }
        }
        return bits
    }

    /// Reads the clock that times calls for slow-call detection.
    @usableFromInline
    func readCallClock(_ flags: UInt32) -> Nanoseconds {
        flags & Flags.coarseCallTiming != 0 ? time.laggingNow() : time.now()
    }
}
