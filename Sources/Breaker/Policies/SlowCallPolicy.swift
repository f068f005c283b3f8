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
///
/// A call that hangs is slow long before it returns, if it ever does. With ``countsRunningCalls`` (the
/// default), a call of a closed circuit that is still running past the threshold counts as slow at the
/// next admission (within a quarter of the threshold after crossing it), so a dependency that stops
/// answering opens the breaker while the calls hang. Such a call is counted once: its outcome, when it
/// finally ends, is heard by listeners and metrics (its outcome, and `slow`) but not recorded in the window again.
public struct SlowCallPolicy: Sendable, Hashable {
    /// A call that takes at least this long is slow.
    public var threshold: Duration
    /// Open when slow calls make up at least this share (0 < rate ≤ 1) of the window.
    public var rate: Double
    /// The window must hold at least this many calls before the rate is judged.
    public var minimumCalls: Int
    /// Whether calls still running past the threshold count as slow before they end (default `true`).
    /// Tracking them costs an atomic update at admission and at the end of each call.
    public var countsRunningCalls: Bool

    /// Creates a slow-call policy.
    public init(threshold: Duration, rate: Double = 1.0, minimumCalls: Int = 10, countsRunningCalls: Bool = true) {
        self.threshold = threshold
        self.rate = rate
        self.minimumCalls = minimumCalls
        self.countsRunningCalls = countsRunningCalls
    }
}
