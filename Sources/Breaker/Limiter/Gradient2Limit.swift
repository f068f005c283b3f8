/// The Gradient2 limit of Netflix's concurrency-limits (``LimitAlgorithm/gradient2(tolerance:smoothing:longWindow:queueSize:)``),
/// as a plain value: feed it samples, read the limit.
///
/// Each sample compares the call's round-trip time (the short RTT) with a long-term exponential
/// average of them (the long RTT):
///
/// ```
/// gradient = clamp(tolerance × longRtt / shortRtt, 0.5, 1.0)
/// estimate = limit × gradient + queueSize
/// limit    = limit × (1 − smoothing) + estimate × smoothing,   clamped to minLimit ... maxLimit
/// ```
///
/// While calls are no slower than `tolerance` times the long RTT the gradient is 1 and the limit grows
/// by `queueSize × smoothing` a sample; when they slow down it shrinks, by at most half per sample
/// before smoothing. As in Netflix's code: the long RTT averages the first 10 samples plainly, then
/// with the factor `2 / (longWindow + 1)`; when it is more than twice the short RTT (load has passed)
/// it is cut by 5 % a sample so that the limit recovers sooner; and a sample admitted while less than
/// half the limit was in use leaves the limit alone (the caller, not the dependency, limited it).
package struct Gradient2Limit: Sendable, Hashable {
    /// How much slower than the long RTT a call may be before the limit shrinks (at least 1).
    package let tolerance: Double
    /// The weight of each new estimate, in `0 < smoothing ≤ 1`.
    package let smoothing: Double
    /// How many samples the long RTT's average spans.
    package let longWindow: Int
    /// How far the estimate may grow past the current limit (calls allowed to queue at the dependency).
    package let queueSize: Int
    /// The lowest limit, at least 1.
    package let minLimit: Int
    /// The highest limit.
    package let maxLimit: Int
    /// The limit before rounding down.
    package private(set) var estimatedLimit: Double
    /// The long-term RTT, in nanoseconds.
    package private(set) var longRtt = ExponentialAverage(window: 1)

    /// Samples the long RTT averages plainly before it becomes exponential (Netflix's warm-up).
    static let warmUpSamples = 10

    /// A limit starting at `initialLimit` (clamped to `minLimit ... maxLimit`).
    package init(initialLimit: Int, minLimit: Int, maxLimit: Int, tolerance: Double, smoothing: Double, longWindow: Int, queueSize: Int) {
        self.tolerance = tolerance
        self.smoothing = smoothing
        self.longWindow = longWindow
        self.queueSize = queueSize
        self.minLimit = minLimit
        self.maxLimit = maxLimit
        estimatedLimit = Double(min(maxLimit, max(minLimit, initialLimit)))
        longRtt = ExponentialAverage(window: longWindow)
    }

    /// The current limit: the estimate rounded down.
    package var limit: Int { Int(estimatedLimit) }

    /// Takes one sample and returns the new limit.
    @discardableResult
    package mutating func update(_ sample: LimitSample) -> Int {
        let shortRtt = Double(max(1, sample.rtt))  // a call timed at zero (a coarse or manual clock) as 1 ns
        let long = longRtt.add(shortRtt)
        if long > 2 * shortRtt { longRtt.scale(by: 0.95) }
        if Double(sample.inFlight) < estimatedLimit / 2 { return limit }
        let gradient = max(0.5, min(1.0, tolerance * long / shortRtt))
        let estimate = estimatedLimit * gradient + Double(queueSize)
        let smoothed = estimatedLimit * (1 - smoothing) + estimate * smoothing
        estimatedLimit = max(Double(minLimit), min(Double(maxLimit), smoothed))
        return limit
    }

    /// An average that is plain over its first ``Gradient2Limit/warmUpSamples`` samples, then
    /// exponential with the factor `2 / (window + 1)`.
    package struct ExponentialAverage: Sendable, Hashable {
        /// The factor of each new sample once warmed up.
        let factor: Double
        /// The average so far.
        package private(set) var value = 0.0
        /// Samples taken, up to the warm-up.
        private var count = 0

        package init(window: Int) { factor = 2 / (Double(window) + 1) }

        /// Adds a sample and returns the new average.
        package mutating func add(_ sample: Double) -> Double {
            if count < Gradient2Limit.warmUpSamples {
                count += 1
                value += (sample - value) / Double(count)
            } else {
                value = value * (1 - factor) + sample * factor
            }
            return value
        }

        /// Multiplies the average by `ratio`.
        package mutating func scale(by ratio: Double) { value *= ratio }
    }
}
