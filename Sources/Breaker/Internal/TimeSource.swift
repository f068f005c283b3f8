#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
#if canImport(SwiftOverlayShims)
import SwiftOverlayShims  // declares the `timespec` that `clock_gettime` fills on some toolchains
#endif

/// A clock erased to "nanoseconds since an origin", so the breaker's public type stays non-generic
/// and the state machine works on plain integers.
///
/// The origin is shared by every clock of the same type in the process (the first instant read from
/// that type), so two breakers that share a storage and use clocks of the same type agree on time.
/// On Linux, the standard clocks are read with `clock_gettime(CLOCK_MONOTONIC)` directly, in whole
/// nanoseconds: a tenth of the instructions of going through `Clock` and 128-bit `Duration` arithmetic,
/// on paths that read the time on every call. (`ContinuousClock` itself also counts time the system
/// spends suspended; the breaker does not, so a suspended machine's open periods end later, never
/// sooner.) Sleeping still goes through the clock itself.
///
/// A class, so that a breaker and its circuit hold one reference to it; the standard clocks have one
/// shared instance each.
@usableFromInline
final class TimeSource: Sendable {
    /// Reads a custom clock (the standard ones are read directly: ``systemClocks``).
    private let read: @Sendable () -> Nanoseconds
    /// Reads a custom clock cheaply; the same as ``read`` unless the clock has a cheaper reading.
    private let readLagging: @Sendable () -> Nanoseconds
    /// For the standard clocks, the system clocks behind ``now()`` and ``laggingNow()``, read with no
    /// closure call in between (a rejection reads one); `nil` for a custom clock.
    private let systemClocks: (precise: Int32, lagging: Int32)?
    /// How far ``laggingNow()`` may lag (the coarse clock's tick), or `nil` when it is ``now()`` itself.
    let lag: Nanoseconds?
    /// Suspends until the clock reaches `deadline`; throws `CancellationError` if the task is cancelled.
    let sleepUntil: @Sendable (Nanoseconds) async throws -> Void

    /// The source for `clock`: the shared one of a standard clock, or a new one.
    static func of<C: Clock>(_ clock: C) -> TimeSource where C.Duration == Duration {
        #if canImport(Glibc) || canImport(Musl)
        if C.self == ContinuousClock.self { return continuous }
        if C.self == SuspendingClock.self { return suspending }
        #endif
        return TimeSource(clock)
    }

    private convenience init<C: Clock>(_ clock: C) where C.Duration == Duration {
        // Time on the clock's own line where it has a zero, so bucket edges do not depend on what the
        // process happened to read first.
        let reading = clock.now
        let origin = (reading as? any InstantWithFixedZero).map { reading.advanced(by: .zero - $0.durationSinceZero) }
            ?? ClockOrigins.origin(for: clock)
        let now: @Sendable () -> Nanoseconds = { origin.duration(to: clock.now).nanoseconds }
        self.init(
            now: now,
            laggingNow: now,
            systemClocks: nil,
            lag: nil,
            sleepUntil: { deadline in
                try await clock.sleep(until: origin.advanced(by: .nanoseconds(deadline)), tolerance: nil)
            })
    }

    private init(
        now: @escaping @Sendable () -> Nanoseconds, laggingNow: @escaping @Sendable () -> Nanoseconds,
        systemClocks: (precise: Int32, lagging: Int32)?, lag: Nanoseconds?, sleepUntil: @escaping @Sendable (Nanoseconds) async throws -> Void
    ) {
        self.read = now
        self.readLagging = laggingNow
        self.systemClocks = systemClocks
        self.lag = lag
        self.sleepUntil = sleepUntil
    }

    /// Reads the clock.
    @inline(__always)
    func now() -> Nanoseconds {
        #if canImport(Glibc) || canImport(Musl)
        if let systemClocks { return Self.reading(systemClocks.precise) }
        #endif
        return read()
    }

    /// Reads the clock cheaply, possibly a few milliseconds behind ``now()`` (never ahead): for checks
    /// where a late reading errs on the safe side, such as rejecting a call while a circuit is open.
    @inline(__always)
    func laggingNow() -> Nanoseconds {
        #if canImport(Glibc) || canImport(Musl)
        if let systemClocks { return Self.reading(systemClocks.lagging) }
        #endif
        return readLagging()
    }

    /// Whether ``laggingNow()`` is precise enough to measure or place something `span` long: its lag is
    /// at most 4 % of the span (25 ticks; 100 ms with the usual 4 ms tick).
    func lagIsNegligible(against span: Nanoseconds) -> Bool {
        guard let lag else { return true }
        return lag > 0 && span / 25 >= lag
    }

    #if canImport(Glibc) || canImport(Musl)
    private static let continuous = monotonic(sleepingOn: ContinuousClock())
    private static let suspending = monotonic(sleepingOn: SuspendingClock())

    /// Reads `systemClock` (the one behind `clock`) directly; sleeps on `clock`, converting deadlines
    /// through a pair of readings taken now.
    private static func monotonic<C: Clock>(sleepingOn clock: C) -> TimeSource where C.Duration == Duration {
        let read = Self.reader(CLOCK_MONOTONIC)
        let instant = clock.now
        let reading = read()
        var resolution = timespec()
        clock_getres(CLOCK_MONOTONIC_COARSE, &resolution)
        let tick = Nanoseconds(resolution.tv_sec) &* 1_000_000_000 &+ Nanoseconds(resolution.tv_nsec)
        return TimeSource(
            now: read, laggingNow: Self.reader(CLOCK_MONOTONIC_COARSE), systemClocks: (Int32(CLOCK_MONOTONIC), Int32(CLOCK_MONOTONIC_COARSE)),
            lag: tick
        ) { deadline in
            try await clock.sleep(until: instant.advanced(by: .nanoseconds(deadline &- reading)), tolerance: nil)
        }
    }

    /// Reads `systemClock` in nanoseconds. `CLOCK_MONOTONIC_COARSE` has the same origin as
    /// `CLOCK_MONOTONIC`, is updated once a tick (a few milliseconds) and costs a quarter as much.
    private static func reader(_ systemClock: clockid_t) -> @Sendable () -> Nanoseconds {
        { reading(Int32(systemClock)) }
    }

    @inline(__always)
    private static func reading(_ systemClock: Int32) -> Nanoseconds {
        var time = timespec()
        clock_gettime(clockid_t(systemClock), &time)
        return Nanoseconds(time.tv_sec) &* 1_000_000_000 &+ Nanoseconds(time.tv_nsec)
    }
    #endif
}

/// An instant that knows how far it is from its clock's fixed zero (`ManualClock`'s instants do).
///
/// Time windows place bucket edges at whole multiples of the bucket width from the clock's zero: on
/// the standard clocks, from the system's monotonic zero; on a clock whose instants conform to this
/// protocol, from that zero; on any other clock, from the first instant the process read of that
/// clock type, so edges may differ between runs.
public protocol InstantWithFixedZero: InstantProtocol where Duration == Swift.Duration {
    /// The time from the clock's zero to this instant.
    var durationSinceZero: Swift.Duration { get }
}

/// The process-wide origin of each clock type.
private enum ClockOrigins {
    private static let origins = Locked<[ObjectIdentifier: any Sendable]>([:])

    static func origin<C: Clock>(for clock: C) -> C.Instant {
        let key = ObjectIdentifier(C.self)
        if let known = origins.withLock({ $0[key] }) as? C.Instant { return known }
        // Read the clock outside the lock: a custom clock is user code.
        let candidate = clock.now
        return origins.withLock { table in
            if let known = table[key] as? C.Instant { return known }
            table[key] = candidate
            return candidate
        }
    }
}
