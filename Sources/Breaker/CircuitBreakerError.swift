/// The error a breaker throws when it trips, when a half-open trial fails, and when it rejects a call;
/// a ``ConcurrencyLimiter`` throws it (reason ``Reason/limited``) when it has no free slot.
///
/// ```swift
/// do {
///     try breaker.call { try fetch() }
/// } catch let error as CircuitBreakerError {
///     log("\(error)")                  // circuit breaker 'db' is open: ... retry after 59.9 s
///     if error.reason == .open { serveStale(after: error.retryAfter) }
/// }
/// ```
public struct CircuitBreakerError: Error, CustomStringConvertible {
    /// Why the breaker threw. New reasons may be added; switch with a `default` case.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable { case tripped, trialFailed, open, timedOut, rampingUp, throttled, limited }
        private let kind: Kind

        /// This call failed and its failure opened the circuit.
        public static let tripped = Reason(kind: .tripped)
        /// This call was a half-open trial; it failed and reopened the circuit.
        public static let trialFailed = Reason(kind: .trialFailed)
        /// The circuit is open (or half-open with every trial slot taken): the call was rejected without running.
        public static let open = Reason(kind: .open)
        /// The circuit is recovering (``RecoveryRamp``) and admits only a fraction of calls yet; this
        /// one was rejected without running. Its ``CircuitBreakerError/retryAfter`` is when the fraction
        /// admitted will have grown enough to let it in.
        public static let rampingUp = Reason(kind: .rampingUp)
        /// The circuit's adaptive throttle (``AdaptiveThrottle``) shed this call: the dependency has been
        /// failing, and the breaker sends it fewer calls in proportion. The call did not run; its
        /// ``CircuitBreakerError/retryAfter`` is one tenth of the throttle's window.
        public static let throttled = Reason(kind: .throttled)
        /// The call ran past its time limit: its task was cancelled and the caller was answered at once.
        /// The call counts as a failure and as slow.
        public static let timedOut = Reason(kind: .timedOut)
        /// A ``ConcurrencyLimiter`` had no free slot: the call was rejected without running, at once or
        /// when its bounded wait for a slot (``ConcurrencyLimiter/Configuration/maxWait``) ran out.
        /// ``CircuitBreakerError/retryAfter`` is zero: a slot may free at any moment.
        public static let limited = Reason(kind: .limited)

        /// The message aiobreaker uses for the same situation (in its style for the reasons it lacks).
        public var message: String {
            switch kind {
            case .tripped: "Failures threshold reached, circuit breaker opened."
            case .trialFailed: "Trial call failed, circuit breaker opened."
            case .open: "Timeout not elapsed yet, circuit breaker still open"
            case .timedOut: "Call exceeded its time limit and was cancelled."
            case .rampingUp: "Circuit breaker is ramping up after recovery; call not admitted this time."
            case .throttled: "Circuit breaker is throttling a failing dependency; call shed locally."
            case .limited: "Concurrency limit reached, call rejected."
            }
        }

        /// `tripped`, `trialFailed`, `open`, `timedOut`, `rampingUp`, `throttled` or `limited`.
        public var description: String {
            switch kind {
            case .tripped: "tripped"
            case .trialFailed: "trialFailed"
            case .open: "open"
            case .timedOut: "timedOut"
            case .rampingUp: "rampingUp"
            case .throttled: "throttled"
            case .limited: "limited"
            }
        }
    }

    /// The parts of an error that a breaker can share between its rejections, kept behind one
    /// reference so the error stays small to copy and throw.
    final class Context: Sendable {
        let underlying: (any Error)?
        let breakerName: String?

        init(underlying: (any Error)?, breakerName: String?) {
            self.underlying = underlying
            self.breakerName = breakerName
        }
    }

    /// Why the breaker threw.
    public let reason: Reason
    /// ``retryAfter`` in nanoseconds: the error stays three words, cheap to build, copy and throw.
    private let retryAfterNanoseconds: Int64
    private let context: Context

    /// How long, measured on the breaker's clock, until the breaker lets a trial call through.
    /// Zero when a trial could be attempted now (for example, half-open with its trial slots busy).
    public var retryAfter: Duration { .nanoseconds(retryAfterNanoseconds) }

    /// The error that tripped the circuit (for ``Reason/tripped`` and ``Reason/trialFailed``);
    /// `nil` for a rejection, or when the trip was caused by a returned value or a slow call.
    public var underlying: (any Error)? { context.underlying }
    /// The name of the breaker (or limiter) that threw, if it has one.
    public var breakerName: String? { context.breakerName }

    /// Creates an error; breakers create these, tests and adapters may too.
    public init(reason: Reason, retryAfter: Duration, underlying: (any Error)? = nil, breakerName: String? = nil) {
        self.init(reason: reason, retryAfter: retryAfter.nanoseconds, context: Context(underlying: underlying, breakerName: breakerName))
    }

    init(reason: Reason, retryAfter nanoseconds: Int64, context: Context) {
        self.reason = reason
        retryAfterNanoseconds = nanoseconds
        self.context = context
    }

    /// A one-line account fit for a log: the breaker, the message, when to retry and the cause.
    public var description: String {
        var text = "circuit breaker"
        if let breakerName { text += " '\(breakerName)'" }
        text += ": \(reason.message) (retry after \(retryAfter.formattedSeconds))"
        if let underlying { text += "; caused by: \(underlying)" }
        return text
    }
}

extension Duration {
    /// `1.5 s`, `0.002 s`: a compact rendering for messages.
    var formattedSeconds: String {
        let nanos = nanoseconds
        let millis = (nanos + 500_000) / 1_000_000
        let whole = millis / 1000
        let fraction = millis % 1000
        if fraction == 0 { return "\(whole) s" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits) s"
    }
}
