#if Redis
import Breaker
import Testing

@testable import BreakerRedis

/// A fleet on a Redis Cluster through what a cluster does in production: a master fails and its
/// replica takes over, a slot moves to another master. No call fails, and the fleet shares again.
@Suite("RedisFleet on a Redis Cluster", redisTests)
struct FleetClusterTests {
    typealias Instance = FleetTests.Instance

    /// The key that places the breaker `payments` in its slot.
    let stateKey = FleetKeys(namespace: "breaker", name: "payments").state

    @Test func aMasterFailoverIsSurvivedAndTheFleetSharesAgain() async throws {
        let redis = try await RedisDeployment(kind: .cluster).start()
        let cluster = try #require(redis.cluster)
        let a = try Instance(redis, resetTimeout: .seconds(30)), b = try Instance(redis), c = try Instance(redis)
        for instance in [a, b, c] { try await instance.sharing() }
        let failed = try await cluster.master(of: stateKey)
        failed.stop()  // SIGKILL: its replica takes over after the cluster's node timeout (2 s)
        for _ in 0..<1_000 { #expect(try b.breaker.call { 1 } == 1, "no call fails while the cluster fails over") }
        try await eventually(within: .seconds(15), "a replica is promoted") { try await cluster.master(of: stateKey) !== failed }
        try await cluster.waitUntilHealthy()
        for instance in [a, b, c] { try await instance.sharing() }
        a.fail(2)
        try await eventually(within: .seconds(10), "the trip after the failover reaches every instance") {
            b.breaker.state == .open && c.breaker.state == .open
        }
        print([a, b, c].map { "\($0.fleet.status) \($0.breaker.state)" })
        #expect(Set([a, b, c].map { $0.breaker.snapshot().epoch }).count == 1, "one state, one epoch")
    }

    @Test func aSlotMovedToAnotherMasterIsFollowed() async throws {
        let redis = try await RedisDeployment(kind: .cluster).start()
        let cluster = try #require(redis.cluster)
        let a = try Instance(redis, resetTimeout: .seconds(30)), b = try Instance(redis)
        for instance in [a, b] { try await instance.sharing() }
        let source = try await cluster.master(of: stateKey)
        var masters: [RedisServer] = []
        for node in cluster.nodes where try await cluster.master(ofNode: node) { masters.append(node) }
        let target = try #require(masters.first { $0 !== source })
        try await cluster.move(slot: FleetKeys.slot(of: stateKey), from: source, to: target, masters: masters)
        #expect(try await cluster.master(of: stateKey) === target)
        a.fail(2)
        try await eventually(within: .seconds(10), "the trip after the move reaches the other instance") { b.breaker.state == .open }
        #expect(a.breaker.snapshot().epoch == b.breaker.snapshot().epoch)
    }
}
#endif
