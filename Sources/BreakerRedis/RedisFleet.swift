import Breaker
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
    private let state = NIOLockedValueBox(FleetState())
    private let wakeups: AsyncStream<Void>.Continuation
    private let wakeupStream: AsyncStream<Void>

    /// Work waiting for the background publisher, per breaker.
    private struct Pending: Sendable {
        /// A local change to publish (the latest; an older one is superseded).
        var change: CircuitChange?
        /// The latest snapshot seen, for the trial lease.
        var snapshot: CircuitSnapshot?
        /// Whether that snapshot's opening is fleet-wide (shared, or a quorum reached).
        var fleetWide = false
        /// Read the stored state and catch up (a new breaker).
        var sync = false
    }

    private struct FleetState: Sendable {
        var members: [String: RedisCircuitStorage] = [:]
        var pending: [String: Pending] = [:]
        var order: [String] = []
        var leases: Set<String> = []
        var running = false
        /// Failed exchanges in a row, the breakers to catch up again, and whether that is scheduled.
        var failures = 0
        var retrying: Set<String> = []
        var retryScheduled = false
    }

    /// A fleet talking through `transport` (a ``RedisClient``, or another client behind
    /// ``RedisTransport``); throws if `configuration` is invalid.
    public init(transport: any RedisTransport, configuration: FleetConfiguration = .init(), logger: Logger = Logger(label: "breaker.redis")) throws(RedisError) {
        try configuration.validate()
        self.transport = transport
        self.configuration = configuration
        self.logger = logger
        (wakeupStream, wakeups) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// A fleet on the server at `url` (`redis://` or `rediss://`, see ``RedisConfiguration/init(url:)``).
    public convenience init(url: String, configuration: FleetConfiguration = .init(), logger: Logger = Logger(label: "breaker.redis")) throws(RedisError) {
        try self.init(transport: RedisClient(configuration: RedisConfiguration(url: url)), configuration: configuration, logger: logger)
    }

    /// The storage of the breaker named `name`: the same one each time for a name (the mode given
    /// first stays). Give it to one breaker, or to several that share the circuit.
    public func storage(named name: String, mode: FleetMode = .shared) -> RedisCircuitStorage {
        let storage = state.withLockedValue { state -> RedisCircuitStorage in
            if let existing = state.members[name] { return existing }
            let storage = RedisCircuitStorage(name: name, mode: mode, keys: FleetKeys(namespace: configuration.namespace, name: name), fleet: self)
            state.members[name] = storage
            Self.enqueue(&state, name) { $0.sync = true }
            return storage
        }
        wakeups.yield()
        return storage
    }

    /// Runs the fleet's background work until graceful shutdown or cancellation: the subscription
    /// (re-established with backoff when lost, then catching up), the publisher, and the heartbeat.
    /// On the way out it gives up the trial leases it holds.
    public func run() async throws {
        let alreadyRunning = state.withLockedValue { state in
            defer { state.running = true }
            return state.running
        }
        guard !alreadyRunning else { throw RedisError(.invalidConfiguration, "the fleet is already running") }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.subscribeForever() }
            group.addTask { await self.publishForever() }
            group.addTask { await self.heartbeatForever() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await releaseLeases()
    }

    // MARK: Local changes

    func circuit(_ storage: RedisCircuitStorage, didChange change: CircuitChange) {
        state.withLockedValue { state in
            Self.enqueue(&state, storage.name) { pending in
                if !change.isRemote { pending.change = change }
                pending.snapshot = change.snapshot
                pending.fleetWide = change.isRemote || storage.mode == .shared || change.cause.kind == .manual
            }
        }
        wakeups.yield()
    }

    private static func enqueue(_ state: inout FleetState, _ name: String, _ update: (inout Pending) -> Void) {
        if state.pending[name] == nil { state.order.append(name) }
        update(&state.pending[name, default: Pending()])
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
        let delay = state.withLockedValue { state -> Duration? in
            state.retrying.insert(name)
            state.failures += 1
            guard !state.retryScheduled else { return nil }
            state.retryScheduled = true
            return .milliseconds(min(100 * (1 << min(state.failures - 1, 6)), 5_000))
        }
        guard let delay else { return }
        Task {
            try? await Task.sleep(for: delay)
            state.withLockedValue { state in
                state.retryScheduled = false
                for name in state.retrying { Self.enqueue(&state, name) { $0.sync = true } }
                state.retrying.removeAll()
            }
            wakeups.yield()
        }
    }

    private func nextPending() -> (RedisCircuitStorage, Pending)? {
        state.withLockedValue { state in
            while !state.order.isEmpty {
                let name = state.order.removeFirst()
                if let pending = state.pending.removeValue(forKey: name), let storage = state.members[name] { return (storage, pending) }
            }
            return nil
        }
    }

    private func process(_ storage: RedisCircuitStorage, _ pending: Pending) async {
        var fleetWide = pending.fleetWide
        do {
            if pending.sync { try await catchUp(storage) }
            if let change = pending.change {
                let published = try await publish(storage, change.snapshot, manual: change.cause.kind == .manual)
                if published && change.snapshot.state == .open { fleetWide = true }
            }
        } catch {
            logger.debug("Redis unavailable; deciding locally", metadata: ["breaker": "\(storage.name)", "error": "\(error)"])
            storage.local.setTrialGate(.local)
            retryLater(storage.name)
            return
        }
        state.withLockedValue { $0.failures = 0 }
        if configuration.sharesTrials, let snapshot = pending.snapshot { await updateLease(storage, snapshot, fleetWide: fleetWide) }
    }

    /// Publishes `snapshot` (a vote first, for a quorum's local trip); returns whether it became the
    /// fleet's state. A stored state newer than it is applied here instead.
    private func publish(_ storage: RedisCircuitStorage, _ snapshot: CircuitSnapshot, manual: Bool) async throws -> Bool {
        let keys = storage.keys
        var arguments = [
            FleetSnapshotCoding.head(snapshot), String(FleetSnapshotCoding.openMilliseconds(snapshot)), keys.channel,
            String(configuration.keyLifetime.milliseconds), "0",
        ]
        let reply: RESPValue
        switch storage.mode.kind {
        case .quorum(let minimum, let fraction, let window) where snapshot.state == .open && !manual:
            arguments += [
                configuration.instance, String(window.milliseconds), String(minimum), String(fraction),
                String((configuration.heartbeatInterval * 3).milliseconds),
            ]
            reply = try await FleetScripts.vote.run(on: transport, keys: [keys.state, keys.votes, keys.alive], arguments: arguments)
        case .quorum:
            arguments[4] = manual ? "0" : "1"  // outside a fleet-wide opening, an instance's own changes stay its own
            reply = try await FleetScripts.publish.run(on: transport, keys: [keys.state], arguments: arguments)
        case .shared:
            reply = try await FleetScripts.publish.run(on: transport, keys: [keys.state], arguments: arguments)
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
    private func catchUp(_ storage: RedisCircuitStorage) async throws {
        let reply = try await FleetScripts.read.run(on: transport, keys: [storage.keys.state], arguments: [])
        guard let parts = reply.elements, parts.count == 2, let stored = parts[0].string, let now = parts[1].integer else {
            throw RedisError(.unexpectedReply, "read returned \(reply)")
        }
        let fleet = stored.isEmpty ? nil : apply(stored, serverNow: now, to: storage)
        let mine = storage.local.snapshot()
        guard storage.mode == .shared, mine.epoch > 0, fleet.map({ mine.isNewer(thanEpoch: $0.epoch, origin: $0.origin) }) ?? true else { return }
        if try await publish(storage, mine, manual: false), configuration.sharesTrials {
            await updateLease(storage, mine, fleetWide: true)
        }
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

    private func releaseLeases() async {
        let (held, members) = state.withLockedValue { state in
            defer { state.leases.removeAll() }
            return (state.leases, state.members)
        }
        for name in held {
            guard let storage = members[name] else { continue }
            _ = try? await FleetScripts.releaseLease.run(on: transport, keys: [storage.keys.lease], arguments: [configuration.instance])
        }
    }

    // MARK: Subscription

    private func subscribeForever() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let messages = try await transport.subscribe(pattern: FleetKeys.channels(namespace: configuration.namespace))
                failures = 0
                catchUpAll()  // whatever was published while we were away
                for try await message in messages { receive(message) }
            } catch {
                logger.debug("subscription lost; deciding locally", metadata: ["error": "\(error)"])
            }
            if Task.isCancelled { return }
            for storage in state.withLockedValue({ Array($0.members.values) }) { storage.local.setTrialGate(.local) }
            failures += 1
            let delay = min(100.0 * Double(1 << min(failures - 1, 6)), 5_000) * Double.random(in: 0.8...1.2)
            try? await Task.sleep(for: .milliseconds(Int64(delay)))
        }
    }

    private func catchUpAll() {
        state.withLockedValue { state in
            for name in state.members.keys { Self.enqueue(&state, name) { $0.sync = true } }
        }
        wakeups.yield()
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
        storage.local.apply(snapshot)
    }

    // MARK: Heartbeat

    private func heartbeatForever() async {
        while !Task.isCancelled {
            for storage in state.withLockedValue({ Array($0.members.values) }) {
                _ = try? await FleetScripts.heartbeat.run(
                    on: transport, keys: [storage.keys.state, storage.keys.alive],
                    arguments: [
                        String(configuration.keyLifetime.milliseconds), configuration.instance,
                        String((configuration.heartbeatInterval * 3).milliseconds),
                    ])
            }
            try? await Task.sleep(for: configuration.heartbeatInterval)
        }
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
