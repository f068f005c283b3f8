import Synchronization

/// Successes of a healthy time window, counted without the lock and folded into the window the next
/// time anyone takes the lock (before any decision reads the window).
///
/// While a time window holds no failure and no slow call, a success cannot trip the circuit; it only
/// adds to its bucket's count, which matters once a later failure is judged. So a success may be
/// parked, tagged with its bucket and the window it was parked for, and added to the window later,
/// with the same result as adding it at once. A parking word packs the tag and a count, changed by
/// compare-and-swap, so threads that share a word never attribute counts to the wrong tag; a folder
/// takes a word whole.
///
/// Successes park in one shared word until more than one thread keeps parking
/// (``ContentionProbe``); then each thread parks in its own 128-byte stripe (``Stripes``), so that
/// threads stop writing one cache line. An idle circuit carries no stripes.
struct DeferredSuccesses: ~Copyable, Sendable {
    private static let countBits: UInt64 = 16
    private static let bucketBits: UInt64 = 40
    private static let maxCount: UInt64 = (1 << countBits) - 1

    /// The tag in the high 48 bits, the count in the low 16.
    private let shared = Atomic<UInt64>(0)
    private let probe = ContentionProbe()
    /// One word per thread stripe, laid out like ``shared``; installed once contention shows.
    private let stripes = Stripes()

    /// Parks one success of bucket `bucket` for the window `windowTag` names (8 bits); returns `false`
    /// when it cannot (the word holds another tag or is full, or the bucket does not fit the tag), and
    /// the caller must record the success under the lock instead.
    func add(bucket: Int64, tag windowTag: UInt64) -> Bool {
        guard bucket >= 0, bucket < 1 << Self.bucketBits else { return false }
        let tag = ((windowTag & 0xFF) << (Self.bucketBits + Self.countBits)) | (UInt64(bucket) << Self.countBits)
        if let base = stripes.base { return Self.park(tag, in: Stripes.mine(base, 0).pointee) }
        if probe.isContended(ThreadStripe.current) { stripes.install() }
        return Self.park(tag, in: shared)
    }

    private static func park(_ tag: UInt64, in slot: borrowing Atomic<UInt64>) -> Bool {
        var word = slot.load(ordering: .relaxed)
        while true {
            let next: UInt64
            if word == 0 {
                next = tag | 1
            } else if word & ~maxCount == tag && word & maxCount < maxCount {
                next = word + 1
            } else {
                return false
            }
            let (exchanged, original) = slot.compareExchange(expected: word, desired: next, ordering: .relaxed)
            if exchanged { return true }
            word = original
        }
    }

    /// Empties the shared word and every stripe, handing each parked count to
    /// `absorb(count, bucket, windowTag)`; call with the circuit's lock held.
    func drain(_ absorb: (Int, Int64, UInt64) -> Void) {
        Self.drain(shared, absorb)
        guard let base = stripes.base else { return }
        for stripe in 0..<Stripes.count { Self.drain(Stripes.word(base, 0, of: stripe).pointee, absorb) }
    }

    private static func drain(_ slot: borrowing Atomic<UInt64>, _ absorb: (Int, Int64, UInt64) -> Void) {
        guard slot.load(ordering: .relaxed) != 0 else { return }
        let word = slot.exchange(0, ordering: .acquiring)
        guard word != 0 else { return }
        let count = Int(word & maxCount)
        let bucket = Int64((word >> countBits) & ((1 << bucketBits) - 1))
        absorb(count, bucket, word >> (bucketBits + countBits))
    }
}
