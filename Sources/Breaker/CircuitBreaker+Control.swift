import Synchronization

/// Reading and steering the breaker: state, manual transitions, modes, configuration, listeners and
/// exclusions. Every change here is safe while calls are in flight.
extension CircuitBreaker {
    /// The current state. An open circuit whose timeout has passed still reads `open` until the next
    /// call moves it to half-open.
    public var state: CircuitState { PublishedWord.state(of: cell.word.load(ordering: .acquiring)) }

    /// The operating mode (``OperatingMode/normal`` unless set with ``setMode(_:)``).
    public var mode: OperatingMode { withPolicy(now: nil) { machine, _, _ in machine.mode } }

    /// Counted failures in a row (aiobreaker's `fail_counter`): reset by any success and by closing,
    /// kept by `open()` and `halfOpen()`; a failed trial adds one, so it reads `failMax + 1` after one.
    public var failureCount: Int { withPolicy(now: nil) { machine, _, _ in machine.consecutiveFailures } }

    /// How long until an open circuit lets a trial call through: zero once the timeout has passed,
    /// `nil` unless the circuit is open.
    public var retryAfter: Duration? {
        let now = time.now()
        return withPolicy(now: now) { machine, policy, _ in machine.retryAfter(now: now, policy: policy) }
            .map { Duration(nanoseconds: $0) }
    }

    /// Suspends, on the breaker's clock, until a trial call is allowed (aiobreaker's
    /// `sleep_until_open`); returns at once unless the circuit is open. Throws `CancellationError`
    /// if the task is cancelled while waiting.
    public func waitUntilRetry() async throws {
        let now = time.now()
        guard let remaining = withPolicy(now: now, { machine, policy, _ in machine.retryAfter(now: now, policy: policy) }),
            remaining > 0
        else { return }
        try await time.sleepUntil(now.addingSaturating(remaining))
    }

    // MARK: Manual control

    /// Opens the circuit now, for ``resetTimeout`` from now, and notifies listeners (even if it was open).
    public func open() { force(.open) }

    /// Moves the circuit to half-open, so the next calls are trials, and notifies listeners.
    public func halfOpen() { force(.halfOpen) }

    /// Closes the circuit, resets the failure count, and notifies listeners (even if it was closed).
    public func close() { force(.closed) }

    private func force(_ target: CircuitState) {
        transition { machine, now, policy, changes in machine.force(target, now: now, policy: policy, changes: &changes) }
    }

    /// Runs a manual change on the machine at the current time, then reports its transitions.
    private func transition(_ change: (inout CircuitMachine, Nanoseconds, MachinePolicy, inout Transitions) -> Void) {
        let now = time.now()
        let changes = withPolicy(now: now) { machine, policy, notifier in
            var changes = Transitions()
            change(&machine, now, policy, &changes)
            notifier.transitions(changes)
            return changes
        }
        finishEvents(changes)
    }

    /// Overrides the state machine: ``OperatingMode/disabled``, ``OperatingMode/forcedOpen``,
    /// ``OperatingMode/metricsOnly``, or back to ``OperatingMode/normal``. Listeners hear of the state
    /// change the mode implies (forced open reads `open`; disabled and metrics-only read `closed`).
    /// Back to normal from forced open, the circuit stays open for ``resetTimeout`` from then.
    public func setMode(_ mode: OperatingMode) {
        transition { machine, now, policy, changes in machine.setMode(mode, now: now, policy: policy, changes: &changes) }
    }

    // MARK: Configuration

    /// The current configuration.
    public var configuration: Configuration { settings.withLock { $0.configuration } }

    /// Changes the configuration while the breaker runs; throws, changing nothing, if the result is
    /// invalid. A new window shape starts empty; calls in flight finish under the new rules.
    ///
    /// ```swift
    /// try breaker.reconfigure { $0.trip = .failureRate(0.25, minimumCalls: 50) }
    /// ```
    public func reconfigure(_ change: (inout Configuration) throws -> Void) throws {
        let previous = self.configuration
        var configuration = previous
        try change(&configuration)
        try configuration.validate()
        let box = PolicyBox(configuration)
        settings.withLock { settings in
            settings.configuration = configuration
            settings.policy = box
        }
        refreshFlags()
        policyVersion.add(1, ordering: .releasing)
        // Install the policy now; a changed fixed timeout applies to the current open period at once.
        let resize = configuration.resetTimeout != previous.resetTimeout && !configuration.openDuration.isSized
        withPolicy(now: nil) { machine, policy, _ in
            if resize { machine.resizeOpenPeriod(to: policy.resetTimeout) }
        }
    }

    /// Counted failures in a row that open the circuit (aiobreaker's `fail_max`). Setting a value
    /// below 1 stops the program; use ``reconfigure(_:)`` to get an error instead.
    public var failMax: Int {
        get { configuration.failMax }
        set { reconfigureOrStop { $0.failMax = newValue } }
    }

    /// How long the circuit stays open (aiobreaker's `timeout_duration`); a change applies to the
    /// current open period too. Setting zero or less stops the program; use ``reconfigure(_:)`` to
    /// get an error instead.
    public var resetTimeout: Duration {
        get { configuration.resetTimeout }
        set { reconfigureOrStop { $0.resetTimeout = newValue } }
    }

    private func reconfigureOrStop(_ change: (inout Configuration) -> Void) {
        do {
            try reconfigure(change)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    /// Recomputes what the call path reads without a lock (the flags and the slow-call threshold) from
    /// the settings. The stores happen under the settings lock, so two concurrent changes cannot
    /// publish out of order.
    func refreshFlags() {
        settings.withLock { settings in
            let wanted = Self.flags(for: settings.policy.policy, listeners: settings.listeners, wrappers: false, time: time)
            let keep = flags.load(ordering: .relaxed) & Flags.hasWrappers
            slowThreshold.store(settings.policy.policy.slowThreshold ?? 0, ordering: .relaxed)
            flags.store(wanted | keep, ordering: .releasing)
        }
    }

    // MARK: Listeners

    /// The registered listeners, in delivery order.
    public var listeners: [any CircuitBreakerListener] { settings.withLock { $0.listeners } }

    /// Adds `listener` after the others; a listener added twice is called twice.
    public func addListener(_ listener: any CircuitBreakerListener) {
        let wasListening = flags.load(ordering: .relaxed) & Flags.hasListeners != 0
        if !wasListening {
            // Start from the state as it is now, so the first event is not a stale catch-up.
            withPolicy(now: nil) { machine, _, _ in
                events.restart(state: machine.state, generation: machine.generation)
            }
        }
        settings.withLock { $0.listeners.append(listener) }
        refreshFlags()
    }

    /// Removes the first registration of `listener` (compared by identity); returns whether it was registered.
    @discardableResult
    public func removeListener(_ listener: any CircuitBreakerListener) -> Bool {
        let removed = settings.withLock { settings in
            guard let index = settings.listeners.firstIndex(where: { $0 === listener }) else { return false }
            settings.listeners.remove(at: index)
            return true
        }
        refreshFlags()
        return removed
    }

    // MARK: Exclusions

    /// The errors that count as successes, in matching order.
    public var excluded: [ErrorFilter] { configuration.exclude }

    /// Adds `filter` after the others.
    public func addExcluded(_ filter: ErrorFilter) {
        settings.withLock { $0.configuration.exclude.append(filter) }
    }

    /// Removes the first filter equal to `filter`; returns whether there was one.
    @discardableResult
    public func removeExcluded(_ filter: ErrorFilter) -> Bool {
        settings.withLock { settings in
            guard let index = settings.configuration.exclude.firstIndex(of: filter) else { return false }
            settings.configuration.exclude.remove(at: index)
            return true
        }
    }

    /// Whether the breaker would count `error` as a failure (aiobreaker's `is_system_error`): `false`
    /// when an exclusion matches, when the configured classifier says otherwise, and for `CancellationError`.
    public func isFailure(_ error: any Error) -> Bool {
        Self.classify(error, configuration) == .failure
    }
}
