import CBreaker
import Synchronization

/// Atomic words laid out in per-thread stripes 128 bytes apart, so that threads writing at once write
/// different cache lines (a line bouncing between cores costs more than the call it counts). Each
/// stripe holds up to ``words`` words; a thread finds its stripe through ``ThreadStripe``.
///
/// Allocated on first ``install()`` (2 KB), once, and owned: a noncopyable value that frees the memory
/// in its `deinit`, so it can be neither copied apart from its memory nor freed twice. Owners install
/// it only where contention shows, so an idle breaker carries none.
@usableFromInline
struct Stripes: ~Copyable, Sendable {
    @usableFromInline static let count = 16
    @usableFromInline static let words = 16  // words per stripe: 16 × 8 bytes = 128 bytes
    /// The memory's address, 0 until installed. A plain word rather than a reference: loading it on
    /// the call path must cost one load, with no retain and no generic code.
    @usableFromInline let address = Atomic<UInt>(0)

    @usableFromInline
    init() {}

    deinit {
        let installed = address.load(ordering: .acquiring)
        if installed != 0 { UnsafeMutableRawPointer(bitPattern: installed)?.deallocate() }
    }

    /// The stripes' base, or `nil` until installed.
    @inlinable
    var base: UnsafeMutablePointer<Atomic<UInt64>>? {
        UnsafeMutablePointer(bitPattern: address.load(ordering: .acquiring))
    }

    /// Allocates the stripes, zeroed, unless another thread has; safe to call from any thread.
    @usableFromInline
    func install() {
        guard address.load(ordering: .acquiring) == 0 else { return }
        let total = Self.count * Self.words
        let raw = UnsafeMutableRawPointer.allocate(byteCount: total * MemoryLayout<Atomic<UInt64>>.stride, alignment: 128)
        let words = raw.bindMemory(to: Atomic<UInt64>.self, capacity: total)
        for index in 0..<total { (words + index).initialize(to: Atomic(0)) }
        if !address.compareExchange(expected: 0, desired: UInt(bitPattern: raw), ordering: .acquiringAndReleasing).exchanged {
            raw.deallocate()
        }
    }

    /// Word `word` of the calling thread's stripe in the stripes at `base`.
    @inlinable
    static func mine(_ base: UnsafeMutablePointer<Atomic<UInt64>>, _ word: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        base + (ThreadStripe.current &* words &+ word)
    }

    /// Word `word` of stripe `stripe` in the stripes at `base`.
    static func word(_ base: UnsafeMutablePointer<Atomic<UInt64>>, _ word: Int, of stripe: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        base + (stripe * words + word)
    }
}

/// Lifetime counts of a breaker's calls, one counter per ``Kind``.
///
/// Counts start in one shared set of words (40 bytes, no allocation). When more than one thread keeps
/// counting (``ContentionProbe``, sampled on one count in ``probeInterval``), the counters move to
/// per-thread ``Stripes`` so that threads stop writing one cache line. Reading sums both.
///
/// A noncopyable value stored inline in its breaker: no allocation of its own.
@usableFromInline
struct CallCounters: ~Copyable, Sendable {
    /// What is counted.
    @usableFromInline
    enum Kind: Int, CaseIterable, Sendable {
        case success = 0, failure, ignored, rejected, slow
    }

    @usableFromInline let successes = Atomic<UInt64>(0)
    @usableFromInline let failures = Atomic<UInt64>(0)
    @usableFromInline let ignored = Atomic<UInt64>(0)
    @usableFromInline let rejected = Atomic<UInt64>(0)
    @usableFromInline let slow = Atomic<UInt64>(0)
    @usableFromInline let probe = ContentionProbe()
    @usableFromInline let stripes = Stripes()

    init() {}

    /// Adds one to `kind`: in the calling thread's stripe once counters are striped, else in the shared words.
    @inlinable
    func increment(_ kind: Kind) {
        if let base = stripes.base {
            Stripes.mine(base, kind.rawValue).pointee.wrappingAdd(1, ordering: .relaxed)
            return
        }
        let before: UInt64
        switch kind {
        case .success: before = successes.wrappingAdd(1, ordering: .relaxed).oldValue
        case .failure: before = failures.wrappingAdd(1, ordering: .relaxed).oldValue
        case .ignored: before = ignored.wrappingAdd(1, ordering: .relaxed).oldValue
        case .rejected: before = rejected.wrappingAdd(1, ordering: .relaxed).oldValue
        case .slow: before = slow.wrappingAdd(1, ordering: .relaxed).oldValue
        }
        // The probe looks at the writing thread on one count in `probeInterval`: comparing threads on
        // every count would cost the single thread a few instructions per call, and two threads taking
        // turns still show within a few thousand counts.
        if before & (Self.probeInterval &- 1) == 0 && probe.isContended(ThreadStripe.current) { stripes.install() }
    }

    /// How often an unstriped count samples the writing thread (a power of two).
    @usableFromInline static var probeInterval: UInt64 { 32 }

    private func sharedTotal(_ kind: Kind) -> UInt64 {
        switch kind {
        case .success: successes.load(ordering: .relaxed)
        case .failure: failures.load(ordering: .relaxed)
        case .ignored: ignored.load(ordering: .relaxed)
        case .rejected: rejected.load(ordering: .relaxed)
        case .slow: slow.load(ordering: .relaxed)
        }
    }

    /// The total of `kind`.
    func total(_ kind: Kind) -> Int {
        var sum = sharedTotal(kind)
        if let base = stripes.base {
            for stripe in 0..<Stripes.count {
                sum &+= Stripes.word(base, kind.rawValue, of: stripe).pointee.load(ordering: .relaxed)
            }
        }
        return Int(truncatingIfNeeded: sum)
    }
}

/// Notices when more than one thread keeps writing the same words: the writing thread has changed
/// ``switchesBeforeContended`` times. Costs a writer one relaxed load while the same thread writes.
@usableFromInline
struct ContentionProbe: ~Copyable, Sendable {
    static let switchesBeforeContended = 64

    /// The stripe (plus one) of the thread that wrote last.
    @usableFromInline let lastThread = Atomic<Int>(0)
    let switches = Atomic<Int>(0)

    init() {}

    /// Notes a write by the thread of `stripe`; `true` once, when the words have become contended.
    @inlinable
    func isContended(_ stripe: Int) -> Bool {
        lastThread.load(ordering: .relaxed) != stripe &+ 1 && noteSwitch(to: stripe &+ 1)
    }

    @usableFromInline
    func noteSwitch(to thread: Int) -> Bool {
        lastThread.store(thread, ordering: .relaxed)
        return switches.wrappingAdd(1, ordering: .relaxed).newValue == Self.switchesBeforeContended
    }
}

/// Gives each thread its own stripe index: threads are numbered in the order they first count
/// something, so up to ``Stripes/count`` threads never share a stripe. The number lives in a C
/// thread-local word (one load), not in a pthread key (a library call costing more than the count it
/// serves) nor in a hash of the thread's identity, which could collide.
@usableFromInline
enum ThreadStripe {
    static let next = Atomic<Int>(0)

    /// The calling thread's stripe, in `0..<Stripes.count`.
    @inlinable
    static var current: Int {
        let stored = c_breaker_thread_stripe_get()
        if stored != 0 { return (Int(bitPattern: stored) &- 1) & (Stripes.count &- 1) }
        return assign()
    }

    @usableFromInline
    static func assign() -> Int {
        let stripe = next.wrappingAdd(1, ordering: .relaxed).oldValue & (Stripes.count - 1)
        c_breaker_thread_stripe_set(UInt(stripe + 1))
        return stripe
    }
}
