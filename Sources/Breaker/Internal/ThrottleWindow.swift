import Synchronization

/// The requests and accepts an ``AdaptiveThrottle`` counts over its window, without a lock: ten time
/// buckets, each two atomic words (the bucket's time slot, and its counts: requests in the high 32
/// bits, accepts in the low 32). A writer that finds its bucket holding an older slot claims it by one
/// compare-and-swap and clears its counts; counts added by another thread between that claim and the
/// clearing are lost, a statistic's error of a few calls at a bucket's turn. Readers sum the buckets of
/// the last ten slots.
///
/// Holds the throttle's parameters too, so that a call decides from this object alone. A circuit keeps
/// every window it published alive for as long as it lives (see ``Circuit``).
@usableFromInline
final class ThrottleWindow: @unchecked Sendable {  // the words are atomics; the pointer never changes
    static let buckets = 10
    let throttle: AdaptiveThrottle
    /// The width of one bucket.
    let width: Nanoseconds
    private let words: UnsafeMutablePointer<Atomic<UInt64>>

    init(_ throttle: AdaptiveThrottle) {
        self.throttle = throttle
        width = max(1, throttle.window.nanoseconds / Int64(Self.buckets))
        words = .allocate(capacity: 2 * Self.buckets)
        for index in 0..<2 * Self.buckets { (words + index).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: 2 * Self.buckets)
        words.deallocate()
    }

    /// The slot of `now`, plus one so that 0 means an unused bucket.
    private func slot(_ now: Nanoseconds) -> UInt64 {
        UInt64(bitPattern: (now >= 0 ? now / width : (now - width + 1) / width) &+ (1 << 62))
    }

    /// Counts a request at `now`, and returns the probability of rejecting it from the counts before it.
    func request(at now: Nanoseconds) -> Double {
        let current = slot(now)
        let probability = probability(inSlot: current)
        add(1 << 32, at: current)
        return probability
    }

    /// The probability of rejecting a request at `now`.
    func probability(at now: Nanoseconds) -> Double { probability(inSlot: slot(now)) }

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

    /// Counts an accept (a call that succeeded) at `now`.
    func accept(at now: Nanoseconds) { add(1, at: slot(now)) }

    private func add(_ delta: UInt64, at slot: UInt64) {
        let bucket = Int(slot % UInt64(Self.buckets))
        let held = words[2 * bucket].load(ordering: .acquiring)
        if held != slot {
            // An older slot: the first writer of the new one clears it. A writer from an older slot than
            // the bucket's (a stale clock reading) adds to the newer one: off by one call, not more.
            if held < slot, words[2 * bucket].compareExchange(expected: held, desired: slot, ordering: .acquiringAndReleasing).exchanged {
                words[2 * bucket + 1].store(0, ordering: .releasing)
            }
        }
        words[2 * bucket + 1].wrappingAdd(delta, ordering: .relaxed)
    }
}
