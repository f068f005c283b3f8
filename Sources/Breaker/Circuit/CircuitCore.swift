import Synchronization

/// What a ``Circuit`` keeps under its lock.
struct CircuitCore: Sendable {
    var machine: CircuitMachine
    /// The circuit's policy, given by the first breaker attached.
    var policy: PolicyBox?
    /// The circuit's clock, given by the first breaker attached.
    var time: TimeSource?
    /// The number of the latest change queued.
    var sequence: UInt64 = 0
    /// Changes numbered but not yet delivered, oldest first.
    var pending: [CircuitChange] = []
    /// A thread is delivering changes.
    var delivering = false
    /// Breakers whose listeners hear this circuit's changes.
    var subscribers: [WeakBreaker] = []
    /// The storage that keeps this circuit, if it is not the circuit itself.
    var replicator: WeakStorage?
    /// Tasks in ``Circuit/waitForChange(after:until:time:)``.
    var waiters: [Waiter] = []
    var cancelledWaiters: Set<UInt64> = []
    var nextWaiter: UInt64 = 0
    var wakeups: UInt64 = 0
    /// Every tracker of running calls this circuit has published (usually one), alive for as long as
    /// calls admitted into them may end.
    var trackers: [RunningCalls] = []
    /// Every adaptive-throttle window this circuit has published, alive for as long as calls may read them.
    var throttles: [ThrottleWindow] = []

    /// The policy, or the default one (aiobreaker's) on `time` for a circuit no breaker has used yet.
    func policyOrDefault(_ time: TimeSource?) -> PolicyBox {
        policy ?? PolicyBox(CircuitBreaker.Configuration(), time: time ?? self.time ?? TimeSource.of(ContinuousClock()))
    }

    /// Numbers `changes` and queues them for delivery, with open deadlines as time remaining at `now`.
    mutating func enqueue(_ changes: MachineChanges, now: Nanoseconds) {
        for change in changes.all {
            sequence &+= 1
            let remaining = change.openUntil.map { $0 == .max ? Duration(nanoseconds: .max) : Duration(nanoseconds: max(0, $0 - now)) }
            let snapshot = CircuitSnapshot(
                state: change.state, mode: change.mode, failureCount: change.failureCount, consecutiveTrips: change.consecutiveTrips,
                openRemaining: remaining, rampRemaining: change.rampUntil.map { Duration(nanoseconds: max(0, $0 - now)) }, epoch: change.epoch,
                origin: change.origin)
            pending.append(
                CircuitChange(
                    sequence: sequence, previousState: change.previousState, previousMode: change.previousMode, snapshot: snapshot,
                    cause: change.cause, isTransition: change.isTransition))
        }
    }
}

struct WeakBreaker: Sendable {
    weak var breaker: CircuitBreaker?
}

struct WeakStorage: Sendable {
    weak var storage: (any CircuitBreakerStorage)?
}

struct Waiter: Sendable {
    let id: UInt64
    let continuation: CheckedContinuation<Void, Never>
}

/// Origins of circuits: a random number per process plus a counter, so two circuits never share one.
enum Origin {
    private static let base = UInt64.random(in: 1...(UInt64.max / 2))
    private static let counter = Atomic<UInt64>(0)

    static func next() -> UInt64 { base &+ counter.wrappingAdd(1, ordering: .relaxed).newValue }
}

extension Array {
    /// Returns the elements and leaves the array empty.
    mutating func take() -> [Element] {
        var taken: [Element] = []
        swap(&taken, &self)
        return taken
    }
}
