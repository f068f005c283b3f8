/// Retrying through the breaker.
extension CircuitBreaker {
    /// Runs `body` through the breaker, retrying it as `retry` says: with exponential backoff and
    /// jitter on the breaker's clock, within the retry budget, never into an open circuit (a rejected
    /// attempt waits for ``waitUntilRetry()``: the end of the open period, or the running trial's
    /// outcome), and not at all once the task is cancelled. The last error is thrown when the attempts,
    /// the budget or ``RetryPolicy/shouldRetry`` run out.
    ///
    /// ```swift
    /// let user = try await breaker.call(retrying: RetryPolicy(maxAttempts: 3)) { try await users.fetch(id) }
    /// ```
    nonisolated(nonsending)
    public func call<R>(
        retrying retry: RetryPolicy, _ body: nonisolated(nonsending) () async throws -> R
    ) async throws -> R {
        try retry.validate()
        retry.budget?.deposit()
        var attempt = 1
        while true {
            do {
                return try await call(body)
            } catch {
                guard attempt < retry.maxAttempts, !Task.isCancelled, worthRetrying(error, retry) else { throw error }
                guard retry.budget?.withdraw() ?? true else { throw error }
                let backoff = retry.delay(beforeRetry: attempt, sample: retry.jitter > 0 ? .random(in: -1...1) : 0)
                let start = time.now()
                if let rejection = error as? CircuitBreakerError, rejection.reason == .open {
                    try await waitUntilRetry()  // the open period, or the running trial: never sooner
                }
                let due = start.addingSaturating(backoff)
                if time.now() < due { try await time.sleepUntil(due) }
                attempt += 1
            }
        }
    }

    private func worthRetrying(_ error: any Error, _ retry: RetryPolicy) -> Bool {
        if error is CancellationError { return false }
        if let shouldRetry = retry.shouldRetry { return shouldRetry(error) }
        if error is CircuitBreakerError { return true }
        return isFailure(error)
    }
}
