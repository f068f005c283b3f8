/// How a finished call counts: as a success, a failure, or not at all.
///
/// Used by classifiers of thrown errors (``CircuitBreaker/Configuration/classifyError``) and of
/// returned values (`call(classifyingResult:_:)`), and by the two-step API.
public struct CallOutcome: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable { case success, failure, ignored }
    let kind: Kind

    /// Counts as a success: resets the consecutive-failure counter, counts toward closing a half-open circuit.
    public static let success = CallOutcome(kind: .success)
    /// Counts as a failure.
    public static let failure = CallOutcome(kind: .failure)
    /// Not counted at all, like a cancelled call: in half-open it frees the trial slot.
    public static let ignored = CallOutcome(kind: .ignored)

    /// `success`, `failure` or `ignored`.
    public var description: String {
        switch kind {
        case .success: "success"
        case .failure: "failure"
        case .ignored: "ignored"
        }
    }
}

/// The error that listeners and ``CircuitBreakerError/underlying`` see when a call *returned* a value
/// that a result classifier counted as a failure.
public struct FailedResult: Error, CustomStringConvertible {
    /// The returned value, described.
    public let description: String
    /// Creates one; `description` describes the returned value.
    public init(description: String) { self.description = description }
}

/// The error recorded for a call whose outcome was reported as a failure without an error
/// (for example through the two-step API).
public struct ReportedFailure: Error, CustomStringConvertible {
    /// A fixed text: `call reported as failed`.
    public var description: String { "call reported as failed" }
    /// Creates one.
    public init() {}
}
