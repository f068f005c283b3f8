import Synchronization

/// How ``CircuitBreaker/call(retrying:_:)`` retries a failed call: exponential backoff with jitter,
/// a cap on attempts, and an optional ``RetryBudget`` shared between calls.
///
/// ```swift
/// let retry = RetryPolicy(maxAttempts: 4, initialDelay: .milliseconds(100), maximumDelay: .seconds(2))
/// let page = try await breaker.call(retrying: retry) { try await client.get(url) }
/// ```
///
/// A retry never goes into an open circuit: a rejected attempt waits until the breaker lets a call
/// through (``CircuitBreaker/waitUntilRetry()``: the end of the open period, or the running trial's
/// outcome), or the backoff, whichever is later.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included; at least 1. Default 3.
    public var maxAttempts: Int
    /// The wait before the first retry. Default 100 ms.
    public var initialDelay: Duration
    /// Each wait is this many times the one before, up to ``maximumDelay``; at least 1. Default 2.
    public var multiplier: Double
    /// The longest wait between two attempts. Default 10 s.
    public var maximumDelay: Duration
    /// Each wait is spread by up to ± this fraction (0 ≤ jitter < 1), so callers do not retry in step.
    /// Default 0.2.
    public var jitter: Double
    /// Shared between calls, it stops retries once they exceed a share of first attempts. Default none.
    public var budget: RetryBudget?
    /// Whether an error is worth another attempt. Default: everything but cancellation and errors the
    /// breaker does not count as failures is retried.
    public var shouldRetry: (@Sendable (any Error) -> Bool)?

    /// A policy; the defaults are described on each property.
    public init(
        maxAttempts: Int = 3, initialDelay: Duration = .milliseconds(100), multiplier: Double = 2,
        maximumDelay: Duration = .seconds(10), jitter: Double = 0.2, budget: RetryBudget? = nil,
        shouldRetry: (@Sendable (any Error) -> Bool)? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.jitter = jitter
        self.budget = budget
        self.shouldRetry = shouldRetry
    }

    /// Checks every value and throws an error naming the first field out of range.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.check(maxAttempts >= 1, "retry.maxAttempts", maxAttempts, "1...\(Int.max)")
        try ConfigurationError.check(initialDelay >= .zero, "retry.initialDelay", initialDelay, "zero or more")
        try ConfigurationError.check(multiplier >= 1 && multiplier.isFinite, "retry.multiplier", multiplier, "1 ≤ multiplier, finite")
        try ConfigurationError.check(maximumDelay >= initialDelay, "retry.maximumDelay", maximumDelay, "at least initialDelay (\(initialDelay))")
        try ConfigurationError.check(jitter >= 0 && jitter < 1, "retry.jitter", jitter, "0 ≤ jitter < 1")
    }

    /// The wait before retry number `retry` (1 for the first), spread by `sample` in -1...1.
    func delay(beforeRetry retry: Int, sample: Double) -> Nanoseconds {
        var nanos = Double(initialDelay.nanoseconds)
        let cap = Double(maximumDelay.nanoseconds)
        for _ in 1..<max(1, retry) where nanos < cap { nanos *= multiplier }
        nanos = min(nanos, cap) * (1 + jitter * min(1, max(-1, sample)))
        return Nanoseconds(max(0, min(nanos, Double(Nanoseconds.max / 2))))
    }
}

/// A budget that keeps retries to a share of first attempts, shared by the calls that use it
/// (Finagle's and gRPC's retry budgets): when a dependency is down, retries stop adding load.
///
/// Each first attempt deposits `ratio` of a token, each retry withdraws one, and the balance is capped at
/// `ratio × 100` tokens (so a quiet period does not bank an unbounded burst); `minimumTokens` are always
/// available on top, so that light traffic can still retry.
///
/// ```swift
/// let budget = RetryBudget(ratio: 0.1, minimumTokens: 10)   // retries ≤ 10 % of calls, plus 10
/// ```
public final class RetryBudget: Sendable {
    /// The share of first attempts that retries may add (0 < ratio ≤ 1).
    public let ratio: Double
    /// Retries always allowed on top of the share.
    public let minimumTokens: Int
    /// The balance in thousandths of a token, and the minimum not yet used.
    private let milliTokens: Atomic<Int>
    private let reserve: Atomic<Int>

    /// A budget letting retries add up to `ratio` of first attempts, plus `minimumTokens`.
    public init(ratio: Double = 0.2, minimumTokens: Int = 10) {
        self.ratio = min(1, max(0.001, ratio))
        self.minimumTokens = max(0, minimumTokens)
        milliTokens = Atomic(0)
        reserve = Atomic(max(0, minimumTokens))
    }

    /// Records a first attempt. ``CircuitBreaker/call(retrying:_:)`` calls it; a retry loop of your own
    /// (an integration's) calls it once per call, before the first attempt.
    public func deposit() {
        let cap = Int(ratio * 100 * 1000)
        let gain = Int(ratio * 1000)
        var current = milliTokens.load(ordering: .relaxed)
        while current < cap {
            let (exchanged, original) = milliTokens.compareExchange(expected: current, desired: min(cap, current + gain), ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Takes the token for one retry; `false` when the budget is spent (then do not retry).
    public func withdraw() -> Bool {
        var current = milliTokens.load(ordering: .relaxed)
        while current >= 1000 {
            let (exchanged, original) = milliTokens.compareExchange(expected: current, desired: current - 1000, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        var spare = reserve.load(ordering: .relaxed)
        while spare > 0 {
            let (exchanged, original) = reserve.compareExchange(expected: spare, desired: spare - 1, ordering: .relaxed)
            if exchanged { return true }
            spare = original
        }
        return false
    }
}
