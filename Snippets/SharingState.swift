// The code of SharingState.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.DatabaseError
import Breaker
import BreakerTestKit

struct DatabaseError: Error {}

let clock = ManualClock()
let shared = InMemoryStorage()
let reads = CircuitBreaker(name: "db-reads", failMax: 2, storage: shared, clock: clock)
let writes = CircuitBreaker(name: "db-writes", failMax: 2, storage: shared, clock: clock)

_ = try? reads.call { throw DatabaseError() }
precondition(writes.failureCount == 1)              // one failure count for both
_ = try? writes.call { throw DatabaseError() }
precondition(reads.state == .open && shared.state == .open)

writes.close()                                       // closing one closes the circuit
precondition(reads.state == .closed)
// snippet.end

// snippet.orders
let orders = InMemoryStorage()
let ordersA = CircuitBreaker(name: "orders-a", failMax: 2, storage: orders, clock: clock)
let ordersB = CircuitBreaker(name: "orders-b", failMax: 10, storage: orders, clock: clock)
precondition(ordersB.failMax == 2 && ordersA.failMax == 2)   // the circuit's policy
// snippet.end

// snippet.JournalStorage
import Synchronization

/// Remembers every change it is told of; a real storage would publish them.
final class JournalStorage: CircuitBreakerStorage {
    let local = InMemoryStorage()
    private let journal = Mutex<[CircuitChange]>([])

    var changes: [CircuitChange] { journal.withLock { $0 } }

    func circuitDidChange(_ change: CircuitChange) {
        journal.withLock { $0.append(change) }
    }

    /// A peer reported a change on its side.
    func peerReported(_ snapshot: CircuitSnapshot) -> Bool {
        local.apply(snapshot)
    }
}

let journalClock = ManualClock()
let storage = JournalStorage()
let payments = CircuitBreaker(name: "payments", failMax: 1, resetTimeout: .seconds(5), storage: storage, clock: journalClock)

_ = try? payments.call { throw DatabaseError() }
journalClock.advance(by: .seconds(2))
payments.close()
precondition(storage.changes.map(\.state) == [.open, .closed])
precondition(storage.changes.map(\.sequence) == [1, 2])
precondition(storage.changes[0].cause.kind == .consecutiveFailures)
precondition(storage.changes[0].snapshot.openRemaining == .seconds(5))

let latest = storage.changes[1].snapshot
let fromPeer = CircuitSnapshot(state: .open, failureCount: 5, openRemaining: .seconds(3), epoch: latest.epoch + 1, origin: 42)
precondition(storage.peerReported(fromPeer))
precondition(!storage.peerReported(fromPeer))        // the same change again: nothing new
precondition(payments.state == .open && payments.retryAfter == .seconds(3))
precondition(storage.changes.last?.isRemote == true)
// snippet.end

// snippet.fleetClock
let fleetClock = ManualClock()
let circuit = InMemoryStorage()
let search = CircuitBreaker(name: "search", failMax: 1, resetTimeout: .seconds(10), storage: circuit, clock: fleetClock)
_ = try? search.call { throw DatabaseError() }
circuit.setTrialGate(.heldElsewhere(for: .seconds(30)))   // another instance is probing
fleetClock.advance(by: .seconds(15))
precondition((try? search.call { "results" }) == nil)      // still rejected: not our trial
circuit.setTrialGate(.local)                               // the lease is released
precondition((try? search.call { "results" }) == "results")
// snippet.end

// snippet.beforeClock
import Foundation

let beforeClock = ManualClock()
let before = CircuitBreaker(name: "db", failMax: 1, resetTimeout: .seconds(60), clock: beforeClock)
_ = try? before.call { throw DatabaseError() }
beforeClock.advance(by: .seconds(15))
let saved = try JSONEncoder().encode(before.snapshot())

// ... in the next process:
let snapshot = try JSONDecoder().decode(CircuitSnapshot.self, from: saved)
let afterClock = ManualClock()
let after = CircuitBreaker(name: "db", failMax: 1, resetTimeout: .seconds(60),
                           storage: InMemoryStorage(restoring: snapshot), clock: afterClock)
precondition(after.state == .open && after.failureCount == 1)
precondition(after.retryAfter == .seconds(45))       // the rest of the open period
// snippet.end

// snippet.strict
var strict = CircuitBreaker.Configuration()
strict.failMax = 2

let registry = try CircuitBreakerRegistry(
    configurations: ["strict": strict],
    storage: { name in InMemoryStorage() },   // or a storage shared under `name`
    clock: ManualClock())
let inventory = registry.breaker(named: "inventory.internal:8080")
let checkout = try registry.breaker(named: "checkout", configuration: "strict")
precondition(registry.breaker(named: "inventory.internal:8080") === inventory)
precondition(checkout.failMax == 2)
// snippet.end
