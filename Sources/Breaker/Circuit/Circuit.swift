import Synchronization

/// The circuit: the one owner of what breakers on it share and decide from. It holds the pure
/// ``CircuitMachine`` under its lock, publishes the words the call path reads without the lock (the
/// ``PublishedWord``, the open deadline, the parking tag, the slow-call threshold), keeps the running-call
/// trackers and the parked successes, and makes every admission and completion decision by asking the
/// machine (`Circuit+Admission`, `Circuit+Completion`). Breakers keep the public API, the judgement of
/// errors, their counters and their listeners; `README.md` beside this file lists every word read or
/// written without the lock.
///
/// Every ``CircuitBreakerStorage`` keeps one, as its ``InMemoryStorage``'s ``InMemoryStorage/circuit``.
@usableFromInline
final class Circuit: Sendable {
    /// The published summary of the machine (see ``PublishedWord``).
    @usableFromInline let word: Atomic<UInt64>
    /// The open (or trial) deadline, published beside `word`.
    @usableFromInline let openUntil: Atomic<Int64>
    /// While the circuit ramps up after recovering, where the admitted fraction would start from 0
    /// (``PublishedWord/rampFrom``), published beside `word`.
    let rampFrom = Atomic<Int64>(0)
    /// The Weyl sequence that ramp and throttle admissions draw their lots from (see ``drawLot()``).
    let lots = Atomic<UInt64>(0)
    /// While the adaptive throttle decides, until when (``PublishedWord/throttleUntil``), published
    /// beside `word`.
    let throttleUntil = Atomic<Int64>(0)
    /// The address of the ``ThrottleWindow`` of the policy's throttle, or 0 without one. Kept alive by
    /// ``CircuitCore/throttles``.
    let throttleAddress = Atomic<UInt>(0)
    /// How to park a success of a quiet time window (``PublishedWord/parking``), published beside `word`.
    let parking = Atomic<UInt64>(0)
    /// The policy's slow-call threshold in nanoseconds, or 0 when calls are not timed.
    @usableFromInline let slowThreshold = Atomic<Int64>(0)
    /// Successes of a quiet time window not yet counted in it.
    let deferred = DeferredSuccesses()
    /// The address of the ``RunningCalls`` that admissions of the closed circuit join, or 0 when
    /// running calls are not tracked. Kept alive by ``CircuitCore/trackers``.
    let runningCallsAddress = Atomic<UInt>(0)
    /// The machine and what goes with it, under the lock.
    let core: Locked<CircuitCore>

    init(machine: CircuitMachine) {
        let published = machine.published(policy: nil, timing: 0)
        word = Atomic(published.raw)
        openUntil = Atomic(published.openUntil)
        core = Locked(CircuitCore(machine: machine))
    }

    // MARK: For storages (``InMemoryStorage`` forwards these)

    /// The state, read without locking.
    var state: CircuitState { PublishedWord.state(of: word.load(ordering: .acquiring)) }

    /// The counted failures in a row.
    var failureCount: Int { core.withLock { $0.machine.consecutiveFailures } }

    /// The number that stamps this circuit's own changes (``CircuitSnapshot/origin``): random per circuit.
    var origin: UInt64 { core.withLock { $0.machine.localOrigin } }

    /// The circuit's policy, once a breaker has given it one (see ``InMemoryStorage``).
    var configuration: CircuitBreaker.Configuration? { core.withLock { $0.policy?.configuration } }

    /// The circuit as it is now, with times as durations remaining.
    func snapshot() -> CircuitSnapshot {
        let time = clock
        let now = time.now()
        return core.withLock { $0.machine.snapshot(now: now, policy: $0.policyOrDefault(time).policy) }
    }

    /// Applies `snapshot`, a change made elsewhere (another process sharing the circuit), if it is newer
    /// than this circuit's latest change by ``CircuitSnapshot/isNewer(thanEpoch:origin:)``; returns
    /// whether it was applied. An applied change is delivered at once, as a ``CircuitChange`` with
    /// cause ``TransitionCause/Kind/remote``, to the storage and to the breakers' listeners; calls in
    /// flight are not counted when they finish, and the window starts again if the state changed.
    /// An open circuit stays open for the snapshot's remaining time from now.
    @discardableResult
    func apply(_ snapshot: CircuitSnapshot) -> Bool {
        let time = clock
        let now = time.now()
        return step(now: now) { machine, box in machine.applyRemote(snapshot, now: now, policy: box.policy) }
    }

    /// Sets who may start half-open trials (see ``TrialGate``). A gate held elsewhere keeps the
    /// circuit rejecting, without the lock, until its time is up or the gate changes.
    func setTrialGate(_ gate: TrialGate) {
        let now = clock.now()
        let machineGate: CircuitMachine.Gate =
            switch gate.kind {
            case .local: .local
            case .heldHere: .heldHere
            case .heldElsewhere(let duration): .heldElsewhere(until: now.addingSaturating(max(0, duration.nanoseconds)))
            }
        step(now: now) { machine, _ in
            machine.setGate(machineGate)
            return MachineStep((), MachineChanges())
        }
        wakeWaiters()
    }

    // MARK: For breakers

    /// Attaches a breaker: gives the circuit `configuration` and `time` if it has no policy yet, and
    /// returns the circuit's own (the circuit's policy wins). Changes are delivered to the breaker
    /// while it is subscribed (see ``subscribe(_:)``).
    func attach(configuration: CircuitBreaker.Configuration, time: TimeSource) -> (PolicyBox, TimeSource) {
        // Built and read outside the lock: the clock may be user code.
        let fresh = PolicyBox.shared(configuration, time: time)
        let now = time.now()
        return core.withLock { core in
            if core.policy == nil {
                let box = core.time == nil ? fresh : PolicyBox.shared(configuration, time: core.time!)
                core.time = core.time ?? time
                core.policy = box
                trackRunningCalls(&core)
                trackThrottle(&core)
                core.machine.adoptWindow(box.policy.window)
                core.machine.anchor(now: now, policy: box.policy)
                publish(core)
            }
            return (core.policy!, core.time!)
        }
    }

    /// Replaces the circuit's policy (``CircuitBreaker/reconfigure(_:)``); `resize` also applies a
    /// changed reset timeout to the current open period.
    func install(_ configuration: CircuitBreaker.Configuration, resize: Bool) -> PolicyBox {
        let time = clock
        let box = PolicyBox.shared(configuration, time: time)
        step(now: time.now()) { machine, _ in
            machine.adoptWindow(box.policy.window)
            return resize ? machine.resizeOpenPeriod(to: box.policy.resetTimeout) : MachineStep(())
        } install: { core in
            core.policy = box
            self.trackRunningCalls(&core)
            self.trackThrottle(&core)
        }
        return box
    }

    /// The tracker of running calls that admissions join now, if the policy counts them.
    var runningCalls: Unmanaged<RunningCalls>? {
        UnsafeRawPointer(bitPattern: runningCallsAddress.load(ordering: .acquiring)).map { Unmanaged.fromOpaque($0) }
    }

    /// Publishes the tracker of running calls the policy asks for (one per threshold, kept for the
    /// calls admitted into it), or none.
    private func trackRunningCalls(_ core: inout CircuitCore) {
        let policy = core.policy?.policy
        guard let threshold = policy?.slowThreshold, policy?.countsRunningCalls == true else {
            runningCallsAddress.store(0, ordering: .releasing)
            return
        }
        let tracker = core.trackers.first { $0.threshold == threshold } ?? RunningCalls(threshold: threshold)
        if !core.trackers.contains(where: { $0 === tracker }) { core.trackers.append(tracker) }
        runningCallsAddress.store(UInt(bitPattern: Unmanaged.passUnretained(tracker).toOpaque()), ordering: .releasing)
    }

    /// The window of the policy's adaptive throttle, if it has one.
    var throttle: Unmanaged<ThrottleWindow>? {
        UnsafeRawPointer(bitPattern: throttleAddress.load(ordering: .acquiring)).map { Unmanaged.fromOpaque($0) }
    }

    /// Publishes the window of the policy's throttle (the current one if the throttle is unchanged, so
    /// its counts carry over a reconfiguration), or none.
    private func trackThrottle(_ core: inout CircuitCore) {
        guard let throttle = core.policy?.configuration.throttle else {
            throttleAddress.store(0, ordering: .releasing)
            return
        }
        let window = core.throttles.last.flatMap { $0.throttle == throttle ? $0 : nil } ?? ThrottleWindow(throttle)
        if core.throttles.last !== window { core.throttles.append(window) }
        throttleAddress.store(UInt(bitPattern: Unmanaged.passUnretained(window).toOpaque()), ordering: .releasing)
    }

    /// The circuit's current policy.
    var policy: PolicyBox { core.withLock { $0.policyOrDefault(nil) } }

    /// The circuit's clock: the first attached breaker's, or the continuous clock before any.
    var clock: TimeSource {
        core.withLock { core in
            if let time = core.time { return time }
            let time = TimeSource.of(ContinuousClock())
            core.time = time
            return time
        }
    }

    /// Delivers this circuit's changes to `breaker` from now on (held weakly).
    func subscribe(_ breaker: CircuitBreaker) {
        core.withLock { core in
            core.subscribers.removeAll { $0.breaker == nil || $0.breaker === breaker }
            core.subscribers.append(WeakBreaker(breaker: breaker))
        }
    }

    /// Stops delivering changes to `breaker`.
    func unsubscribe(_ breaker: CircuitBreaker) {
        core.withLock { core in core.subscribers.removeAll { $0.breaker == nil || $0.breaker === breaker } }
    }

    /// How many breakers are subscribed, counting entries of breakers that are gone but not yet pruned.
    var subscriberCount: Int { core.withLock { $0.subscribers.count } }

    /// Makes `storage` (which keeps this circuit in its ``CircuitBreakerStorage/local``) hear every change,
    /// unless it is that in-memory storage itself.
    func replicate(to storage: any CircuitBreakerStorage) {
        guard storage !== storage.local else { return }
        core.withLock { core in core.replicator = WeakStorage(storage: storage) }
    }

    /// Runs one event on the machine under the lock with the circuit's policy: folds in parked
    /// successes first, anchors a circuit restored open when `now` is given, numbers and queues the
    /// changes the step committed, and publishes the summary the call path reads. After the lock is
    /// released, wakes waiters, runs `beforeDelivery`, and delivers the queued changes (unless another
    /// thread is delivering).
    @discardableResult
    func step<R>(
        now: Nanoseconds?, _ body: (inout CircuitMachine, PolicyBox) -> MachineStep<R>,
        install: ((inout CircuitCore) -> Void)? = nil, beforeDelivery: (() -> Void)? = nil
    ) -> R {
        let (decision, changed, deliver) = core.withLock { core -> (R, Bool, Bool) in
            deferred.drain { count, bucket, tag in
                core.machine.absorbParkedSuccesses(count, bucket: bucket, tag: tag)
            }
            let box = core.policyOrDefault(nil)
            if let now { core.machine.anchor(now: now, policy: box.policy) }
            let generation = core.machine.generation
            let step = body(&core.machine, box)
            install?(&core)
            // Calls running from an older generation no longer count (their outcomes are dropped too).
            if core.machine.generation != generation { runningCalls?._withUnsafeGuaranteedRef { $0.forgetAll() } }
            var deliver = false
            if !step.changes.isEmpty {
                core.enqueue(step.changes, now: now ?? core.machine.stateSince ?? 0)
                deliver = !core.delivering
            }
            publish(core)
            return (step.decision, !step.changes.isEmpty, deliver)
        }
        if changed { wakeWaiters() }
        beforeDelivery?()
        if deliver { deliverChanges() }
        return decision
    }

    /// Parks a fast success admitted in `generation` that finished at `now`, for a quiet time window;
    /// returns `false` if it must be recorded under the lock instead.
    func parkSuccess(finishedAt now: Nanoseconds, generation: UInt64) -> Bool {
        let parking = parking.load(ordering: .acquiring)
        let width = Nanoseconds(parking & PublishedWord.parkingWidthMask)
        // The tag carries the low bits of the generation it was published for: a success admitted in
        // another generation is late, and is recorded (and dropped) under the lock.
        guard width > 0, (parking >> 60) == generation & 0xF else { return false }
        let bucket = now >= 0 ? now / width : (now - width + 1) / width
        return deferred.add(bucket: bucket, tag: parking >> 56)
    }

    /// Reads the machine under the lock (parked successes folded in first).
    func read<R>(_ body: (inout CircuitMachine, PolicyBox) -> R) -> R {
        step(now: nil) { machine, box in MachineStep(body(&machine, box)) }
    }

    /// Publishes what the call path reads without the lock; called with the lock held. The order is
    /// the one `Circuit/README.md` explains: parking and deadline first, the word last.
    private func publish(_ core: CircuitCore) {
        let box = core.policy
        let published = core.machine.published(policy: box?.policy, timing: box?.timing ?? 0)
        slowThreshold.store(box?.policy.slowThreshold ?? 0, ordering: .relaxed)
        parking.store(published.parking, ordering: .releasing)
        openUntil.store(published.openUntil, ordering: .releasing)
        rampFrom.store(published.rampFrom, ordering: .releasing)
        throttleUntil.store(published.throttleUntil, ordering: .releasing)
        word.store(published.raw, ordering: .releasing)
    }

    /// Delivers queued changes, in order, to the storage and then to each subscribed breaker, until the
    /// queue is empty. Only one thread delivers at a time: changes queued meanwhile (by other threads,
    /// or by a listener that changes the circuit) are delivered by the thread already delivering.
    private func deliverChanges() {
        var batch = core.withLock { core -> [CircuitChange] in
            guard !core.delivering, !core.pending.isEmpty else { return [] }
            core.delivering = true
            return core.pending.take()
        }
        while !batch.isEmpty {
            let (replicator, subscribers) = core.withLock { ($0.replicator?.storage, $0.subscribers.compactMap(\.breaker)) }
            for change in batch {
                replicator?.circuitDidChange(change)
                for breaker in subscribers { breaker.circuitDidChange(change) }
            }
            batch = core.withLock { core in
                if core.pending.isEmpty {
                    core.delivering = false
                    return []
                }
                return core.pending.take()
            }
        }
    }
}
