#if HTTPClient
import AsyncHTTPClient
import Breaker
import Logging
import NIOCore

extension BreakerHTTPClient {
    /// Sends `request` through its host's breaker, retrying as `retry` says: with backoff and jitter,
    /// within a retry budget (`retry.budget`, else the host's ``Configuration/retryBudget``), never
    /// into an open breaker sooner than it reopens (after a `Retry-After` trip, not before the server
    /// asked), and not once the task is cancelled.
    ///
    /// One deadline covers all the attempts and the waits between them: `timeout`, else
    /// ``Configuration/timeout``. A retry that could not start before it is not made (the last error is
    /// thrown at once), and an attempt running at the deadline fails with it.
    ///
    /// Retries that waited for an open breaker go back spread evenly over the reset timeout after it
    /// lets calls through (``Configuration/breaker``'s `resetTimeout`: 1 s by default), not all at once;
    /// with the budget, the dependency's load just after it recovers stays near its normal load.
    ///
    /// A request whose method is not idempotent is sent once, unless
    /// ``Configuration/retriesNonIdempotentRequests`` is set. A retried request must have a body that
    /// can be sent again (none, or bytes; not a one-shot stream).
    ///
    /// ```swift
    /// let response = try await http.execute(request, retrying: RetryPolicy(maxAttempts: 3))
    /// ```
    ///
    /// - Parameter fallback: Answers instead of throwing, given the error this would throw.
    /// - Returns: The first response whose status is not a failure (a status judged ignored is
    ///   returned at once and counts as a success here).
    /// - Throws: ``HTTPResponseFailure`` when the last attempt got a failing status (its body unread and
    ///   discarded), or the last attempt's error.
    public func execute(
        _ request: HTTPClientRequest, retrying retry: RetryPolicy, timeout: Duration? = nil, logger: Logger? = nil,
        fallback: (@Sendable (any Error) async throws -> HTTPClientResponse)? = nil
    ) async throws -> HTTPClientResponse {
        do {
            return try await executeRetrying(request, retry, timeout: timeout, logger: logger)
        } catch {
            guard let fallback else { throw error }
            return try await fallback(error)
        }
    }

    private func executeRetrying(_ request: HTTPClientRequest, _ retry: RetryPolicy, timeout: Duration?, logger: Logger?) async throws -> HTTPClientResponse {
        var retry = retry
        if !configuration.retriesNonIdempotentRequests && !Self.idempotentMethods.contains(request.method) { retry.maxAttempts = 1 }
        try retry.validate()
        let host = host(for: request)
        let budget = retry.budget ?? host.retryBudget
        let end = (timeout ?? configuration.timeout).map { ContinuousClock.now + $0 }
        let deadline = deadline(timeout)
        budget?.deposit()
        var attempt = 1
        while true {
            do {
                let permit = try host.breaker.acquirePermit()
                let response = try await send(request, to: host, permit: permit, deadline: deadline, logger: logger)
                if configuration.classifyStatus(response.status) == .failure { throw failure(of: response) }
                return response
            } catch {
                guard attempt < retry.maxAttempts, !Task.isCancelled, worthRetrying(error, retry) else { throw error }
                guard budget?.withdraw() ?? true else { throw error }
                var due = ContinuousClock.now + retry.backoff(beforeRetry: attempt)
                if let rejection = error as? CircuitBreakerError, rejection.reason == .open {
                    if let end, ContinuousClock.now + rejection.retryAfter >= end { throw error }  // it reopens too late
                    try await waitUntilRetry(host.breaker, until: end)
                    // Spread the retries that waited for the same reopening over the reset timeout.
                    let spread = host.breaker.resetTimeout.nanoseconds
                    due = max(due, ContinuousClock.now + .nanoseconds(Int64.random(in: 0...max(0, spread))))
                }
                if let rejection = error as? CircuitBreakerError, rejection.reason == .rampingUp || rejection.reason == .throttled {
                    // Admission control said when to come back: after a ramp's lot comes up, or a throttle's bucket turns.
                    due = max(due, ContinuousClock.now + rejection.retryAfter)
                }
                if let end, due >= end { throw error }  // no time left for another attempt
                try await Task.sleep(until: due, clock: .continuous)
                attempt += 1
            }
        }
    }

    /// ``CircuitBreaker/waitUntilRetry()``, given up at `end` (when the deadline passes while a trial
    /// is still deciding).
    private func waitUntilRetry(_ breaker: CircuitBreaker, until end: ContinuousClock.Instant?) async throws {
        guard let end else { return try await breaker.waitUntilRetry() }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await breaker.waitUntilRetry()
                return true
            }
            group.addTask {
                try await Task.sleep(until: end, clock: .continuous)
                return false
            }
            let reopened = try await group.next() ?? false
            group.cancelAll()
            if !reopened { throw HTTPClientError.deadlineExceeded }
        }
    }

    private func worthRetrying(_ error: any Error, _ retry: RetryPolicy) -> Bool {
        if error is CancellationError { return false }
        if let shouldRetry = retry.shouldRetry { return shouldRetry(error) }
        if let rejection = error as? CircuitBreakerError { return rejection.reason != .timedOut }
        if error is HTTPResponseFailure { return true }
        if let error = error as? HTTPClientError, error == .deadlineExceeded { return false }  // the one deadline is past
        return true
    }
}

extension RetryPolicy {
    /// The wait before retry number `retry` (1 for the first): exponential, capped, jittered.
    func backoff(beforeRetry retry: Int) -> Duration {
        var nanos = Double(initialDelay.nanoseconds)
        let cap = Double(maximumDelay.nanoseconds)
        for _ in 1..<max(1, retry) where nanos < cap { nanos *= multiplier }
        nanos = min(nanos, cap) * (1 + jitter * (jitter > 0 ? Double.random(in: -1...1) : 0))
        return .nanoseconds(Int64(max(0, min(nanos, Double(Int64.max / 2)))))
    }
}
#endif
