/// Overrides of the state machine (Resilience4j's special states).
///
/// Set one with ``CircuitBreaker/setMode(_:)``; `open()`, `halfOpen()` and `close()` return the
/// breaker to ``normal``.
public struct OperatingMode: Hashable, Sendable, Codable, CustomStringConvertible {
    enum Kind: String, Hashable, Sendable, Codable { case normal, disabled, forcedOpen, metricsOnly }
    let kind: Kind

    /// The state machine decides.
    public static let normal = OperatingMode(kind: .normal)
    /// Every call goes through and nothing is recorded. The state reads `closed`.
    public static let disabled = OperatingMode(kind: .disabled)
    /// Every call is rejected until the mode changes, whatever the timer says. The state reads `open`.
    public static let forcedOpen = OperatingMode(kind: .forcedOpen)
    /// Every call goes through; outcomes are recorded and reported in metrics, but the circuit never
    /// opens. The state reads `closed`.
    public static let metricsOnly = OperatingMode(kind: .metricsOnly)

    /// `normal`, `disabled`, `forcedOpen` or `metricsOnly`.
    public var description: String { kind.rawValue }
}
