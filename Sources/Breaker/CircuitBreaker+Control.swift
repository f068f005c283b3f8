import Synchronization

/// Reading and steering the breaker: state, manual transitions, modes, configuration, listeners and
/// exclusions. Every change here is safe while calls are in flight.
extension CircuitBreaker {
    /// The current state. An open circuit whose timeout has passed still reads `open` until the next
    /// call moves it to half-open.
    public var state: CircuitState { circuit.state }

    /// The operating mode (``OperatingMode/normal`` unless set with ``setMode(_:)``).
    public var mode: OperatingMode { circuit.mode }

    /// Counted failures in a row (aiobreaker's `fail_counter`): reset by any success and by closing,
    /// kept by `open()` and `halfOpen()`; a failed trial adds one, so it reads `failMax + 1` after one.
    public var failureCount: Int { circuit.failureCount }

    /// How long until a call may be let through: while open, until the open period ends (zero once it
    /// has); while half-open with every trial slot taken, until the oldest trial's deadline
    /// (`maxTrialDuration`; `nil` without one); `nil` while closed.
    public var retryAfter: Duration? {
        circuit.retryAfter(now: time.now()).map { Duration(nanoseconds: $0) }
    }

    /// Suspends, on the breaker's clock, until a call may be let through (aiobreaker's
    /// `sleep_until_open`): while open, until the open period ends; while a half-open trial holds every
    /// slot, until that trial settles or reaches its deadline. Returns at once when a call may go now.
    /// It also returns when the circuit is closed or opened by hand meanwhile, or by a change from
    /// elsewhere. Throws `CancellationError` if the task is cancelled while waiting.
    ///
    /// ```swift
    /// while true {
    ///     do { return try await breaker.call { try await fetch() } }
    ///     catch is CircuitBreakerError { try await breaker.waitUntilRetry() }
    /// }
    /// ```
    public func waitUntilRetry() async throws {
        while true {
            let now = time.now()
            let seen = circuit.wakeups
            guard let deadline = circuit.retryDeadline(now: now), deadline > now else { return }
            try await circuit.waitForChange(after: seen, until: deadline, time: time)
        }
    }

    // MARK: Manual control

    /// Opens the circuit now, for ``resetTimeout`` from now, and notifies listeners (even if it was open).
    public func open() { force(.open) }

    /// Moves the circuit to half-open, so the next calls are trials, and notifies listeners.
    public func halfOpen() { force(.halfOpen) }

    /// Closes the circuit, resets the failure count, and notifies listeners (even if it was closed).
    public func close() { force(.closed) }

    /// Opens the circuit now for `duration` (at least a nanosecond), whatever the reset timeout, and
    /// notifies listeners: for a dependency that said when to come back (an HTTP `Retry-After`).
    ///
    /// ```swift
    /// breaker.open(for: .seconds(30))
    /// ```
    public func open(for duration: Duration) { force(.open, for: max(1, duration.nanoseconds)) }

    private func force(_ target: CircuitState, for duration: Nanoseconds? = nil) {
        circuit.force(target, now: time.now(), openFor: duration)
    }

    /// Overrides the state machine: ``OperatingMode/disabled``, ``OperatingMode/forcedOpen``,
    /// ``OperatingMode/metricsOnly``, or back to ``OperatingMode/normal``. Listeners hear of the mode
    /// change, and of the state change the mode implies (forced open reads `open`; disabled and
    /// metrics-only read `closed`). Back to normal from forced open, the circuit stays open for
    /// ``resetTimeout`` from then.
    public func setMode(_ mode: OperatingMode) {
        circuit.setMode(mode, now: time.now())
    }

    // MARK: Configuration

    /// The configuration: the circuit's policy (shared by every breaker on the circuit) with this
    /// breaker's exclusions, error classifier and `throwOriginalErrorOnTrip`.
    public var configuration: Configuration {
        settings.withLock { $0.judging }.applied(to: circuit.policy.configuration)
    }

    /// Changes the configuration while the breaker runs; throws, changing nothing, if the result is
    /// invalid. A change of the policy applies to every breaker on the circuit; a new window shape
    /// starts empty; calls in flight finish under the new rules.
    ///
    /// ```swift
    /// try breaker.reconfigure { $0.trip = .failureRate(0.25, minimumCalls: 50) }
    /// ```
    public func reconfigure(_ change: (inout Configuration) throws -> Void) throws {
        let previous = configuration
        var configuration = previous
        try change(&configuration)
        try configuration.validate()
        settings.withLock { $0.judging = Judging(configuration) }
        installLimiter(configuration.concurrencyLimit)
        // A changed fixed timeout applies to the current open period at once.
        let resize = configuration.resetTimeout != previous.resetTimeout && !configuration.openDuration.isSized
        _ = circuit.install(configuration, resize: resize)
    }

    /// Counted failures in a row that open the circuit (aiobreaker's `fail_max`). Setting a value
    /// below 1 stops the program; use ``reconfigure(_:)`` to get an error instead.
    public var failMax: Int {
        get { circuit.policy.configuration.failMax }
        set { reconfigureOrStop { $0.failMax = newValue } }
    }

    /// How long the circuit stays open (aiobreaker's `timeout_duration`); a change applies to the
    /// current open period too. Setting zero or less stops the program; use ``reconfigure(_:)`` to
    /// get an error instead.
    public var resetTimeout: Duration {
        get { circuit.policy.configuration.resetTimeout }
        set { reconfigureOrStop { $0.resetTimeout = newValue } }
    }

    private func reconfigureOrStop(_ change: (inout Configuration) -> Void) {
        do {
            try reconfigure(change)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    // MARK: Listeners

    /// The registered listeners, in delivery order.
    public var listeners: [any CircuitBreakerListener] { listenerList.registrations.map(\.listener) }

    /// Adds `listener` after the others; a listener added twice is called twice.
    public func addListener(_ listener: any CircuitBreakerListener) {
        updateListeners { $0.append(ListenerList.Registration(listener: listener, interests: listener.interests)) }
    }

    /// Removes the first registration of `listener` (compared by identity); returns whether it was registered.
    @discardableResult
    public func removeListener(_ listener: any CircuitBreakerListener) -> Bool {
        updateListeners { registrations in
            guard let index = registrations.firstIndex(where: { $0.listener === listener }) else { return false }
            registrations.remove(at: index)
            return true
        }
    }

    // MARK: Exclusions

    /// The errors that count as successes, in matching order.
    public var excluded: [ErrorFilter] { settings.withLock { $0.judging.exclude } }

    /// Adds `filter` after the others.
    public func addExcluded(_ filter: ErrorFilter) {
        settings.withLock { $0.judging.exclude.append(filter) }
    }

    /// Removes the first filter equal to `filter`; returns whether there was one.
    @discardableResult
    public func removeExcluded(_ filter: ErrorFilter) -> Bool {
        settings.withLock { settings in
            guard let index = settings.judging.exclude.firstIndex(of: filter) else { return false }
            settings.judging.exclude.remove(at: index)
            return true
        }
    }

    /// Whether the breaker would count `error` as a failure (aiobreaker's `is_system_error`), thrown
    /// from the calling task: `false` when an exclusion matches, when the configured classifier says
    /// otherwise, and when the calling task is cancelled.
    public func isFailure(_ error: any Error) -> Bool {
        Self.classify(error, settings.withLock { $0.judging }) == .failure
    }
}
