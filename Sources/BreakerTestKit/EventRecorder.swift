import Breaker

/// A listener that records every event it hears, in order, for assertions.
///
/// ```swift
/// let recorder = EventRecorder()
/// let breaker = CircuitBreaker(failMax: 1, listeners: [recorder], clock: ManualClock())
/// _ = try? breaker.call { throw Timeout() }
/// #expect(recorder.events == [.beforeCall, .failure("Timeout()"), .stateChange(.closed, .open)])
/// ```
public final class EventRecorder: CircuitBreakerListener, Sendable {
    /// One recorded event.
    public enum Event: Hashable, Sendable, CustomStringConvertible {
        /// `beforeCall`.
        case beforeCall
        /// `success`.
        case success
        /// `failure`, with the error described by `String(describing:)`.
        case failure(String)
        /// `stateChange` from the first state to the second.
        case stateChange(CircuitState, CircuitState)

        /// A compact rendering for test failure messages.
        public var description: String {
            switch self {
            case .beforeCall: "beforeCall"
            case .success: "success"
            case .failure(let error): "failure(\(error))"
            case .stateChange(let from, let to): "\(from)->\(to)"
            }
        }
    }

    /// The events so far, and the name of the breaker that sent each.
    private let log = Locked((events: [Event](), names: [String?]()))

    /// An empty recorder.
    public init() {}

    private func record(_ event: Event, from breaker: CircuitBreaker) {
        log.withLock { log in
            log.events.append(event)
            log.names.append(breaker.name)
        }
    }

    /// Every event so far, oldest first.
    public var events: [Event] { log.withLock { $0.events } }

    /// The names of the breakers that sent each event in ``events``.
    public var breakerNames: [String?] { log.withLock { $0.names } }

    /// Only the state changes, oldest first.
    public var stateChanges: [Event] { events.filter { if case .stateChange = $0 { true } else { false } } }

    /// Forgets everything recorded so far.
    public func removeAll() {
        log.withLock { log in
            log.events.removeAll()
            log.names.removeAll()
        }
    }

    /// Records `beforeCall`.
    public func beforeCall(_ breaker: CircuitBreaker) { record(.beforeCall, from: breaker) }
    /// Records `success`.
    public func success(_ breaker: CircuitBreaker) { record(.success, from: breaker) }
    /// Records `failure` with the error's description.
    public func failure(_ breaker: CircuitBreaker, error: any Error) { record(.failure(String(describing: error)), from: breaker) }
    /// Records `stateChange`.
    public func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        record(.stateChange(from, to), from: breaker)
    }
}
