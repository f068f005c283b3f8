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
///
/// A breaker decides on a *circuit* (its ``storage``'s ``CircuitBreakerStorage/local`` circuit), which
/// holds the state, the window, the policy and the clock; breakers created on one circuit share all
/// of them, and each keeps its own listeners, exclusions and error classifier (see ``InMemoryStorage``).
public final class CircuitBreaker: Sendable {
    /// The name given at creation, for logs and errors.
    public let name: String?
    /// Where the circuit lives.
    public let storage: any CircuitBreakerStorage

    /// The circuit, which makes every admission and completion decision (see ``Circuit``).
    @usableFromInline let circuit: Circuit
    /// Why a call must take the general path; zero lets it take the fast path. See ``Flags``.
    @usableFromInline let flags: Atomic<UInt32>
    @usableFromInline let counters = CallCounters()
    /// The circuit's clock, kept here so that no call takes the circuit's lock to find it.
    @usableFromInline let time: TimeSource
    let settings: Locked<Settings>
    /// The address of the current ``ListenerList`` (kept alive by ``Settings/listeners``), read by calls
    /// without the lock; see ``beginReading()``.
    let currentListeners: Atomic<UInt>
    /// Calls reading a listener list without a reference, between ``beginReading()`` and ``endReading()``.
    let listenerReaders = Atomic<Int>(0)
    /// ``Settings/retired`` holds lists that a reader may still use.
    let hasRetiredListeners = Atomic<Bool>(false)
    /// What every rejection of this breaker shares: its name, and no underlying error.
    let rejectionContext: CircuitBreakerError.Context
    /// The address of the current ``ConcurrencyLimiter`` (kept alive by ``Settings/limiters``), or 0
    /// without one; read by calls without the lock.
    let currentLimiter = Atomic<UInt>(0)

    /// Bits of ``flags``.
    @usableFromInline
    enum Flags {
        /// A listener wants the events of every call (``BreakerEvent/Kinds/admitted`` or
        /// ``BreakerEvent/Kinds/succeeded``): calls take the general path.
        @usableFromInline static let callEvents: UInt32 = 1
        /// A listener wants the events of calls that did not simply succeed (failed, ignored, slow):
        /// those outcomes look the listeners up; healthy calls stay on the fast path.
        @usableFromInline static let outcomeEvents: UInt32 = 8
        /// A listener wants rejections.
        @usableFromInline static let rejectionEvents: UInt32 = 2
        /// A function was wrapped with `ignoreOnCall`: calls mark themselves active for it.
        @usableFromInline static let hasWrappers: UInt32 = 4
        /// A listener wants every call timed (``BreakerEvent/Kinds/durations``).
        @usableFromInline static let timesAllCalls: UInt32 = 16
        /// The breaker has a concurrency limiter (``Configuration/concurrencyLimit``): calls take a slot.
        @usableFromInline static let limitsConcurrency: UInt32 = 32
        /// The flags that send a call down the general path.
        @usableFromInline static let generalPath: UInt32 = callEvents | hasWrappers | timesAllCalls | limitsConcurrency
    }

    /// What the breaker keeps apart from the circuit.
    struct Settings: Sendable {
        /// How this breaker judges errors.
        var judging: Judging
        var listeners: ListenerList
        /// Replaced lists that calls may still be reading; freed by the last reader out.
        var retired: [ListenerList] = []
        /// Every concurrency limiter this breaker has had, the current one last: calls admitted into
        /// one may end after a reconfiguration replaced it (see ``currentLimiter``).
        var limiters: [ConcurrencyLimiter] = []
    }

    /// The fields of a configuration that belong to each breaker rather than to the circuit: how it
    /// judges errors and how long its calls may run.
    struct Judging: Sendable {
        var exclude: [ErrorFilter]
        var classifyError: (@Sendable (any Error) -> CallOutcome?)?
        var throwOriginalErrorOnTrip: Bool
        /// The default time limit of calls with ``CallOptions``.
        var timeLimit: Duration?
        /// This breaker's own concurrency limit.
        var concurrencyLimit: ConcurrencyLimiter.Configuration?

        init(_ configuration: Configuration) {
            exclude = configuration.exclude
            classifyError = configuration.classifyError
            throwOriginalErrorOnTrip = configuration.throwOriginalErrorOnTrip
            timeLimit = configuration.timeLimit
            concurrencyLimit = configuration.concurrencyLimit
        }

        func applied(to configuration: Configuration) -> Configuration {
            var configuration = configuration
            configuration.exclude = exclude
            configuration.classifyError = classifyError
            configuration.throwOriginalErrorOnTrip = throwOriginalErrorOnTrip
            configuration.timeLimit = timeLimit
            configuration.concurrencyLimit = concurrencyLimit
            return configuration
        }
    }

    /// Creates a breaker with aiobreaker's parameters.
    ///
    /// - Parameters:
    ///   - name: A name for logs and errors.
    ///   - failMax: Counted failures in a row that open the circuit; at least 1.
    ///   - resetTimeout: How long the circuit stays open before a trial call; positive.
    ///   - exclude: Errors that count as successes.
    ///   - listeners: Observers of the breaker's events, in delivery order.
    ///   - storage: Where the circuit lives; pass one storage to several breakers to share a circuit
    ///     (the circuit's policy and clock win; see ``InMemoryStorage``). A storage that is already
    ///     open keeps its failure count and open period.
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
        clock: C = ContinuousClock()
    ) where C.Duration == Duration {
        var configuration = Configuration()
        configuration.failMax = failMax
        configuration.resetTimeout = resetTimeout
        configuration.exclude = exclude
        configuration.throwOriginalErrorOnTrip = throwOriginalErrorOnTrip
        self.init(name: name, configuration: configuration, listeners: listeners, storage: storage, clock: clock)
    }

    /// Creates a breaker from a configuration; an invalid one stops the program with a message naming
    /// the field and its allowed range.
    public convenience init<C: Clock>(
        name: String? = nil,
        configuration: Configuration,
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage(),
        clock: C = ContinuousClock()
    ) where C.Duration == Duration {
        do {
            try self.init(name: name, validating: configuration, listeners: listeners, storage: storage, clock: clock)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    /// Creates a breaker from a configuration read at run time, throwing ``ConfigurationError`` (which
    /// names the field and its allowed range) if a value is invalid.
    public init<C: Clock>(
        name: String? = nil,
        validating configuration: Configuration,
        listeners: [any CircuitBreakerListener] = [],
        storage: any CircuitBreakerStorage = InMemoryStorage(),
        clock: C = ContinuousClock()
    ) throws(ConfigurationError) where C.Duration == Duration {
        try configuration.validate()
        self.name = name
        rejectionContext = CircuitBreakerError.Context(underlying: nil, breakerName: name)
        self.storage = storage
        circuit = storage.local.circuit
        time = circuit.attach(configuration: configuration, time: TimeSource.of(clock)).1
        let list = listeners.isEmpty ? ListenerList.none : ListenerList(listeners.map { ListenerList.Registration(listener: $0, interests: $0.interests) })
        settings = Locked(Settings(judging: Judging(configuration), listeners: list))
        currentListeners = Atomic(UInt(bitPattern: Unmanaged.passUnretained(list).toOpaque()))
        flags = Atomic(list.flags)
        installLimiter(configuration.concurrencyLimit)
        circuit.replicate(to: storage)
        if !list.isEmpty { circuit.subscribe(self) }
    }
}
