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
    /// Where the fleet's time line starts (see ``FleetMachine``).
    private let origin = ContinuousClock.now
    private let state: NIOLockedValueBox<FleetState>
    private let wakeups: AsyncStream<Void>.Continuation
    private let wakeupStream: AsyncStream<Void>
    private let retries: AsyncStream<Duration>.Continuation
    private let retryStream: AsyncStream<Duration>
    private let watchers = NIOLockedValueBox<[Int: AsyncStream<FleetStatus>.Continuation]>([:])
    /// Where Redis is, without secrets, for logs.
    private let redisDescription: String

    private typealias Machine = FleetMachine<SystemRandomNumberGenerator>
    private typealias Action = Machine.Action

    private struct FleetState: Sendable {
        /// The fleet's logic; the rest is I/O.
        var machine: Machine
        var members: [String: RedisCircuitStorage] = [:]
        var running = false
        /// Told when a breaker is added (a sharded subscription then covers it too).
        var memberAdded: AsyncStream<Void>.Continuation?
    }

    /// A fleet talking through `transport`: a Redis client of your choice behind ``RedisTransport`` (the
    /// built-in one is made by ``init(url:configuration:logger:)`` and ``init(redis:configuration:logger:)``);
    /// throws if `configuration` is invalid.
    public init(transport: any RedisTransport, configuration: FleetConfiguration = .init(), logger: Logger = Logger(label: "breaker.redis")) throws(RedisError) {
        try configuration.validate()
        self.transport = transport
        self.configuration = configuration
        self.logger = logger
        metrics = FleetMetrics(namespace: configuration.namespace, factory: configuration.metricsFactory ?? MetricsSystem.factory)
        redisDescription =
            (transport as? RedisClient)?.configuration.redactedURL ?? (transport as? RedisRouter)?.seed.configuration.redactedURL
            ?? String(describing: type(of: transport))
        state = NIOLockedValueBox(FleetState(machine: Machine(configuration: configuration, origin: origin, random: SystemRandomNumberGenerator())))
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
            state.machine.add(name, mode: mode, at: origin.duration(to: .now))
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
    /// Cancelled or shut down, it returns within a second whatever Redis does (down, refusing, hung).
    /// On its way out it gives back the trial leases it holds: shut down, it waits at most 0.9 s for
    /// Redis to answer; cancelled, it writes the releases to the connection and does not wait (Redis
    /// runs a command it has received). A lease not given back expires on its own.
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
        await perform(event { $0.stop(at: $1) })
        // Finished outside the lock: a finished stream's termination handler takes it.
        let finished = watchers.withLockedValue { watchers in
            defer { watchers.removeAll() }
            return watchers.values
        }
        for continuation in finished { continuation.finish() }
    }

    // MARK: Status

    /// Whether the fleet shares its breakers' circuits right now (see ``FleetStatus``).
    public var status: FleetStatus { state.withLockedValue { $0.machine.status } }

    /// The status now, then each change of condition, until `run()` returns.
    public var statusUpdates: AsyncStream<FleetStatus> {
        let (stream, continuation) = AsyncStream<FleetStatus>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id = Int.random(in: 0...Int.max)
        let current = state.withLockedValue { state -> FleetStatus in
            watchers.withLockedValue { $0[id] = continuation }
            return state.machine.status
        }
        continuation.yield(current)
        if current.condition == .stopped { continuation.finish() }
        continuation.onTermination = { [weak self] _ in _ = self?.watchers.withLockedValue { $0.removeValue(forKey: id) } }
        return stream
    }

    /// Tells watchers, metrics and the log what a report says.
    private func tell(_ report: FleetHealth.Report, _ status: FleetStatus) {
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

    // MARK: The machine

    /// Hands an event to the machine under the lock, with the time on the fleet's time line; returns
    /// the actions it asks for, to ``perform(_:)`` outside the lock.
    private func event(_ body: (inout Machine, Duration) -> [Action]) -> [Action] {
        state.withLockedValue { body(&$0.machine, origin.duration(to: .now)) }
    }

    /// Carries out `actions` in order, in the calling task; what Redis answers goes back to the machine.
    private func perform(_ actions: [Action]) async {
        for action in actions {
            switch action {
            case .publish:
                wakeups.yield()
            case .retry(let delay):
                retries.yield(delay)
            case .gate(let name, let gate):
                state.withLockedValue { $0.members[name] }?.local.setTrialGate(gate)
            case .gateAllLocally:
                for storage in state.withLockedValue({ Array($0.members.values) }) { storage.local.setTrialGate(.local) }
            case .acquireLease(let name, let duration):
                await perform(await acquireLease(name, for: duration))
            case .releaseLeases(let names):
                await releaseLeases(names)
            case .renewKeys(let names):
                await renewKeys(names)
            case .resubscribe(let delay):
                try? await Task.sleep(for: delay)
            case .report(let report, let status):
                tell(report, status)
            }
        }
    }

    // MARK: Publisher

    func circuit(_ storage: RedisCircuitStorage, didChange change: CircuitChange) {
        state.withLockedValue { $0.machine.changed(storage.name, change) }
        wakeups.yield()
    }

    private func publishForever() async {
        for await _ in wakeupStream {
            while let (storage, item) = nextWork() {
                await process(storage, item)
            }
        }
    }

    /// Waits out each scheduled retry, then queues the catch-ups it was for.
    private func retryForever() async {
        for await delay in retryStream {
            try? await Task.sleep(for: delay)
            if Task.isCancelled { return }
            await perform(event { machine, _ in machine.retryDue() })
        }
    }

    private func nextWork() -> (RedisCircuitStorage, FleetWork.Item)? {
        state.withLockedValue { state in
            guard let (name, item) = state.machine.next(), let storage = state.members[name] else { return nil }
            return (storage, item)
        }
    }

    /// Catches `storage` up if `item` asks, then publishes its change; a failure leaves the breaker to
    /// the next retry, which catches up and publishes the local state if it is the newer one.
    private func process(_ storage: RedisCircuitStorage, _ item: FleetWork.Item) async {
        var exchange = Machine.Exchange()
        do {
            if item.sync {
                exchange = try await catchUp(storage)
                metrics.catchUps.increment()
                if exchange.changedElsewhere { metrics.changesApplied.increment() }
            }
            if let change = item.change {
                let start = ContinuousClock.now
                let published = try await publish(storage, change.snapshot, manual: change.cause.kind == .manual)
                metrics.publishDuration.recordNanoseconds(start.duration(to: .now).nanoseconds)
                if published { exchange.published = change.snapshot }
            }
        } catch {
            if Task.isCancelled { return }
            metrics.failures.increment()
            logger.debug("exchange with Redis failed; deciding locally", metadata: ["breaker": "\(storage.name)", "error": "\(error)"])
            await perform(event { $0.exchangeFailed(storage.name, error, at: $1) })
            return
        }
        let trial = storage.local.configuration?.halfOpen.maxTrialDuration ?? .seconds(60)
        await perform(event { $0.exchanged(storage.name, item, exchange, trialDuration: trial, at: $1) })
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
            let alive = state.withLockedValue { $0.machine.instancesAlive }
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
    /// change made while Redis was away).
    private func catchUp(_ storage: RedisCircuitStorage) async throws -> Machine.Exchange {
        let reply = try await FleetScripts.read.run(on: transport, keys: [storage.keys.state], arguments: [])
        guard let parts = reply.elements, parts.count == 2, let stored = parts[0].string, let now = parts[1].integer else {
            throw RedisError(.unexpectedReply, "read returned \(reply)")
        }
        let before = storage.local.snapshot()
        let fleet = stored.isEmpty ? nil : apply(stored, serverNow: now, to: storage)
        let mine = storage.local.snapshot()
        var exchange = Machine.Exchange(caughtUp: true, changedElsewhere: mine.epoch != before.epoch || mine.origin != before.origin)
        guard storage.mode == .shared, mine.epoch > 0, fleet.map({ mine.isNewer(thanEpoch: $0.epoch, origin: $0.origin) }) ?? true else {
            return exchange
        }
        if try await publish(storage, mine, manual: false) { exchange.published = mine }
        return exchange
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

    /// Asks Redis for the trial lease of `name`; returns the machine's answer to the reply.
    private func acquireLease(_ name: String, for duration: Duration) async -> [Action] {
        guard let storage = state.withLockedValue({ $0.members[name] }) else { return [] }
        let reply = try? await FleetScripts.acquireLease.run(
            on: transport, keys: [storage.keys.lease], arguments: [configuration.instance, String(duration.milliseconds)])
        guard let parts = reply?.elements, parts.count == 2, let won = parts[0].integer, let left = parts[1].integer else {
            return event { machine, _ in machine.leaseFailed(name) }
        }
        return event { machine, _ in machine.leaseAnswered(name, won: won == 1, remaining: .milliseconds(left)) }
    }

    /// Gives back the leases of `names`, waiting at most 0.9 s for Redis, so that `run()` returns
    /// within a second (a lease not given back expires on its own). Each release is written at once:
    /// a command on a live connection is run by Redis even when the caller stops waiting, as a
    /// cancelled `run()` does at once.
    private func releaseLeases(_ names: [String]) async {
        let storages = state.withLockedValue { state in names.compactMap { state.members[$0] } }
        let (transport, instance) = (self.transport, configuration.instance)
        await withTaskGroup(of: Void.self) { group in
            for storage in storages {
                group.addTask { _ = try? await FleetScripts.releaseLease.runBySource(on: transport, keys: [storage.keys.lease], arguments: [instance]) }
            }
            let deadline = ContinuousClock.now + .milliseconds(900)
            group.addTask { try? await Task.sleep(until: deadline) }
            for _ in storages.indices {  // every release answered, or the deadline
                await group.next()
                if ContinuousClock.now >= deadline { break }
            }
            group.cancelAll()
        }
    }

    // MARK: Subscription

    /// Subscribes, delivers, and when the subscription is lost, subscribes again after a backoff; each
    /// new subscription catches up on whatever was published while none listened.
    private func subscribeForever() async {
        while !Task.isCancelled {
            var lost: any Error = RedisError(.connectionClosed, "subscription lost")
            do {
                var (messages, names) = try await subscribe()
                await perform(event { $0.subscribed(covering: names, at: $1) })
                // With sharded pub/sub, a breaker made later needs its channel: a new subscription is
                // made before the old one is dropped, so nothing published meanwhile is missed.
                while let (next, added) = try await deliver(messages, replacingWhenBreakersAreAddedTo: names) {
                    (messages, names) = (next, names.union(added))
                    await perform(event { machine, _ in machine.subscriptionWidened(adding: added) })
                }
            } catch {
                lost = error
            }
            if Task.isCancelled { return }
            logger.debug("subscription lost; deciding locally", metadata: ["error": "\(lost)"])
            metrics.failures.increment()
            await perform(event { $0.subscriptionLost(lost, at: $1) })
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
                await perform(event { $0.heartbeatAnswered(instancesAlive: reply.integer.map(Int.init), at: $1) })
            } catch {
                if Task.isCancelled { return }
                metrics.failures.increment()
                await perform(event { $0.heartbeatFailed(error, at: $1) })
            }
            try? await Task.sleep(for: configuration.heartbeatInterval)
        }
    }

    /// Renews the lifetime of the keys of the breakers `names`.
    private func renewKeys(_ names: [String]) async {
        let storages = state.withLockedValue { state in names.compactMap { state.members[$0] } }
        let lifetime = RESPValue.bulk(String(configuration.keyLifetime.milliseconds))
        for storage in storages {
            _ = try? await transport.send([.bulk("PEXPIRE"), .bulk(storage.keys.state), lifetime], touching: storage.keys.state)
        }
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
#endif
