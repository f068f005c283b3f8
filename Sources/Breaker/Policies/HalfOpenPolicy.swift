/// How a half-open circuit tests the dependency.
///
/// At most ``permittedCalls`` trials run at once; callers beyond them are rejected with
/// ``CircuitBreakerError/Reason/open``. Each successful trial counts toward
/// ``successesToClose``; any failed trial reopens the circuit. A trial that ends in an ignored outcome
/// (cancelled, say) frees its slot. A trial that hangs cannot keep the circuit half-open: once the
/// oldest running trial is older than ``maxTrialDuration``, the next caller finds the circuit reopened.
public struct HalfOpenPolicy: Sendable, Hashable {
    /// How many trial calls may run at once. Default 1.
    public var permittedCalls: Int
    /// How many successful trials close the circuit (pybreaker's `success_threshold`). Default 1.
    public var successesToClose: Int
    /// The longest a trial may run before the circuit gives up on it and reopens; `nil` waits
    /// forever. Default 60 seconds.
    public var maxTrialDuration: Duration?

    /// Creates a half-open policy; the defaults admit one trial and close on its success.
    public init(permittedCalls: Int = 1, successesToClose: Int = 1, maxTrialDuration: Duration? = .seconds(60)) {
        self.permittedCalls = permittedCalls
        self.successesToClose = successesToClose
        self.maxTrialDuration = maxTrialDuration
    }
}
