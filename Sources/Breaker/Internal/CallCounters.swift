import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Words laid out in per-thread stripes 128 bytes apart, so that threads writing at once write
/// different cache lines (a line bouncing between cores costs more than the call it counts). Each
/// stripe holds up to ``words`` atomic words; a thread finds its stripe through ``ThreadStripe``.
///
/// A value stored inline in its owner (one pointer chase less on the call path); the owner calls
/// ``deallocate()`` in its `deinit`.
@usableFromInline
struct Stripes: @unchecked Sendable {
    @usableFromInline static let count = 16
    @usableFromInline static let words = 16  // words per stripe: 16 × 8 bytes = 128 bytes
    @usableFromInline let base: UnsafeMutablePointer<Atomic<UInt64>>
    /// ``ThreadStripe/key``, copied so the call path reads no lazily initialised global.
    @usableFromInline let stripeKey = ThreadStripe.key

    init() {
        let total = Self.count * Self.words
        let raw = UnsafeMutableRawPointer.allocate(byteCount: total * MemoryLayout<Atomic<UInt64>>.stride, alignment: 128)
        base = raw.bindMemory(to: Atomic<UInt64>.self, capacity: total)
        for index in 0..<total { (base + index).initialize(to: Atomic(0)) }
    }

    func deallocate() {
        UnsafeMutableRawPointer(base).deallocate()
    }

    /// Word `word` of the calling thread's stripe.
    @inlinable
    func mine(_ word: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        base + (ThreadStripe.current(stripeKey) &* Self.words &+ word)
    }

    /// Word `word` of stripe `stripe`.
    func word(_ word: Int, of stripe: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        base + (stripe * Self.words + word)
    }
}

/// Lifetime counts of a breaker's calls, one counter per ``Kind`` in each thread's stripe; reading sums
/// the stripes.
@usableFromInline
final class CallCounters: Sendable {
    /// What is counted.
    @usableFromInline
    enum Kind: Int, CaseIterable, Sendable {
        case success = 0, failure, ignored, rejected, slow
    }

    @usableFromInline let stripes = Stripes()

    init() {}

    deinit {
        stripes.deallocate()
    }

    /// Adds one to `kind` in this thread's stripe.
    @inlinable
    func increment(_ kind: Kind) {
        stripes.mine(kind.rawValue).pointee.wrappingAdd(1, ordering: .relaxed)
    }

    /// The total of `kind` over all stripes.
    func total(_ kind: Kind) -> Int {
        var sum: UInt64 = 0
        for stripe in 0..<Stripes.count {
            sum &+= stripes.word(kind.rawValue, of: stripe).pointee.load(ordering: .relaxed)
        }
        return Int(truncatingIfNeeded: sum)
    }
}

/// Gives each thread its own stripe index: threads are numbered in the order they first count
/// something, so up to ``Stripes/count`` threads never share a stripe. The number lives in a
/// pthread key (a few instructions to read), not in a hash of the thread's identity, which could
/// collide.
@usableFromInline
enum ThreadStripe {
    @usableFromInline static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key, nil)
        precondition(rc == 0, "pthread_key_create failed: \(rc)")
        return key
    }()
    static let next = Atomic<Int>(0)

    /// The calling thread's stripe, in `0..<Stripes.count`.
    @inlinable
    static func current(_ key: pthread_key_t) -> Int {
        if let stored = pthread_getspecific(key) { return (Int(bitPattern: stored) &- 1) & (Stripes.count &- 1) }
        return assign(key)
    }

    @usableFromInline
    static func assign(_ key: pthread_key_t) -> Int {
        let stripe = next.wrappingAdd(1, ordering: .relaxed).oldValue & (Stripes.count - 1)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: stripe + 1))
        return stripe
    }
}
