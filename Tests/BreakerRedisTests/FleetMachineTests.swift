#if Redis
import Breaker
import BreakerTestKit
import Testing

@testable import BreakerRedis

/// The fleet's logic as a table: events in, actions out, time on a `ManualClock` and the backoff's
/// spread from a seeded generator (no Redis, no sleeping).
@Suite("FleetMachine")
struct FleetMachineTests {
    typealias Machine = FleetMachine<SeededRandom>
    typealias Action = Machine.Action

    let clock = ManualClock()
    var now: Duration { clock.now.offset }
    let down = RedisError(.connectionClosed, "connection refused")

    func machine(_ configure: (inout FleetConfiguration) -> Void = { _ in }) -> Machine {
        var configuration = FleetConfiguration()
        configuration.trialLeaseMargin = .seconds(10)
        configure(&configuration)
        return Machine(configuration: configuration, origin: .now, random: SeededRandom(seed: 0))
    }

    static func change(_ state: CircuitState, epoch: UInt64, openRemaining: Duration? = nil, cause: TransitionCause.Kind = .consecutiveFailures) -> CircuitChange {
        CircuitChange(
            sequence: epoch, previousState: .closed,
            snapshot: CircuitSnapshot(state: state, openRemaining: openRemaining, epoch: epoch, origin: 1), cause: TransitionCause(cause))
    }

    /// Serves every waiting item as a successful exchange (publishing each change), returning the
    /// actions; `published: false` for a quorum whose vote did not reach the count.
    func serve(_ machine: inout Machine, trialDuration: Duration = .seconds(5), published: Bool = true) -> [Action] {
        var actions: [Action] = []
        while let (name, item) = machine.next() {
            let exchange = Machine.Exchange(caughtUp: item.sync, published: published ? item.change?.snapshot : nil)
            actions += machine.exchanged(name, item, exchange, trialDuration: trialDuration, at: now)
        }
        return actions
    }

    /// The actions other than reports, which the health's own table covers.
    func work(_ actions: [Action]) -> [Action] {
        actions.filter { if case .report = $0 { false } else { true } }
    }

    func reports(_ actions: [Action]) -> [FleetHealth.Report] {
        actions.compactMap { if case .report(let report, _) = $0 { report } else { nil } }
    }

    func statuses(_ actions: [Action]) -> [FleetStatus] {
        actions.compactMap { if case .report(_, let status) = $0 { status } else { nil } }
    }

    @Test func aSharedTripAsksForTheLeaseForTheOpenPeriodTheLongestTrialAndTheMarginAndACloseGivesItBack() {
        var machine = machine()
        machine.add("a", mode: .shared, at: now)
        #expect(work(serve(&machine)).isEmpty, "the first catch-up: closed, no lease held, nothing to give back")

        machine.changed("a", Self.change(.open, epoch: 1, openRemaining: .seconds(30)))
        #expect(work(serve(&machine)) == [.acquireLease("a", for: .seconds(45))], "30 s open + 5 s trial + 10 s margin")
        #expect(machine.leaseAnswered("a", won: true, remaining: .seconds(45)) == [.gate("a", .heldHere)])
        #expect(machine.leases == ["a"])

        clock.advance(by: .seconds(31))
        machine.changed("a", Self.change(.closed, epoch: 3))
        #expect(work(serve(&machine)) == [.gate("a", .local), .releaseLeases(["a"])])
        #expect(machine.leases.isEmpty)

        machine.changed("a", Self.change(.closed, epoch: 4))
        #expect(work(serve(&machine)) == [.gate("a", .local)], "nothing held: nothing to give back")
    }

    @Test func aLeaseHeldElsewhereGatesTheTrialsUntilItRunsOut() {
        var machine = machine()
        machine.add("a", mode: .shared, at: now)
        #expect(machine.leaseAnswered("a", won: false, remaining: .seconds(7)) == [.gate("a", .heldElsewhere(for: .seconds(7)))])
        #expect(machine.leaseAnswered("a", won: false, remaining: .zero) == [.gate("a", .local)], "just ran out: decide locally")
        #expect(machine.leaseFailed("a") == [.gate("a", .local)])
        #expect(machine.leaseAnswered("ghost", won: true, remaining: .seconds(1)) == [], "an unknown breaker")
        #expect(machine.leases.isEmpty)
    }

    @Test func aQuorumsOwnTripTakesNoLeaseUntilTheVoteMakesItTheFleets() {
        var machine = machine()
        machine.add("a", mode: .quorum(minimum: 2), at: now)
        _ = serve(&machine)
        machine.changed("a", Self.change(.open, epoch: 1, openRemaining: .seconds(30)))
        #expect(work(serve(&machine, published: false)).isEmpty, "one vote of two: the trip stays this instance's")
        machine.changed("a", Self.change(.open, epoch: 2, openRemaining: .seconds(20)))
        #expect(work(serve(&machine)) == [.acquireLease("a", for: .seconds(35))], "the second vote: the fleet's")
        machine.changed("a", Self.change(.open, epoch: 3, openRemaining: .seconds(20), cause: .manual))
        #expect(work(serve(&machine, published: false)) == [.acquireLease("a", for: .seconds(35))], "a manual opening is the fleet's")
    }

    @Test func withoutSharedTrialsNoLeaseIsEverAskedFor() {
        var machine = machine { $0.sharesTrials = false }
        machine.add("a", mode: .shared, at: now)
        machine.changed("a", Self.change(.open, epoch: 1, openRemaining: .seconds(30)))
        machine.changed("a", Self.change(.closed, epoch: 2))
        #expect(work(serve(&machine)).isEmpty)
    }

    @Test func failedExchangesDecideLocallyAndRetryOneAtATimeBackingOff() {
        var machine = machine()
        for name in ["a", "b"] { machine.add(name, mode: .shared, at: now) }
        _ = machine.next()
        _ = machine.next()

        let first = machine.exchangeFailed("a", down, at: now)
        #expect(work(first).first == .gate("a", .local))
        guard case .retry(let delay)? = work(first).last else { Issue.record("no retry: \(first)"); return }
        #expect(delay >= .milliseconds(80) && delay <= .milliseconds(120), "100 ms ± 20 %: \(delay)")
        #expect(reports(first).map(\.log) == [.lost(down.description)])
        #expect(machine.status.condition == .degraded)
        #expect(statuses(first).map(\.condition) == [.degraded], "a report carries the status after the event")

        #expect(machine.exchangeFailed("b", down, at: now) == [.gate("b", .local)], "one retry at a time; the same outage")
        #expect(machine.next() == nil, "nothing until the retry is due")
        clock.advance(by: delay)
        #expect(machine.retryDue() == [.publish])
        let retried = [machine.next(), machine.next()].compactMap { $0 }
        #expect(retried.map { $0.name } == ["a", "b"] && retried.allSatisfy { $0.item.sync })

        let third = machine.exchangeFailed("a", down, at: now)
        guard case .retry(let longer)? = work(third).last else { Issue.record("no retry: \(third)"); return }
        #expect(longer >= .milliseconds(320) && longer <= .milliseconds(480), "three in a row: 400 ms ± 20 %: \(longer)")
    }

    @Test func aLostSubscriptionGatesEveryBreakerLocallyBacksOffAndItsReturnCatchesEveryBreakerUp() {
        var machine = machine()
        for name in ["a", "b"] { machine.add(name, mode: .shared, at: now) }
        _ = serve(&machine)
        _ = machine.subscribed(covering: ["a", "b"], at: now)
        #expect(machine.status.condition == .sharing)

        var delays: [Duration] = []
        for _ in 0..<3 {
            clock.advance(by: .seconds(1))
            let actions = machine.subscriptionLost(down, at: now)
            #expect(work(actions).first == .gateAllLocally)
            if case .resubscribe(let delay)? = actions.last { delays.append(delay) }
        }
        #expect(delays.count == 3 && delays[0] <= .milliseconds(120) && delays[1] >= .milliseconds(160) && delays[2] >= .milliseconds(320), "\(delays)")
        #expect(machine.status.condition == .degraded)

        let back = machine.subscribed(covering: ["a", "b", "made-elsewhere"], at: now)
        #expect(work(back) == [.publish])
        #expect(statuses(back).map(\.condition) == [.sharing])
        #expect(machine.status.condition == .sharing)
        clock.advance(by: .milliseconds(50))  // "gone" ends at the subscription, not at the catch-up
        let first = machine.next()
        #expect(first?.item.sync == true)
        if let (name, item) = first {
            #expect(reports(machine.exchanged(name, item, .init(caughtUp: true, changedElsewhere: true), trialDuration: .seconds(5), at: now)).isEmpty)
        }
        let last = serve(&machine)
        #expect(reports(last).map(\.log) == [.back(gone: .seconds(2), caughtUp: 2, changedElsewhere: 1)])
        #expect(machine.next() == nil, "only breakers of this instance catch up")

        guard case .resubscribe(let afterSuccess)? = machine.subscriptionLost(down, at: now).last else { Issue.record("no resubscription"); return }
        #expect(afterSuccess <= .milliseconds(120), "a confirmed subscription starts the backoff again")
    }

    @Test func aWiderSubscriptionCatchesUpOnlyTheBreakersItAdds() {
        var machine = machine()
        machine.add("a", mode: .shared, at: now)
        _ = serve(&machine)
        machine.add("b", mode: .shared, at: now)
        _ = machine.next()
        #expect(machine.subscriptionWidened(adding: ["b"]) == [.publish])
        #expect(machine.next()?.name == "b" && machine.next() == nil)
        #expect(machine.subscriptionWidened(adding: ["unknown"]) == [])
    }

    @Test func keysAreRenewedOnlyAsTheirLifetimeRequiresSpreadOverTime() {
        var machine = machine { $0.keyLifetime = .seconds(60) }
        let names = (0..<1_000).map { "breaker-\($0)" }
        for name in names { machine.add(name, mode: .shared, at: now) }
        var renewed: [String: Int] = [:]
        var largest = 0
        for _ in 0..<120 {  // ten minutes of heartbeats, every 5 s
            clock.advance(by: .seconds(5))
            for case .renewKeys(let due) in machine.heartbeatAnswered(instancesAlive: 3, at: now) {
                largest = max(largest, due.count)
                for name in due { renewed[name, default: 0] += 1 }
            }
        }
        #expect(Set(renewed.keys) == Set(names))
        #expect(renewed.values.allSatisfy { (19...20).contains($0) }, "once per half lifetime: 600 s / 30 s")
        #expect(largest <= 450, "spread over the first half lifetime, not all at once: \(largest)")
    }

    @Test func theHeartbeatCountsTheLiveInstancesForQuorumsAndNeverBelowOne() {
        var machine = machine()
        #expect(machine.instancesAlive == 1)
        _ = machine.heartbeatAnswered(instancesAlive: 3, at: now)
        #expect(machine.instancesAlive == 3 && machine.status.condition == .connected)
        _ = machine.heartbeatAnswered(instancesAlive: nil, at: now)
        #expect(machine.instancesAlive == 3, "a reply without a count keeps the last")
        _ = machine.heartbeatAnswered(instancesAlive: 0, at: now)
        #expect(machine.instancesAlive == 1)
        #expect(reports(machine.heartbeatFailed(down, at: now)).map(\.log) == [.lost(down.description)])
    }

    @Test func stoppingGivesBackEveryLeaseHeldHereAndIsFinal() {
        var machine = machine()
        for name in ["b", "a", "c"] {
            machine.add(name, mode: .shared, at: now)
            _ = machine.leaseAnswered(name, won: name != "c", remaining: .seconds(10))
        }
        let stop = machine.stop(at: now)
        #expect(work(stop) == [.releaseLeases(["a", "b"])])
        #expect(statuses(stop).map(\.condition) == [.stopped])
        #expect(machine.status.condition == .stopped && machine.leases.isEmpty)
        #expect(work(machine.stop(at: now)).isEmpty, "given back once")
        #expect(reports(machine.heartbeatFailed(down, at: now)).isEmpty, "nothing is reported once stopped")
    }
}
#endif
