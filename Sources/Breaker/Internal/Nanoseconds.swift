/// Internal times and durations are whole nanoseconds in an `Int64`: cheap to compare, add and divide
/// on the call path, and enough for ±292 years.
@usableFromInline
typealias Nanoseconds = Int64

extension Duration {
    /// This duration in whole nanoseconds, saturating at the bounds of `Int64`. The one conversion of
    /// the package: the integrations use it too.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return sum
    }

    /// A duration of `nanoseconds` nanoseconds.
    init(nanoseconds: Nanoseconds) {
        self = .nanoseconds(nanoseconds)
    }
}

extension Int64 {
    /// `self + other`, clamped to the bounds of `Int64` instead of trapping.
    func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        if overflow { return other > 0 ? .max : .min }
        return sum
    }
}
