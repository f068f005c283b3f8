/// How a ``ConcurrencyLimiter`` sets its limit: fixed, or adapted from the calls it sees, after
/// Netflix's concurrency-limits.
///
/// ```swift
/// configuration.algorithm = .fixed(10)                     // a plain bulkhead: at most 10 calls in flight
/// configuration.algorithm = .aimd()                        // back off on drops, creep up while none come
/// configuration.algorithm = .gradient2()                   // shrink when calls slow down (the default)
/// ```
///
/// The adaptive algorithms move the limit within ``ConcurrencyLimiter/Configuration/minLimit`` and
/// ``ConcurrencyLimiter/Configuration/maxLimit``, starting at
/// ``ConcurrencyLimiter/Configuration/initialLimit``; ``fixed(_:)`` ignores those three. New
/// algorithms may be added.
public struct LimitAlgorithm: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case fixed(Int)
        case aimd(backoffRatio: Double)
        case gradient2(tolerance: Double, smoothing: Double, longWindow: Int, queueSize: Int)
    }
    let kind: Kind

    /// At most `limit` calls in flight, always (1 ... 1,000,000). The limiter reads no clock.
    public static func fixed(_ limit: Int) -> LimitAlgorithm { LimitAlgorithm(kind: .fixed(limit)) }

    /// Additive increase, multiplicative decrease: a drop (a failure or a call past the timeout, as
    /// ``ConcurrencyLimiter/Configuration/drops`` says) multiplies the limit by `backoffRatio`, once
    /// for the calls that were in flight with it (the burst of drops an overload causes backs off once,
    /// as TCP does per window); each limit's worth of calls without a drop, admitted while at least half
    /// the limit was in use, adds one. With a timeout near the latency you can accept (twice the
    /// dependency's normal latency, say), it holds that latency under any load.
    ///
    /// - Parameter backoffRatio: The factor a drop multiplies the limit by, `0.5 ..< 1`. Default 0.9,
    ///   Netflix's `AIMDLimit` default (whose other defaults are an initial and minimum limit of 20, a
    ///   maximum of 200 and a 5-second timeout).
    public static func aimd(backoffRatio: Double = 0.9) -> LimitAlgorithm {
        LimitAlgorithm(kind: .aimd(backoffRatio: backoffRatio))
    }

    /// Netflix's Gradient2: compares each call's round-trip time with a long-term average of them, and
    /// shrinks the limit when calls get slower than `tolerance` times that average, grows it while they
    /// do not. Drops play no part. The defaults are those of Netflix's `Gradient2Limit`.
    ///
    /// ```
    /// gradient = clamp(tolerance × longRtt / rtt, 0.5, 1.0)
    /// limit    = limit × (1 − smoothing) + (limit × gradient + queueSize) × smoothing
    /// ```
    ///
    /// - Parameters:
    ///   - tolerance: How much slower than the long-term average a call may be before the limit
    ///     shrinks; at least 1. Default 1.5 (Netflix's `rttTolerance`).
    ///   - smoothing: The weight of each new estimate, `0 < smoothing ≤ 1`. Default 0.2.
    ///   - longWindow: How many calls the long-term average spans (after a plain average of the first
    ///     10); 1 ... 1,000,000. Default 600.
    ///   - queueSize: How far each estimate may reach past the current limit, the calls allowed to
    ///     queue at the dependency; 0 ... 1,000,000. Default 4.
    ///
    /// Netflix's `Gradient2Limit` also starts at 20 with a minimum of 20 and a maximum of 200; here
    /// those are the configuration's ``ConcurrencyLimiter/Configuration/initialLimit`` (20),
    /// ``ConcurrencyLimiter/Configuration/minLimit`` (1) and ``ConcurrencyLimiter/Configuration/maxLimit`` (200).
    public static func gradient2(
        tolerance: Double = 1.5, smoothing: Double = 0.2, longWindow: Int = 600, queueSize: Int = 4
    ) -> LimitAlgorithm {
        LimitAlgorithm(kind: .gradient2(tolerance: tolerance, smoothing: smoothing, longWindow: longWindow, queueSize: queueSize))
    }

    /// `fixed(10)`, `aimd(backoffRatio: 0.9)`, `gradient2(tolerance: 1.5, smoothing: 0.2, longWindow: 600, queueSize: 4)`.
    public var description: String {
        switch kind {
        case .fixed(let limit): "fixed(\(limit))"
        case .aimd(let backoffRatio): "aimd(backoffRatio: \(backoffRatio))"
        case .gradient2(let tolerance, let smoothing, let longWindow, let queueSize):
            "gradient2(tolerance: \(tolerance), smoothing: \(smoothing), longWindow: \(longWindow), queueSize: \(queueSize))"
        }
    }

    /// Whether the limit moves with the calls: finished calls are sampled under the limiter's lock.
    var isAdaptive: Bool {
        if case .fixed = kind { return false }
        return true
    }

    /// Checks the algorithm's own values, naming the field as `algorithm.<parameter>`.
    func validate() throws(ConfigurationError) {
        switch kind {
        case .fixed(let limit):
            try ConfigurationError.check((1...1_000_000).contains(limit), "algorithm.fixed", limit, "1...1000000")
        case .aimd(let backoffRatio):
            let inRange = backoffRatio >= 0.5 && backoffRatio < 1
            try ConfigurationError.check(inRange, "algorithm.backoffRatio", backoffRatio, "0.5 ≤ backoffRatio < 1")
        case .gradient2(let tolerance, let smoothing, let longWindow, let queueSize):
            try ConfigurationError.check(tolerance >= 1 && tolerance.isFinite, "algorithm.tolerance", tolerance, "1 ≤ tolerance, finite")
            try ConfigurationError.check(smoothing > 0 && smoothing <= 1, "algorithm.smoothing", smoothing, "0 < smoothing ≤ 1")
            try ConfigurationError.check((1...1_000_000).contains(longWindow), "algorithm.longWindow", longWindow, "1...1000000")
            try ConfigurationError.check((0...1_000_000).contains(queueSize), "algorithm.queueSize", queueSize, "0...1000000")
        }
    }

    /// The algorithm's state at the start, for a configuration's bounds.
    func estimator(initialLimit: Int, minLimit: Int, maxLimit: Int) -> LimitEstimator {
        switch kind {
        case .fixed(let limit):
            return LimitEstimator(fixed: limit)
        case .aimd(let backoffRatio):
            let aimd = AIMDLimit(initialLimit: initialLimit, minLimit: minLimit, maxLimit: maxLimit, backoffRatio: backoffRatio)
            return LimitEstimator(aimd: aimd)
        case .gradient2(let tolerance, let smoothing, let longWindow, let queueSize):
            return LimitEstimator(
                gradient2: Gradient2Limit(
                    initialLimit: initialLimit, minLimit: minLimit, maxLimit: maxLimit, tolerance: tolerance, smoothing: smoothing,
                    longWindow: longWindow, queueSize: queueSize))
        }
    }
}

/// A limit algorithm's state, kept under a ``ConcurrencyLimiter``'s lock. The adaptive states are
/// optional stored properties rather than an enum's payloads, so that a sample updates them in place.
struct LimitEstimator: Sendable {
    /// The fixed limit, or the adaptive algorithm's limit at the start.
    private let fixedLimit: Int
    private var aimd: AIMDLimit?
    private var gradient2: Gradient2Limit?

    init(fixed limit: Int) { fixedLimit = limit }

    init(aimd: AIMDLimit) {
        fixedLimit = aimd.limit
        self.aimd = aimd
    }

    init(gradient2: Gradient2Limit) {
        fixedLimit = gradient2.limit
        self.gradient2 = gradient2
    }

    /// The current limit.
    var limit: Int { gradient2?.limit ?? aimd?.limit ?? fixedLimit }

    /// Takes one sample and returns the new limit.
    mutating func update(_ sample: LimitSample) -> Int {
        if gradient2 != nil { return gradient2!.update(sample) }
        if aimd != nil { return aimd!.update(sample) }
        return fixedLimit
    }
}
