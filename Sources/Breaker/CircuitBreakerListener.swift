/// Hears what a breaker does: aiobreaker's four hooks and ``rejected(_:retryAfter:)``, or every event
/// through ``handle(_:from:)``. Implement what you need; the rest defaults to nothing.
///
/// ```swift
/// final class LogListener: CircuitBreakerListener {
///     func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
///         print("\(breaker.name ?? "breaker"): \(from) -> \(to)")
///     }
/// }
///
/// final class TripLog: CircuitBreakerListener {
///     var interests: BreakerEvent.Kinds { [.stateChanged, .rejected] }
///     func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
///         if let change = event.change { print("\(change.previousState) -> \(change.state): \(change.cause)") }
///     }
/// }
/// ```
///
/// **Cost.** A listener costs calls only for the events it wants. One that wants only changes of the
/// circuit and rejections leaves healthy calls on the lock-free path. A hook left to its default
/// tells the breaker, the first time it is called, that this listener does not want that kind of
/// event, and the breaker stops delivering it; ``interests`` says the same up front.
///
/// **Delivery.**
/// - Hooks run after the breaker has released its lock, so a hook may read the breaker, open or close
///   it, or add and remove listeners, without deadlock. Inside ``stateChange(_:from:to:)``,
///   `breaker.state` already returns the new state (unless a later change has happened since).
/// - Per-call events arrive on the thread or task making the call, during the call: for one call,
///   `beforeCall`, then `failure` (before any `stateChange` it causes), or `stateChange` (a half-open
///   circuit closing) before `success`; a rejected call fires only `rejected`. Concurrent calls
///   deliver concurrently, so a listener of per-call events must be thread-safe (it is `Sendable`).
/// - Changes of the circuit (`stateChange`, and ``BreakerEvent/Kinds/modeChanged`` through
///   ``handle(_:from:)``) arrive once each, in the circuit's order, never two at once for one circuit,
///   including changes made by other breakers on a shared circuit and changes applied from elsewhere.
///   A change is delivered by the thread that made it, or, if another thread is delivering earlier
///   changes at that moment, by that thread after them.
/// - Listeners of one breaker are called in the order they were added.
public protocol CircuitBreakerListener: AnyObject, Sendable {
    /// The kinds of event this listener wants. Default: all (less what its default hooks report).
    var interests: BreakerEvent.Kinds { get }
    /// Receives one event. The default calls the matching hook below.
    func handle(_ event: BreakerEvent, from breaker: CircuitBreaker)
    /// A call was admitted and is about to run.
    func beforeCall(_ breaker: CircuitBreaker)
    /// A call succeeded, or failed with an error the breaker excludes (which counts as a success).
    func success(_ breaker: CircuitBreaker)
    /// A call failed with an error the breaker counts as a failure.
    func failure(_ breaker: CircuitBreaker, error: any Error)
    /// The breaker moved from one state to another. Manual transitions notify even when `from == to`.
    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState)
    /// A call was rejected without running; a call may be let through after `retryAfter`.
    func rejected(_ breaker: CircuitBreaker, retryAfter: Duration)
}

extension CircuitBreakerListener {
    /// Every kind of event.
    public var interests: BreakerEvent.Kinds { .all }

    /// Calls the hook for `event`'s kind; for a kind without a hook (ignored, slow, mode changed),
    /// tells the breaker this listener does not want it.
    public func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        switch event.kind {
        case .admitted: beforeCall(breaker)
        case .succeeded: success(breaker)
        case .failed: failure(breaker, error: event.error ?? ReportedFailure())
        case .rejected: rejected(breaker, retryAfter: event.retryAfter ?? .zero)
        case .stateChanged:
            if let change = event.change { stateChange(breaker, from: change.previousState, to: change.state) }
        default: breaker.listener(self, skips: event.kind)
        }
    }

    /// Does nothing, and stops the breaker delivering `admitted` to this listener.
    public func beforeCall(_ breaker: CircuitBreaker) { breaker.listener(self, skips: .admitted) }
    /// Does nothing, and stops the breaker delivering `succeeded` to this listener.
    public func success(_ breaker: CircuitBreaker) { breaker.listener(self, skips: .succeeded) }
    /// Does nothing, and stops the breaker delivering `failed` to this listener.
    public func failure(_ breaker: CircuitBreaker, error: any Error) { breaker.listener(self, skips: .failed) }
    /// Does nothing, and stops the breaker delivering `stateChanged` to this listener.
    public func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        breaker.listener(self, skips: .stateChanged)
    }
    /// Does nothing, and stops the breaker delivering `rejected` to this listener.
    public func rejected(_ breaker: CircuitBreaker, retryAfter: Duration) { breaker.listener(self, skips: .rejected) }
}
