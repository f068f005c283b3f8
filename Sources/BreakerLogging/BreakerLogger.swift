import Breaker
import Logging

/// A listener that logs a breaker's changes of state and mode, and its rejections, to a swift-log
/// `Logger`.
///
/// ```swift
/// import Breaker
/// import BreakerLogging
/// import Logging
///
/// let logger = Logger(label: "com.example.payments")
/// let breaker = CircuitBreaker(name: "db")
/// breaker.addListener(BreakerLogger(logger: logger))
/// // warning: circuit breaker 'db' opened: failure rate 62.5 % ≥ 50 %
/// //   breaker=db breaker.state=open breaker.previous_state=closed breaker.cause=failure rate 62.5 % ≥ 50 % retry_after=60
/// ```
///
/// **What it logs.**
/// - Every transition (`BreakerEvent.Kinds.stateChanged`), at ``Options/openLevel`` (default
///   `.warning`) when the circuit opens and at ``Options/transitionLevel`` (default `.notice`) when it
///   closes or goes half-open. Message: `circuit breaker 'db' opened: <cause>`, `... reopened: trial
///   failed`, `... went half-open: open period elapsed`, `... closed: trial succeeded`.
/// - Every change of operating mode (`BreakerEvent.Kinds.modeChanged`), at ``Options/modeLevel``
///   (default `.notice`): `circuit breaker 'db' mode forcedOpen (was normal)`.
/// - Rejections (`BreakerEvent.Kinds.rejected`), at ``Options/rejectionLevel`` (default `.debug`), at
///   most one line per breaker per ``Options/rejectionInterval`` (default one second); the next line
///   after a quiet interval says how many were left out (metadata `suppressed`).
/// - Nothing for calls that are admitted, succeed or fail: a breaker with only this listener keeps
///   healthy calls on its lock-free path.
///
/// **Metadata** (every value a string):
///
/// | key | on | value |
/// |---|---|---|
/// | `breaker` | every line (if the breaker has a name) | the breaker's name |
/// | `breaker.state` | every line | `closed`, `open` or `half-open`, after the change |
/// | `breaker.previous_state` | transitions, mode changes | the state before the change |
/// | `breaker.cause` | transitions, mode changes | `TransitionCause.description`, e.g. `5 consecutive failures` |
/// | `breaker.mode`, `breaker.previous_mode` | mode changes | `OperatingMode.description` |
/// | `retry_after` | openings, rejections | seconds until a call may be let through, e.g. `30` or `12.5`; left out while forced open |
/// | `breaker.reason` | rejections | `CircuitBreakerError.Reason.description`: `open`, `rampingUp`, `throttled`; the message names any but `open` |
/// | `suppressed` | a rejection line after left-out ones | how many rejections were not logged since the previous line |
///
/// The logger's own metadata (set on the `Logger` you pass) is kept, and its log level decides what is
/// written: a rejection below the logger's level costs one comparison and is not counted as suppressed.
///
/// **Threads.** Safe to use from any thread: transitions need no state, and the rejection limit is kept
/// in atomics (a logger added to several breakers keeps a limit for each, the extra ones behind a
/// mutex). It never bootstraps the logging system nor creates a `Logger`: it writes to the one it is
/// given.
public final class BreakerLogger: CircuitBreakerListener {
    /// What a ``BreakerLogger`` logs and how loudly.
    ///
    /// ```swift
    /// var options = BreakerLogger.Options()
    /// options.openLevel = .error
    /// options.rejectionInterval = .seconds(10)
    /// breaker.addListener(BreakerLogger(logger: logger, options: options))
    /// ```
    public struct Options: Sendable, Hashable {
        /// The level of a transition to open (a trip, a failed trial, `open()`, forced open). Default `.warning`.
        public var openLevel: Logger.Level
        /// The level of a transition to closed or half-open. Default `.notice`.
        public var transitionLevel: Logger.Level
        /// The level of a change of operating mode. Default `.notice`.
        public var modeLevel: Logger.Level
        /// The level of a rejection. Default `.debug`.
        public var rejectionLevel: Logger.Level
        /// At most one rejection line per breaker per this interval; zero or less logs every
        /// rejection. Default one second.
        public var rejectionInterval: Duration

        /// Options with the given values; every argument has the documented default.
        ///
        /// ```swift
        /// let quiet = BreakerLogger.Options(transitionLevel: .info, rejectionInterval: .seconds(60))
        /// ```
        public init(
            openLevel: Logger.Level = .warning,
            transitionLevel: Logger.Level = .notice,
            modeLevel: Logger.Level = .notice,
            rejectionLevel: Logger.Level = .debug,
            rejectionInterval: Duration = .seconds(1)
        ) {
            self.openLevel = openLevel
            self.transitionLevel = transitionLevel
            self.modeLevel = modeLevel
            self.rejectionLevel = rejectionLevel
            self.rejectionInterval = rejectionInterval
        }

        /// The level of a transition into `state`: ``openLevel`` for open, ``transitionLevel`` otherwise.
        ///
        /// ```swift
        /// BreakerLogger.Options().level(entering: .open)   // .warning
        /// ```
        public func level(entering state: CircuitState) -> Logger.Level {
            state == .open ? openLevel : transitionLevel
        }
    }

    /// Where lines go.
    public let logger: Logger
    /// What is logged and how loudly.
    public let options: Options

    /// Nanoseconds elapsed on the injected clock since this logger was created.
    private let elapsed: @Sendable () -> Int64
    private let interval: Int64
    private let limiters = RejectionLimiters()

    /// A listener that writes to `logger`, timing the rejection limit on `clock`.
    ///
    /// ```swift
    /// breaker.addListener(BreakerLogger(logger: logger))
    ///
    /// // In tests, a manual clock drives the rejection limit:
    /// let clock = ManualClock()
    /// breaker.addListener(BreakerLogger(logger: logger, clock: clock))
    /// ```
    ///
    /// - Parameters:
    ///   - logger: The logger to write to; its label, level, handler and metadata are kept as given.
    ///   - options: Levels and the rejection limit; see ``Options``.
    ///   - clock: The clock that times the rejection limit; a `ContinuousClock` by default. (Listeners
    ///     do not see the breaker's clock; pass the same clock as the breaker's to keep them in step.)
    public init<C: Clock>(logger: Logger, options: Options = Options(), clock: C = ContinuousClock()) where C.Duration == Duration {
        self.logger = logger
        self.options = options
        let start = clock.now
        elapsed = { start.duration(to: clock.now).nanoseconds }
        interval = options.rejectionInterval.nanoseconds
    }

    /// Changes of state and mode, and rejections: never the events of a healthy call.
    ///
    /// ```swift
    /// BreakerLogger(logger: logger).interests   // [.stateChanged, .modeChanged, .rejected]
    /// ```
    public var interests: BreakerEvent.Kinds { [.stateChanged, .modeChanged, .rejected] }

    /// Logs `event` (see the type's discussion); the breaker calls this.
    ///
    /// ```swift
    /// // Tests of the listener alone may call it directly:
    /// listener.handle(BreakerEvent(kind: .rejected, retryAfter: .seconds(5)), from: breaker)
    /// ```
    public func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        switch event.kind {
        case .rejected: logRejection(event, from: breaker)
        case .stateChanged: if let change = event.change { logTransition(change, from: breaker) }
        case .modeChanged: if let change = event.change { logModeChange(change, from: breaker) }
        default: break
        }
    }

    // MARK: Lines

    private func logTransition(_ change: CircuitChange, from breaker: CircuitBreaker) {
        let level = options.level(entering: change.state)
        guard logger.logLevel <= level else { return }
        let verb =
            switch change.state {
            case .open: change.previousState == .halfOpen ? "reopened" : "opened"
            case .halfOpen: "went half-open"
            case .closed: "closed"
            }
        var metadata = Self.metadata(breaker, state: change.state)
        metadata["breaker.previous_state"] = .string(change.previousState.description)
        metadata["breaker.cause"] = .string(change.cause.description)
        if change.state == .open, let remaining = change.snapshot.openRemaining, !remaining.isUnbounded {
            metadata["retry_after"] = .string(remaining.secondsText)
        }
        logger.log(level: level, "\(Self.subject(breaker)) \(verb): \(change.cause)", metadata: metadata)
    }

    private func logModeChange(_ change: CircuitChange, from breaker: CircuitBreaker) {
        let level = options.modeLevel
        guard logger.logLevel <= level else { return }
        var metadata = Self.metadata(breaker, state: change.state)
        metadata["breaker.previous_state"] = .string(change.previousState.description)
        metadata["breaker.cause"] = .string(change.cause.description)
        metadata["breaker.mode"] = .string(change.mode.description)
        metadata["breaker.previous_mode"] = .string(change.previousMode.description)
        logger.log(level: level, "\(Self.subject(breaker)) mode \(change.mode) (was \(change.previousMode))", metadata: metadata)
    }

    private func logRejection(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        let level = options.rejectionLevel
        guard logger.logLevel <= level else { return }
        var suppressed = 0
        if interval > 0 {
            guard let left = limiters.limiter(for: breaker).admit(now: elapsed(), interval: interval) else { return }
            suppressed = left
        }
        let state = breaker.state
        var metadata = Self.metadata(breaker, state: state)
        // A circuit forced open reports no meaningful retry time (the core says zero or "forever").
        if let retryAfter = event.retryAfter, !retryAfter.isUnbounded, breaker.mode != .forcedOpen {
            metadata["retry_after"] = .string(retryAfter.secondsText)
        }
        if let reason = event.rejectionReason { metadata["breaker.reason"] = .string(reason.description) }
        var message = "\(Self.subject(breaker)) rejected a call"
        if let reason = event.rejectionReason, reason != .open { message += " (\(reason))" }
        if suppressed > 0 {
            metadata["suppressed"] = .string(String(suppressed))
            message += " (\(suppressed) earlier \(suppressed == 1 ? "rejection" : "rejections") not logged)"
        }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    /// `circuit breaker 'db'`, or `circuit breaker` for one without a name.
    private static func subject(_ breaker: CircuitBreaker) -> String {
        breaker.name.map { "circuit breaker '\($0)'" } ?? "circuit breaker"
    }

    /// The metadata every line carries.
    private static func metadata(_ breaker: CircuitBreaker, state: CircuitState) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["breaker.state": .string(state.description)]
        if let name = breaker.name { metadata["breaker"] = .string(name) }
        return metadata
    }
}
