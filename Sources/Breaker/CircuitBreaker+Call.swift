import Synchronization

/// Calling through the breaker.
///
/// `call` runs the closure if the breaker admits it, counts the outcome, and rethrows the closure's
/// error unchanged, except on the call that opens the circuit, which throws ``CircuitBreakerError``
/// (``CircuitBreakerError/Reason/tripped`` or ``CircuitBreakerError/Reason/trialFailed``) with the
/// error as its ``CircuitBreakerError/underlying`` (unless `throwOriginalErrorOnTrip` is set).
/// A rejected call throws ``CircuitBreakerError/Reason/open`` without running the closure.
extension CircuitBreaker {
    /// Runs `body` through the breaker.
    ///
    /// ```swift
    /// let user = try breaker.call { try database.user(id: 42) }
    /// ```
    @inlinable
    public func call<R>(_ body: () throws -> R) throws -> R {
        let word = circuit.word.load(ordering: .acquiring)
        let flags = flags.load(ordering: .relaxed)
        guard flags & Flags.generalPath == 0, Circuit.admitsFreely(word) else {
            // A rejection is thrown from here, once, untyped: no typed error travels up the admission.
            if Circuit.mayRejectWithoutLock(word), let rejection = rejectionWithoutLock(word) { throw rejection }
            if flags & Flags.generalPath == 0 && Circuit.onlyThrottles(word) { return try callThrottled(word, body) }
            return try callAdmitting(body)
        }
        if Circuit.timesCalls(word) { return try callTimed(word, body) }
        // Fast path: closed and healthy, calls not timed, no listener of per-call events. Only the
        // published word is kept across the call; the admission is built only if the outcome needs it.
        let result: R
        do {
            result = try body()
        } catch {
            if case .throw(let breakerError) = recordError(Circuit.admittedFreely(word), error) { throw breakerError }
            throw error
        }
        if circuit.successIsQuiet {
            counters.increment(.success)  // nothing to change: no shared write beyond a counter
        } else {
            recordSuccess(Circuit.admittedFreely(word))
        }
        return result
    }

    /// Runs the async `body` through the breaker, in the caller's isolation: a closure that uses an
    /// actor's state can be passed from inside that actor, with no hop.
    ///
    /// ```swift
    /// let page = try await breaker.call { try await client.get(url) }
    /// ```
    @inlinable
    @_disfavoredOverload
    nonisolated(nonsending)
    public func call<R>(_ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        let word = circuit.word.load(ordering: .acquiring)
        let flags = flags.load(ordering: .relaxed)
        guard flags & Flags.generalPath == 0, Circuit.admitsFreely(word) else {
            if Circuit.mayRejectWithoutLock(word), let rejection = rejectionWithoutLock(word) { throw rejection }
            if flags & Flags.generalPath == 0 && Circuit.onlyThrottles(word) { return try await callThrottled(word, body) }
            return try await callAdmitting(body)
        }
        if Circuit.timesCalls(word) { return try await callTimed(word, body) }
        let result: R
        do {
            result = try await body()
        } catch {
            if case .throw(let breakerError) = recordError(Circuit.admittedFreely(word), error) { throw breakerError }
            throw error
        }
        if circuit.successIsQuiet {
            counters.increment(.success)
        } else {
            recordSuccess(Circuit.admittedFreely(word))
        }
        return result
    }

    /// Runs `body` and judges its *returned value* too: `classify` may count a value as a failure
    /// (an HTTP 503 response, say) or as ignored. Thrown errors are judged as by `call(_:)`.
    ///
    /// The value is returned whatever the verdict, except when a failure opens the circuit: that call
    /// throws ``CircuitBreakerError`` with a ``FailedResult`` as its underlying error (or returns the
    /// value when `throwOriginalErrorOnTrip` is set).
    ///
    /// ```swift
    /// let response = try breaker.call(classifyingResult: { $0.status >= 500 ? .failure : .success }) {
    ///     try http.get(url)
    /// }
    /// ```
    public func call<R>(classifyingResult classify: (R) -> CallOutcome, _ body: () throws -> R) throws -> R {
        try run(body, classify: classify, fallback: Self.rethrow)
    }

    /// The async form of `call(classifyingResult:_:)`.
    @_disfavoredOverload
    nonisolated(nonsending)
    public func call<R>(classifyingResult classify: (R) -> CallOutcome, _ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        try await run(body, classify: classify, fallback: Self.rethrow)
    }

    /// Runs `body`, or returns `fallback`'s value instead of throwing ``CircuitBreakerError``: when the
    /// call is rejected, and when it opens the circuit. Other errors are rethrown.
    ///
    /// ```swift
    /// let price = try breaker.call(fallback: { _ in cachedPrice }) { try pricing.quote(item) }
    /// ```
    public func call<R>(fallback: (CircuitBreakerError) throws -> R, _ body: () throws -> R) throws -> R {
        try run(body, classify: Self.countAsSuccess, fallback: fallback)
    }

    /// The async form of `call(fallback:_:)`; the fallback may be async too.
    @_disfavoredOverload
    nonisolated(nonsending)
    public func call<R>(
        fallback: nonisolated(nonsending) (CircuitBreakerError) async throws -> R,
        _ body: nonisolated(nonsending) () async throws -> R
    ) async throws -> R {
        try await run(body, classify: Self.countAsSuccess, fallback: fallback)
    }

    /// The fast path of a circuit that times its calls (slow-call detection): admitted without the
    /// lock, timed, and recorded.
    @inlinable
    func callTimed<R>(_ word: UInt64, _ body: () throws -> R) throws -> R {
        let admitted = try admitTimed(word)
        let result: R
        do {
            result = try body()
        } catch {
            if case .throw(let breakerError) = recordError(admitted, error) { throw breakerError }
            throw error
        }
        recordSuccess(admitted)
        return result
    }

    /// The async form of ``callTimed(_:_:)``.
    @inlinable
    nonisolated(nonsending)
    func callTimed<R>(_ word: UInt64, _ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        let admitted = try admitTimed(word)
        let result: R
        do {
            result = try await body()
        } catch {
            if case .throw(let breakerError) = recordError(admitted, error) { throw breakerError }
            throw error
        }
        recordSuccess(admitted)
        return result
    }

    /// The fast path while the adaptive throttle decides (``Circuit/onlyThrottles(_:)``): its lot
    /// drawn without the lock, and a success that changes nothing but the throttle's accepts and the
    /// counter settled without an admission record.
    @inlinable
    func callThrottled<R>(_ word: UInt64, _ body: () throws -> R) throws -> R {
        let slot = try admitThrottled(word)
        guard slot != 0 else { return try callAdmitting(body) }
        let result: R
        do {
            result = try body()
        } catch {
            if case .throw(let breakerError) = recordError(Circuit.admittedFreely(word, throttleSlot: slot), error) { throw breakerError }
            throw error
        }
        settleThrottled(word, slot)
        return result
    }

    /// The async form of ``callThrottled(_:_:)``.
    @inlinable
    nonisolated(nonsending)
    func callThrottled<R>(_ word: UInt64, _ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        let slot = try admitThrottled(word)
        guard slot != 0 else { return try await callAdmitting(body) }
        let result: R
        do {
            result = try await body()
        } catch {
            if case .throw(let breakerError) = recordError(Circuit.admittedFreely(word, throttleSlot: slot), error) { throw breakerError }
            throw error
        }
        settleThrottled(word, slot)
        return result
    }

    /// Ends a throttled call's success: an accept and the counter when it changes nothing else.
    @usableFromInline
    func settleThrottled(_ word: UInt64, _ slot: UInt64) {
        if circuit.successIsQuiet {
            circuit.accept(slot)
            counters.increment(.success)
        } else {
            recordSuccess(Circuit.admittedFreely(word, throttleSlot: slot))
        }
    }

    // MARK: General path

    /// `call` when the fast path does not apply: admission may reject (thrown straight, with no
    /// fallback to pass through), listeners may be notified, trips may throw.
    @inlinable
    func callAdmitting<R>(_ body: () throws -> R) throws -> R {
        let admitted = try admit()
        let result: R
        do {
            result = flags.load(ordering: .relaxed) & Flags.hasWrappers == 0 ? try body() : try runMarked(body)
        } catch {
            if case .throw(let breakerError) = recordError(admitted, error) { throw breakerError }
            throw error
        }
        recordSuccess(admitted)
        return result
    }

    /// The async form of `callAdmitting(_:)`.
    @inlinable
    nonisolated(nonsending)
    func callAdmitting<R>(_ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        let admitted = try await admitWaiting()
        let result: R
        do {
            result = flags.load(ordering: .relaxed) & Flags.hasWrappers == 0 ? try await body() : try await runMarked(body)
        } catch {
            if case .throw(let breakerError) = recordError(admitted, error) { throw breakerError }
            throw error
        }
        recordSuccess(admitted)
        return result
    }

    /// The classifier of calls that do not judge their result.
    @usableFromInline
    static func countAsSuccess<R>(_ result: R) -> CallOutcome { .success }

    /// The "fallback" of calls without one: throw the breaker's error.
    @usableFromInline
    static func rethrow<R>(_ error: CircuitBreakerError) throws -> R { throw error }

    @usableFromInline
    func run<R>(_ body: () throws -> R, classify: (R) -> CallOutcome, fallback: (CircuitBreakerError) throws -> R) throws -> R {
        let admitted: Admitted
        do {
            admitted = try admit()
        } catch {
            return try fallback(error)
        }
        let result: R
        do {
            result = try runMarked(body)
        } catch {
            guard case .throw(let breakerError) = recordError(admitted, error) else { throw error }
            return try fallback(breakerError)
        }
        guard case .throw(let breakerError) = recordResult(admitted, result, classify(result)) else { return result }
        return try fallback(breakerError)
    }

    @usableFromInline
    nonisolated(nonsending)
    func run<R>(
        _ body: nonisolated(nonsending) () async throws -> R,
        classify: (R) -> CallOutcome,
        fallback: nonisolated(nonsending) (CircuitBreakerError) async throws -> R
    ) async throws -> R {
        let admitted: Admitted
        do {
            admitted = try await admitWaiting()
        } catch let error as CircuitBreakerError {
            return try await fallback(error)
        }
        let result: R
        do {
            result = try await runMarked(body)
        } catch {
            guard case .throw(let breakerError) = recordError(admitted, error) else { throw error }
            return try await fallback(breakerError)
        }
        guard case .throw(let breakerError) = recordResult(admitted, result, classify(result)) else { return result }
        return try await fallback(breakerError)
    }
}
