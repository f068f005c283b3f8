/// The window of recent outcomes that failure-rate, slow-call and custom policies read.
///
/// Recording an outcome and reading the counts cost O(1) whatever the window's size: the window keeps
/// running totals and subtracts what it evicts.
public struct SlidingWindow: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case calls(Int)
        case time(span: Duration, bucket: Duration)
    }
    let kind: Kind

    /// The last `count` counted calls (1 ≤ count ≤ 1,000,000).
    public static func lastCalls(_ count: Int) -> SlidingWindow { SlidingWindow(kind: .calls(count)) }

    /// The calls of the last `span`, kept in buckets of width `bucket` (`span` a whole multiple of
    /// `bucket`, at most 1,000,000 buckets). Time moves in whole buckets: a bucket leaves the window
    /// once it is `span` old. Choose the bucket width for your traffic; Resilience4j fixes it at 1 s.
    /// With `ContinuousClock` or `SuspendingClock` on Linux, buckets of at least 25 ticks of the coarse
    /// monotonic clock (100 ms with the usual 4 ms tick) place successes with that clock, so a success
    /// at a bucket's edge may land in the bucket before.
    public static func duration(_ span: Duration, bucket: Duration = .seconds(1)) -> SlidingWindow {
        SlidingWindow(kind: .time(span: span, bucket: bucket))
    }

    /// A short account of the window.
    public var description: String {
        switch kind {
        case .calls(let count): "last \(count) calls"
        case .time(let span, let bucket): "last \(span) in buckets of \(bucket)"
        }
    }
}
