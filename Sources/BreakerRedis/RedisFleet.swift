#if Redis
import Breaker
import CoreMetrics
import Logging
import ServiceLifecycle
import NIOConcurrencyHelpers

/// Breakers that share their circuits across a fleet of processes through Redis, with no network
/// round trip per call.
///
/// Calls decide on the circuit in memory. What changes it (trips, reopenings, closes, mode changes)
/// is published in the background by a Lua script that refuses a change older than the stored one,
/// and pushed to every instance by pub/sub, which applies it if it is newer than its own. Half-open
/// trials are leased: one instance probes, the others keep rejecting until its outcome arrives or the
/// lease runs out. When Redis is slow or gone, every instance decides alone and keeps serving; when it
/// returns, the instances catch up, newest change first, and converge.
///
/// Other instances' changes are applied as they arrive, on the subscription's event-loop thread, and
/// the breakers' listeners hear them there: like every listener, they should return quickly.
///
/// Its ``status`` says whether it shares right now (also as ``statusUpdates``); an outage is logged
/// once at warning (at error when Redis refuses the credentials) and the return at notice; and it
/// reports to swift-metrics: `breaker_fleet_sharing` (a gauge, 1 while sharing),
/// `breaker_fleet_publish_duration`, `breaker_fleet_changes_applied_total`,
/// `breaker_fleet_catch_ups_total` and `breaker_fleet_failures_total`, each with the dimension
/// `fleet` (the namespace), created once with the fleet.
///
/// ```swift
/// let fleet = try RedisFleet(url: "redis://127.0.0.1:6379")
/// let payments = CircuitBreaker(name: "payments", failMax: 5, storage: fleet.storage(named: "payments"))
/// // Run the fleet's connection in a ServiceGroup, or with `try await fleet.run()`.
/// ```
public final class RedisFleet: Service, Sendable {
    /// What the fleet does.
    public let configuration: FleetConfiguration
    /// The Redis client it talks through.
    public let transport: any RedisTransport
    private let logger: Logger
    private let metrics: FleetMetrics
    private let state = NIOLockedValueBox(FleetState())
    private let wakeups: AsyncStream<Void>.Continuation
    private let wakeupStream: AsyncStream<Void>
    private let retries: AsyncStream<Duration>.Continuation
    private let retryStream: AsyncStream<Duration>
    private let watchers = NIOLockedValueBox<[Int: AsyncStream<FleetStatus>.Continuation]>([:])
    /// Where Redis is, without secrets, for logs.
    private let redisDescription: String

    private struct FleetState: Sendable {
        var members: [String: RedisCircuitStorage] = [:]
        /// The publisher's work and retries.
        var work = FleetWork()
        var leases: Set<String> = []
        var running = false
        /// When each breaker's keys need their lifetime renewed (spread, so they are not all due at once).
        var renewals: [String: ContinuousClock.Instant] = [:]
        /// Told when a breaker is added (a sharded subscription then covers it too).
        var memberAdded: AsyncStream<Void>.Continuation?
        /// The instances alive in the namespace, as the last heartbeat counted them.
        var instancesAlive = 1
        var health = FleetHealth()
    }

    /// A fleet talking through `transport` (a ``RedisClient`` for a single server, or another client behind
    /// ``RedisTransport``); throws if `configuration` is invalid.
    public init(transport: any RedisTransport, configuration: FleetConfiguration = .init(), logger: Logger = Logger(label: "breaker.redis")) throws(RedisError) {
        try configuration.validate()
        self.transport = transport
        self.configuration = configuration
        self.logger = logger
        metrics = FleetMetrics(namespace: configuration.namespace, factory: configuration.metricsFactory ?? MetricsSystem.factory)
        redisDescription =
            (transport as? RedisClient)?.configuration.redactedURL ?? (transport as? RedisRouter)?.seed.configuration.redactedURL
            ?? String(describing: type(of: transport))
        (wakeupStream, wakeups) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (retryStream, retries) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// A fleet on the server at `url` (`redis://` or `rediss://`, see ``RedisConfiguration/init(url:)``):
    /// a single node, or any node of a Redis Cluster (found out on connecting). Throws
    /// ``RedisError/Reason/invalidURL`` naming the part of a URL that can never work.
    public convenience init(url: String, configuration: FleetConfiguration = .init(), logger: Logger = Logger(label: "breaker.redis")) throws(RedisError) {
        try self.init(redis: RedisConfiguration(url: url), configuration: configuration, logger: logger)
    }

    /// A fleet on the server `redis` describes: a single node, or any node of a Redis Cluster, whose
    /// slots are then discovered, followed through `MOVED`, `ASK` and failovers, and whose changes
    /// travel by sharded pub/sub.
    public convenience init(redis: RedisConfiguration, configuration: FleetConfiguration = .init(), logger: Logger = Logger(label: "breaker.redis")) throws(RedisError) {
        try self.init(transport: RedisRouter(configuration: redis), configuration: configuration, logger: logger)
    }

    /// The storage of the breaker named `name`: the same one each time for a name (the mode given
    /// first stays). Give it to one breaker, or to several that share the circuit.
    public func storage(named name: String, mode: FleetMode = .shared) -> RedisCircuitStorage {
        let (storage, added) = state.withLockedValue { state -> (RedisCircuitStorage, AsyncStream<Void>.Continuation?) in
            if let existing = state.members[name] { return (existing, nil) }
            let storage = RedisCircuitStorage(name: name, mode: mode, keys: FleetKeys(namespace: configuration.namespace, name: name), fleet: self)
            state.members[name] = storage
            state.renewals[name] = .now + (configuration.keyLifetime / 2) * Double.random(in: 0.5...1)
            state.work.catchUp(name)
            return (storage, state.memberAdded)
        }
        wakeups.yield()
        added?.yield()
        return storage
    }

    /// Runs the fleet's background work until graceful shutdown or cancellation: the subscription
    /// (re-established with backoff when lost, then catching up), the publisher and its retries, and
    /// the heartbeat. All of it lives here: the fleet starts no task of its own outside `run()`.
    ///
    /// It does not throw when Redis is unreachable or refuses the credentials: the breakers decide
    /// locally meanwhile, the fleet retries with backoff, and ``status`` (and the log) says why.
    /// Cancelled or shut down, it returns within a second whatever Redis does (down, refusing, hung),
    /// giving back the trial leases it holds if Redis answers in that time (else they expire).
    public func run() async throws {
        let alreadyRunning = state.withLockedValue { state in
            defer { state.running = true }
            return state.running
        }
        guard !alreadyRunning else { throw RedisError(.invalidConfiguration, "the fleet is already running") }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.subscribeForever() }
            group.addTask { await self.publishForever() }
            group.addTask { await self.retryForever() }
            group.addTask { await self.heartbeatForever() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await releaseLeases()
        update { $0.stop() }
        // Finished outside the lock: a finished stream's termination handler takes it.
        let finished = watchers.withLockedValue { watchers in
            defer { watchers.removeAll() }
            return watchers.values
        }
        for continuation in finished { continuation.finish() }
    }

    // MARK: Status

    /// Whether the fleet shares its breakers' circuits right now (see ``FleetStatus``).
    public var status: FleetStatus { state.withLockedValue { $0.health.status } }

    /// The status now, then each change of condition, until `run()` returns.
    public var statusUpdates: AsyncStream<FleetStatus> {
        let (stream, continuation) = AsyncStream<FleetStatus>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id = Int.random(in: 0...Int.max)
        let current = state.withLockedValue { state -> FleetStatus in
            watchers.withLockedValue { $0[id] = continuation }
            return state.health.status
        }
        continuation.yield(current)
        if current.condition == .stopped { continuation.finish() }
        continuation.onTermination = { [weak self] _ in _ = self?.watchers.withLockedValue { $0.removeValue(forKey: id) } }
        return stream
    }

    /// Applies `event` to the health, then (outside the lock) tells watchers and the log what changed.
    private func update(_ event: (inout FleetHealth) -> FleetHealth.Report?) {
        let (report, status) = state.withLockedValue { state in (event(&state.health), state.health.status) }
        guard let report else { return }
        if report.conditionChanged {
            metrics.sharing.record(status.isSharing ? 1 : 0)
            for continuation in watchers.withLockedValue({ Array($0.values) }) { continuation.yield(status) }
        }
        let metadata: Logger.Metadata = ["redis": "\(redisDescription)", "status": "\(status)"]
        switch report.log {
        case .none: break
        case .refused(let reason):
            logger.error("Redis refused the fleet's credentials; deciding locally and retrying", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        case .lost(let reason):
            logger.warning("Redis unavailable; deciding locally and retrying", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        case .back(let gone, let caughtUp, let changed):
            logger.notice(
                "Redis is back; caught up",
                metadata: metadata.merging(["gone": "\(gone)", "breakers": "\(caughtUp)", "changedElsewhere": "\(changed)"]) { $1 })
        }
    }

    // MARK: Local changes

    func circuit(_ storage: RedisCircuitStorage, didChange change: CircuitChange) {
        state.withLockedValue { $0.work.changed(storage.name, change, mode: storage.mode) }
        wakeups.yield()
    }

    private func publishForever() async {
        for await _ in wakeupStream {
            while let (storage, pending) = nextPending() {
                await process(storage, pending)
            }
        }
    }

    /// After a failed exchange with Redis: catch up again later (with backoff while it keeps failing),
    /// which also publishes the local state if it is the newer one.
    private func retryLater(_ name: String) {
        if let delay = state.withLockedValue({ $0.work.failed(name) }) { retries.yield(delay) }
    }

    /// Waits out each scheduled retry, then queues the catch-ups it was for.
    private func retryForever() async {
        for await delay in retryStream {
            try? await Task.sleep(for: delay)
            if Task.isCancelled { return }
            state.withLockedValue { $0.work.retryDue() }
            wakeups.yield()
        }
    }

    private func nextPending() -> (RedisCircuitStorage, FleetWork.Item)? {
        state.withLockedValue { state in
            while let (name, item) = state.work.next() {
                if let storage = state.members[name] { return (storage, item) }
            }
            return nil
        }
    }

    private func process(_ storage: RedisCircuitStorage, _ pending: FleetWork.Item) async {
        var fleetWide = pending.fleetWide
        var changedElsewhere = false
        do {
            if pending.sync {
                changedElsewhere = try await catchUp(storage)
                metrics.catchUps.increment()
                if changedElsewhere { metrics.changesApplied.increment() }
            }
            if let change = pending.change {
                let start = ContinuousClock.now
                let published = try await publish(storage, change.snapshot, manual: change.cause.kind == .manual)
                metrics.publishDuration.recordNanoseconds(start.duration(to: .now).nanoseconds)
                if published && change.snapshot.state == .open { fleetWide = true }
            }
        } catch {
            if Task.isCancelled { return }
            metrics.failures.increment()
            logger.debug("exchange with Redis failed; deciding locally", metadata: ["breaker": "\(storage.name)", "error": "\(error)"])
            storage.local.setTrialGate(.local)
            update { $0.commandsFailed(error) }
            retryLater(storage.name)
            return
        }
        state.withLockedValue { $0.work.succeeded() }
        update { $0.commandsSucceeded(caughtUp: pending.sync, changedElsewhere: changedElsewhere) }
        if configuration.sharesTrials, let snapshot = pending.snapshot { await updateLease(storage, snapshot, fleetWide: fleetWide) }
    }

    /// Publishes `snapshot` (a vote first, for a quorum's local trip); returns whether it became the
    /// fleet's state. A stored state newer than it is applied here instead.
    private func publish(_ storage: RedisCircuitStorage, _ snapshot: CircuitSnapshot, manual: Bool) async throws -> Bool {
        let keys = storage.keys
        let sharded = try await transport.usesShardedPubSub()
        var arguments = [
            FleetSnapshotCoding.head(snapshot), String(FleetSnapshotCoding.untilMilliseconds(snapshot)), keys.channel,
            String(configuration.keyLifetime.milliseconds), "0",
        ]
        let reply: RESPValue
        switch storage.mode.kind {
        case .quorum(let minimum, let fraction, let window) where snapshot.state == .open && !manual:
            let alive = state.withLockedValue { $0.instancesAlive }
            arguments += [configuration.instance, String(window.milliseconds), String(minimum), String(fraction), String(alive)]
            reply = try await FleetScripts.vote(sharded: sharded).run(on: transport, keys: [keys.state, keys.votes], arguments: arguments)
        case .quorum:
            arguments[4] = manual ? "0" : "1"  // outside a fleet-wide opening, an instance's own changes stay its own
            reply = try await FleetScripts.publish(sharded: sharded).run(on: transport, keys: [keys.state], arguments: arguments)
        case .shared:
            reply = try await FleetScripts.publish(sharded: sharded).run(on: transport, keys: [keys.state], arguments: arguments)
        }
        guard let parts = reply.elements, let status = parts.first?.integer else {
            throw RedisError(.unexpectedReply, "publish returned \(reply)")
        }
        if status == 0, parts.count == 3, let stored = parts[1].string, let now = parts[2].integer {
            apply(stored, serverNow: now, to: storage)
        }
        return status == 1
    }

    /// Reads the stored state; applies it if newer, or publishes the local one if that is newer (a
    /// change made while Redis was away). Returns whether another instance's change was applied.
    private func catchUp(_ storage: RedisCircuitStorage) async throws -> Bool {
        let reply = try await FleetScripts.read.run(on: transport, keys: [storage.keys.state], arguments: [])
        guard let parts = reply.elements, parts.count == 2, let stored = parts[0].string, let now = parts[1].integer else {
            throw RedisError(.unexpectedReply, "read returned \(reply)")
        }
        let before = storage.local.snapshot()
        let fleet = stored.isEmpty ? nil : apply(stored, serverNow: now, to: storage)
        let mine = storage.local.snapshot()
        let changedElsewhere = mine.epoch != before.epoch || mine.origin != before.origin
        guard storage.mode == .shared, mine.epoch > 0, fleet.map({ mine.isNewer(thanEpoch: $0.epoch, origin: $0.origin) }) ?? true else {
            return changedElsewhere
        }
        if try await publish(storage, mine, manual: false), configuration.sharesTrials {
            await updateLease(storage, mine, fleetWide: true)
        }
        return changedElsewhere
    }

    /// Applies a stored line (its open period an instant of the server's clock); returns its snapshot.
    @discardableResult
    private func apply(_ stored: String, serverNow: Int64, to storage: RedisCircuitStorage) -> CircuitSnapshot? {
        guard let line = FleetSnapshotCoding.remainingLine(stored: stored, serverNow: serverNow), let snapshot = FleetSnapshotCoding.decode(line) else {
            logger.warning("unreadable state in Redis; ignored", metadata: ["breaker": "\(storage.name)"])
            return nil
        }
        storage.local.apply(snapshot)
        return snapshot
    }

    // MARK: Trial lease

    private func updateLease(_ storage: RedisCircuitStorage, _ snapshot: CircuitSnapshot, fleetWide: Bool) async {
        let name = storage.name
        switch snapshot.state {
        case .open where snapshot.mode == .normal && fleetWide:
            let trial = storage.local.configuration?.halfOpen.maxTrialDuration ?? .seconds(60)
            let lease = (snapshot.openRemaining ?? .zero) + trial + configuration.trialLeaseMargin
            do {
                let reply = try await FleetScripts.acquireLease.run(
                    on: transport, keys: [storage.keys.lease], arguments: [configuration.instance, String(lease.milliseconds)])
                guard let parts = reply.elements, parts.count == 2, let won = parts[0].integer, let left = parts[1].integer else { return }
                if won == 1 {
                    state.withLockedValue { _ = $0.leases.insert(name) }
                    storage.local.setTrialGate(.heldHere)
                } else {
                    storage.local.setTrialGate(left > 0 ? .heldElsewhere(for: .milliseconds(left)) : .local)
                }
            } catch {
                storage.local.setTrialGate(.local)
            }
        case .closed:
            storage.local.setTrialGate(.local)
            if state.withLockedValue({ $0.leases.remove(name) != nil }) {
                _ = try? await FleetScripts.releaseLease.run(on: transport, keys: [storage.keys.lease], arguments: [configuration.instance])
            }
        default:
            break
        }
    }

    /// Gives back the leases held here, waiting at most 0.9 s for Redis, so that `run()` returns within
    /// a second (a lease not given back expires on its own). Runs after `run()` was cancelled, so in a
    /// task of its own, awaited.
    private func releaseLeases() async {
        let (held, members) = state.withLockedValue { state in
            defer { state.leases.removeAll() }
            return (state.leases, state.members)
        }
        guard !held.isEmpty else { return }
        let (transport, instance) = (self.transport, configuration.instance)
        await Task {
            await withTaskGroup(of: Void.self) { group in
                for name in held {
                    guard let storage = members[name] else { continue }
                    // Each written at once: a command on the wire is run by Redis even if we stop waiting.
                    group.addTask { _ = try? await FleetScripts.releaseLease.runBySource(on: transport, keys: [storage.keys.lease], arguments: [instance]) }
                }
                let deadline = ContinuousClock.now + .milliseconds(900)
                group.addTask { try? await Task.sleep(until: deadline) }
                for _ in 0..<held.count {  // every release answered, or the deadline
                    await group.next()
                    if ContinuousClock.now >= deadline { break }
                }
                group.cancelAll()
            }
        }.value
    }

    // MARK: Subscription

    private func subscribeForever() async {
        var failures = 0
        while !Task.isCancelled {
            var lost: any Error = RedisError(.connectionClosed, "subscription lost")
            do {
                var (messages, names) = try await subscribe()
                failures = 0
                let count = catchUp(names)  // whatever was published while we were away
                update { $0.subscribed(catchingUp: count) }
                // With sharded pub/sub, a breaker made later needs its channel: a new subscription is
                // made before the old one is dropped, so nothing published meanwhile is missed.
                while let (next, added) = try await deliver(messages, replacingWhenBreakersAreAddedTo: names) {
                    (messages, names) = (next, names.union(added))
                    _ = catchUp(added)
                }
            } catch {
                lost = error
            }
            if Task.isCancelled { return }
            logger.debug("subscription lost; deciding locally", metadata: ["error": "\(lost)"])
            metrics.failures.increment()
            update { $0.subscriptionLost(lost) }
            for storage in state.withLockedValue({ Array($0.members.values) }) { storage.local.setTrialGate(.local) }
            failures += 1
            try? await Task.sleep(for: Backoff.fleet.delay(afterFailures: failures))
        }
    }

    /// Subscribes to every breaker's changes: one pattern on a single node, each breaker's shard
    /// channel in a cluster. Returns the messages and the breakers covered. With the built-in client,
    /// messages are received as they arrive, on the connection's event loop, and the stream only
    /// tells when the subscription is lost.
    private func subscribe() async throws -> (AsyncThrowingStream<RedisMessage, any Error>, Set<String>) {
        let members = state.withLockedValue { $0.members }
        let pattern = FleetKeys.channels(namespace: configuration.namespace)
        let channels = try await transport.usesShardedPubSub() ? members.values.map(\.keys.channel) : nil
        if let router = transport as? RedisRouter {
            return (try await router.subscribe(pattern: pattern, orShardChannels: channels) { [weak self] in self?.receive($0) }, Set(members.keys))
        }
        guard let channels else { return (try await transport.subscribe(pattern: pattern), Set(members.keys)) }
        return (try await transport.subscribe(shardChannels: channels), Set(members.keys))
    }

    /// Hands `messages` to the breakers until the subscription ends (returns `nil`, or throws), or, with
    /// sharded pub/sub, until breakers outside `names` exist and a subscription covering them too is
    /// confirmed (returns it and the breakers added).
    private func deliver(
        _ messages: AsyncThrowingStream<RedisMessage, any Error>, replacingWhenBreakersAreAddedTo names: Set<String>
    ) async throws -> (AsyncThrowingStream<RedisMessage, any Error>, Set<String>)? {
        let sharded = try await transport.usesShardedPubSub()
        return try await withThrowingTaskGroup(of: (AsyncThrowingStream<RedisMessage, any Error>, Set<String>)?.self) { group in
            group.addTask {
                for try await message in messages { self.receive(message) }
                return nil
            }
            if sharded {
                // A stream of its own each time: a cancelled iteration ends an AsyncStream for good.
                let (membersAdded, memberAdded) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
                let missed = self.state.withLockedValue { state in
                    state.memberAdded = memberAdded
                    return !Set(state.members.keys).isSubset(of: names)
                }
                if missed { memberAdded.yield() }
                group.addTask {
                    for await _ in membersAdded {
                        let added = self.state.withLockedValue { Set($0.members.keys) }.subtracting(names)
                        guard !added.isEmpty else { continue }
                        try await Task.sleep(for: .milliseconds(20))  // breakers made together, subscribed together
                        let (next, covered) = try await self.subscribe()
                        return (next, covered.subtracting(names))
                    }
                    return nil
                }
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// Queues a catch-up of the breakers named; returns how many.
    private func catchUp(_ names: Set<String>) -> Int {
        let count = state.withLockedValue { state in
            var count = 0
            for name in names where state.members[name] != nil {
                state.work.catchUp(name)
                count += 1
            }
            return count
        }
        wakeups.yield()
        return count
    }

    private func receive(_ message: RedisMessage) {
        guard let name = FleetKeys.name(ofChannel: message.channel, namespace: configuration.namespace),
            let storage = state.withLockedValue({ $0.members[name] })
        else { return }
        guard let snapshot = FleetSnapshotCoding.decode(String(decoding: message.payload, as: UTF8.self)) else {
            logger.warning("unreadable change published; ignored", metadata: ["breaker": "\(name)"])
            return
        }
        guard snapshot.origin != storage.local.origin else { return }  // our own, echoed back
        if storage.local.apply(snapshot) { metrics.changesApplied.increment() }
    }

    // MARK: Heartbeat

    /// One heartbeat per instance per interval, whatever the number of breakers: it marks the instance
    /// alive (and counts those alive, for quorums), and tells whether Redis answers when no breaker
    /// changes. A breaker's keys have their lifetime renewed only when half of it has passed, spread
    /// over time: the idle cost is `6 × instances / heartbeatInterval + instances × breakers / (keyLifetime / 2)`
    /// commands per second (Redis counts the heartbeat script and the five commands it runs).
    private func heartbeatForever() async {
        let instances = FleetKeys.instances(namespace: configuration.namespace)
        let aliveWindow = String((configuration.heartbeatInterval * 3).milliseconds)
        while !Task.isCancelled {
            do {
                let reply = try await FleetScripts.heartbeat.run(on: transport, keys: [instances], arguments: [configuration.instance, aliveWindow])
                if let alive = reply.integer { state.withLockedValue { $0.instancesAlive = max(1, Int(alive)) } }
                update { $0.commandsSucceeded(caughtUp: false, changedElsewhere: false) }
                await renewDueKeys()
            } catch {
                if Task.isCancelled { return }
                metrics.failures.increment()
                update { $0.commandsFailed(error) }
            }
            try? await Task.sleep(for: configuration.heartbeatInterval)
        }
    }

    /// Renews the lifetime of the keys of the breakers whose renewal is due.
    private func renewDueKeys() async {
        let now = ContinuousClock.now
        let half = configuration.keyLifetime / 2
        let due = state.withLockedValue { state -> [RedisCircuitStorage] in
            var due: [RedisCircuitStorage] = []
            for (name, at) in state.renewals where at <= now {
                guard let storage = state.members[name] else { continue }
                due.append(storage)
                state.renewals[name] = now + half
            }
            return due
        }
        let lifetime = RESPValue.bulk(String(configuration.keyLifetime.milliseconds))
        for storage in due {
            _ = try? await transport.send([.bulk("PEXPIRE"), .bulk(storage.keys.state), lifetime], touching: storage.keys.state)
        }
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
#endif
