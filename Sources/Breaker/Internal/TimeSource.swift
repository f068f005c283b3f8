/// A clock erased to "nanoseconds since an origin", so the breaker's public type stays non-generic
/// and the state machine works on plain integers.
///
/// The origin is shared by every clock of the same type in the process (the first instant read from
/// that type), so two breakers that share a storage and use clocks of the same type agree on time.
@usableFromInline
struct TimeSource: Sendable {
    /// Reads the clock.
    let now: @Sendable () -> Nanoseconds
    /// Suspends until the clock reaches `deadline`; throws `CancellationError` if the task is cancelled.
    let sleepUntil: @Sendable (Nanoseconds) async throws -> Void

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = ClockOrigins.origin(for: clock)
        now = { origin.duration(to: clock.now).nanoseconds }
        sleepUntil = { deadline in
            try await clock.sleep(until: origin.advanced(by: .nanoseconds(deadline)), tolerance: nil)
        }
    }
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
