/// Counts calls slower than a threshold and opens the circuit when too many are slow.
///
/// Slow successes and slow failures both count as slow (Resilience4j's rule). Durations are measured
/// on the breaker's clock, from admission to the end of the call; the rate is read from the
/// configuration's ``CircuitBreaker/Configuration/window``. With `ContinuousClock` or `SuspendingClock`
/// on Linux, a threshold of at least 25 ticks of the coarse monotonic clock (100 ms with the usual
/// 4 ms tick) is timed with that clock, a quarter of the cost; a call then counts as slow within one
/// tick of the threshold.
///
/// ```swift
/// configuration.slowCalls = SlowCallPolicy(threshold: .milliseconds(500), rate: 0.8, minimumCalls: 10)
/// ```
public struct SlowCallPolicy: Sendable, Hashable {
    /// A call that takes at least this long is slow.
    public var threshold: Duration
    /// Open when slow calls make up at least this share (0 < rate ≤ 1) of the window.
    public var rate: Double
    /// The window must hold at least this many calls before the rate is judged.
    public var minimumCalls: Int

    /// Creates a slow-call policy.
    public init(threshold: Duration, rate: Double = 1.0, minimumCalls: Int = 10) {
        self.threshold = threshold
        self.rate = rate
        self.minimumCalls = minimumCalls
    }
}
