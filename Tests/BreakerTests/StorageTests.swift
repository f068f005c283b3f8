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

    @Test func aCustomStorageHearsEveryChange() {
        final class Journal: CircuitBreakerStorage, @unchecked Sendable {
            let local = InMemoryStorage()
            private let lock = NSLockLike()
            private var seen: [CircuitSnapshot] = []
            var snapshots: [CircuitSnapshot] { lock.run { seen } }
            func stateDidChange(_ snapshot: CircuitSnapshot) { lock.run { seen.append(snapshot) } }
        }
        let journal = Journal()
        let clock = ManualClock()
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(5), storage: journal, clock: clock)
        _ = try? breaker.call { throw Boom() }
        clock.advance(by: .seconds(2))
        breaker.close()
        #expect(journal.snapshots.map(\.state) == [.open, .closed])
        #expect(journal.snapshots.first?.openRemaining == .seconds(5))
        #expect(journal.snapshots.map(\.generation) == journal.snapshots.map(\.generation).sorted())
    }

    @Test func applyingASnapshotFromElsewhereTakesEffect() {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(resetTimeout: .seconds(60), listeners: [recorder], storage: storage, clock: clock)
        storage.apply(CircuitSnapshot(state: .open, failureCount: 5, openRemaining: .seconds(3)))
        #expect(breaker.state == .open)
        #expect(throws: CircuitBreakerError.self) { try breaker.call {} }
        #expect(recorder.events == [.stateChange(.closed, .open)])
        #expect(breaker.retryAfter == .seconds(3))
    }
}
