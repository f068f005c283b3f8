/// Something a breaker did, as its listeners hear it.
///
/// Per-call events (``Kinds/admitted``, ``Kinds/succeeded``, ``Kinds/failed``, ``Kinds/ignored``,
/// ``Kinds/slow``, ``Kinds/rejected``) are delivered on the thread or task that made the call, while
/// it makes it. Changes of the circuit (``Kinds/stateChanged``, ``Kinds/modeChanged``) come from the
/// circuit's change stream: in order, once each, never two at a time for one circuit, on the thread
/// that made the change (or the thread already delivering earlier changes).
public struct BreakerEvent: Sendable {
    /// Kinds of event, as a set: what a listener is interested in (``CircuitBreakerListener/interests``).
    public struct Kinds: OptionSet, Sendable, Hashable {
        /// The bits of the set.
        public let rawValue: UInt32
        /// A set from its bits.
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// A call was admitted and is about to run.
        public static let admitted = Kinds(rawValue: 1 << 0)
        /// A call succeeded, or threw an error that counts as a success (an excluded one).
        public static let succeeded = Kinds(rawValue: 1 << 1)
        /// A call failed.
        public static let failed = Kinds(rawValue: 1 << 2)
        /// A call ended with an outcome that is not counted (cancelled, or classified so).
        public static let ignored = Kinds(rawValue: 1 << 3)
        /// A call took at least the slow-call threshold; follows its outcome event.
        public static let slow = Kinds(rawValue: 1 << 4)
        /// A call was rejected without running.
        public static let rejected = Kinds(rawValue: 1 << 5)
        /// The circuit entered a state (manual transitions included, even to the same state).
        public static let stateChanged = Kinds(rawValue: 1 << 6)
        /// The circuit's operating mode changed.
        public static let modeChanged = Kinds(rawValue: 1 << 7)

        /// Not an event: asks the breaker to time every call, so that outcome events carry a
        /// ``BreakerEvent/duration`` even without slow-call detection (a metrics timer needs this).
        /// Timing reads the clock twice per call.
        public static let durations = Kinds(rawValue: 1 << 8)

        /// Every per-call event except rejections: what costs a listener on every call.
        public static let calls: Kinds = [.admitted, .succeeded, .failed, .ignored, .slow]
        /// The changes of the circuit.
        public static let changes: Kinds = [.stateChanged, .modeChanged]
        /// Every kind of event (not ``durations``).
        public static let all = Kinds(rawValue: 0xFF)
    }

    /// What happened: exactly one of ``Kinds``.
    public let kind: Kinds
    /// For ``Kinds/failed``, the error (a ``FailedResult`` for a returned value judged a failure); for
    /// ``Kinds/succeeded`` and ``Kinds/ignored``, the error that was classified so, if the call threw;
    /// for ``Kinds/rejected``, the ``CircuitBreakerError`` the caller gets.
    public let error: (any Error)?
    private let nanoseconds: (duration: Int64, retryAfter: Int64)
    private let changed: ChangeBox?

    /// For outcome events of timed calls (slow-call detection on, or a listener interested in
    /// ``Kinds/durations``), how long the call took.
    public var duration: Duration? { nanoseconds.duration < 0 ? nil : .nanoseconds(nanoseconds.duration) }
    /// For ``Kinds/rejected``, how long until a call may be let through.
    public var retryAfter: Duration? { nanoseconds.retryAfter < 0 ? nil : .nanoseconds(nanoseconds.retryAfter) }
    /// For ``Kinds/rejected``, why the call was turned away (``CircuitBreakerError/Reason/open``,
    /// ``CircuitBreakerError/Reason/rampingUp``, ...).
    public var rejectionReason: CircuitBreakerError.Reason? { kind == .rejected ? (error as? CircuitBreakerError)?.reason : nil }
    /// For ``Kinds/stateChanged`` and ``Kinds/modeChanged``, the change with its cause.
    public var change: CircuitChange? { changed?.change }

    /// Creates an event; breakers create these, tests of listeners may too.
    public init(kind: Kinds, error: (any Error)? = nil, duration: Duration? = nil, retryAfter: Duration? = nil, change: CircuitChange? = nil) {
        self.init(kind: kind, error: error, durationNanoseconds: duration?.nanoseconds ?? -1, retryAfterNanoseconds: retryAfter?.nanoseconds ?? -1, change: change)
    }

    /// An event with times in nanoseconds (negative: none). Per-call events stay a few words, cheap to
    /// pass to every listener; a change travels behind one reference.
    init(kind: Kinds, error: (any Error)?, durationNanoseconds: Int64, retryAfterNanoseconds: Int64, change: CircuitChange?) {
        self.kind = kind
        self.error = error
        nanoseconds = (max(-1, durationNanoseconds), max(-1, retryAfterNanoseconds))
        changed = change.map(ChangeBox.init)
    }

    private final class ChangeBox: Sendable {
        let change: CircuitChange
        init(_ change: CircuitChange) { self.change = change }
    }
}
