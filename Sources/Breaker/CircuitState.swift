/// The three states of a circuit breaker.
///
/// - ``closed``: calls go through; outcomes are counted against the trip policy.
/// - ``open``: calls are rejected without running until the open duration has passed.
/// - ``halfOpen``: a bounded number of trial calls go through; their outcomes close or reopen the circuit.
public enum CircuitState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Calls go through and their outcomes are counted.
    case closed
    /// Calls are rejected until the open duration has passed.
    case open
    /// Trial calls decide whether the circuit closes again or reopens.
    case halfOpen

    /// `closed`, `open` or `half-open`.
    public var description: String {
        switch self {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half-open"
        }
    }
}
