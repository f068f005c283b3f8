/// The sliding window of counted outcomes: the last N calls, or the calls of the last span of time
/// in buckets. Both keep running totals and subtract what they evict, so recording and reading cost
/// O(1) whatever the size (a time window also clears one bucket per bucket-width of time that passed,
/// at most once per bucket).
struct OutcomeWindow: Sendable {
    private(set) var calls = 0
    private(set) var failures = 0
    private(set) var slowCalls = 0
    private(set) var slowFailures = 0

    /// A count window: one byte per call slot (flags below), and the slot the next outcome replaces.
    private var ring: [UInt8] = []
    private var next = 0
    /// A time window: buckets indexed by `index % count`, each stamped with its absolute index, so a
    /// bucket from an earlier lap is recognised as stale without being cleared.
    private var buckets: [Bucket] = []
    private var width: Nanoseconds = 0
    private var newest: Nanoseconds?

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
            ring = Array(repeating: 0, count: count)
        case .time(let span, let bucket):
            width = bucket.nanoseconds
            buckets = Array(repeating: Bucket(), count: Int(span.nanoseconds / width))
        }
    }

    /// A full count window holding only fast successes: another fast success replaces one of them
    /// and changes nothing, so it need not be recorded at all.
    var isFullOfFastSuccesses: Bool {
        !ring.isEmpty && calls == ring.count && failures == 0 && slowCalls == 0
    }

    /// A time window holding no failure and no slow call: a success there cannot trip the circuit, so
    /// it may be counted later (see ``DeferredSuccesses``). Its bucket width, or `nil`.
    var quietBucketWidth: Nanoseconds? {
        !buckets.isEmpty && failures == 0 && slowCalls == 0 ? width : nil
    }

    /// The bucket a time window puts an outcome finished at `now` in.
    func bucketIndex(_ now: Nanoseconds) -> Nanoseconds {
        now >= 0 ? now / width : (now - width + 1) / width
    }

    /// Counts `count` fast successes that finished in bucket `index` (a time window only); buckets that
    /// have left the window meanwhile are not counted.
    mutating func addSuccesses(_ count: Int, inBucket index: Nanoseconds) {
        guard !buckets.isEmpty else { return }
        age(toBucket: index)
        let size = Nanoseconds(buckets.count)
        guard let newest, index > newest - size else { return }
        let slot = Int(((index % size) + size) % size)
        if buckets[slot].index != index { buckets[slot] = Bucket(index: index) }
        buckets[slot].calls += Int32(count)
        calls += count
    }

    /// Counts one outcome finished at `now` (read only by a time window).
    mutating func record(failure: Bool, slow: Bool, now: Nanoseconds) {
        if ring.isEmpty {
            recordInBucket(failure: failure, slow: slow, now: now)
            return
        }
        let evicted = ring[next]
        if evicted & Self.present != 0 {
            add(-1, failure: evicted & Self.failed != 0, slow: evicted & Self.slow != 0)
        }
        ring[next] = Self.present | (failure ? Self.failed : 0) | (slow ? Self.slow : 0)
        next = next == ring.count - 1 ? 0 : next + 1
        add(1, failure: failure, slow: slow)
    }

    private mutating func recordInBucket(failure: Bool, slow: Bool, now: Nanoseconds) {
        let index = bucketIndex(now)
        age(toBucket: index)
        let count = Nanoseconds(buckets.count)
        guard let newest, index > newest - count else { return }  // older outcomes have already left the window
        let slot = Int(((index % count) + count) % count)
        if buckets[slot].index != index { buckets[slot] = Bucket(index: index) }
        buckets[slot].calls += 1
        if failure { buckets[slot].failures += 1 }
        if slow { buckets[slot].slowCalls += 1 }
        if failure && slow { buckets[slot].slowFailures += 1 }
        add(1, failure: failure, slow: slow)
    }

    /// Drops the buckets that have left a time window by `now`; a count window does not age.
    mutating func age(to now: Nanoseconds) {
        if !buckets.isEmpty { age(toBucket: bucketIndex(now)) }
    }

    func snapshot(consecutiveFailures: Int) -> WindowSnapshot {
        WindowSnapshot(calls: calls, failures: failures, slowCalls: slowCalls, slowFailures: slowFailures, consecutiveFailures: consecutiveFailures)
    }

    /// Moves the newest bucket to `index`, subtracting every bucket that falls out on the way.
    private mutating func age(toBucket index: Nanoseconds) {
        guard let current = newest else {
            newest = index
            return
        }
        guard index > current else { return }
        newest = index
        let count = Nanoseconds(buckets.count)
        if index - current >= count {
            // Everything left the window; stale buckets are recognised by their index, so none is touched.
            calls = 0
            failures = 0
            slowCalls = 0
            slowFailures = 0
            return
        }
        var leaving = current + 1
        while leaving <= index {
            let slot = Int(((leaving % count) + count) % count)
            let bucket = buckets[slot]
            if bucket.index == leaving - count {
                calls -= Int(bucket.calls)
                failures -= Int(bucket.failures)
                slowCalls -= Int(bucket.slowCalls)
                slowFailures -= Int(bucket.slowFailures)
            }
            buckets[slot] = Bucket(index: leaving)
            leaving += 1
        }
    }

    private mutating func add(_ sign: Int, failure: Bool, slow: Bool) {
        calls += sign
        if failure { failures += sign }
        if slow { slowCalls += sign }
        if failure && slow { slowFailures += sign }
    }
}
