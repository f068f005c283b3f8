/// Observes what a breaker does: implement the hooks you need, the others default to doing nothing.
///
/// ```swift
/// final class LogListener: CircuitBreakerListener {
///     func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
///         print("\(breaker.name ?? "breaker"): \(from) -> \(to)")
///     }
/// }
/// ```
///
/// Delivery rules:
/// - Hooks run after the breaker has released its lock, so a hook may read the breaker, open or
///   close it, or add and remove listeners, without deadlock. Inside ``stateChange(_:from:to:)``,
///   `breaker.state` already returns the new state.
/// - Events reach a breaker's listeners one at a time, in the order the breaker produced them, and
///   each listener in the order it was added. A hook is never called concurrently with another hook
///   of the same breaker, so a listener needs no locking of its own for that breaker's events.
/// - A rejected call fires no hook.
/// - For one call the order is `beforeCall`, then `failure` (before any `stateChange` it causes),
///   or `stateChange` (a half-open circuit closing) before `success`.
public protocol CircuitBreakerListener: AnyObject, Sendable {
    /// A call was admitted and is about to run.
    func beforeCall(_ breaker: CircuitBreaker)
    /// A call succeeded, or failed with an error the breaker excludes (which counts as a success).
    func success(_ breaker: CircuitBreaker)
    /// A call failed with an error the breaker counts as a failure.
    func failure(_ breaker: CircuitBreaker, error: any Error)
    /// The breaker moved from one state to another. Manual transitions notify even when
    /// `from == to`.
    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState)
}

extension CircuitBreakerListener {
    /// Does nothing.
    public func beforeCall(_ breaker: CircuitBreaker) {}
    /// Does nothing.
    public func success(_ breaker: CircuitBreaker) {}
    /// Does nothing.
    public func failure(_ breaker: CircuitBreaker, error: any Error) {}
    /// Does nothing.
    public func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {}
}
