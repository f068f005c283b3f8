import Breaker
import Synchronization

/// Parks async calls until ``open()``: a dependency that hangs, released when the test says.
///
/// ```swift
/// let gate = CallGate()
/// let call = Task { try await breaker.call { await gate.wait() } }
/// // ... the call is running; advance a ManualClock, check the breaker ...
/// gate.open()
/// try await call.value
/// ```
public final class CallGate: Sendable {
    /// Whether the gate is open, and the calls parked while it was not.
    private let state = Locked((isOpen: false, parked: [CheckedContinuation<Void, Never>]()))
    private let arrivals = Atomic<Int>(0)

    /// A closed gate.
    public init() {}

    /// How many calls have reached ``wait()`` so far (released or not).
    public var waiting: Int { arrivals.load(ordering: .acquiring) }

    /// Suspends until the gate is open (returns at once if it is).
    public func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.parked.append(continuation)
                return false
            }
            arrivals.add(1, ordering: .releasing)
            if resumeNow { continuation.resume() }
        }
    }

    /// Opens the gate: every parked call resumes, and later ones pass.
    public func open() {
        let released = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.parked = [] }
            return state.parked
        }
        for continuation in released { continuation.resume() }
    }
}
