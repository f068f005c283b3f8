#if Redis
import Breaker
import BreakerTestKit
import Testing

@testable import BreakerRedis

/// The fleet publisher's work as a table: changes, catch-ups and failed exchanges in, the work and the
/// retries' delays out (no Redis, no clock).
@Suite("FleetWork")
struct FleetWorkTests {
    static func change(_ state: CircuitState, epoch: UInt64, remote: Bool = false, cause: TransitionCause.Kind = .consecutiveFailures) -> CircuitChange {
        CircuitChange(
            sequence: epoch, previousState: .closed,
            snapshot: CircuitSnapshot(state: state, epoch: epoch, origin: remote ? 9 : 1),
            cause: TransitionCause(remote ? .remote : cause))
    }

    static let quorum = FleetMode.quorum(minimum: 2)

    @Test func aLaterLocalChangeSupersedesOneNotYetPublishedAndTheOrderIsTheFirstArrivals() {
        var work = FleetWork()
        work.changed("a", Self.change(.open, epoch: 1), mode: .shared)
        work.changed("b", Self.change(.open, epoch: 1), mode: .shared)
        work.changed("a", Self.change(.halfOpen, epoch: 2), mode: .shared)
        let (first, second, none) = (work.next(), work.next(), work.next())
        #expect(first?.name == "a" && first?.item.change?.snapshot.epoch == 2 && first?.item.snapshot?.state == .halfOpen)
        #expect(second?.name == "b")
        #expect(none == nil)
    }

    @Test func aHeardChangeIsNotPublishedButTheLeaseFollowsIt() {
        var work = FleetWork()
        work.changed("a", Self.change(.open, epoch: 1), mode: Self.quorum)
        work.changed("a", Self.change(.closed, epoch: 2, remote: true), mode: Self.quorum)
        let item = work.next()?.item
        #expect(item?.change?.snapshot.epoch == 1, "the local change still goes out (the script refuses it if older)")
        #expect(item?.snapshot?.epoch == 2 && item?.fleetWide == true)
    }

    @Test func aQuorumsLocalTripIsNotFleetWideUntilPublishedButAManualChangeIs() {
        var work = FleetWork()
        var fleetWide: [Bool?] = []
        for (epoch, cause, mode) in [(1, TransitionCause.Kind.consecutiveFailures, Self.quorum), (2, .manual, Self.quorum), (3, .consecutiveFailures, .shared)] {
            work.changed("a", Self.change(.open, epoch: UInt64(epoch), cause: cause), mode: mode)
            fleetWide.append(work.next()?.item.fleetWide)
        }
        #expect(fleetWide == [false, true, true])
    }

    @Test func aCatchUpJoinsAWaitingChange() {
        var work = FleetWork()
        work.changed("a", Self.change(.open, epoch: 1), mode: .shared)
        work.catchUp("a")
        let (item, none) = (work.next()?.item, work.next())
        #expect(item?.sync == true && item?.change != nil)
        #expect(none == nil)
    }

    @Test func oneRetryAtATimeBackingOffOnFailuresInARowAndCatchingUpEveryBreakerThatFailed() throws {
        var work = FleetWork()
        var random = SeededRandom(seed: 0)
        let first = work.failed("a", using: &random)
        #expect(first.map { $0 >= .milliseconds(80) && $0 <= .milliseconds(120) } == true, "100 ms ± 20 %: \(String(describing: first))")
        let second = work.failed("b", using: &random)
        #expect(second == nil, "a retry is already scheduled")
        let early = work.next()
        #expect(early == nil, "nothing until the retry is due")
        work.retryDue()
        let (a, b, none) = (work.next(), work.next(), work.next())
        #expect(!work.retryScheduled)
        #expect([a?.name, b?.name] == ["a", "b"] && a?.item == FleetWork.Item(sync: true) && b?.item == FleetWork.Item(sync: true))
        #expect(none == nil)
        let third = work.failed("a", using: &random)
        #expect(third.map { $0 >= .milliseconds(320) && $0 <= .milliseconds(480) } == true, "three in a row: 400 ms ± 20 %")
        work.retryDue()
        work.succeeded()
        #expect(work.failures == 0)
        let afterSuccess = work.failed("a", using: &random)
        #expect(afterSuccess.map { $0 <= .milliseconds(120) } == true, "a success starts the backoff again")
    }
}
#endif
