import Breaker
import Synchronization

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

/// The limiters of breakers other than the first, by breaker identity.
private struct LockedLimiters: Sendable {
    private let limiters = Locked([UInt: RejectionLimiter]())

    func limiter(for id: UInt) -> RejectionLimiter {
        limiters.withLock { limiters in
            if let limiter = limiters[id] { return limiter }
            let limiter = RejectionLimiter()
            limiters[id] = limiter
            return limiter
        }
    }
}

extension Duration {
    /// Whether this is the breaker's "until further notice" (a circuit forced open): `Int64.max`
    /// nanoseconds or more.
    var isUnbounded: Bool { nanoseconds == .max }

    /// Seconds with at most three decimals and no trailing zeros: `30`, `12.5`, `0.25`, `0.001`.
    var secondsText: String {
        let nanoseconds = max(0, nanoseconds)
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
