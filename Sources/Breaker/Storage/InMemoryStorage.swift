import Synchronization

/// State kept in this process's memory: the default storage, and the local copy every other storage
/// keeps (see ``CircuitBreakerStorage``).
///
/// It is a class: hand one instance to several breakers and they share one circuit (state, failure
/// count, open period and window), each with its own listeners, exclusions and configuration.
///
/// ```swift
/// let shared = InMemoryStorage()
/// let reads = CircuitBreaker(name: "db-reads", storage: shared)
/// let writes = CircuitBreaker(name: "db-writes", storage: shared)   // trips together with `reads`
/// ```
public final class InMemoryStorage: CircuitBreakerStorage {
    /// The published summary of the machine (see ``PublishedWord``).
    @usableFromInline let word: Atomic<UInt64>
    /// The open deadline, published beside `word`.
    @usableFromInline let openUntil: Atomic<Int64>
    /// How to park a success of a quiet time window (``PublishedWord/parking``), published beside `word`.
    let parking = Atomic<UInt64>(0)
    /// Successes of a quiet time window not yet counted in it.
    let deferred = DeferredSuccesses()
    private let stored: Locked<StoredCircuit>

    /// A storage holding a circuit in `state` with `failureCount` failures counted. A circuit created
    /// open stays open for the breaker's reset timeout from the first time a breaker uses it.
    public convenience init(state: CircuitState = .closed, failureCount: Int = 0) {
        self.init(machine: CircuitMachine(state: state, consecutiveFailures: max(0, failureCount)))
    }

    /// A storage holding the circuit `snapshot` describes: an open circuit stays open for the
    /// snapshot's remaining time from the first time a breaker uses it.
    public convenience init(restoring snapshot: CircuitSnapshot) {
        self.init(machine: CircuitMachine(restoring: snapshot))
    }

    private init(machine: CircuitMachine) {
        let published = machine.published(policy: nil)
        word = Atomic(published.raw)
        openUntil = Atomic(published.openUntil)
        stored = Locked(StoredCircuit(machine: machine))
    }

    /// This storage itself.
    public var local: InMemoryStorage { self }

    /// The stored state, read without locking.
    public var state: CircuitState { PublishedWord.state(of: word.load(ordering: .acquiring)) }

    /// The counted failures in a row.
    public var failureCount: Int { withCircuit { $0.machine.consecutiveFailures } }

    /// Replaces the stored circuit with `snapshot` (state, mode, failure count, trips, remaining open
    /// time), for example a change a shared storage learned of from elsewhere. The window is cleared.
    /// Breakers with listeners report the change on their next call.
    public func apply(_ snapshot: CircuitSnapshot) {
        withCircuit { circuit in
            var restored = snapshot
            restored.generation = circuit.machine.generation &+ 1  // a new generation: breakers notice, late results drop
            var machine = CircuitMachine(restoring: restored)
            if let box = circuit.policy { machine.adoptWindow(box.policy.window) }
            circuit.machine = machine
        }
    }

    /// Parks a fast success admitted in `generation` that finished at `now`, for a quiet time window;
    /// returns `false` if it must be recorded under the lock instead.
    func parkSuccess(finishedAt now: Nanoseconds, generation: UInt64) -> Bool {
        let parking = parking.load(ordering: .acquiring)
        let width = Nanoseconds(parking & ((1 << 56) - 1))
        // The tag carries the low bits of the generation it was published for: a success admitted in
        // another generation is late, and is recorded (and dropped) under the lock.
        guard width > 0, (parking >> 60) == generation & 0xF else { return false }
        let bucket = now >= 0 ? now / width : (now - width + 1) / width
        return deferred.add(bucket: bucket, tag: parking >> 56)
    }

    /// Runs `body` on the stored circuit under the lock, then publishes the summary the call path reads.
    func withCircuit<R>(_ body: (inout StoredCircuit) -> R) -> R {
        stored.withLock { circuit in
            // Parked successes first, so that every decision sees every outcome.
            deferred.drain { count, bucket, tag in
                circuit.machine.absorbParkedSuccesses(count, bucket: bucket, tag: tag)
            }
            let result = body(&circuit)
            let published = circuit.machine.published(policy: circuit.policy?.policy)
            parking.store(published.parking, ordering: .releasing)
            openUntil.store(published.openUntil, ordering: .releasing)
            word.store(published.raw, ordering: .releasing)
            return result
        }
    }
}

/// What an ``InMemoryStorage`` keeps under its lock: the machine, and the policy of the breaker that
/// last used it (a breaker re-installs its own when it finds another's or an older one).
struct StoredCircuit: Sendable {
    var machine: CircuitMachine
    var policy: PolicyBox?
    var policyOwner: UInt64?
    var policyVersion: UInt64 = 0
}

extension CircuitMachine {
    init(restoring snapshot: CircuitSnapshot) {
        self.init(
            state: snapshot.state, consecutiveFailures: max(0, snapshot.failureCount),
            consecutiveTrips: max(0, snapshot.consecutiveTrips), mode: snapshot.mode,
            openRemaining: snapshot.openRemaining.map { max(0, $0.nanoseconds) }, generation: snapshot.generation)
    }

    func snapshot(now: Nanoseconds, policy: MachinePolicy) -> CircuitSnapshot {
        CircuitSnapshot(
            state: state, mode: mode, failureCount: consecutiveFailures, consecutiveTrips: consecutiveTrips,
            openRemaining: retryAfter(now: now, policy: policy).map { Duration(nanoseconds: $0) }, generation: generation)
    }
}
