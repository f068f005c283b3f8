import Synchronization

/// The two-step API, for code that cannot wrap the call in a closure: an HTTP client that sees the
/// request and the response apart, callbacks, streams.
extension ConcurrencyLimiter {
    /// Takes a slot for one call, or throws ``CircuitBreakerError`` (reason
    /// ``CircuitBreakerError/Reason/limited``) if none is free; never waits. Release the permit when
    /// the call ends.
    ///
    /// ```swift
    /// let permit = try limiter.acquire()
    /// connection.send(request) { response in
    ///     permit.release(response.status >= 500 ? .failure : .success)
    /// }
    /// ```
    public func acquire() throws(CircuitBreakerError) -> Permit {
        guard let admission = admitWithoutWaiting() else { throw rejection() }
        return Permit(limiter: self, admission: admission)
    }

    /// Takes a slot for one call, waiting for one up to ``Configuration/maxWait``; throws
    /// ``CircuitBreakerError`` (reason ``CircuitBreakerError/Reason/limited``) if none came, and
    /// `CancellationError` if the task was cancelled while it waited.
    nonisolated(nonsending)
    public func acquire() async throws -> Permit {
        if let admission = admitWithoutWaiting() { return Permit(limiter: self, admission: admission) }
        return Permit(limiter: self, admission: try await admitAfterWaiting())
    }

    /// A slot held for one call, from `acquire()` (sync or async).
    ///
    /// The first release counts; later ones do nothing. A permit dropped (its last reference gone)
    /// without a release frees its slot as ``CallOutcome/ignored``, so a forgotten permit never leaks
    /// a slot.
    public final class Permit: Sendable {
        private let limiter: ConcurrencyLimiter
        private let admission: Admission
        private let released = Atomic<Bool>(false)

        init(limiter: ConcurrencyLimiter, admission: Admission) {
            self.limiter = limiter
            self.admission = admission
        }

        /// Frees the slot. `outcome` is what the algorithm learns: ``CallOutcome/success`` a sample,
        /// ``CallOutcome/failure`` a sample that is a drop if ``DropPolicy/failures`` says so,
        /// ``CallOutcome/ignored`` no sample (a cancelled or abandoned call).
        public func release(_ outcome: CallOutcome) {
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            limiter.finish(admission, outcome)
        }

        /// Whether the permit has been released.
        public var isReleased: Bool { released.load(ordering: .acquiring) }

        deinit {
            if !released.load(ordering: .relaxed) { limiter.finish(admission, .ignored) }
        }
    }
}
