#if Redis
import NIOConcurrencyHelpers

/// The transport a fleet made from a URL or a ``RedisConfiguration`` talks through: it finds out
/// whether the server is a single node or a Redis Cluster, and serves both.
///
/// - **A single node**: commands go to it, changes travel by `PUBLISH` and one `PSUBSCRIBE`.
/// - **A cluster** (found with `CLUSTER SHARDS`, or `CLUSTER SLOTS` before Redis 7): each command goes to
///   the master of its key's slot; `MOVED` updates the slot map and is followed, `ASK` is followed
///   once with `ASKING`, `TRYAGAIN` and `CLUSTERDOWN` wait a moment, and a node that cannot be
///   reached makes the map be read again (a failover promotes a replica). Changes travel by sharded
///   pub/sub: `SPUBLISH` from the scripts, `SSUBSCRIBE` on the master of each breaker's slot, so a
///   change does not fan out to every node.
final class RedisRouter: RedisTransport {
    private enum Topology: Sendable {
        case unknown
        case single
        case cluster(ClusterSlotMap)
    }

    private struct State: Sendable {
        var topology = Topology.unknown
        var clients: [NodeAddress: RedisClient] = [:]
        var lastRefresh: ContinuousClock.Instant?
    }

    /// The server the URL names: the single node, or the cluster node asked first.
    let seed: RedisClient
    private let seedAddress: NodeAddress
    private let state = NIOLockedValueBox(State())

    /// The most redirections or retries one command follows.
    private static let maximumRedirects = 5

    init(configuration: RedisConfiguration) {
        seed = RedisClient(configuration: configuration)
        seedAddress = NodeAddress(host: configuration.host, port: configuration.port)
    }

    func send(_ command: [RESPValue]) async throws -> RESPValue {
        try await seed.send(command)
    }

    func subscribe(pattern: String) async throws -> AsyncThrowingStream<RedisMessage, any Error> {
        try await seed.subscribe(pattern: pattern)
    }

    func usesShardedPubSub() async throws -> Bool {
        if case .cluster = try await topology() { return true }
        return false
    }

    func send(_ command: [RESPValue], touching key: String) async throws -> RESPValue {
        guard case .cluster(let map) = try await topology() else { return try await seed.send(command) }
        let slot = FleetKeys.slot(of: key)
        var node = map.node(for: slot) ?? seedAddress
        var asking = false
        var attempts = 0
        while true {
            attempts += 1
            let client = client(for: node)
            do {
                return try await asking ? client.send(afterAsking: command) : client.send(command)
            } catch let error as RedisError where error.reason == .server && attempts < Self.maximumRedirects {
                if let redirect = ClusterRedirect(error.message) {
                    if !redirect.isAsk { moved(redirect.slot, to: redirect.node) }
                    (node, asking) = (redirect.node, redirect.isAsk)
                } else if error.message.hasPrefix("TRYAGAIN") || error.message.hasPrefix("CLUSTERDOWN") {
                    try await Task.sleep(for: .milliseconds(20 * attempts))
                    node = try await refreshed().node(for: slot) ?? node
                    asking = false
                } else {
                    throw error
                }
            } catch where attempts < Self.maximumRedirects && !(error is CancellationError) && !Self.mayHaveRun(error) {
                // The node is unreachable: perhaps failed over. Ask the cluster who serves the slot now.
                let next = try await refreshed().node(for: slot)
                guard let next, next != node else { throw error }
                (node, asking) = (next, false)
            }
        }
    }

    func subscribe(shardChannels channels: [String]) async throws -> AsyncThrowingStream<RedisMessage, any Error> {
        let (stream, continuation) = AsyncThrowingStream<RedisMessage, any Error>.makeStream()
        try await subscribe(shardChannels: channels, deliver: { continuation.yield($0) }, until: continuation)
        return stream
    }

    /// Subscribes as ``subscribe(pattern:)`` does (`channels` `nil`) or ``subscribe(shardChannels:)``,
    /// but hands each message to `receive` on its connection's event loop as it arrives, with no hop
    /// to a task: that hop was most of a change's propagation time on a busy machine. The stream
    /// yields nothing; it ends when the subscription is lost.
    func subscribe(pattern: String, orShardChannels channels: [String]?, receive: @escaping @Sendable (RedisMessage) -> Void) async throws
        -> AsyncThrowingStream<RedisMessage, any Error>
    {
        let (stream, continuation) = AsyncThrowingStream<RedisMessage, any Error>.makeStream()
        if let channels {
            try await subscribe(shardChannels: channels, deliver: receive, until: continuation)
        } else {
            let connection = try await seed.openSubscription([[.bulk("PSUBSCRIBE"), .bulk(pattern)]], confirmations: 1, deliver: receive) {
                continuation.finish(throwing: $0)
            }
            continuation.onTermination = { _ in connection.close() }
        }
        return stream
    }

    /// Opens the shard subscriptions (one connection per node), delivering to `deliver`; `until`
    /// finishes when one is lost, and closes them all when it terminates.
    private func subscribe(
        shardChannels channels: [String], deliver: @escaping @Sendable (RedisMessage) -> Void,
        until continuation: AsyncThrowingStream<RedisMessage, any Error>.Continuation
    ) async throws {
        guard case .cluster = try await topology() else {
            let connection = try await seed.openSubscription(RedisClient.shardSubscriptions(channels), confirmations: channels.count, deliver: deliver) {
                continuation.finish(throwing: $0)
            }
            continuation.onTermination = { _ in connection.close() }
            return
        }
        let map = try await refreshed(force: true)
        var byNode: [NodeAddress: [String]] = [:]
        for channel in channels {
            guard let node = map.node(for: FleetKeys.slot(of: channel)) else {
                throw RedisError(.notConnected, "no master serves the slot of \(channel)")
            }
            byNode[node, default: []].append(channel)
        }
        var connections: [RedisConnection] = []
        do {
            for (node, channels) in byNode {
                connections.append(
                    try await client(for: node).openSubscription(RedisClient.shardSubscriptions(channels), confirmations: channels.count, deliver: deliver) {
                        continuation.finish(throwing: $0)
                    })
            }
        } catch {
            for connection in connections { connection.close() }
            throw error
        }
        let opened = connections
        continuation.onTermination = { _ in for connection in opened { connection.close() } }
    }

    // MARK: Topology

    /// Whether a command that failed this way may have reached the server (a timeout): then it is not
    /// sent again elsewhere.
    private static func mayHaveRun(_ error: any Error) -> Bool {
        (error as? RedisError)?.reason == .timedOut
    }

    private func topology() async throws -> Topology {
        let known = state.withLockedValue { $0.topology }
        if case .unknown = known { return try await discover() }
        return known
    }

    /// Asks the seed whether it is part of a cluster, and for the slot map if it is (a master found
    /// through Sentinel is a single node).
    private func discover() async throws -> Topology {
        let topology: Topology
        if seed.configuration.sentinel == nil, let map = try await readMap(from: seed) {
            topology = .cluster(map)
        } else {
            topology = .single
        }
        state.withLockedValue { state in
            state.topology = topology
            state.lastRefresh = .now
        }
        return topology
    }

    /// The slot map as `client` tells it; `nil` if it is not in a cluster.
    private func readMap(from client: RedisClient) async throws -> ClusterSlotMap? {
        let tls = client.configuration.tls != nil
        do {
            let reply = try await client.send([.bulk("CLUSTER"), .bulk("SHARDS")])
            guard let map = ClusterSlotMap(shards: reply, tls: tls) else { throw RedisError(.unexpectedReply, "CLUSTER SHARDS: \(reply)") }
            return map
        } catch let error as RedisError where error.reason == .server {
            if error.message.contains("cluster support disabled") { return nil }
            if error.message.hasPrefix("NOPERM") { return nil }  // a user who may not ask: taken as a single node
            if error.message.lowercased().contains("unknown subcommand") {  // before Redis 7
                do {
                    let reply = try await client.send([.bulk("CLUSTER"), .bulk("SLOTS")])
                    guard let map = ClusterSlotMap(slots: reply) else { throw RedisError(.unexpectedReply, "CLUSTER SLOTS: \(reply)") }
                    return map
                } catch let error as RedisError where error.reason == .server && error.message.contains("cluster support disabled") {
                    return nil
                }
            }
            throw error
        }
    }

    /// The slot map read again from the first node that answers (the known masters, then the seed),
    /// unless it was read in the last 100 ms and `force` is off.
    private func refreshed(force: Bool = false) async throws -> ClusterSlotMap {
        let (current, recent, nodes) = state.withLockedValue { state -> (ClusterSlotMap?, Bool, [NodeAddress]) in
            guard case .cluster(let map) = state.topology else { return (nil, false, []) }
            let recent = state.lastRefresh.map { $0.duration(to: .now) < .milliseconds(100) } ?? false
            return (map, recent, map.nodes)
        }
        guard let current else { throw RedisError(.invalidConfiguration, "not a cluster") }
        if recent && !force { return current }
        var lastError: any Error = RedisError(.notConnected, "no cluster node answered")
        for node in nodes + [seedAddress] {
            do {
                guard let map = try await readMap(from: client(for: node)) else { continue }
                state.withLockedValue { state in
                    state.topology = .cluster(map)
                    state.lastRefresh = .now
                }
                return map
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private func moved(_ slot: Int, to node: NodeAddress) {
        state.withLockedValue { state in
            guard case .cluster(var map) = state.topology else { return }
            map.move(slot, to: node)
            state.topology = .cluster(map)
        }
    }

    /// The client of `node`, made the first time with the seed's credentials, TLS and timeouts.
    private func client(for node: NodeAddress) -> RedisClient {
        if node == seedAddress { return seed }
        return state.withLockedValue { state in
            if let client = state.clients[node] { return client }
            var configuration = seed.configuration
            configuration.host = node.host
            configuration.port = node.port
            configuration.sentinel = nil
            let client = RedisClient(configuration: configuration)
            state.clients[node] = client
            return client
        }
    }
}
#endif
