/// Reading what the breaker has seen.
extension CircuitBreaker {
    /// The breaker's counts and rates now. Reading takes the state lock for a few field copies and
    /// never waits on a call; the lifetime counts are summed from per-thread stripes.
    public var metrics: CircuitBreakerMetrics {
        let view = circuit.view(now: time.now())
        return CircuitBreakerMetrics(
            state: view.state, mode: view.mode, timeInState: Duration(nanoseconds: max(0, view.timeInState)),
            successes: counters.total(.success), failures: counters.total(.failure), ignored: counters.total(.ignored),
            rejected: counters.total(.rejected), slowCalls: counters.total(.slow), window: view.window,
            admittedFraction: view.admittedFraction)
    }

    /// The circuit's state, to restore later (after a restart, say) with
    /// ``InMemoryStorage/init(restoring:)``. The remaining open time is measured on the breaker's clock.
    ///
    /// ```swift
    /// let saved = try JSONEncoder().encode(breaker.snapshot())
    /// // ... after a restart:
    /// let snapshot = try JSONDecoder().decode(CircuitSnapshot.self, from: saved)
    /// let breaker = CircuitBreaker(name: "db", storage: InMemoryStorage(restoring: snapshot))
    /// ```
    public func snapshot() -> CircuitSnapshot {
        circuit.snapshot()
    }
}

/// A breaker's counts and rates at one moment (see ``CircuitBreaker/metrics``).
public struct CircuitBreakerMetrics: Sendable, Hashable {
    /// The state.
    public var state: CircuitState
    /// The operating mode.
    public var mode: OperatingMode
    /// How long the circuit has been in ``state``.
    public var timeInState: Duration
    /// Calls that succeeded (including errors counted as successes), since the breaker was created.
    public var successes: Int
    /// Calls that failed.
    public var failures: Int
    /// Calls whose outcome was ignored (cancelled, or classified so).
    public var ignored: Int
    /// Calls rejected without running.
    public var rejected: Int
    /// Calls slower than the slow-call threshold (also counted as a success or failure).
    public var slowCalls: Int
    /// The sliding window's counts (empty when no policy keeps a window).
    public var window: WindowSnapshot
    /// The fraction of ordinary calls the circuit lets through now: 1 while closed, rising from the
    /// ramp's initial fraction while it ramps up after recovering (``RecoveryRamp``), less what the
    /// adaptive throttle sheds (``AdaptiveThrottle``), 0 while open or half-open (when only trials run).
    public var admittedFraction: Double

    /// Every call made through the breaker: `successes + failures + ignored + rejected`.
    public var calls: Int { successes + failures + ignored + rejected }
    /// The window's failure rate (0 when empty).
    public var failureRate: Double { window.failureRate }
    /// The window's slow-call rate (0 when empty).
    public var slowCallRate: Double { window.slowCallRate }
    /// Counted failures in a row.
    public var consecutiveFailures: Int { window.consecutiveFailures }

    /// Creates a metrics value; breakers create these, tests of exporters may too.
    public init(
        state: CircuitState, mode: OperatingMode = .normal, timeInState: Duration = .zero, successes: Int = 0, failures: Int = 0,
        ignored: Int = 0, rejected: Int = 0, slowCalls: Int = 0, window: WindowSnapshot = WindowSnapshot(),
        admittedFraction: Double? = nil
    ) {
        self.admittedFraction = admittedFraction ?? (state == .closed ? 1 : 0)
        self.state = state
        self.mode = mode
        self.timeInState = timeInState
        self.successes = successes
        self.failures = failures
        self.ignored = ignored
        self.rejected = rejected
        self.slowCalls = slowCalls
        self.window = window
    }
}
