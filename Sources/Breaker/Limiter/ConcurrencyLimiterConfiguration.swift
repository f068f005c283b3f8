extension ConcurrencyLimiter {
    /// Everything that shapes a limiter, with documented defaults.
    ///
    /// ```swift
    /// var configuration = ConcurrencyLimiter.Configuration()
    /// configuration.algorithm = .aimd()
    /// configuration.initialLimit = 10
    /// configuration.maxLimit = 50
    /// configuration.maxWait = .milliseconds(50)      // async calls wait up to 50 ms for a slot
    /// let limiter = try ConcurrencyLimiter(name: "search", validating: configuration)
    /// ```
    ///
    /// The defaults: Gradient2 with Netflix's parameters, starting at 20 calls in flight and moving
    /// between 1 and 200; no waiting (a call with no free slot is rejected at once).
    public struct Configuration: Sendable, Hashable {
        /// How the limit is set. Default ``LimitAlgorithm/gradient2(tolerance:smoothing:longWindow:queueSize:)``
        /// with Netflix's defaults.
        public var algorithm: LimitAlgorithm = .gradient2()
        /// The limit an adaptive algorithm starts at. Default 20 (Netflix's); within
        /// ``minLimit`` ... ``maxLimit``. ``LimitAlgorithm/fixed(_:)`` ignores it.
        public var initialLimit: Int = 20
        /// The lowest limit an adaptive algorithm goes to. Default 1; 1 ... ``maxLimit``. (Netflix's
        /// default is 20, which keeps a limiter from ever shedding below where it started.)
        /// ``LimitAlgorithm/fixed(_:)`` ignores it.
        public var minLimit: Int = 1
        /// The highest limit an adaptive algorithm goes to. Default 200 (Netflix's); at most 1,000,000.
        /// ``LimitAlgorithm/fixed(_:)`` ignores it.
        public var maxLimit: Int = 200
        /// How long an async call may wait for a slot when none is free; past it, the call is rejected
        /// with ``CircuitBreakerError/Reason/limited``. `nil` (the default): no queue, a call with no
        /// free slot is rejected at once. Sync calls and the sync `acquire()` never wait. A breaker's own
        /// limiter (``CircuitBreaker/Configuration/concurrencyLimit``) makes its async calls wait too.
        ///
        /// Waiting calls are served first come, first served, as slots free or the limit rises; while
        /// any wait, a new call queues behind them (or, if it cannot wait, is rejected). A waiting task
        /// that is cancelled leaves the queue and throws `CancellationError`.
        public var maxWait: Duration? = nil
        /// Which finished calls count as drops, the signal ``LimitAlgorithm/aimd(backoffRatio:)`` backs
        /// off on. Default: failures, and calls that ran 5 seconds or more (Netflix's AIMD timeout).
        public var drops: DropPolicy = DropPolicy()

        /// The defaults described on each property.
        public init() {}

        /// Checks every value and throws an error naming the first field out of range.
        public func validate() throws(ConfigurationError) {
            try algorithm.validate()
            try ConfigurationError.check((1...1_000_000).contains(maxLimit), "maxLimit", maxLimit, "1...1000000")
            try ConfigurationError.check((1...maxLimit).contains(minLimit), "minLimit", minLimit, "1...maxLimit (\(maxLimit))")
            let bounds = "minLimit...maxLimit (\(minLimit)...\(maxLimit))"
            try ConfigurationError.check((minLimit...maxLimit).contains(initialLimit), "initialLimit", initialLimit, bounds)
            if let maxWait {
                try ConfigurationError.check(maxWait.nanoseconds > 0, "maxWait", maxWait, "at least one nanosecond, or nil")
            }
            if let timeout = drops.timeout {
                try ConfigurationError.check(timeout.nanoseconds > 0, "drops.timeout", timeout, "at least one nanosecond, or nil")
            }
        }
    }

    /// Which finished calls count as *drops*: signs that the dependency is overloaded, on which
    /// ``LimitAlgorithm/aimd(backoffRatio:)`` backs off. Gradient2 and fixed limits ignore drops.
    ///
    /// ```swift
    /// configuration.drops = DropPolicy(failures: false, timeout: .seconds(2))   // only slow calls
    /// ```
    ///
    /// A call whose task was cancelled, or reported ``CallOutcome/ignored``, is never sampled at all.
    public struct DropPolicy: Sendable, Hashable {
        /// Whether a failed call is a drop: a thrown error (unless the calling task was cancelled), or
        /// ``CallOutcome/failure`` reported on a ``ConcurrencyLimiter/Permit``. Default `true`.
        public var failures: Bool
        /// A call that runs this long or longer is a drop, whatever its outcome; `nil`: time alone never
        /// makes a drop. Default 5 seconds, Netflix's AIMD timeout. Measured on the limiter's clock;
        /// with the standard clocks on Linux a timeout of at least 25 ticks of the coarse monotonic
        /// clock (100 ms with the usual 4 ms tick) is timed with that clock, a quarter of the cost.
        public var timeout: Duration?

        /// A drop policy; by default failures and calls of 5 seconds or more are drops.
        public init(failures: Bool = true, timeout: Duration? = .seconds(5)) {
            self.failures = failures
            self.timeout = timeout
        }
    }
}
