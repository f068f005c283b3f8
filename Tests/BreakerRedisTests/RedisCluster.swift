#if Redis
import Foundation

@testable import BreakerRedis

/// A throwaway Redis Cluster on free loopback ports: three masters and three replicas, made with
/// `redis-cli --cluster create`, for one test. A node that fails is noticed after 2 s
/// (`cluster-node-timeout`; 1 s gave spurious failovers on a busy machine), when its replica takes over.
final class RedisCluster: Sendable {
    /// Masters first, then replicas, as `redis-cli` pairs them.
    let nodes: [RedisServer]

    private init(nodes: [RedisServer]) { self.nodes = nodes }

    /// Starts a cluster, trying again with new servers if `redis-cli` could not make one of them
    /// (a loaded machine can delay the nodes' handshake past its wait).
    static func start(masters: Int = 3, replicasEach: Int = 1) async throws -> RedisCluster {
        for attempt in 1...3 {
            do {
                return try await startOnce(masters: masters, replicasEach: replicasEach)
            } catch let error as RedisError where error.message.hasPrefix("redis-cli") && attempt < 3 {
                continue
            }
        }
        throw RedisError(.invalidConfiguration, "unreachable")
    }

    private static func startOnce(masters: Int, replicasEach: Int) async throws -> RedisCluster {
        var nodes: [RedisServer] = []
        do {
            for _ in 0..<masters * (1 + replicasEach) {
                nodes.append(
                    try await RedisServer.start(
                        [
                            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                            // Replicas in sync at once (not after the default 5 s delay), and always allowed to take over.
                            "--repl-diskless-sync-delay", "0", "--cluster-replica-validity-factor", "0",
                        ], clusterBus: true))
            }
        } catch {
            for node in nodes { node.stop() }
            throw error
        }
        let cluster = RedisCluster(nodes: nodes)
        try await cluster.create(replicasEach: replicasEach)
        try await cluster.waitUntilHealthy()
        return cluster
    }

    /// The URL of one node: the fleet discovers the others.
    var url: String { nodes[0].url }

    private func create(replicasEach: Int) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RedisServer.executable!).deletingLastPathComponent().appendingPathComponent("redis-cli")
        process.arguments = ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", String(replicasEach), "--cluster-yes"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }  // not waitUntilExit: it would hold a thread of the pool
        guard process.terminationStatus == 0 else {
            let said = String(decoding: output.fileHandleForReading.availableData.suffix(400), as: UTF8.self)
            throw RedisError(.invalidConfiguration, "redis-cli --cluster create failed: \(said)")
        }
    }

    /// Waits until every node that runs says `cluster_state:ok` and sees every slot served, and every
    /// replica whose master runs is in sync with it.
    func waitUntilHealthy(within limit: Duration = .seconds(20)) async throws {
        var patience = Patience(limit)
        repeat {
            var healthy = true
            for node in nodes where node.isRunning {
                let client = RedisClient(configuration: try RedisConfiguration(url: node.url))
                defer { client.close() }  // one look a tenth of a second: no connection left behind
                let info = try? await client.send([.bulk("CLUSTER"), .bulk("INFO")]).string
                if info?.contains("cluster_state:ok") != true || info?.contains("cluster_slots_ok:16384") != true { healthy = false }
                let replication = try? await client.send([.bulk("INFO"), .bulk("replication")]).string ?? ""
                if let replication, replication.contains("role:slave"), !replication.contains("master_link_status:up"),
                    let port = replication.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("master_port:") })?.split(separator: ":").last,
                    nodes.contains(where: { $0.isRunning && String($0.port) == port })
                {
                    healthy = false
                }
            }
            if healthy { return }
        } while try await patience.pause(.milliseconds(100))
        throw RedisError(.notConnected, "the cluster did not become healthy within \(limit.scaled)")
    }

    /// The node serving `key`'s slot as master now.
    func master(of key: String) async throws -> RedisServer {
        let reply = try await RedisClient(configuration: try RedisConfiguration(url: nodes.first { $0.isRunning }!.url))
            .send([.bulk("CLUSTER"), .bulk("SLOTS")])
        let slot = FleetKeys.slot(of: key)
        for range in reply.elements ?? [] {
            guard let parts = range.elements, let low = parts[0].integer, let high = parts[1].integer, (low...high).contains(Int64(slot)),
                let port = parts[2].elements?[1].integer, let node = nodes.first(where: { $0.port == port })
            else { continue }
            return node
        }
        throw RedisError(.unexpectedReply, "no master serves slot \(slot)")
    }

    /// Every node stopped (their cluster configuration stays in their folders).
    func stop() { for node in nodes { node.stop() } }

    /// Every node started again: the cluster re-forms from the configuration each node kept. Six nodes
    /// finding each other again and clearing their failure reports can take longer than a first start
    /// on a machine busy with the sanitizer builds: up to a minute is waited for.
    func restart() async throws {
        for node in nodes where !node.isRunning { try await node.restart() }
        try await waitUntilHealthy(within: .seconds(60))
    }

    /// A client for `node`.
    private func client(_ node: RedisServer) throws -> RedisClient { RedisClient(configuration: try RedisConfiguration(url: node.url)) }

    /// Whether `node` is a master now.
    func master(ofNode node: RedisServer) async throws -> Bool {
        guard node.isRunning else { return false }
        return try await client(node).send([.bulk("ROLE")]).elements?.first?.string == "master"
    }

    /// Moves `slot` and its keys from `source` to `target` as `redis-cli --cluster reshard` does:
    /// importing and migrating, the keys migrated, then every master told the new owner.
    func move(slot: Int, from source: RedisServer, to target: RedisServer, masters: [RedisServer]) async throws {
        let (from, to) = (try client(source), try client(target))
        let sourceID = try await from.send([.bulk("CLUSTER"), .bulk("MYID")]).string ?? ""
        let targetID = try await to.send([.bulk("CLUSTER"), .bulk("MYID")]).string ?? ""
        _ = try await to.send(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID].map(RESPValue.bulk))
        _ = try await from.send(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID].map(RESPValue.bulk))
        let keys = try await from.send(["CLUSTER", "GETKEYSINSLOT", String(slot), "1000"].map(RESPValue.bulk)).elements ?? []
        if !keys.isEmpty {
            _ = try await from.send(["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS"].map(RESPValue.bulk) + keys)
        }
        for node in [target, source] + masters.filter({ $0 !== source && $0 !== target }) {
            _ = try await client(node).send(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID].map(RESPValue.bulk))
        }
    }
}
#endif
