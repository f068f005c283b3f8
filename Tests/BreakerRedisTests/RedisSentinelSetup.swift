#if Redis
import BreakerRedis
import Foundation

/// Redis as Sentinel deploys it, for one test: a master, a replica and three sentinels (quorum 2) on
/// free loopback ports, the data nodes with a password. Everything is killed when it is released.
final class RedisSentinelSetup: Sendable {
    static let masterName = "fleet-master"
    static let password = "sentinel pw:@/%"
    static let encodedPassword = "sentinel%20pw%3A%40%2F%25"

    /// The master it started with, and its replica (the roles swap at a failover).
    let master: RedisServer
    let replica: RedisServer
    let sentinels: [RedisServer]

    private init(master: RedisServer, replica: RedisServer, sentinels: [RedisServer]) {
        self.master = master
        self.replica = replica
        self.sentinels = sentinels
    }

    /// Starts it all and waits until the sentinels know the master, its replica and each other (so
    /// that they can fail over), `extra` added to the data nodes' configuration.
    static func start(_ extra: [String] = []) async throws -> RedisSentinelSetup {
        let authentication = ["--requirepass", password, "--masterauth", password]
        let master = try await RedisServer.start(authentication + extra)
        let replica = try await RedisServer.start(authentication + ["--replicaof", "127.0.0.1", String(master.port)] + extra)
        var sentinels: [RedisServer] = []
        for _ in 0..<3 {
            sentinels.append(
                try await RedisServer.startSentinel([
                    "sentinel monitor \(masterName) 127.0.0.1 \(master.port) 2",
                    "sentinel auth-pass \(masterName) \"\(password)\"",
                    "sentinel down-after-milliseconds \(masterName) 500",
                    "sentinel failover-timeout \(masterName) 2000",
                ]))
        }
        let setup = RedisSentinelSetup(master: master, replica: replica, sentinels: sentinels)
        try await setup.waitUntilReady(within: .seconds(20))
        return setup
    }

    /// The URL a user would write: the three sentinels and the master's name.
    var url: String {
        "redis-sentinel://:\(Self.encodedPassword)@" + sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/\(Self.masterName)"
    }

    /// A client to one sentinel, for the test's own questions.
    func sentinelClient(_ index: Int = 0) -> RedisClient {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: sentinels[index].port)
        configuration.commandTimeout = .seconds(2)
        return RedisClient(configuration: configuration)
    }

    /// The master's port as the first sentinel that answers says it.
    func masterPort() async throws -> Int {
        for index in sentinels.indices {
            let client = sentinelClient(index)
            defer { client.close() }
            guard let reply = try? await client.send([.bulk("SENTINEL"), .bulk("get-master-addr-by-name"), .bulk(Self.masterName)]) else { continue }
            if let port = reply.elements?.last?.string.flatMap({ Int($0) }) { return port }
        }
        throw RedisError(.masterNotFound, "no sentinel answered")
    }

    /// The data node listening on `port`.
    func server(on port: Int) -> RedisServer? { [master, replica].first { $0.port == port } }

    /// Waits until every sentinel names the master, sees the replica up, and knows the two other
    /// sentinels (they find each other through the master's hello channel, every 2 s).
    private func waitUntilReady(within limit: Duration) async throws {
        var patience = Patience(limit)
        var last = ""
        repeat {
            var ready = true
            for index in sentinels.indices {
                let client = sentinelClient(index)
                defer { client.close() }
                do {
                    let name = RESPValue.bulk(Self.masterName)
                    let others = try await client.send([.bulk("SENTINEL"), .bulk("sentinels"), name]).elements?.count ?? 0
                    let replicas = try await client.send([.bulk("SENTINEL"), .bulk("replicas"), name]).elements ?? []
                    let replicaUp = replicas.contains { fields in
                        let values = fields.elements?.compactMap(\.string) ?? []
                        guard let flags = values.firstIndex(of: "flags").map({ values[$0 + 1] }) else { return false }
                        return flags == "slave"
                    }
                    if others < 2 || !replicaUp {
                        ready = false
                        last = "sentinel \(index): \(others) other sentinels, replica up: \(replicaUp)"
                    }
                } catch {
                    ready = false
                    last = "sentinel \(index): \(error)"
                }
            }
            if ready { return }
        } while try await patience.pause(.milliseconds(100))
        throw RedisError(.notConnected, "the sentinels did not get ready: \(last)")
    }

    /// Takes every data node away (the master and its replica, so no failover can happen): Redis is
    /// gone, as a single server stopped is.
    func stopDataNodes() {
        master.stop()
        replica.stop()
    }

    /// Starts the data nodes again, empty, on their ports: the master first, then its replica.
    func restartDataNodes() async throws {
        try await master.restart()
        try await replica.restart()
    }
}
#endif
