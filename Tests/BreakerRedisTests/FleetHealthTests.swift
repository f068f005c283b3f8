#if Redis
import Testing

@testable import BreakerRedis

/// The fleet's health as a table: events in, the condition and the log out, at times on the fleet's
/// time line chosen by the test (no Redis, no clock read).
@Suite("FleetHealth")
struct FleetHealthTests {
    let origin = ContinuousClock.Instant.now
    func at(_ seconds: Int) -> Duration { .seconds(seconds) }

    let refused = RedisError(.authenticationFailed, "WRONGPASS invalid username-password pair (redis://:***@127.0.0.1:6379)")
    let down = RedisError(.connectionClosed, "connection refused")
    let waiting = RedisError(.notConnected, "reconnecting in 0.2 seconds")

    @Test func startsThenConnectsThenShares() {
        var health = FleetHealth(origin: origin)
        #expect(health.status.condition == .starting)
        #expect(health.commandsSucceeded(caughtUp: false, changedElsewhere: false, at: at(1)) == .init(conditionChanged: true, log: nil))
        #expect(health.status.condition == .connected && health.status.since == origin + at(1))
        #expect(health.subscribed(catchingUp: 2, at: at(2)) == .init(conditionChanged: true, log: nil))
        #expect(health.status.condition == .sharing && health.status.reason == nil)
        #expect(health.commandsSucceeded(caughtUp: true, changedElsewhere: false, at: at(3)) == nil, "the first catch-up logs nothing")
    }

    @Test func anOutageIsLoggedOnceWhenItStartsAndOnceAfterTheCatchUpThatEndsIt() {
        var health = FleetHealth(origin: origin)
        _ = health.subscribed(catchingUp: 0, at: at(1))
        #expect(health.subscriptionLost(down, at: at(10)) == .init(conditionChanged: true, log: .lost(down.description)))
        #expect(health.status.condition == .degraded && health.status.since == origin + at(10))
        #expect(health.commandsFailed(down, at: at(11)) == nil, "the same outage: nothing new to say")
        #expect(health.commandsFailed(waiting, at: at(12)) == nil)
        #expect(health.status.reason == down.description, "waiting to reconnect does not hide why")
        #expect(health.subscribed(catchingUp: 2, at: at(14)) == nil, "commands still failing: still degraded")
        #expect(health.commandsSucceeded(caughtUp: true, changedElsewhere: true, at: at(15)) == .init(conditionChanged: true, log: nil))
        #expect(health.status.condition == .sharing && health.status.since == origin + at(15))
        let back = health.commandsSucceeded(caughtUp: true, changedElsewhere: false, at: at(16))
        #expect(back == .init(conditionChanged: false, log: .back(gone: .seconds(5), caughtUp: 2, changedElsewhere: 1)))
        #expect(health.commandsSucceeded(caughtUp: false, changedElsewhere: false, at: at(17)) == nil)
    }

    @Test func refusedCredentialsAreReportedOncePerOutageEvenWhenTheyStartLater() {
        var health = FleetHealth(origin: origin)
        #expect(health.subscriptionLost(down, at: at(1))?.log == .lost(down.description))
        #expect(health.commandsFailed(refused, at: at(2)) == .init(conditionChanged: false, log: .refused(refused.description)))
        #expect(health.status.reason == refused.description, "the refusal is the reason shown")
        #expect(health.subscriptionLost(refused, at: at(3)) == nil)
        #expect(health.commandsFailed(refused, at: at(4)) == nil, "once per outage, not once per retry")
        _ = health.subscribed(catchingUp: 0, at: at(5))
        _ = health.commandsSucceeded(caughtUp: false, changedElsewhere: false, at: at(6))
        #expect(health.status.condition == .sharing)
        #expect(health.commandsFailed(refused, at: at(20))?.log == .refused(refused.description), "a new outage is reported again")
    }

    @Test func stoppedIsFinal() {
        var health = FleetHealth(origin: origin)
        _ = health.subscriptionLost(down, at: at(1))
        #expect(health.stop(at: at(2)) == .init(conditionChanged: true, log: nil))
        #expect(health.status.condition == .stopped && health.status.reason == nil)
        #expect(health.commandsFailed(refused, at: at(3)) == nil, "nothing is logged once stopped")
    }
}
#endif
