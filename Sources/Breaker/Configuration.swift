extension CircuitBreaker {
    /// Everything that shapes a breaker's decisions, with documented defaults.
    ///
    /// ```swift
    /// var configuration = CircuitBreaker.Configuration()
    /// configuration.trip = .failureRate(0.5, minimumCalls: 20)
    /// configuration.window = .duration(.seconds(30), bucket: .seconds(3))
    /// configuration.slowCalls = SlowCallPolicy(threshold: .milliseconds(800), rate: 0.5)
    /// configuration.openDuration = .exponential(maximum: .seconds(300), jitter: 0.1)
    /// let breaker = try CircuitBreaker(name: "payments", validating: configuration)
    /// ```
    ///
    /// The defaults are aiobreaker's: five consecutive failures open the circuit for 60 seconds, one
    /// trial call decides in half-open.
    ///
    /// Two configurations are equal when every field is. Closures compare by identity, since Swift
    /// cannot compare functions: a configuration copied from another is equal to it, but one given its
    /// own closure (``classifyError``, ``TripPolicy/custom(_:)``, ``OpenDurationPolicy/custom(_:)``,
    /// ``ErrorFilter/matching(_:)``), even one with the same text, is not.
    ///
    /// ```swift
    /// var a = CircuitBreaker.Configuration()
    /// a.classifyError = { _ in nil }
    /// let b = a                       // b == a
    /// var c = a
    /// c.classifyError = { _ in nil }  // c != a: another closure
    /// ```
    public struct Configuration: Sendable, Hashable {
        /// Counted failures in a row that open the circuit under ``TripPolicy/consecutiveFailures``
        /// (aiobreaker's `fail_max`). Default 5; at least 1.
        public var failMax: Int = 5
        /// How long the circuit stays open before it lets a trial through (aiobreaker's
        /// `timeout_duration`), and the base of ``openDuration``. Default 60 seconds; positive.
        public var resetTimeout: Duration = .seconds(60)
        /// When a closed circuit opens. Default ``TripPolicy/consecutiveFailures``.
        public var trip: TripPolicy = .consecutiveFailures
        /// The window that rate, slow-call and custom policies read. Default the last 100 calls.
        /// Kept only when a policy reads it.
        public var window: SlidingWindow = .lastCalls(100)
        /// Slow-call detection; `nil` (the default) turns it off.
        public var slowCalls: SlowCallPolicy? = nil
        /// How long each trip keeps the circuit open. Default ``OpenDurationPolicy/fixed``.
        public var openDuration: OpenDurationPolicy = .fixed
        /// How a half-open circuit runs its trials. Default: one trial at a time, one success closes,
        /// a trial older than 60 seconds is given up.
        public var halfOpen: HalfOpenPolicy = HalfOpenPolicy()
        /// How the circuit comes back after its trials succeed: a rising fraction of calls over a
        /// period, then all (see ``RecoveryRamp``). `nil` (the default): every call at once, as
        /// aiobreaker does.
        public var recoveryRamp: RecoveryRamp? = nil
        /// Client-side adaptive throttling while closed (see ``AdaptiveThrottle``): from the first
        /// failure, calls are shed locally in proportion to the failures. `nil` (the default): none.
        public var throttle: AdaptiveThrottle? = nil
        /// A concurrency limit for this breaker's calls (a bulkhead, see ``ConcurrencyLimiter``): a call
        /// admitted by the circuit also takes a slot of the breaker's own limiter, or is rejected with
        /// ``CircuitBreakerError/Reason/limited`` (and the circuit counts nothing for it). The limiter
        /// learns from each call's outcome as the breaker judged it (a failure or a slow call is a
        /// drop). With ``ConcurrencyLimiter/Configuration/maxWait``, an async call with no free slot
        /// waits for one up to that long before the circuit decides (so no trial slot waits in the
        /// queue); sync calls never wait. Each breaker has its own limiter, even on a shared circuit.
        /// `nil` (the default): no limit.
        public var concurrencyLimit: ConcurrencyLimiter.Configuration? = nil
        /// Errors that count as successes (aiobreaker's `exclude`). Default none.
        public var exclude: [ErrorFilter] = []
        /// Decides how a thrown error counts before any other rule; return `nil` to fall back to the
        /// defaults: whatever a cancelled task throws is ignored (the caller gave up; a `CancellationError`
        /// from a task that was not cancelled counts like any other error), an ``exclude`` match is a
        /// success, anything else a failure. Runs outside the breaker's lock. Default `nil`.
        ///
        /// For equality each assignment of a closure is a new classifier, even of a closure read from
        /// another configuration: copy the whole configuration to keep two equal.
        public var classifyError: (@Sendable (any Error) -> CallOutcome?)? {
            get { classifier?.classify }
            set { classifier = newValue.map(ErrorClassifier.init) }
        }
        /// The stored ``classifyError``, with the identity that equality compares.
        private var classifier: ErrorClassifier? = nil
        /// When `true`, the call that trips the circuit, and a failed half-open trial, rethrow their
        /// own error instead of ``CircuitBreakerError`` (pybreaker's `throw_new_error_on_trip=False`).
        /// Default `false`.
        public var throwOriginalErrorOnTrip: Bool = false
        /// The time limit of async calls made with ``CallOptions`` that set none of their own: past it,
        /// the call's task is cancelled, the caller gets ``CircuitBreakerError/Reason/timedOut``, and the
        /// call counts as a failure and as slow. `nil` (the default): no limit. The plain `call { }`
        /// runs its closure in the caller's task and cannot be interrupted; see
        /// ``CircuitBreaker/call(_:_:)``.
        public var timeLimit: Duration? = nil

        /// The defaults described on each property.
        public init() {}

        /// A classifier closure with the identity made at its assignment: equal only to its copies.
        private struct ErrorClassifier: Sendable, Hashable {
            let classify: @Sendable (any Error) -> CallOutcome?
            private let identity = ClosureIdentity()

            init(_ classify: @escaping @Sendable (any Error) -> CallOutcome?) { self.classify = classify }

            static func == (lhs: ErrorClassifier, rhs: ErrorClassifier) -> Bool { lhs.identity == rhs.identity }
            func hash(into hasher: inout Hasher) { hasher.combine(identity) }
        }

        /// Checks every value and throws an error naming the first field out of range.
        public func validate() throws(ConfigurationError) {
            try ConfigurationError.check(failMax >= 1, "failMax", failMax, "1...\(Int.max)")
            try ConfigurationError.check(resetTimeout.nanoseconds > 0, "resetTimeout", resetTimeout, "at least one nanosecond")
            try trip.validate()
            switch window.kind {
            case .calls(let count):
                try ConfigurationError.check((1...1_000_000).contains(count), "window.lastCalls", count, "1...1000000")
            case .time(let span, let bucket):
                try ConfigurationError.check(bucket.nanoseconds > 0, "window.duration bucket", bucket, "at least one nanosecond")
                try ConfigurationError.check(span >= bucket, "window.duration span", span, "at least one bucket (\(bucket))")
                let spanNanos = span.nanoseconds
                let bucketNanos = bucket.nanoseconds
                try ConfigurationError.check(bucketNanos > 0 && spanNanos % bucketNanos == 0, "window.duration span", span, "a whole multiple of the bucket width \(bucket)")
                try ConfigurationError.check(spanNanos / bucketNanos <= 1_000_000, "window.duration span", span, "at most 1000000 buckets of \(bucket)")
            }
            if let slowCalls {
                try ConfigurationError.check(slowCalls.threshold.nanoseconds > 0, "slowCalls.threshold", slowCalls.threshold, "at least one nanosecond")
                try ConfigurationError.check(slowCalls.rate > 0 && slowCalls.rate <= 1, "slowCalls.rate", slowCalls.rate, "0 < rate ≤ 1")
                try ConfigurationError.check(slowCalls.minimumCalls >= 1, "slowCalls.minimumCalls", slowCalls.minimumCalls, "1...\(Int.max)")
            }
            switch openDuration.kind {
            case .fixed, .custom: break
            case .exponential(let multiplier, let maximum, let jitter):
                try ConfigurationError.check(multiplier >= 1 && multiplier.isFinite, "openDuration.multiplier", multiplier, "1 ≤ multiplier, finite")
                try ConfigurationError.check(maximum >= resetTimeout, "openDuration.maximum", maximum, "at least resetTimeout (\(resetTimeout))")
                try ConfigurationError.check(jitter >= 0 && jitter < 1, "openDuration.jitter", jitter, "0 ≤ jitter < 1")
            }
            try ConfigurationError.check(halfOpen.permittedCalls >= 1, "halfOpen.permittedCalls", halfOpen.permittedCalls, "1...\(Int.max)")
            try ConfigurationError.check(halfOpen.successesToClose >= 1, "halfOpen.successesToClose", halfOpen.successesToClose, "1...\(Int.max)")
            try recoveryRamp?.validate()
            try throttle?.validate()
            do {
                try concurrencyLimit?.validate()
            } catch {
                throw ConfigurationError(field: "concurrencyLimit.\(error.field)", value: error.value, allowed: error.allowed)
            }
            if let timeLimit {
                try ConfigurationError.check(timeLimit.nanoseconds > 0, "timeLimit", timeLimit, "at least one nanosecond, or nil")
            }
            if let maxTrialDuration = halfOpen.maxTrialDuration {
                try ConfigurationError.check(maxTrialDuration.nanoseconds > 0, "halfOpen.maxTrialDuration", maxTrialDuration, "at least one nanosecond, or nil")
            }
        }
    }
}

/// A configuration value out of its allowed range.
///
/// ```
/// invalid circuit breaker configuration: failMax = 0; allowed: 1...9223372036854775807
/// ```
public struct ConfigurationError: Error, Hashable, CustomStringConvertible {
    /// The field, as spelled in ``CircuitBreaker/Configuration`` (`failMax`, `halfOpen.permittedCalls`, ...).
    public let field: String
    /// The rejected value, described.
    public let value: String
    /// The allowed range, described.
    public let allowed: String

    /// Creates an error for `field`.
    public init(field: String, value: String, allowed: String) {
        self.field = field
        self.value = value
        self.allowed = allowed
    }

    /// `invalid circuit breaker configuration: <field> = <value>; allowed: <allowed>`.
    public var description: String {
        "invalid circuit breaker configuration: \(field) = \(value); allowed: \(allowed)"
    }

    static func check(_ condition: Bool, _ field: String, _ value: some Any, _ allowed: String) throws(ConfigurationError) {
        if !condition { throw ConfigurationError(field: field, value: "\(value)", allowed: allowed) }
    }
}
