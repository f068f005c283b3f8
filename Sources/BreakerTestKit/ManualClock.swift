import Breaker

/// A clock that moves only when told to, for tests: `now` advances by ``advance(by:)``, and sleepers
/// wake, in deadline order, as soon as the clock reaches their deadline.
///
/// ```swift
/// let clock = ManualClock()
/// let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(30), clock: clock)
/// breaker.open()
/// clock.advance(by: .seconds(30))     // the next call is a half-open trial
/// ```
///
public final class ManualClock: Clock, Sendable {
    /// A point on a ``ManualClock``: the time elapsed since the clock's start.
    public struct Instant: InstantProtocol, InstantWithFixedZero, Hashable, Sendable, CustomStringConvertible {
        /// Time since the start of the clock.
        public var offset: Duration

        /// The instant `offset` after the start of the clock.
        public init(offset: Duration) { self.offset = offset }

        /// The time from the clock's zero (``init(offset:)`` with `.zero`): ``offset``.
        public var durationSinceZero: Duration { offset }

        /// The instant `duration` later.
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        /// The time from this instant to `other`.
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        /// Orders instants by offset.
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        /// `+12.5 seconds`, for test failure messages.
        public var description: String { "+\(offset)" }
    }

    private struct Sleeper: Sendable {
        let id: UInt64
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State: Sendable {
        var now: Instant
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
        var cancelled: Set<UInt64> = []
    }

    private let state: Locked<State>

    /// A clock at `start` (the origin by default).
    public init(start: Instant = Instant(offset: .zero)) {
        state = Locked(State(now: start))
    }

    private func locked<R>(_ body: (inout State) -> R) -> R {
        state.withLock(body)
    }

    /// The current instant.
    public var now: Instant { locked { $0.now } }

    /// The clock's resolution: one nanosecond.
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// How many tasks are sleeping on this clock, for tests that must wait until a sleeper is in place.
    public var sleeperCount: Int { locked { $0.sleepers.count } }

    /// Moves the clock forward by `duration` (zero or more) and wakes every sleeper whose deadline has
    /// been reached, earliest first.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "ManualClock.advance(by:) takes a duration of zero or more, got \(duration)")
        let woken: [Sleeper] = locked { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Suspends until the clock reaches `deadline`; throws `CancellationError` if the task is cancelled first.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = locked { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = locked { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        } onCancel: {
            let sleeper: Sleeper? = locked { state in
                if let index = state.sleepers.firstIndex(where: { $0.id == id }) {
                    return state.sleepers.remove(at: index)
                }
                state.cancelled.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        _ = locked { $0.cancelled.remove(id) }
    }
}
