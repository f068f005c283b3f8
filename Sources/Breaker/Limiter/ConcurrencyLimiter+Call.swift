/// Calling through the limiter.
///
/// `call` runs the closure if the limiter has a free slot for it, frees the slot when it returns or
/// throws, and rethrows the closure's error unchanged. A call with no free slot throws
/// ``CircuitBreakerError`` (reason ``CircuitBreakerError/Reason/limited``) without running the
/// closure; an async call first waits for one up to ``ConcurrencyLimiter/Configuration/maxWait``.
///
/// A thrown error counts as a failure (a drop, if ``ConcurrencyLimiter/DropPolicy/failures``), except
/// when the calling task was cancelled: then the call is not sampled at all.
extension ConcurrencyLimiter {
    /// Runs `body` if a slot is free; never waits for one.
    ///
    /// ```swift
    /// let row = try limiter.call { try database.row(id) }
    /// ```
    @inlinable
    public func call<R>(_ body: () throws -> R) throws -> R {
        guard let admission = admitWithoutWaiting() else { throw rejection() }
        let result: R
        do {
            result = try body()
        } catch {
            finish(admission, error: error)
            throw error
        }
        finishSucceeded(admission)
        return result
    }

    /// Runs the async `body` when a slot is free, waiting for one up to
    /// ``Configuration/maxWait``, in the caller's isolation (no hop). A task cancelled while it waits
    /// leaves the queue and throws `CancellationError`.
    ///
    /// ```swift
    /// let hits = try await limiter.call { try await search.query(text) }
    /// ```
    @inlinable
    @_disfavoredOverload
    nonisolated(nonsending)
    public func call<R>(_ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        let admission: Admission
        if let admitted = admitWithoutWaiting() {
            admission = admitted
        } else {
            admission = try await admitAfterWaiting()
        }
        let result: R
        do {
            result = try await body()
        } catch {
            finish(admission, error: error)
            throw error
        }
        finishSucceeded(admission)
        return result
    }
}
