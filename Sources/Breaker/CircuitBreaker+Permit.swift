/// The two-step API, for code that cannot wrap the protected work in a closure (callbacks,
/// middleware that sees the request and the response separately, streams).
extension CircuitBreaker {
    /// Asks the breaker for permission to make one call; throws ``CircuitBreakerError`` (reason
    /// ``CircuitBreakerError/Reason/open``) when the call must not be made.
    ///
    /// Report the outcome on the returned permit. A permit dropped without a report counts as
    /// ignored: it frees its half-open trial slot and counts nothing.
    ///
    /// ```swift
    /// let permit = try breaker.acquirePermit()
    /// connection.send(request) { response in
    ///     if response.status >= 500 { permit.failed(HTTPError(status: response.status)) }
    ///     else { permit.succeeded() }
    /// }
    /// ```
    public func acquirePermit() throws(CircuitBreakerError) -> CallPermit {
        CallPermit(breaker: self, admitted: try admit())
    }
}

/// Permission for one call through a breaker, from ``CircuitBreaker/acquirePermit()``.
///
/// A permit is used exactly once: each reporting method consumes it, and the compiler rejects a
/// second use. Dropping it unreported counts the call as ignored.
public struct CallPermit: ~Copyable, Sendable {
    private let breaker: CircuitBreaker
    private let admitted: CircuitBreaker.Admitted
    private var reported = false

    init(breaker: CircuitBreaker, admitted: CircuitBreaker.Admitted) {
        self.breaker = breaker
        self.admitted = admitted
    }

    /// The call succeeded.
    public consuming func succeeded() {
        reported = true
        _ = breaker.complete(admitted, outcome: .success, error: nil)
    }

    /// The call failed with `error`, judged as `call` judges a thrown error: excluded errors count as
    /// successes, `CancellationError` is ignored. Returns what `call` would throw: `error` itself, or
    /// the ``CircuitBreakerError`` of a trip.
    @discardableResult
    public consuming func failed(_ error: any Error) -> any Error {
        reported = true
        if case .throw(let breakerError) = breaker.recordError(admitted, error) { return breakerError }
        return error
    }

    /// The call ended without an outcome worth counting (cancelled, abandoned); frees a trial slot.
    public consuming func ignored() {
        reported = true
        _ = breaker.complete(admitted, outcome: .ignored, error: nil)
    }

    /// Reports `outcome` directly, bypassing classification; `error` is what listeners see for a
    /// failure. Returns the ``CircuitBreakerError`` if this failure opened the circuit.
    @discardableResult
    public consuming func record(_ outcome: CallOutcome, error: (any Error)? = nil) -> CircuitBreakerError? {
        reported = true
        if case .throw(let breakerError) = breaker.complete(admitted, outcome: outcome, error: error) { return breakerError }
        return nil
    }

    deinit {
        if !reported { _ = breaker.complete(admitted, outcome: .ignored, error: nil) }
    }
}
