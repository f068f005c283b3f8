import Breaker
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The pieces of ``BreakerLogger`` that are not the listener itself: the rejection rate limit and the
// formatting of durations.

/// The rejection rate limit of one breaker: lets one rejection through per interval and counts the
/// others, lock-free.
final class RejectionLimiter: Sendable {
    /// The clock reading (nanoseconds from the logger's start) from which the next line may be logged.
    private let nextLine = Atomic<Int64>(.min)
    /// Rejections not logged since the last line.
    private let suppressed = Atomic<Int>(0)

    init() {}

    /// Whether the rejection heard at `now` is logged: if so, returns how many were suppressed since the
    /// last line (and starts counting again); if not, counts it and returns `nil`.
    func admit(now: Int64, interval: Int64) -> Int? {
        var next = nextLine.load(ordering: .relaxed)
        while now >= next {
            let (won, current) = nextLine.compareExchange(
                expected: next, desired: now.addingReportingOverflow(interval).overflow ? .max : now + interval,
                ordering: .acquiringAndReleasing)
            if won { return suppressed.exchange(0, ordering: .acquiringAndReleasing) }
            next = current
        }
        suppressed.wrappingAdd(1, ordering: .relaxed)
        return nil
    }
}

/// One ``RejectionLimiter`` per breaker. The first breaker a logger hears from (almost always the only
/// one) gets its limiter through one atomic load; other breakers' limiters are kept in a dictionary
/// behind a mutex.
final class RejectionLimiters: Sendable {
    /// `ObjectIdentifier` of the first breaker heard from, as bits; zero until then.
    private let firstBreaker = Atomic<UInt>(0)
    private let first = RejectionLimiter()
    private let others = LockedLimiters()

    init() {}

    /// The limiter of `breaker`.
    func limiter(for breaker: CircuitBreaker) -> RejectionLimiter {
        let id = UInt(bitPattern: ObjectIdentifier(breaker))
        let owner = firstBreaker.load(ordering: .relaxed)
        if owner == id { return first }
        if owner == 0 {
            let (claimed, current) = firstBreaker.compareExchange(expected: 0, desired: id, ordering: .relaxed)
            if claimed || current == id { return first }
        }
        return others.limiter(for: id)
    }
}

/// The dictionary of limiters for breakers other than the first, behind a pthread mutex.
///
/// `@unchecked Sendable`: the dictionary is reached only while the mutex is held. A pthread mutex rather
/// than `Synchronization.Mutex`, because the thread sanitizer reports false races inside
/// `Synchronization.Mutex` on Linux (the core's `Locked` makes the same choice).
private final class LockedLimiters: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var limiters: [UInt: RejectionLimiter] = [:]

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    func limiter(for id: UInt) -> RejectionLimiter {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if let limiter = limiters[id] { return limiter }
        let limiter = RejectionLimiter()
        limiters[id] = limiter
        return limiter
    }
}

extension Duration {
    /// This duration in whole nanoseconds, saturating at the bounds of `Int64`.
    var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return sum
    }

    /// Whether this is the breaker's "until further notice" (a circuit forced open): `Int64.max`
    /// nanoseconds or more.
    var isUnbounded: Bool { wholeNanoseconds == .max }

    /// Seconds with at most three decimals and no trailing zeros: `30`, `12.5`, `0.25`, `0.001`.
    var secondsText: String {
        let nanoseconds = max(0, wholeNanoseconds)
        let milliseconds = nanoseconds / 1_000_000 + (nanoseconds % 1_000_000 >= 500_000 ? 1 : 0)
        let whole = milliseconds / 1000
        var fraction = milliseconds % 1000
        guard fraction != 0 else { return "\(whole)" }
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }
}
