/// How one async call runs: its time limit, how its returned value counts, and what to return instead
/// of throwing a ``CircuitBreakerError``. One value, so that every combination reads the same way.
///
/// ```swift
/// let page = try await breaker.call(CallOptions(
///     timeLimit: .seconds(2),
///     classifyResult: { $0.status >= 500 ? .failure : .success },
///     fallback: { _ in cachedPage }
/// )) {
///     try await client.get(url)
/// }
/// ```
public struct CallOptions<Value: Sendable>: Sendable {
    /// How long the call may run: past it, the call's task is cancelled, the caller gets
    /// ``CircuitBreakerError/Reason/timedOut`` at once (or the fallback's value), and the call counts as
    /// a failure and as slow. `nil` (the default) uses the breaker's
    /// ``CircuitBreaker/Configuration/timeLimit``, if any.
    public var timeLimit: Duration?
    /// Judges a returned value, as `call(classifyingResult:_:)` does. `nil` counts every value as a success.
    public var classifyResult: (@Sendable (Value) -> CallOutcome)?
    /// What to return instead of throwing a ``CircuitBreakerError``: when the call is rejected, when it
    /// runs past its time limit, and when it opens the circuit. Other errors are rethrown.
    public var fallback: (@Sendable (CircuitBreakerError) async throws -> Value)?

    /// Options for one call; each defaults to none.
    public init(
        timeLimit: Duration? = nil, classifyResult: (@Sendable (Value) -> CallOutcome)? = nil,
        fallback: (@Sendable (CircuitBreakerError) async throws -> Value)? = nil
    ) {
        self.timeLimit = timeLimit
        self.classifyResult = classifyResult
        self.fallback = fallback
    }
}
