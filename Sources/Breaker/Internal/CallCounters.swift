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
        let thread = pthread_self_bits()
        // Thread control blocks sit at least a page apart; mix the bits above the page offset.
        let stripe = Int(truncatingIfNeeded: ((thread >> 12) &* 0x9E37_79B9_7F4A_7C15) >> 60) & (Self.stripes - 1)
        (base + stripe * Self.stride + kind.rawValue).pointee.wrappingAdd(1, ordering: .relaxed)
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

/// The calling thread's identifier as an integer.
@inlinable
func pthread_self_bits() -> UInt {
    #if canImport(Darwin)
    return UInt(bitPattern: pthread_self())
    #else
    return UInt(pthread_self())
    #endif
}
