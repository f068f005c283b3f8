#if Redis
import Breaker
import BreakerRedis
import Foundation
import Testing

/// A fleet through Redis Sentinel: the master found from the sentinels, and followed when it dies and
/// its replica is promoted. (Every fleet scenario of `FleetTests` and `FleetProcessTests` also runs
/// against Sentinel, as one of the ``RedisDeployment`` kinds.)
@Suite("RedisFleet through Redis Sentinel", redisTests, .serialized)
struct FleetSentinelTests {
    @Test func theFleetFollowsAFailoverWithoutFailingACall() async throws {
        let redis = try await RedisDeployment(kind: .sentinel).start()
        let setup = try #require(redis.sentinel)
        let instances = try (0..<3).map { _ in try FleetTests.Instance(redis, resetTimeout: .seconds(30)) }
        for instance in instances { try await instance.sharing() }
        let before = try await setup.masterPort()
        #expect(before == setup.master.port)

        setup.master.stop()  // SIGKILL
        let killed = ContinuousClock.now
        var calls = 0
        try await eventually(within: .seconds(30), "a replica promoted, and every instance sharing through it") {
            for instance in instances {
                let answered = (try? instance.breaker.call { 1 }) == 1
                #expect(answered, "no call fails during the failover")
                calls += 1
            }
            let promoted = (try? await setup.masterPort()) == setup.replica.port
            return promoted && instances.allSatisfy { $0.fleet.status.isSharing && $0.fleet.status.since > killed }
        }
        let followed = killed.duration(to: .now)
        print("Sentinel failover followed: master killed -> every instance sharing through the new master in \(followed) (\(calls) calls, none failed)")

        instances[0].fail(2)
        let tripped = ContinuousClock.now
        try await eventually("the trip after the failover reaches every instance") { instances.allSatisfy { $0.breaker.state == .open } }
        #expect(tripped.duration(to: .now) < Duration.seconds(1).scaled)
        let client = try redis.client()
        let role = try await client.send([.bulk("ROLE")])
        #expect(role.elements?.first?.string == "master", "the test's own client found the new master too")
        #expect(try await client.send([.bulk("EXISTS"), .bulk("breaker:{=payments}:state")]).integer == 1, "the trip is stored on the new master")
    }

    @Test func aSentinelURLIsRead() throws {
        let url = "redis-sentinel://fleet:p%40ss@10.0.0.1:26380,sentinel-b,[::1]:5000/payments-master/2"
        let configuration = try RedisConfiguration(url: url)
        let sentinel = try #require(configuration.sentinel)
        #expect(sentinel.masterName == "payments-master")
        #expect(sentinel.sentinels == [.init(host: "10.0.0.1", port: 26380), .init(host: "sentinel-b", port: 26379), .init(host: "::1", port: 5000)])
        #expect(configuration.username == "fleet" && configuration.password == "p@ss" && configuration.database == 2 && configuration.tls == nil)
        #expect(sentinel.password == nil, "the URL's credentials are the master's")
        #expect(configuration.redactedURL == "redis-sentinel://fleet:***@10.0.0.1:26380,sentinel-b:26379,[::1]:5000/payments-master/2")
        #expect(try RedisConfiguration(url: "rediss-sentinel://s1/m").tls != nil)
        #expect(try RedisConfiguration(url: "redis-sentinel://s1/m").database == 0)
    }

    @Test(arguments: [
        ("redis-sentinel://:secret@s1:26379", "master name"), ("redis-sentinel://:secret@s1:26379/", "master name"),
        ("redis-sentinel://:secret@s1:x/m", "port"), ("redis-sentinel://:secret@s1,,s2/m", "sentinel host"),
        ("redis-sentinel://:secret@/m", "sentinel host"), ("redis-sentinel://:secret@s1/m/x", "database"),
    ])
    func aSentinelURLThatCanNeverWorkIsRefusedNamingThePart(_ url: String, _ part: String) throws {
        let error = #expect(throws: RedisError.self) { try RedisFleet(url: url) }
        #expect(error?.reason == .invalidURL)
        #expect(error?.message.hasPrefix(part) == true, "names the part: \(error?.message ?? "")")
        #expect(error?.message.contains("secret") == false)
    }

    @Test func unknownMasterNameOrDeadSentinelsDegradeAndSayWhy() async throws {
        let setup = try await RedisSentinelSetup.start()
        let refusing = RefusingPort()
        let dead = refusing.port
        var configuration = try RedisConfiguration(url: "redis-sentinel://127.0.0.1:\(dead),127.0.0.1:\(setup.sentinels[0].port)/no-such-master")
        configuration.connectTimeout = .milliseconds(300)
        let client = RedisClient(configuration: configuration)
        let error = await #expect(throws: RedisError.self) { try await client.send([.bulk("PING")]) }
        #expect(error?.reason == .masterNotFound)
        #expect(error?.message.contains("127.0.0.1:\(dead):") == true && error?.message.contains("does not know 'no-such-master'") == true, "\(error?.message ?? "")")
        withExtendedLifetime(refusing) {}  // refusing until here
    }
}

extension FleetSentinelTests {
    /// A master demoted to a replica behind the client's back (as the sentinels do to an old master
    /// that returns): its `READONLY` reply drops the connection, and the next command asks the
    /// sentinel again, which still names it: `ROLE` says it is a replica, so it is refused.
    @Test func aMasterDemotedToAReplicaIsLeftAndNotTakenBack() async throws {
        let master = try await RedisServer.start()
        let other = try await RedisServer.start()
        // One sentinel, slow to judge: nothing of its own happens during the test.
        let sentinel = try await RedisServer.startSentinel([
            "sentinel monitor demoted 127.0.0.1 \(master.port) 1", "sentinel down-after-milliseconds demoted 60000",
        ])
        let client = RedisClient(configuration: try RedisConfiguration(url: "redis-sentinel://127.0.0.1:\(sentinel.port)/demoted"))
        #expect(try await client.send([.bulk("SET"), .bulk("k"), .bulk("v")]).string == "OK")
        let direct = RedisClient(configuration: try RedisConfiguration(url: master.url))
        _ = try await direct.send([.bulk("REPLICAOF"), .bulk("127.0.0.1"), .bulk(String(other.port))])
        let readOnly = await #expect(throws: RedisError.self) { try await client.send([.bulk("SET"), .bulk("k"), .bulk("v")]) }
        #expect(readOnly?.reason == .server && readOnly?.message.hasPrefix("READONLY") == true, "\(String(describing: readOnly))")
        let refused = await #expect(throws: RedisError.self) { try await client.send([.bulk("SET"), .bulk("k"), .bulk("v")]) }
        #expect(refused?.reason == .masterNotFound && refused?.message.contains("which is a slave") == true, "\(String(describing: refused))")
    }
}

extension FleetSentinelTests {
    /// A planned failover (`SENTINEL FAILOVER`): the old master stays up and becomes a replica; the
    /// fleet's connections, subscriptions included, move to the new master.
    @Test func aManualFailoverMovesEveryConnectionToTheNewMaster() async throws {
        let redis = try await RedisDeployment(kind: .sentinel).start()
        let setup = try #require(redis.sentinel)
        let instances = try (0..<3).map { _ in try FleetTests.Instance(redis, resetTimeout: .seconds(30)) }
        for instance in instances { try await instance.sharing() }
        let started = ContinuousClock.now
        let sentinel = setup.sentinelClient()
        #expect(try await sentinel.send([.bulk("SENTINEL"), .bulk("FAILOVER"), .bulk(RedisSentinelSetup.masterName)]).string == "OK")
        try await eventually(within: .seconds(30), "the replica promoted, and every instance sharing again") {
            let promoted = (try? await setup.masterPort()) == setup.replica.port
            return promoted && instances.allSatisfy { $0.fleet.status.isSharing && $0.fleet.status.since > started }
        }
        print("Sentinel manual failover followed in \(started.duration(to: .now))")
        let newMaster = RedisClient(configuration: try RedisConfiguration(url: "redis://:\(RedisSentinelSetup.encodedPassword)@127.0.0.1:\(setup.replica.port)"))
        let oldMaster = RedisClient(configuration: try RedisConfiguration(url: "redis://:\(RedisSentinelSetup.encodedPassword)@127.0.0.1:\(setup.master.port)"))
        // The clients with a pattern subscription (the sentinels' own are plain subscriptions).
        func subscribers(_ client: RedisClient) async throws -> Int {
            let list = try await client.send([.bulk("CLIENT"), .bulk("LIST"), .bulk("TYPE"), .bulk("pubsub")]).string ?? ""
            return list.split(separator: "\n").filter { $0.contains(" psub=1 ") }.count
        }
        try await eventually("the three subscriptions are on the new master, none on the old") {
            let (here, there) = (try await subscribers(newMaster), try await subscribers(oldMaster))
            return here == 3 && there == 0
        }
        instances[2].fail(2)
        try await eventually("a trip after the failover reaches every instance") { instances.allSatisfy { $0.breaker.state == .open } }
    }
}

extension FleetSentinelTests {
    /// Sentinels with a password of their own (`requirepass` in their configuration): given in
    /// ``RedisConfiguration/Sentinel/password``, the master is found; missing, every sentinel refuses,
    /// which is an authentication failure (logged as one), the URL's password never shown.
    @Test func sentinelsWithAPasswordOfTheirOwn() async throws {
        let master = try await RedisServer.start(["--requirepass", "master-pass"])
        let sentinel = try await RedisServer.startSentinel([
            "requirepass sentinel-pass", "sentinel monitor guarded 127.0.0.1 \(master.port) 1", "sentinel auth-pass guarded master-pass",
        ])
        var configuration = try RedisConfiguration(url: "redis-sentinel://:master-pass@127.0.0.1:\(sentinel.port)/guarded")
        let refused = await #expect(throws: RedisError.self) { try await RedisClient(configuration: configuration).send([.bulk("PING")]) }
        #expect(refused?.reason == .authenticationFailed, "\(String(describing: refused))")
        #expect(refused?.message.contains("master-pass") == false)
        configuration.sentinel?.password = "sentinel-pass"
        #expect(try await RedisClient(configuration: configuration).send([.bulk("PING")]) == .simpleString("PONG"))
    }
}

extension FleetSentinelTests {
    /// `ROLE` is an @admin command: an ACL user without it still reaches the master the sentinels name.
    @Test func anACLUserWithoutAdminCommandsReachesTheMaster() async throws {
        let master = try await RedisServer.start(["--user", "fleet", "on", ">fleet-pass", "~*", "&*", "+@all", "-@admin"])
        let sentinel = try await RedisServer.startSentinel(["sentinel monitor limited 127.0.0.1 \(master.port) 1"])
        let client = RedisClient(configuration: try RedisConfiguration(url: "redis-sentinel://fleet:fleet-pass@127.0.0.1:\(sentinel.port)/limited/2"))
        #expect(try await client.send([.bulk("SET"), .bulk("k"), .bulk("v")]).string == "OK")
        let refused = await #expect(throws: RedisError.self) { try await client.send([.bulk("ROLE")]) }
        #expect(refused?.message.hasPrefix("NOPERM") == true, "the user really has no ROLE: \(String(describing: refused))")
    }
}

extension FleetSentinelTests {
    /// A master frozen (SIGSTOP: a hung host, a partition): its connections stay open and silent, so
    /// nothing but the sentinels' `+switch-master` tells the fleet to leave it. The fleet follows it to
    /// the promoted replica.
    @Test func aFrozenMasterIsLeftWhenTheSentinelsSwitch() async throws {
        let redis = try await RedisDeployment(kind: .sentinel).start()
        let setup = try #require(redis.sentinel)
        let instances = try (0..<2).map { _ in try FleetTests.Instance(redis, resetTimeout: .seconds(30)) }
        for instance in instances { try await instance.sharing() }
        setup.master.freeze()
        let frozen = ContinuousClock.now
        try await eventually(within: .seconds(30), "the replica promoted, and every instance sharing through it") {
            let promoted = (try? await setup.masterPort()) == setup.replica.port
            return promoted && instances.allSatisfy { $0.fleet.status.isSharing && $0.fleet.status.since > frozen }
        }
        print("Sentinel failover from a frozen master followed in \(frozen.duration(to: .now))")
        instances[0].fail(2)
        try await eventually("a trip after the failover reaches every instance") { instances.allSatisfy { $0.breaker.state == .open } }
    }
}
#endif
