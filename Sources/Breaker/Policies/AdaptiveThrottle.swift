/// Client-side adaptive throttling, after Google's SRE book ("Handling Overload"): while a closed
/// circuit sees failures, it rejects calls locally with probability
/// `max(0, (requests − k × accepts) / (requests + 1))`, capped at ``maxRejectionProbability``, where
/// `requests` are the calls offered over the last ``window`` (those it rejected included) and `accepts`
/// those that succeeded. A dependency that answers is not throttled (requests ≈ accepts); one that
/// fails half its calls under overload gets less traffic at once, from every caller, before the trip
/// policy (which still applies, on the calls admitted) opens the circuit on a sustained failure rate.
///
/// ```swift
/// var configuration = CircuitBreaker.Configuration()
/// configuration.throttle = AdaptiveThrottle()                          // k = 2 over 30 s
/// configuration.throttle = AdaptiveThrottle(k: 1.5, window: .seconds(60))  // sheds load sooner
/// ```
///
/// A call rejected by the throttle throws ``CircuitBreakerError/Reason/throttled``. The throttle costs
/// nothing until a call fails: from the first failure until a ``window`` passes with none, each call
/// reads a clock and the window's counts, and draws a lot, without a lock.
public struct AdaptiveThrottle: Sendable, Hashable, CustomStringConvertible {
    /// How many requests each accept pays for: a lower `k` sheds load sooner. The book's 2 is the
    /// default; at least 1 (below 1 a healthy dependency would be throttled).
    public var k: Double
    /// How far back requests and accepts count. Default 30 seconds (Envoy's admission control samples
    /// 30 s; the book, 2 minutes); at least 10 nanoseconds (it is kept in ten buckets).
    public var window: Duration
    /// Requests the window must hold before the throttle rejects anything, so that a few early failures
    /// do not shed load. Default 20; at least 0.
    public var minimumRequests: Int
    /// The most the throttle rejects, however bad the failure rate: some calls always go through to
    /// see the dependency recover (a dead one is the trip policy's). Default 0.9; 0 < value ≤ 1.
    public var maxRejectionProbability: Double

    /// A throttle with the book's formula; each parameter is described on its property.
    public init(k: Double = 2, window: Duration = .seconds(30), minimumRequests: Int = 20, maxRejectionProbability: Double = 0.9) {
        self.k = k
        self.window = window
        self.minimumRequests = minimumRequests
        self.maxRejectionProbability = maxRejectionProbability
    }

    /// The probability of rejecting the next call after `requests` offered and `accepts` succeeded
    /// within the window.
    public func rejectionProbability(requests: Int, accepts: Int) -> Double {
        guard requests >= minimumRequests, requests > 0 else { return 0 }
        let p = (Double(requests) - k * Double(accepts)) / Double(requests + 1)
        return min(max(0, p), maxRejectionProbability)
    }

    /// `throttle k=2.0 over 30.0 seconds`.
    public var description: String { "throttle k=\(k) over \(window)" }

    func validate() throws(ConfigurationError) {
        try ConfigurationError.check(k >= 1 && k.isFinite, "throttle.k", k, "1 ≤ k, finite")
        try ConfigurationError.check(window.nanoseconds >= ThrottleWindow.buckets, "throttle.window", window, "at least \(ThrottleWindow.buckets) nanoseconds")
        try ConfigurationError.check(minimumRequests >= 0, "throttle.minimumRequests", minimumRequests, "0...\(Int.max)")
        try ConfigurationError.check(
            maxRejectionProbability > 0 && maxRejectionProbability <= 1, "throttle.maxRejectionProbability", maxRejectionProbability, "0 < value ≤ 1")
    }
}
