/// The sliding window of counted outcomes: the last N calls, or the calls of the last span of time
/// in buckets. Both keep running totals and subtract what they evict, so recording and reading cost
/// O(1) whatever the size (a time window also clears one bucket per bucket-width of time that passed,
/// at most once per bucket).
struct OutcomeWindow: Sendable {
    private(set) var calls = 0
    private(set) var failures = 0
    private(set) var slowCalls = 0
    private(set) var slowFailures = 0
    private var shape: Shape

    private enum Shape: Sendable {
        case calls(ring: [UInt8], next: Int)
        case time(buckets: [Bucket], width: Nanoseconds, newest: Nanoseconds?)
    }

    private struct Bucket: Sendable {
        var index: Nanoseconds = .min
        var calls: Int32 = 0
        var failures: Int32 = 0
        var slowCalls: Int32 = 0
        var slowFailures: Int32 = 0
    }

    private static let present: UInt8 = 1, failed: UInt8 = 2, slow: UInt8 = 4

    init(_ kind: SlidingWindow.Kind) {
        switch kind {
        case .calls(let count):
            shape = .calls(ring: Array(repeating: 0, count: count), next: 0)
        case .time(let span, let bucket):
            let width = bucket.nanoseconds
            let count = Int(span.nanoseconds / width)
            shape = .time(buckets: Array(repeating: Bucket(), count: count), width: width, newest: nil)
        }
    }

    /// Counts one outcome finished at `now`.
    mutating func record(failure: Bool, slow: Bool, now: Nanoseconds) {
        switch shape {
        case .calls(var ring, var next):
            shape = .calls(ring: [], next: 0)  // keep `ring` uniquely referenced while it is mutated
            let evicted = ring[next]
            if evicted & Self.present != 0 {
                subtract(failure: evicted & Self.failed != 0, slow: evicted & Self.slow != 0)
            }
            ring[next] = Self.present | (failure ? Self.failed : 0) | (slow ? Self.slow : 0)
            next += 1
            if next == ring.count { next = 0 }
            shape = .calls(ring: ring, next: next)
            add(failure: failure, slow: slow)
        case .time(var buckets, let width, let newest):
            shape = .calls(ring: [], next: 0)
            let index = Self.bucketIndex(now, width)
            let head = Self.advance(&buckets, to: index, from: newest, totals: &self)
            let count = Nanoseconds(buckets.count)
            if index > head - count {  // older outcomes have already left the window
                let slot = Int(((index % count) + count) % count)
                if buckets[slot].index != index { buckets[slot] = Bucket(index: index) }
                buckets[slot].calls += 1
                if failure { buckets[slot].failures += 1 }
                if slow { buckets[slot].slowCalls += 1 }
                if failure && slow { buckets[slot].slowFailures += 1 }
                add(failure: failure, slow: slow)
            }
            shape = .time(buckets: buckets, width: width, newest: head)
        }
    }

    /// Drops the buckets that have left a time window by `now`; a count window does not age.
    mutating func age(to now: Nanoseconds) {
        guard case .time(var buckets, let width, let newest) = shape else { return }
        shape = .calls(ring: [], next: 0)
        let head = Self.advance(&buckets, to: Self.bucketIndex(now, width), from: newest, totals: &self)
        shape = .time(buckets: buckets, width: width, newest: head)
    }

    func snapshot(consecutiveFailures: Int) -> WindowSnapshot {
        WindowSnapshot(calls: calls, failures: failures, slowCalls: slowCalls, slowFailures: slowFailures, consecutiveFailures: consecutiveFailures)
    }

    private static func bucketIndex(_ now: Nanoseconds, _ width: Nanoseconds) -> Nanoseconds {
        now >= 0 ? now / width : (now - width + 1) / width
    }

    /// Moves the newest bucket to `index`, subtracting every bucket that falls out on the way.
    private static func advance(_ buckets: inout [Bucket], to index: Nanoseconds, from newest: Nanoseconds?, totals: inout OutcomeWindow) -> Nanoseconds {
        guard let newest else { return index }
        guard index > newest else { return newest }
        let count = Nanoseconds(buckets.count)
        if index - newest >= count {
            // Everything left the window; stale buckets are recognised by their index, so none is touched.
            totals.calls = 0; totals.failures = 0; totals.slowCalls = 0; totals.slowFailures = 0
            return index
        }
        var leaving = newest + 1
        while leaving <= index {
            let slot = Int(((leaving % count) + count) % count)
            let bucket = buckets[slot]
            if bucket.index == leaving - count {
                totals.calls -= Int(bucket.calls)
                totals.failures -= Int(bucket.failures)
                totals.slowCalls -= Int(bucket.slowCalls)
                totals.slowFailures -= Int(bucket.slowFailures)
            }
            buckets[slot] = Bucket(index: leaving)
            leaving += 1
        }
        return index
    }

    private mutating func add(failure: Bool, slow: Bool) {
        calls += 1
        if failure { failures += 1 }
        if slow { slowCalls += 1 }
        if failure && slow { slowFailures += 1 }
    }

    private mutating func subtract(failure: Bool, slow: Bool) {
        calls -= 1
        if failure { failures -= 1 }
        if slow { slowCalls -= 1 }
        if failure && slow { slowFailures -= 1 }
    }
}
