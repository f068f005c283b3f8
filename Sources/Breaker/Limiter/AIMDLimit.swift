/// The additive-increase, multiplicative-decrease limit (``LimitAlgorithm/aimd(backoffRatio:)``), as a
/// plain value: feed it samples, read the limit.
///
/// - A drop multiplies the limit by `backoffRatio` (rounded down), never below `minLimit`, once per
///   window: the drops of the other calls that were in flight with it (the next `limit − 1` samples)
///   do not back off again. An overload shows as a burst of drops, one per call in flight; backing off
///   on each would cut the limit far below the capacity it just found (TCP backs off once per window
///   for the same reason).
/// - A call that was not a drop, admitted while at least half the limit was in use, counts toward
///   growth; after `limit` such calls with no drop between them the limit grows by one (about +1 per
///   round trip of a full limit, TCP's congestion avoidance), never above `maxLimit`.
/// - Calls admitted while less than half the limit was in use do not grow it: the caller, not the
///   dependency, is what limits them, so they say nothing about the dependency's capacity.
///
/// Netflix's `AIMDLimit` grows by one on *every* such call; growing by one per limit's worth of calls
/// keeps a burst of fast calls from raising the limit by the size of the burst.
package struct AIMDLimit: Sendable, Hashable {
    /// The factor a drop multiplies the limit by, in `0.5 ..< 1`.
    package let backoffRatio: Double
    /// The lowest limit, at least 1.
    package let minLimit: Int
    /// The highest limit.
    package let maxLimit: Int
    /// The current limit.
    package private(set) var limit: Int
    /// Calls that counted toward growth since the limit last changed.
    package private(set) var growthCredit = 0
    /// Samples still to come from the window that the last back-off answered: a drop among them does
    /// not back off again.
    package private(set) var holdOff = 0

    /// A limit starting at `initialLimit` (clamped to `minLimit ... maxLimit`).
    package init(initialLimit: Int, minLimit: Int, maxLimit: Int, backoffRatio: Double) {
        self.backoffRatio = backoffRatio
        self.minLimit = minLimit
        self.maxLimit = maxLimit
        limit = min(maxLimit, max(minLimit, initialLimit))
    }

    /// Takes one sample and returns the new limit.
    @discardableResult
    package mutating func update(_ sample: LimitSample) -> Int {
        if sample.dropped {
            growthCredit = 0
            if holdOff > 0 {
                holdOff -= 1
                return limit
            }
            holdOff = limit - 1  // the rest of the window in flight with this call: one back-off for them all
            limit = max(minLimit, Int((Double(limit) * backoffRatio).rounded(.down)))
            return limit
        }
        holdOff = max(0, holdOff - 1)
        if sample.inFlight >= limit - sample.inFlight {  // at least half the limit in use
            growthCredit += 1
            if growthCredit >= limit {
                if limit < maxLimit { limit += 1 }
                growthCredit = 0
            }
        }
        return limit
    }
}
