#if Redis
/// The fleet's connection health as a plain value: events in (subscribed, subscription lost, an
/// exchange with Redis that failed or succeeded, stopped), the ``FleetStatus`` and what to log out.
///
/// An outage is logged once when it starts (at error level when Redis refuses the credentials, a
/// refusal that starts later in the same outage is logged then, once; at warning otherwise), and once
/// when it ends, after the catch-up that follows, with how long Redis was gone and what was caught up.
/// Time is the fleet's time line (time since ``origin``), read by the caller: the value reads no clock.
/// Part of ``FleetMachine``.
struct FleetHealth: Sendable {
    /// What to log after an event.
    enum Log: Sendable, Equatable {
        /// Redis refused the credentials.
        case refused(String)
        /// Redis became unreachable or unresponsive.
        case lost(String)
        /// Redis is back and every breaker caught up.
        case back(gone: Duration, caughtUp: Int, changedElsewhere: Int)
    }

    /// What an event changed.
    struct Report: Sendable, Equatable {
        var conditionChanged: Bool
        var log: Log?
    }

    /// The instant the time line starts from: the fleet's creation.
    let origin: ContinuousClock.Instant
    private(set) var status: FleetStatus
    private var subscribed = false
    private var answered = false
    private var subscriptionFailure: RedisError?
    private var commandFailure: RedisError?
    private var stopped = false
    /// The outage under way: when it started, and whether a refusal of the credentials was logged.
    private var outage: (since: Duration, refusalLogged: Bool)?
    /// After an outage, until the catch-up is done: how long Redis was gone.
    private var returned: Duration?
    private var catchUpsLeft = 0
    private var caughtUp = 0
    private var changedElsewhere = 0

    /// Starting, at `origin`.
    init(origin: ContinuousClock.Instant) {
        self.origin = origin
        status = FleetStatus(.starting, since: origin)
    }

    /// The subscription is confirmed; `catchingUp` breakers are queued to catch up.
    mutating func subscribed(catchingUp: Int, at now: Duration) -> Report? {
        subscribed = true
        subscriptionFailure = nil
        catchUpsLeft = catchingUp
        caughtUp = 0
        changedElsewhere = 0
        return settle(at: now)
    }

    /// The subscription could not be made, or was lost.
    mutating func subscriptionLost(_ error: any Error, at now: Duration) -> Report? {
        subscribed = false
        subscriptionFailure = Self.redisError(error, replacing: subscriptionFailure)
        return settle(at: now)
    }

    /// An exchange with Redis failed.
    mutating func commandsFailed(_ error: any Error, at now: Duration) -> Report? {
        commandFailure = Self.redisError(error, replacing: commandFailure)
        return settle(at: now)
    }

    /// An exchange with Redis succeeded; `caughtUp` when it was a breaker's catch-up.
    mutating func commandsSucceeded(caughtUp isCatchUp: Bool, changedElsewhere changed: Bool, at now: Duration) -> Report? {
        answered = true
        commandFailure = nil
        if isCatchUp {
            catchUpsLeft = max(0, catchUpsLeft - 1)
            caughtUp += 1
            if changed { changedElsewhere += 1 }
        }
        return settle(at: now)
    }

    /// `run()` returned.
    mutating func stop(at now: Duration) -> Report? {
        stopped = true
        return settle(at: now)
    }

    /// A failure as a `RedisError`; "not connected" (the client waiting to reconnect) does not hide
    /// the reason it is waiting for.
    private static func redisError(_ error: any Error, replacing previous: RedisError?) -> RedisError {
        let error = error as? RedisError ?? RedisError(.connectionClosed, "\(error)")
        if error.reason == .notConnected, let previous { return previous }
        return error
    }

    private mutating func settle(at now: Duration) -> Report? {
        let failure = stopped ? nil : commandFailure?.reason == .authenticationFailed ? commandFailure : subscriptionFailure ?? commandFailure
        let condition: FleetStatus.Condition =
            if stopped { .stopped } else if failure != nil { .degraded } else if subscribed { .sharing } else if answered { .connected } else { .starting }
        var report = Report(conditionChanged: condition != status.condition, log: nil)
        if report.conditionChanged {
            status = FleetStatus(condition, reason: failure?.description, since: origin + now)
        } else {
            status.reason = failure?.description
        }
        if let failure {
            if outage == nil {
                outage = (now, false)
                returned = nil
                report.log = .lost(failure.description)
            }
            if failure.reason == .authenticationFailed, outage?.refusalLogged == false {
                outage?.refusalLogged = true
                report.log = .refused(failure.description)
            }
        }
        if condition == .sharing, let started = outage?.since {
            outage = nil
            returned = now - started
        }
        if let gone = returned, catchUpsLeft == 0, condition == .sharing {
            returned = nil
            report.log = .back(gone: gone, caughtUp: caughtUp, changedElsewhere: changedElsewhere)
        }
        return report.conditionChanged || report.log != nil ? report : nil
    }
}
#endif
