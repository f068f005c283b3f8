import Synchronization

// Two reference circuit breakers written for comparison, with the library's default semantics
// (consecutive failures; `failMax` failures in a row open the circuit for `resetTimeout`; then one
// trial call at a time; a successful trial closes, a failed one reopens).
//
// Both are deliberately lean: they read the clock only while open (gobreaker reads it on every call),
// keep no listeners, no counters and no configuration lock, so they are a strict yardstick.

/// The error the reference designs throw when they reject a call.
struct ReferenceOpenError: Error {}

/// The state machine both reference designs share.
struct ReferenceMachine: Sendable {
    enum State: Sendable { case closed, open(until: ContinuousClock.Instant), halfOpen }

    var state: State = .closed
    var failures = 0
    var trialInFlight = false
    let failMax: Int
    let resetTimeout: Duration

    init(failMax: Int, resetTimeout: Duration) {
        self.failMax = failMax
        self.resetTimeout = resetTimeout
    }

    /// Admits a call (returning whether it is a trial) or throws the rejection.
    mutating func admit() throws(ReferenceOpenError) -> Bool {
        switch state {
        case .closed:
            return false
        case .open(let until):
            guard ContinuousClock.now >= until else { throw ReferenceOpenError() }
            state = .halfOpen
            trialInFlight = true
            return true
        case .halfOpen:
            guard !trialInFlight else { throw ReferenceOpenError() }
            trialInFlight = true
            return true
        }
    }

    /// Records the outcome of an admitted call.
    mutating func record(success: Bool, trial: Bool) {
        if success {
            failures = 0
            if trial {
                state = .closed
                trialInFlight = false
            }
        } else {
            failures += 1
            if trial || failures >= failMax {
                state = .open(until: ContinuousClock.now.advanced(by: resetTimeout))
                trialInFlight = false
            }
        }
    }
}

/// gobreaker's design: the state under one `Synchronization.Mutex`, locked before the call (admit)
/// and again after it (record).
final class MutexBreaker: Sendable {
    let machine: Mutex<ReferenceMachine>

    init(failMax: Int = 5, resetTimeout: Duration = .seconds(60)) {
        machine = Mutex(ReferenceMachine(failMax: failMax, resetTimeout: resetTimeout))
    }

    func call<R>(_ body: () throws -> R) throws -> R {
        let trial = try machine.withLock { (state) throws(ReferenceOpenError) -> Bool in try state.admit() }
        let result: R
        do {
            result = try body()
        } catch {
            machine.withLock { $0.record(success: false, trial: trial) }
            throw error
        }
        machine.withLock { $0.record(success: true, trial: trial) }
        return result
    }

    nonisolated(nonsending)
    func call<R>(_ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        let trial = try machine.withLock { (state) throws(ReferenceOpenError) -> Bool in try state.admit() }
        let result: R
        do {
            result = try await body()
        } catch {
            machine.withLock { $0.record(success: false, trial: trial) }
            throw error
        }
        machine.withLock { $0.record(success: true, trial: trial) }
        return result
    }
}

/// The state in an `actor`: every call awaits `admit()` before and `record(...)` after.
actor ActorBreaker {
    var machine: ReferenceMachine

    init(failMax: Int = 5, resetTimeout: Duration = .seconds(60)) {
        machine = ReferenceMachine(failMax: failMax, resetTimeout: resetTimeout)
    }

    func admit() throws(ReferenceOpenError) -> Bool { try machine.admit() }

    func record(success: Bool, trial: Bool) { machine.record(success: success, trial: trial) }

    /// Runs `body` in the caller's isolation; only `admit` and `record` hop to the actor.
    nonisolated(nonsending)
    func call<R>(_ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        let trial = try await admit()
        let result: R
        do {
            result = try await body()
        } catch {
            await record(success: false, trial: trial)
            throw error
        }
        await record(success: true, trial: trial)
        return result
    }
}
