#if Redis
import Breaker

/// The fleet's logic as a plain value, as `CircuitMachine` is the circuit's: events in (a breaker
/// added, a change committed, an exchange with Redis that succeeded or failed, a trial lease won or
/// lost, a heartbeat answered or not, the subscription made, widened or lost, stopping), actions out
/// for ``RedisFleet`` to carry out. It never locks, reads a clock, sleeps or does I/O: each event
/// brings its time on the fleet's time line (time since the fleet was made), and the backoff's spread
/// comes from the generator it was given.
///
/// It holds the publisher's queue (``FleetWork``), the connection's health (``FleetHealth``), the trial
/// leases held here, when each breaker's keys are due for renewal, the count of live instances (for
/// quorums) and the subscription's failures in a row.
struct FleetMachine<Random: RandomNumberGenerator & Sendable>: Sendable {
    /// What the fleet does after an event, in the order given.
    enum Action: Sendable, Equatable {
        /// Serve the publisher's work: ``next()`` until it is `nil`, each item's exchange answered with
        /// ``exchanged(_:_:_:trialDuration:at:)`` or ``exchangeFailed(_:_:at:)``.
        case publish
        /// Send ``retryDue()`` after this delay.
        case retry(after: Duration)
        /// Set a breaker's trial gate.
        case gate(String, TrialGate)
        /// Every breaker decides its trials alone: the fleet cannot share them now.
        case gateAllLocally
        /// Ask Redis for a breaker's trial lease for this long; answer with
        /// ``leaseAnswered(_:won:remaining:)`` or ``leaseFailed(_:)``.
        case acquireLease(String, for: Duration)
        /// Give these breakers' trial leases back.
        case releaseLeases([String])
        /// Renew the lifetime of these breakers' keys.
        case renewKeys([String])
        /// Wait this long, then subscribe again.
        case resubscribe(after: Duration)
        /// The status changed, or there is something to log: the report, and the status after it.
        case report(FleetHealth.Report, FleetStatus)
    }

    /// What an exchange with Redis for one breaker's work came to.
    struct Exchange: Sendable, Equatable {
        /// Whether it read the stored state (a catch-up).
        var caughtUp = false
        /// Whether that applied a change made elsewhere.
        var changedElsewhere = false
        /// The latest snapshot it made the fleet's state, if any (a script refuses one older than the
        /// stored state, and a quorum's trip until enough instances voted).
        var published: CircuitSnapshot?
    }

    private let configuration: FleetConfiguration
    private var random: Random
    /// Each breaker's fleet mode.
    private var members: [String: FleetMode] = [:]
    private var work = FleetWork()
    private var health: FleetHealth
    /// The breakers whose trial lease this instance holds.
    private(set) var leases: Set<String> = []
    /// When each breaker's keys need their lifetime renewed.
    private var renewals: [String: Duration] = [:]
    /// The instances alive in the namespace, as the last heartbeat counted them.
    private(set) var instancesAlive = 1
    private var subscriptionFailures = 0

    /// A fleet's machine, at the start of its time line (`origin`, for the status's instants).
    init(configuration: FleetConfiguration, origin: ContinuousClock.Instant, random: Random) {
        self.configuration = configuration
        self.random = random
        health = FleetHealth(origin: origin)
    }

    /// Whether the fleet shares right now.
    var status: FleetStatus { health.status }

    // MARK: Breakers and their changes

    /// A breaker joins: it catches up (the publisher has work), and its keys are first renewed after
    /// between a quarter and half of their lifetime, so that breakers made together are not renewed
    /// together. A name already known keeps its mode.
    mutating func add(_ name: String, mode: FleetMode, at now: Duration) {
        guard members[name] == nil else { return }
        members[name] = mode
        renewals[name] = now + (configuration.keyLifetime / 2) * Double.random(in: 0.5...1, using: &random)
        work.catchUp(name)
    }

    /// A breaker's circuit committed `change` (the publisher has work).
    mutating func changed(_ name: String, _ change: CircuitChange) {
        guard let mode = members[name] else { return }
        work.changed(name, change, mode: mode)
    }

    /// The next breaker's work, the oldest first; `nil` when nothing waits.
    mutating func next() -> (name: String, item: FleetWork.Item)? {
        while let next = work.next() {
            if members[next.name] != nil { return next }
        }
        return nil
    }

    /// The exchange for `item` of `name` succeeded. With shared trials, the lease follows the latest
    /// snapshot: one the exchange made the fleet's, else the latest seen. An opening that is the
    /// fleet's asks for the lease, for the open period plus `trialDuration` (the breaker's longest
    /// trial) plus ``FleetConfiguration/trialLeaseMargin``; a close gives a lease held here back.
    mutating func exchanged(_ name: String, _ item: FleetWork.Item, _ exchange: Exchange, trialDuration: Duration, at now: Duration) -> [Action] {
        work.succeeded()
        var actions = observe { $0.commandsSucceeded(caughtUp: exchange.caughtUp, changedElsewhere: exchange.changedElsewhere, at: now) }
        guard configuration.sharesTrials, let snapshot = exchange.published ?? item.snapshot else { return actions }
        let fleetWide = exchange.published != nil || item.fleetWide
        switch snapshot.state {
        case .open where snapshot.mode == .normal && fleetWide:
            actions.append(.acquireLease(name, for: (snapshot.openRemaining ?? .zero) + trialDuration + configuration.trialLeaseMargin))
        case .closed:
            actions.append(.gate(name, .local))
            if leases.remove(name) != nil { actions.append(.releaseLeases([name])) }
        default:
            break
        }
        return actions
    }

    /// The exchange for `name` failed: its trials are decided locally, and it catches up at the next
    /// retry (one at a time, backing off on failures in a row).
    mutating func exchangeFailed(_ name: String, _ error: any Error, at now: Duration) -> [Action] {
        var actions: [Action] = [.gate(name, .local)]
        if let delay = work.failed(name, using: &random) { actions.append(.retry(after: delay)) }
        return actions + observe { $0.commandsFailed(error, at: now) }
    }

    /// The scheduled retry is due: every breaker that failed since the last one catches up.
    mutating func retryDue() -> [Action] {
        work.retryDue()
        return [.publish]
    }

    // MARK: Trial lease

    /// Redis answered a request for the lease of `name`: won, or held elsewhere for `remaining`
    /// (zero when it just ran out: the trials are then decided locally).
    mutating func leaseAnswered(_ name: String, won: Bool, remaining: Duration) -> [Action] {
        guard members[name] != nil else { return [] }
        if won {
            leases.insert(name)
            return [.gate(name, .heldHere)]
        }
        return [.gate(name, remaining > .zero ? .heldElsewhere(for: remaining) : .local)]
    }

    /// A request for the lease of `name` failed: its trials are decided locally.
    mutating func leaseFailed(_ name: String) -> [Action] {
        members[name] == nil ? [] : [.gate(name, .local)]
    }

    // MARK: Subscription

    /// The subscription is confirmed for the breakers `names`: they catch up on whatever was
    /// published while no subscription listened.
    mutating func subscribed(covering names: Set<String>, at now: Duration) -> [Action] {
        subscriptionFailures = 0
        let count = catchUp(names)
        return [.publish] + observe { $0.subscribed(catchingUp: count, at: now) }
    }

    /// A wider subscription now covers the breakers `names` too (with sharded pub/sub, breakers made
    /// after the subscription): they catch up.
    mutating func subscriptionWidened(adding names: Set<String>) -> [Action] {
        catchUp(names) == 0 ? [] : [.publish]
    }

    /// The subscription could not be made, or was lost: changes made elsewhere may be missed, so every
    /// breaker decides its trials alone until it is back, and it is made again after a backoff.
    mutating func subscriptionLost(_ error: any Error, at now: Duration) -> [Action] {
        subscriptionFailures += 1
        let delay = Backoff.fleet.delay(afterFailures: subscriptionFailures, using: &random)
        return observe { $0.subscriptionLost(error, at: now) } + [.gateAllLocally, .resubscribe(after: delay)]
    }

    // MARK: Heartbeat

    /// A heartbeat was answered, counting `alive` instances (`nil` if the reply did not say): Redis
    /// answers, and the breakers whose renewal is due have their keys renewed, next after half their
    /// lifetime.
    mutating func heartbeatAnswered(instancesAlive alive: Int?, at now: Duration) -> [Action] {
        if let alive { instancesAlive = max(1, alive) }
        var actions = observe { $0.commandsSucceeded(caughtUp: false, changedElsewhere: false, at: now) }
        let due = renewals.filter { $0.value <= now }.keys.sorted()
        for name in due { renewals[name] = now + configuration.keyLifetime / 2 }
        if !due.isEmpty { actions.append(.renewKeys(due)) }
        return actions
    }

    /// A heartbeat failed.
    mutating func heartbeatFailed(_ error: any Error, at now: Duration) -> [Action] {
        observe { $0.commandsFailed(error, at: now) }
    }

    // MARK: Stopping

    /// `run()` ends: the leases held here are given back, and the status is final.
    mutating func stop(at now: Duration) -> [Action] {
        let held = leases.sorted()
        leases.removeAll()
        return (held.isEmpty ? [] : [.releaseLeases(held)]) + observe { $0.stop(at: now) }
    }

    /// Queues a catch-up of the members among `names`; returns how many.
    private mutating func catchUp(_ names: Set<String>) -> Int {
        let known = names.filter { members[$0] != nil }.sorted()
        for name in known { work.catchUp(name) }
        return known.count
    }

    /// Applies `event` to the health; returns the report it makes, with the status after it.
    private mutating func observe(_ event: (inout FleetHealth) -> FleetHealth.Report?) -> [Action] {
        event(&health).map { [.report($0, health.status)] } ?? []
    }
}
#endif
