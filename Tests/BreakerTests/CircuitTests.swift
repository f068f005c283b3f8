import Breaker
import BreakerTestKit
import Dispatch
import Synchronization
import Testing

@Suite("One circuit: shared policy, change stream, trial gate")
struct CircuitTests {
    // MARK: The circuit's policy wins

    @Test func aSecondBreakerReadsTheCircuitsPolicyBack() {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        var rate = CircuitBreaker.Configuration()
        rate.trip = .failureRate(0.5, minimumCalls: 4)
        rate.window = .lastCalls(10)
        rate.exclude = [.type(Benign.self)]
        let first = CircuitBreaker(name: "first", configuration: rate, storage: storage, clock: clock)
        let second = CircuitBreaker(name: "second", failMax: 2, resetTimeout: .seconds(1), storage: storage, clock: ManualClock())
        #expect(second.configuration.trip == rate.trip, "the circuit's policy wins")
        #expect(second.configuration.window == rate.window)
        #expect(second.resetTimeout == rate.resetTimeout)
        #expect(storage.configuration?.trip == rate.trip)
        #expect(second.excluded.isEmpty, "exclusions stay each breaker's own")
        #expect(first.excluded == [.type(Benign.self)])
        #expect(second.isFailure(Benign()) && !first.isFailure(Benign()))
    }

    @Test func twoBreakersWithDifferentPoliciesOnOneCircuitLoseNoWindow() {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        var rate = CircuitBreaker.Configuration()
        rate.trip = .failureRate(0.5, minimumCalls: 6)
        rate.window = .lastCalls(6)
        let a = CircuitBreaker(name: "a", configuration: rate, storage: storage, clock: clock)
        var other = CircuitBreaker.Configuration()
        other.trip = .failureRate(0.9, minimumCalls: 2)
        other.window = .lastCalls(3)
        let b = CircuitBreaker(name: "b", configuration: other, storage: storage, clock: clock)
        // Alternate: each breaker's outcomes land in the one window of the circuit's policy.
        for (index, breaker) in [a, b, a, b, a].enumerated() {
            _ = try? breaker.call { if index % 2 == 0 { throw Boom() } }
        }
        #expect(a.metrics.window.calls == 5, "no window was wiped by the other breaker")
        #expect(b.metrics.window == a.metrics.window, "one window, read from either breaker")
        #expect(storage.state == .closed, "five calls: under the circuit's minimum of six")
        _ = try? b.call { throw Boom() }  // 4 failures of 6 ≥ 50 %
        #expect(storage.state == .open)
    }

    @Test func reconfiguringOneBreakerChangesThePolicyOfAll() throws {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        let a = CircuitBreaker(failMax: 5, storage: storage, clock: clock)
        let b = CircuitBreaker(failMax: 5, storage: storage, clock: clock)
        try a.reconfigure { $0.failMax = 1 }
        #expect(b.failMax == 1)
        _ = try? b.call { throw Boom() }
        #expect(a.state == .open)
    }

    // MARK: The change stream

    @Test func everyChangeReachesStorageAndListenersOnceInOrderUnderThreads() async {
        let journal = Journal()
        let clock = ManualClock()
        let heard = ChangeLog()
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 2
        configuration.resetTimeout = .milliseconds(5)
        let breakers = (0..<3).map { CircuitBreaker(name: "b\($0)", configuration: configuration, listeners: [heard.listener(for: $0)], storage: journal, clock: clock) }
        let remoteApplied = Count()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<4 {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(index))
                    for step in 0..<2_000 {
                        let breaker = breakers[rng.int(0...2)]
                        switch rng.int(0...99) {
                        case 0..<50: _ = try? breaker.call { if rng.chance(40) { throw Boom() } }
                        case 50..<60: clock.advance(by: .milliseconds(rng.int(1...5)))
                        case 60..<66: breaker.open()
                        case 66..<72: breaker.close()
                        case 72..<76: breaker.halfOpen()
                        case 76..<80: breaker.setMode(rng.chance(50) ? .forcedOpen : .metricsOnly); breaker.setMode(.normal)
                        case 80..<86:
                            let current = journal.local.snapshot()
                            let remote = CircuitSnapshot(state: rng.chance(50) ? .open : .closed, openRemaining: .milliseconds(3), epoch: current.epoch + 1, origin: 1 + UInt64(step))
                            if journal.local.apply(remote) { remoteApplied.add() }
                        default: _ = breaker.metrics
                        }
                    }
                }
            }
        }
        let changes = journal.changes
        #expect(changes.map(\.sequence) == Array(1...UInt64(changes.count)), "numbered with no gap and delivered in order")
        #expect(changes.filter(\.isRemote).count == remoteApplied.value, "every applied remote change, once")
        for (previous, next) in zip(changes, changes.dropFirst()) {
            let newer = next.snapshot.isNewer(thanEpoch: previous.snapshot.epoch, origin: previous.snapshot.origin)
            #expect(newer, "every change is newer than the one before it, by epoch then origin")
        }
        let expected = changes.filter(\.isTransition).map { "\($0.previousState)->\($0.state)" }
        for index in 0..<3 {
            #expect(heard.transitions(of: index) == expected, "listener \(index) heard every transition once, in order")
        }
        // The transitions chain: each starts where the previous ended.
        for (previous, next) in zip(changes, changes.dropFirst()) {
            #expect(next.previousState == previous.state && next.previousMode == previous.mode)
        }
        #expect(changes.count > 100 && changes.contains(where: \.isModeChange))
    }

    // MARK: The trial gate

    @Test func aGateHeldElsewhereKeepsRejectingAndFreeingItAdmitsOneTrial() throws {
        let clock = ManualClock()
        let storage = InMemoryStorage()
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(10), storage: storage, clock: clock)
        _ = try? breaker.call { throw Boom() }
        storage.setTrialGate(.heldElsewhere(for: .seconds(30)))
        clock.advance(by: .seconds(15))  // past the open period: the gate still holds
        let rejected = try #require(breakerErrorOf { try breaker.call {} })
        #expect(rejected.retryAfter == .seconds(15), "until the lease held elsewhere runs out")
        #expect(breaker.state == .open)
        #expect(breaker.retryAfter == .seconds(15))
        storage.setTrialGate(.local)
        let trial = try breaker.acquirePermit()
        #expect(breaker.state == .halfOpen)
        #expect(throws: CircuitBreakerError.self, "one trial at a time") { _ = try breaker.acquirePermit() }
        trial.succeeded()
        #expect(breaker.state == .closed)
    }

    @Test func aGateHeldElsewhereEndsAtItsDeadline() throws {
        let clock = ManualClock()
        let storage = InMemoryStorage()
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(10), storage: storage, clock: clock)
        _ = try? breaker.call { throw Boom() }
        storage.setTrialGate(.heldElsewhere(for: .seconds(12)))
        clock.advance(by: .seconds(11))
        #expect(throws: CircuitBreakerError.self) { try breaker.call {} }
        clock.advance(by: .seconds(1))
        try breaker.call {}
        #expect(breaker.state == .closed, "the lease expired: this instance ran the trial")
    }

    @Test func aGateHeldElsewhereStopsNewTrialsOfAHalfOpenCircuit() throws {
        let clock = ManualClock()
        let storage = InMemoryStorage()
        let breaker = CircuitBreaker(storage: storage, clock: clock)
        breaker.halfOpen()
        storage.setTrialGate(.heldElsewhere(for: .seconds(3)))
        #expect(breakerErrorOf { try breaker.call {} }?.retryAfter == .seconds(3))
        storage.setTrialGate(.heldHere)
        try breaker.call {}
        #expect(breaker.state == .closed)
    }
}

/// Records the transitions each of several listeners heard.
final class ChangeLog: Sendable {
    private let heard = Guarded<[Int: [String]]>([:])

    func transitions(of index: Int) -> [String] { heard.withLock { $0[index] ?? [] } }

    func listener(for index: Int) -> Listener { Listener(index: index, log: self) }

    fileprivate func record(_ index: Int, _ transition: String) { heard.withLock { $0[index, default: []].append(transition) } }

    final class Listener: CircuitBreakerListener {
        let index: Int
        let log: ChangeLog
        init(index: Int, log: ChangeLog) {
            self.index = index
            self.log = log
        }
        var interests: BreakerEvent.Kinds { .stateChanged }
        func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
            guard let change = event.change else { return }
            log.record(index, "\(change.previousState)->\(change.state)")
        }
    }
}

/// A counter shared between tasks.
final class Count: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
