#if Redis
import Breaker
import Testing

@testable import BreakerRedis

@Suite("Fleet keys and wire format")
struct FleetKeysTests {
    static let hostileNames = [
        "payments", "a{b}c", "{payments}", "}{", "x:y", "x:{y}:state", "with space", "line\nbreak", "tab\there", "ünïcödé 決済", "%41", "A",
        "", "breaker:{payments}:state", "*", "?",
    ]

    @Test func everyNameGetsKeysOfItsOwnInOneSlotAndItsNamespace() {
        var seen: Set<String> = []
        for name in Self.hostileNames {
            let keys = FleetKeys(namespace: "breaker", name: name)
            for key in [keys.state, keys.lease, keys.votes, keys.channel] {
                #expect(key.hasPrefix("breaker:{"), "\(key)")
                #expect(seen.insert(key).inserted, "\(key) is another name's key")
                #expect(key.filter { $0 == "{" }.count == 1 && key.filter { $0 == "}" }.count == 1, "one hash tag: \(key)")
                #expect(!key.contains("\n") && !key.contains(" "))
            }
            let slot = FleetKeys.slot(of: keys.state)
            #expect([keys.lease, keys.votes].allSatisfy { FleetKeys.slot(of: $0) == slot }, "\(name): one slot")
            #expect(FleetKeys.name(ofChannel: keys.channel, namespace: "breaker") == name)
            #expect(FleetKeys.name(ofChannel: keys.channel, namespace: "other") == nil)
        }
    }

    @Test func theSlotFunctionIsRedisClusters() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        #expect(FleetKeys.slot(of: "123456789") == 12_739)
        #expect(FleetKeys.slot(of: "{user1000}.following") == FleetKeys.slot(of: "{user1000}.followers"))
        #expect(FleetKeys.slot(of: "foo{bar}{zap}") == FleetKeys.slot(of: "bar"))
        #expect(FleetKeys.slot(of: "foo{{bar}}zap") == FleetKeys.slot(of: "{bar"))
    }

    @Test func anInvalidNamespaceIsRefusedNamingIt() {
        for namespace in ["", "a{b}", "with space", "new\nline"] {
            var configuration = FleetConfiguration()
            configuration.namespace = namespace
            #expect(throws: RedisError.self) { try RedisFleet(transport: RedisClient(configuration: .init()), configuration: configuration) }
        }
    }

    @Test func snapshotsTravelWhole() {
        let snapshots = [
            CircuitSnapshot(state: .open, mode: .normal, failureCount: 3, consecutiveTrips: 2, openRemaining: .milliseconds(1_500), epoch: 7, origin: .max),
            CircuitSnapshot(state: .closed, mode: .metricsOnly, epoch: 1, origin: 5),
            CircuitSnapshot(state: .closed, mode: .normal, rampRemaining: .milliseconds(2_250), epoch: 3, origin: 4),
            CircuitSnapshot(state: .halfOpen, mode: .normal, failureCount: 0, consecutiveTrips: 1, epoch: .max, origin: 0),
        ]
        for snapshot in snapshots {
            let line = FleetSnapshotCoding.head(snapshot) + " " + String(FleetSnapshotCoding.untilMilliseconds(snapshot))
            #expect(FleetSnapshotCoding.decode(line) == snapshot)
        }
        // The ordering prefix sorts as the snapshots do.
        let older = FleetSnapshotCoding.head(CircuitSnapshot(state: .open, epoch: 9, origin: .max))
        let newer = FleetSnapshotCoding.head(CircuitSnapshot(state: .closed, epoch: 10, origin: 1))
        #expect(older.prefix(44) < newer.prefix(44))
        for garbage in ["", "v1", "v2 1 2 open normal 0 0 5", "v1 x 2 open normal 0 0 5", "v1 1 2 ajar normal 0 0 5", "v1 1 2 open normal -1 0 5"] {
            #expect(FleetSnapshotCoding.decode(garbage) == nil)
        }
    }

    @Test func urlsAreRead() throws {
        let plain = try RedisConfiguration(url: "redis://127.0.0.1:6380/2")
        #expect(plain.host == "127.0.0.1" && plain.port == 6380 && plain.database == 2 && plain.tls == nil && plain.password == nil)
        let secure = try RedisConfiguration(url: "rediss://fleet:p%40ss@redis.internal")
        #expect(secure.host == "redis.internal" && secure.port == 6379 && secure.username == "fleet" && secure.password == "p@ss" && secure.tls != nil)
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@[::1]:7000")
        #expect(passwordOnly.host == "::1" && passwordOnly.port == 7000 && passwordOnly.username == nil && passwordOnly.password == "secret")
        for bad in ["http://x", "redis://", "redis://host:0", "redis://host:99999", "redis://host/x"] {
            #expect(throws: RedisError.self) { try RedisConfiguration(url: bad) }
        }
    }
}
#endif
