import Synchronization

/// The two-step API, for code that cannot wrap the protected work in a closure (callbacks,
/// middleware that sees the request and the response separately, streams).
extension CircuitBreaker {
    /// Asks the breaker for permission to make one call; throws ``CircuitBreakerError`` (reason
    /// ``CircuitBreakerError/Reason/open``) when the call must not be made.
    ///
    /// Report the outcome on the returned permit, from anywhere (an escaping completion handler
    /// included). A permit released without a report counts as ignored: it frees its half-open trial
    /// slot and counts nothing.
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
/// The first report counts; later ones are ignored. Each report returns the ``CircuitBreakerError``
/// that `call` would have thrown if this outcome opened the circuit, or `nil`. A permit that is
/// released (its last reference dropped) without a report counts as ignored.
public final class CallPermit: Sendable {
    private let breaker: CircuitBreaker
    private let admitted: CircuitBreaker.Admitted
    private let reported = Atomic<Bool>(false)

    init(breaker: CircuitBreaker, admitted: CircuitBreaker.Admitted) {
        self.breaker = breaker
        self.admitted = admitted
    }

    /// The call succeeded.
    @discardableResult
    public func succeeded() -> CircuitBreakerError? {
        report { breaker.complete(admitted, outcome: .success, error: nil) }
    }

    /// The call failed with `error`, judged as `call` judges a thrown error: excluded errors count as
    /// successes, anything is ignored when the reporting task is cancelled, the classifier has the
    /// first word.
    @discardableResult
    public func failed(_ error: any Error) -> CircuitBreakerError? {
        report { breaker.recordError(admitted, error) }
    }

    /// The call ended without an outcome worth counting (cancelled, abandoned); frees a trial slot.
    @discardableResult
    public func ignored() -> CircuitBreakerError? {
        report { breaker.complete(admitted, outcome: .ignored, error: nil) }
    }

    /// Whether an outcome has been reported.
    public var isReported: Bool { reported.load(ordering: .acquiring) }

    private func report(_ record: () -> CircuitBreaker.Verdict) -> CircuitBreakerError? {
        guard !reported.exchange(true, ordering: .acquiringAndReleasing) else { return nil }
        if case .throw(let error) = record() { return error }
        return nil
    }

    deinit {
        if !reported.load(ordering: .relaxed) { _ = breaker.complete(admitted, outcome: .ignored, error: nil) }
    }
}
