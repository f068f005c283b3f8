import Synchronization

/// The requests and accepts an ``AdaptiveThrottle`` counts over its window, without a lock: ten time
/// buckets, each two atomic words (the bucket's time slot, and its counts: requests in the high 32
/// bits, accepts in the low 32). A writer that finds its bucket holding an older slot claims it by one
/// compare-and-swap and clears its counts; counts added by another thread between that claim and the
/// clearing are lost, a statistic's error of a few calls at a bucket's turn. Readers sum the buckets of
/// the last ten slots.
///
/// Summing ten buckets on every call would cost more than the rest of the call, so the probability is
/// kept in ``cached`` with the slot it was computed in, and computed again on every 16th request of a
/// bucket and whenever the slot turns: it lags the counts by at most 15 requests.
///
/// Holds the throttle's parameters too, so that a call decides from this object alone. A circuit keeps
/// every window it published alive for as long as it lives (see ``Circuit``).
@usableFromInline
final class ThrottleWindow: @unchecked Sendable {  // the words are atomics; the pointer never changes
    static let buckets = 10
    let throttle: AdaptiveThrottle
    /// The width of one bucket.
    let width: Nanoseconds
    /// `1 / width`: a slot is found by a multiplication, not a division.
    private let inverseWidth: Double
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    /// The last probability computed (high 16 bits, in 1/65535) and the low 48 bits of its slot.
    private let cached = Atomic<UInt64>(0)

    init(_ throttle: AdaptiveThrottle) {
        self.throttle = throttle
        width = max(1, throttle.window.nanoseconds / Int64(Self.buckets))
        inverseWidth = 1 / Double(width)
        words = .allocate(capacity: 2 * Self.buckets)
        for index in 0..<2 * Self.buckets { (words + index).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: 2 * Self.buckets)
        words.deallocate()
    }

    /// The slot of `now`, offset so that 0 means an unused bucket (a bucket's edge may be off by a
    /// nanosecond's rounding: a statistic).
    func slot(at now: Nanoseconds) -> UInt64 {
        UInt64(bitPattern: Int64((Double(now) * inverseWidth).rounded(.down)) &+ (1 << 62))
    }

    /// Counts a request in `slot`, and returns the probability of rejecting it.
    func request(inSlot slot: UInt64) -> Double {
        let counts = add(1 << 32, at: slot)
        let cache = cached.load(ordering: .relaxed)
        if cache & 0xFFFF_FFFF_FFFF == slot & 0xFFFF_FFFF_FFFF && (counts >> 32) & 15 != 1 {
            return Double(cache >> 48) / 65_535
        }
        let probability = probability(inSlot: slot)
        cached.store(UInt64((probability * 65_535).rounded()) << 48 | (slot & 0xFFFF_FFFF_FFFF), ordering: .relaxed)
        return probability
    }

    /// Counts an accept (a call that succeeded) in the slot its request was counted in.
    func accept(inSlot slot: UInt64) { _ = add(1, at: slot) }

    /// The probability of rejecting a request at `now`, from the counts.
    func probability(at now: Nanoseconds) -> Double { probability(inSlot: slot(at: now)) }

    private func probability(inSlot current: UInt64) -> Double {
        var requests: UInt64 = 0
        var accepts: UInt64 = 0
        for bucket in 0..<Self.buckets {
            let held = words[2 * bucket].load(ordering: .acquiring)
            guard held != 0, current &- held < UInt64(Self.buckets) else { continue }
            let counts = words[2 * bucket + 1].load(ordering: .relaxed)
            requests &+= counts >> 32
            accepts &+= counts & 0xFFFF_FFFF
        }
        return throttle.rejectionProbability(requests: Int(requests), accepts: Int(accepts))
    }

    /// Adds `delta` to the counts of `slot`'s bucket, claiming the bucket first if it holds an older
    /// slot; returns the bucket's counts after.
    private func add(_ delta: UInt64, at slot: UInt64) -> UInt64 {
        let bucket = Int(slot % UInt64(Self.buckets))
        let held = words[2 * bucket].load(ordering: .acquiring)
        if held != slot {
            // An older slot: the first writer of the new one clears it. A writer from an older slot than
            // the bucket's (a stale clock reading) adds to the newer one: off by one call, not more.
            if held < slot, words[2 * bucket].compareExchange(expected: held, desired: slot, ordering: .acquiringAndReleasing).exchanged {
                words[2 * bucket + 1].store(0, ordering: .releasing)
            }
        }
        return words[2 * bucket + 1].wrappingAdd(delta, ordering: .relaxed).newValue
    }
}
