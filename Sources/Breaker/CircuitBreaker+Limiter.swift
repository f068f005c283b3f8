import Synchronization

/// A breaker's own concurrency limiter (``CircuitBreaker/Configuration/concurrencyLimit``): a call the
/// circuit admits also takes one of its slots (an async call may first wait for one, up to the
/// limiter's `maxWait`), and gives it back with its outcome.
extension CircuitBreaker {
    /// The breaker's concurrency limiter, if its configuration sets a
    /// ``Configuration/concurrencyLimit``: read its ``ConcurrencyLimiter/limit`` and
    /// ``ConcurrencyLimiter/inFlight`` for gauges. A reconfiguration that changes the limit replaces it.
    public var concurrencyLimiter: ConcurrencyLimiter? {
        limiter?.takeUnretainedValue()
    }

    /// The current limiter, without a reference (kept alive by ``Settings/limiters``).
    var limiter: Unmanaged<ConcurrencyLimiter>? {
        UnsafeRawPointer(bitPattern: currentLimiter.load(ordering: .acquiring)).map { Unmanaged.fromOpaque($0) }
    }

    /// Makes a limiter for `configuration` the current one (keeping the current one if its
    /// configuration is the same), or removes it.
    func installLimiter(_ configuration: ConcurrencyLimiter.Configuration?) {
        settings.withLock { settings in
            guard let configuration else {
                currentLimiter.store(0, ordering: .releasing)
                flags.bitwiseAnd(~Flags.limitsConcurrency, ordering: .relaxed)
                return
            }
            if currentLimiter.load(ordering: .relaxed) != 0, settings.limiters.last?.configuration == configuration { return }
            let limiter = ConcurrencyLimiter(name: name, valid: configuration, time: time)
            settings.limiters.append(limiter)
            currentLimiter.store(UInt(bitPattern: Unmanaged.passUnretained(limiter).toOpaque()), ordering: .releasing)
            flags.bitwiseOr(Flags.limitsConcurrency, ordering: .relaxed)
        }
    }

    /// Takes a slot of the breaker's limiter for a call the circuit admitted, or gives the admission
    /// back and throws ``CircuitBreakerError/Reason/limited``.
    func takeLimiterSlot(_ admitted: inout Admitted) throws(CircuitBreakerError) {
        guard let limiter else { return }
        guard let slot = limiter._withUnsafeGuaranteedRef({ $0.admitWithoutWaiting() }) else {
            circuit.withdraw(admitted, time: time)
            throw reject(retryAfter: 0, reason: .limited)
        }
        admitted.limiter = limiter
        admitted.limiterAdmission = slot
    }

    /// Admits an async call: as ``admit(holding:)``, except that when the breaker's limiter may queue
    /// (``ConcurrencyLimiter/Configuration/maxWait``) the call first takes one of its slots, waiting
    /// for one up to that wait, and only then asks the circuit, so that no trial slot of the circuit is
    /// held in the queue. A wait that runs out is the breaker's ``CircuitBreakerError/Reason/limited``
    /// rejection; a task cancelled while it waits throws `CancellationError`; a slot the circuit then
    /// turns away goes back unused (the limiter learns nothing from it).
    @usableFromInline
    nonisolated(nonsending)
    func admitWaiting() async throws -> Admitted {
        guard flags.load(ordering: .relaxed) & Flags.limitsConcurrency != 0, let unmanaged = limiter else { return try admit() }
        let limiter = unmanaged.takeUnretainedValue()
        guard limiter.configuration.maxWait != nil else { return try admit() }
        let slot: ConcurrencyLimiter.Admission
        if let free = limiter.admitWithoutWaiting() {
            slot = free
        } else {
            do {
                slot = try await limiter.admitAfterWaiting()
            } catch is CircuitBreakerError {
                throw reject(retryAfter: 0, reason: .limited)
            }
        }
        do {
            return try admit(holding: HeldLimiterSlot(limiter: unmanaged, admission: slot))
        } catch {
            limiter.finish(slot, .ignored)
            throw error
        }
    }

    /// A slot of the breaker's limiter taken before the circuit decided (see ``admitWaiting()``).
    @usableFromInline
    struct HeldLimiterSlot {
        let limiter: Unmanaged<ConcurrencyLimiter>
        let admission: ConcurrencyLimiter.Admission
    }

    /// Gives the slot of an ended call back to the limiter it came from, with what the limiter learns:
    /// a failure and a slow call are drops.
    func releaseLimiterSlot(_ admitted: Admitted, _ outcome: CallOutcome, slow: Bool) {
        guard let limiter = admitted.limiter else { return }
        let learned: CallOutcome = outcome == .success && slow ? .failure : outcome
        limiter._withUnsafeGuaranteedRef { $0.finish(admitted.limiterAdmission, learned) }
    }
}
