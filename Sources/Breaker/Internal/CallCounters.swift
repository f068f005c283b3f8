import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Lifetime counts of a breaker's calls, striped so that threads counting at once rarely write the
/// same cache line (a shared counter's line bouncing between cores costs more than the call).
///
/// Each stripe is 128 bytes and holds one counter per ``Kind``; a thread picks its stripe from its
/// thread identifier. Reading sums the stripes.
@usableFromInline
final class CallCounters: @unchecked Sendable {
    /// What is counted.
    @usableFromInline
    enum Kind: Int, CaseIterable, Sendable {
        case success = 0, failure, ignored, rejected, slow
    }

    @usableFromInline static let stripes = 16
    @usableFromInline static let stride = 16  // counters per stripe: 16 × 8 bytes = 128 bytes
    @usableFromInline let base: UnsafeMutablePointer<Atomic<Int>>
    /// ``ThreadStripe/key``, copied so the call path reads no lazily initialised global.
    @usableFromInline let stripeKey = ThreadStripe.key

    init() {
        let count = Self.stripes * Self.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Atomic<Int>>.stride, alignment: 128)
        base = raw.bindMemory(to: Atomic<Int>.self, capacity: count)
        for index in 0..<count { (base + index).initialize(to: Atomic(0)) }
    }

    deinit {
        UnsafeMutableRawPointer(base).deallocate()
    }

    /// Adds one to `kind` in this thread's stripe.
    @inlinable
    func increment(_ kind: Kind) {
        (base + (ThreadStripe.current(stripeKey) &* Self.stride &+ kind.rawValue)).pointee.wrappingAdd(1, ordering: .relaxed)
    }

    /// The total of `kind` over all stripes.
    func total(_ kind: Kind) -> Int {
        var sum = 0
        for stripe in 0..<Self.stripes {
            sum &+= (base + stripe * Self.stride + kind.rawValue).pointee.load(ordering: .relaxed)
        }
        return sum
    }
}

/// Gives each thread its own stripe index: threads are numbered in the order they first count
/// something, so up to ``CallCounters/stripes`` threads never share a stripe. The number lives in a
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

    /// The calling thread's stripe, in `0..<CallCounters.stripes`.
    @inlinable
    static func current(_ key: pthread_key_t) -> Int {
        if let stored = pthread_getspecific(key) { return (Int(bitPattern: stored) &- 1) & (CallCounters.stripes &- 1) }
        return assign(key)
    }

    @usableFromInline
    static func assign(_ key: pthread_key_t) -> Int {
        let stripe = next.wrappingAdd(1, ordering: .relaxed).oldValue & (CallCounters.stripes - 1)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: stripe + 1))
        return stripe
    }
}
