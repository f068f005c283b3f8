import Breaker
import BreakerTestKit
import Testing

@Suite("Storage (aiobreaker §2.5, §3.9)")
struct StorageTests {
    @Test func oneInMemoryStorageIsOneCircuit() {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        let a = CircuitBreaker(failMax: 2, storage: storage, clock: clock)
        let b = CircuitBreaker(failMax: 2, storage: storage, clock: clock)
        _ = try? a.call { throw Boom() }
        #expect(b.failureCount == 1)
        _ = try? b.call { throw Boom() }
        #expect(a.state == .open)
        #expect(storage.state == .open)
        #expect(storage.failureCount == 2)
        b.close()
        #expect(a.state == .closed)
    }

    @Test func aBreakerOnAnOpenStorageStartsOpenKeepingCountAndOpenTime() throws {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        let first = CircuitBreaker(failMax: 2, resetTimeout: .seconds(30), storage: storage, clock: clock)
        _ = try? first.call { throw Boom() }
        _ = try? first.call { throw Boom() }
        clock.advance(by: .seconds(20))
        let recorder = EventRecorder()
        let second = CircuitBreaker(failMax: 2, resetTimeout: .seconds(30), listeners: [recorder], storage: storage, clock: clock)
        #expect(second.state == .open)
        #expect(second.failureCount == 2)
        #expect(second.retryAfter == .seconds(10), "the open period started with the first breaker's trip")
        #expect(recorder.events.isEmpty, "construction does not notify")
    }

    @Test func aStorageCreatedOpenStaysOpenForATimeoutFromTheFirstBreaker() throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(failMax: 3, resetTimeout: .seconds(10), storage: InMemoryStorage(state: .open, failureCount: 3), clock: clock)
        #expect(breaker.state == .open)
        #expect(breaker.failureCount == 3)
        #expect(breaker.retryAfter == .seconds(10))
        clock.advance(by: .seconds(10))
        try breaker.call {}
        #expect(breaker.state == .closed)
    }

    @Test func aCustomStorageHearsEveryChangeOnceInOrder() {
        let journal = Journal()
        let clock = ManualClock()
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(5), storage: journal, clock: clock)
        _ = try? breaker.call { throw Boom() }
        clock.advance(by: .seconds(2))
        breaker.setMode(.forcedOpen)
        breaker.setMode(.normal)
        breaker.close()
        for _ in 0..<5 { try? breaker.call {} }  // nothing changes: nothing is heard
        let changes = journal.changes
        #expect(changes.map(\.state) == [.open, .open, .open, .closed])
        #expect(changes.map(\.sequence) == [1, 2, 3, 4])
        #expect(changes.map(\.snapshot.epoch) == [1, 2, 3, 4])
        #expect(changes.map(\.cause.kind) == [.consecutiveFailures, .modeChanged, .modeChanged, .manual])
        #expect(changes.map(\.isTransition) == [true, true, false, true])
        #expect(changes.first?.snapshot.openRemaining == .seconds(5))
        #expect(changes[2].previousMode == .forcedOpen && changes[2].mode == .normal)
        #expect(changes[2].snapshot.openRemaining == .seconds(5), "released from forced open: a fresh open period")
    }

    @Test func aResizedOpenPeriodIsAChange() {
        let journal = Journal()
        let clock = ManualClock()
        let breaker = CircuitBreaker(resetTimeout: .seconds(30), storage: journal, clock: clock)
        breaker.open()
        breaker.resetTimeout = .seconds(10)
        #expect(journal.changes.map(\.cause.kind) == [.manual, .reconfigured])
        #expect(journal.changes.last?.snapshot.openRemaining == .seconds(10))
        #expect(journal.changes.last?.isTransition == false)
    }

    @Test func applyingANewerSnapshotFromElsewhereTakesEffectAndIsHeardAtOnce() {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(resetTimeout: .seconds(60), listeners: [recorder], storage: storage, clock: clock)
        #expect(storage.apply(CircuitSnapshot(state: .open, failureCount: 5, openRemaining: .seconds(3), epoch: 1, origin: 7)))
        #expect(recorder.events == [.stateChange(.closed, .open)], "heard when applied, not on the next call")
        #expect(breaker.state == .open)
        #expect(throws: CircuitBreakerError.self) { try breaker.call {} }
        #expect(breaker.retryAfter == .seconds(3))
        #expect(breaker.snapshot().epoch == 1 && breaker.snapshot().origin == 7)
    }

    @Test func anOlderOrDuplicateSnapshotIsRefused() {
        let storage = InMemoryStorage()
        let breaker = CircuitBreaker(failMax: 1, storage: storage, clock: ManualClock())
        _ = try? breaker.call { throw Boom() }  // epoch 1, from this circuit
        breaker.close()  // epoch 2
        #expect(!storage.apply(CircuitSnapshot(state: .open, openRemaining: .seconds(9), epoch: 1, origin: .max)), "older epoch")
        let tie = CircuitSnapshot(state: .open, openRemaining: .seconds(9), epoch: 2, origin: storage.origin)
        #expect(!storage.apply(tie), "the same epoch and origin: nothing new")
        #expect(breaker.state == .closed)
        let later = CircuitSnapshot(state: .open, openRemaining: .seconds(9), epoch: 2, origin: storage.origin &+ 1)
        #expect(storage.apply(later), "the same epoch from a higher origin wins the tie")
        #expect(!storage.apply(later), "applying it twice changes nothing")
        #expect(breaker.state == .open)
    }

    @Test func aRemoteChangeReachesTheStorageMarkedRemote() {
        let journal = Journal()
        let breaker = CircuitBreaker(storage: journal, clock: ManualClock())
        journal.local.apply(CircuitSnapshot(state: .open, openRemaining: .seconds(1), epoch: 4, origin: 1))
        #expect(journal.changes.map(\.isRemote) == [true])
        #expect(journal.changes.first?.cause.kind == .remote)
        breaker.close()
        #expect(journal.changes.last?.snapshot.epoch == 5, "a local change after a remote one continues from its epoch")
        #expect(journal.changes.last?.snapshot.origin == journal.local.origin)
    }

    @Test func aLateCallAfterARemoteChangeIsNotCounted() throws {
        let storage = InMemoryStorage()
        let breaker = CircuitBreaker(failMax: 2, storage: storage, clock: ManualClock())
        let permit = try breaker.acquirePermit()
        storage.apply(CircuitSnapshot(state: .closed, failureCount: 1, epoch: 1, origin: 1))
        permit.failed(Boom())
        #expect(breaker.failureCount == 1, "the failure admitted before the remote change is dropped")
    }
}

/// A storage that records every change it hears.
final class Journal: CircuitBreakerStorage {
    let local = InMemoryStorage()
    private let seen = Guarded<[CircuitChange]>([])
    var changes: [CircuitChange] { seen.withLock { $0 } }
    func circuitDidChange(_ change: CircuitChange) { seen.withLock { $0.append(change) } }
}
