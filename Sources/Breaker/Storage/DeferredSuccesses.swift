import Synchronization

/// Successes of a healthy time window, counted per thread without the lock and folded into the window
/// the next time anyone takes the lock (before any decision reads the window).
///
/// While a time window holds no failure and no slow call, a success cannot trip the circuit; it only
/// adds to its bucket's count, which matters once a later failure is judged. So a success may be
/// parked in the calling thread's stripe, tagged with its bucket and the window it was parked for, and
/// added to the window later, with the same result as adding it at once. A stripe packs the tag and a
/// count in one word, changed by compare-and-swap, so threads that share a stripe (more than
/// ``Stripes/count`` threads) never attribute counts to the wrong tag; a folder takes a
/// stripe's whole word at once.
final class DeferredSuccesses: Sendable {
    private static let countBits: UInt64 = 16
    private static let bucketBits: UInt64 = 40
    private static let maxCount: UInt64 = (1 << countBits) - 1

    /// One word per thread stripe: the tag in the high 48 bits, the count in the low 16. Allocated by
    /// the first success parked, so circuits without a quiet time window carry none.
    private let stripes = AtomicLazyReference<Stripes>()
    private let stripeKey = ThreadStripe.key

    /// Parks one success of bucket `bucket` for the window `windowTag` names (8 bits); returns `false`
    /// when it cannot (the stripe holds another tag or is full, or the bucket does not fit the tag), and
    /// the caller must record the success under the lock instead.
    func add(bucket: Int64, tag windowTag: UInt64) -> Bool {
        guard bucket >= 0, bucket < 1 << Self.bucketBits else { return false }
        let tag = ((windowTag & 0xFF) << (Self.bucketBits + Self.countBits)) | (UInt64(bucket) << Self.countBits)
        let slot = (stripes.load() ?? stripes.storeIfNil(Stripes())).mine(0, key: stripeKey)
        var word = slot.pointee.load(ordering: .relaxed)
        while true {
            let next: UInt64
            if word == 0 {
                next = tag | 1
            } else if word & ~Self.maxCount == tag && word & Self.maxCount < Self.maxCount {
                next = word + 1
            } else {
                return false
            }
            let (exchanged, original) = slot.pointee.compareExchange(expected: word, desired: next, ordering: .relaxed)
            if exchanged { return true }
            word = original
        }
    }

    /// Empties every stripe, handing each parked count to `absorb(count, bucket, windowTag)`;
    /// call with the storage lock held.
    func drain(_ absorb: (Int, Int64, UInt64) -> Void) {
        guard let stripes = stripes.load() else { return }
        for stripe in 0..<Stripes.count {
            let slot = stripes.word(0, of: stripe)
            guard slot.pointee.load(ordering: .relaxed) != 0 else { continue }
            let word = slot.pointee.exchange(0, ordering: .acquiring)
            guard word != 0 else { continue }
            let count = Int(word & Self.maxCount)
            let bucket = Int64((word >> Self.countBits) & ((1 << Self.bucketBits) - 1))
            absorb(count, bucket, word >> (Self.bucketBits + Self.countBits))
        }
    }
}
