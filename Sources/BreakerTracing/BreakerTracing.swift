import Breaker
import Tracing

/// Marks the current trace span when a breaker rejects a call or changes state, so that a trace shows
/// why a request failed fast.
///
/// ```swift
/// breaker.addListener(BreakerTracer())                          // the tracer bootstrapped for the process
/// breaker.addListener(BreakerTracer(tracer: InMemoryTracer()))  // or one of your choosing
/// ```
///
/// On a rejected call, the span active in the calling task (``Tracer/activeSpan(identifiedBy:)`` of
/// `ServiceContext.current`) gets an event `circuit_breaker.rejected` and the attributes
/// `circuit_breaker.name`, `circuit_breaker.state` and `circuit_breaker.retry_after_ms`. On a state
/// change, the span of the task that made it (the call that tripped the breaker, or the trial that
/// closed it) gets an event `circuit_breaker.state_changed` with the previous and new state and the
/// cause (`circuit_breaker.cause`, for example "failure rate 62.5 % ≥ 50 %").
///
/// It listens only to rejections and state changes, so healthy calls stay on the breaker's lock-free
/// path. Tracers that cannot look up the active span (``Tracer/activeSpan(identifiedBy:)`` returns
/// `nil` by default) record nothing; nothing is started or ended here.
public final class BreakerTracer: CircuitBreakerListener {
    private let tracer: any Tracer

    /// A listener that marks spans of `tracer`, by default the process's bootstrapped tracer.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }

    /// Rejections and state changes.
    public var interests: BreakerEvent.Kinds { [.rejected, .stateChanged] }

    /// Adds the event (and, for a rejection, the attributes) to the active span, if there is one.
    public func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        guard let context = ServiceContext.current, let span = tracer.activeSpan(identifiedBy: context), span.isRecording else { return }
        var attributes: SpanAttributes = [:]
        if let name = breaker.name { attributes["circuit_breaker.name"] = name }
        switch event.kind {
        case .rejected:
            attributes["circuit_breaker.state"] = breaker.state.description
            if let retryAfter = event.retryAfter { attributes["circuit_breaker.retry_after_ms"] = Self.milliseconds(retryAfter) }
            span.attributes.merge(attributes)
            span.addEvent(SpanEvent(name: "circuit_breaker.rejected", attributes: attributes))
        case .stateChanged:
            guard let change = event.change else { return }
            attributes["circuit_breaker.previous_state"] = change.previousState.description
            attributes["circuit_breaker.state"] = change.state.description
            attributes["circuit_breaker.cause"] = change.cause.description
            if let remaining = change.snapshot.openRemaining { attributes["circuit_breaker.retry_after_ms"] = Self.milliseconds(remaining) }
            span.addEvent(SpanEvent(name: "circuit_breaker.state_changed", attributes: attributes))
        default:
            return
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds &* 1_000 &+ attoseconds / 1_000_000_000_000_000
    }
}
