#if Redis
import Breaker
import BreakerRedis
import BreakerTestKit
import Foundation
import MetricsTestKit
import Synchronization
import Testing

/// Instances of a fleet in one process: each a `RedisFleet` with its own client, as separate processes
/// would have, against each way Redis is deployed (``RedisDeployment``). (`FleetProcessTests` runs
/// three real processes.)
@Suite("RedisFleet against a real redis-server", redisTests)
struct FleetTests {
    struct Boom: Error {}

    /// One instance: its fleet running in the background, and a breaker on it.
    final class Instance: Sendable {
        let fleet: RedisFleet
        let breaker: CircuitBreaker
        let task: Task<Void, any Error>
        let metrics = TestMetrics()

        init(
            _ redis: RedisDeployment.Running, name: String = "payments", mode: FleetMode = .shared, failMax: Int = 2,
            resetTimeout: Duration = .milliseconds(500), recoveryRamp: RecoveryRamp? = nil
        ) throws {
            let client = try redis.configuration {
                $0.reconnectDelay = .milliseconds(50)
                $0.maximumReconnectDelay = .milliseconds(200)
                $0.commandTimeout = .milliseconds(500)
            }
            var configuration = FleetConfiguration()
            configuration.heartbeatInterval = .milliseconds(200)
            configuration.metricsFactory = metrics
            let fleet = try RedisFleet(redis: client, configuration: configuration)
            self.fleet = fleet
            var policy = CircuitBreaker.Configuration()
            policy.failMax = failMax
            policy.resetTimeout = resetTimeout
            policy.halfOpen.maxTrialDuration = .seconds(2)
            policy.recoveryRamp = recoveryRamp
            breaker = try CircuitBreaker(name: name, validating: policy, storage: fleet.storage(named: name, mode: mode))
            task = Task { try await fleet.run() }
        }

        func fail(_ times: Int = 1) { for _ in 0..<times { _ = try? breaker.call { throw Boom() } } }

        /// Waits until the fleet shares its circuit (connected and subscribed).
        func sharing() async throws {
            try await eventually(within: .seconds(10), "\(fleet.configuration.instance) is sharing") { fleet.status.isSharing }
        }

        deinit { task.cancel() }
    }

    @Test(arguments: RedisDeployment.all) func aTripAnywhereOpensEverywhereWithinMilliseconds(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let a = try Instance(redis, resetTimeout: .seconds(30)), b = try Instance(redis), c = try Instance(redis)  // a's open period travels
        try await a.sharing()
        try await b.sharing()
        try await c.sharing()
        a.fail(2)
        #expect(a.breaker.state == .open)
        let start = ContinuousClock.now
        try await eventually("b and c open") { b.breaker.state == .open && c.breaker.state == .open }
        #expect(start.duration(to: .now) < Duration.seconds(1).scaled)
        #expect(b.breaker.metrics.failures == 0, "b opened without a failure of its own")
        try await eventually("b counted the change it applied (counted just after it is applied)") {
            ((try? b.metrics.expectCounter("breaker_fleet_changes_applied_total", [("fleet", "breaker")]).totalValue) ?? 0) >= 1
        }
        try await eventually("a's publication timed") {
            ((try? a.metrics.expectTimer("breaker_fleet_publish_duration", [("fleet", "breaker")]).values.count) ?? 0) >= 1
        }
        #expect(throws: CircuitBreakerError.self) { try b.breaker.call { 1 } }
    }

    @Test(arguments: RedisDeployment.all) func oneTrialForTheWholeFleet(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let instances = try (0..<3).map { _ in try Instance(redis, resetTimeout: Duration.milliseconds(600).scaled) }
        for instance in instances { try await instance.sharing() }
        instances[0].fail(2)
        try await eventually("all open") { instances.allSatisfy { $0.breaker.state == .open } }
        try await Task.sleep(for: Duration.milliseconds(700).scaled)  // past every open period
        let ran = Tally()
        let gate = CallGate()
        // Every instance tries a call at once; only the lease holder may run a trial.
        let calls = instances.map { instance in
            Task { try? await instance.breaker.call { ran.value.add(1, ordering: .relaxed); await gate.wait(); return 1 } }
        }
        try await Task.sleep(for: Duration.milliseconds(200).scaled)
        #expect(ran.value.load(ordering: .relaxed) == 1, "exactly one trial fleet-wide")
        gate.open()
        for call in calls { _ = await call.value }
        try await eventually("the trial's success closes everyone") { instances.allSatisfy { $0.breaker.state == .closed } }
    }

    @Test(arguments: RedisDeployment.all) func theWholeFleetRampsUpTogetherAfterOneTrial(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let ramp = RecoveryRamp.linear(over: .seconds(60), from: 0.1)
        let instances = try (0..<3).map { _ in try Instance(redis, resetTimeout: Duration.milliseconds(300).scaled, recoveryRamp: ramp) }
        for instance in instances { try await instance.sharing() }
        instances[0].fail(2)
        try await eventually("all open") { instances.allSatisfy { $0.breaker.state == .open } }
        try await Task.sleep(for: Duration.milliseconds(400).scaled)  // past every open period
        for instance in instances { _ = try? instance.breaker.call { 1 } }  // the lease holder's trial closes the circuit
        try await eventually("closed everywhere") { instances.allSatisfy { $0.breaker.state == .closed } }
        // Every instance ramps to the end the trial's instance published (its ramp's end on the server's
        // clock), not from the moment the news reached it: the fleet admits one rising fraction.
        let remaining = instances.compactMap { $0.breaker.snapshot().rampRemaining }
        #expect(remaining.count == 3, "every instance is ramping: \(remaining)")
        #expect(remaining.allSatisfy { $0 > .seconds(50) && $0 <= .seconds(60) }, "\(remaining)")
        #expect(remaining.max()! - remaining.min()! < Duration.milliseconds(500).scaled, "one end for the fleet: \(remaining)")
        for instance in instances {
            let fraction = instance.breaker.metrics.admittedFraction
            #expect(fraction >= 0.1 && fraction < 0.25, "\(fraction)")
        }
        // An instance that starts now reads the stored change and joins the same ramp.
        let late = try Instance(redis, recoveryRamp: ramp)
        try await late.sharing()
        try await eventually("the late instance ramps too") { late.breaker.snapshot().rampRemaining != nil }
        let joined = late.breaker.snapshot().rampRemaining!
        let first = instances[0].breaker.snapshot().rampRemaining!
        #expect(max(joined, first) - min(joined, first) < Duration.milliseconds(500).scaled, "\(joined) against \(first)")
    }

    @Test(arguments: RedisDeployment.all) func withRedisGoneCallsFlowOnLocalDecisionsAndTheFleetConvergesWhenItReturns(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let a = try Instance(redis, resetTimeout: .seconds(30)), b = try Instance(redis, resetTimeout: .seconds(30))
        try await a.sharing()
        try await b.sharing()
        redis.stop()
        // Calls never wait on Redis: each decides alone.
        let start = ContinuousClock.now
        for _ in 0..<1_000 { _ = try b.breaker.call { 1 } }
        #expect(start.duration(to: .now) < Duration.milliseconds(500).scaled)
        a.fail(2)
        #expect(a.breaker.state == .open && b.breaker.state == .closed, "no fleet while Redis is gone")
        #expect(throws: CircuitBreakerError.self) { try a.breaker.call { 1 } }
        try await redis.restart()
        try await eventually(within: .seconds(10), "b catches up with a's trip") { b.breaker.state == .open }
        #expect(a.breaker.snapshot().epoch == b.breaker.snapshot().epoch, "one state, one epoch")
    }

    @Test(arguments: RedisDeployment.all) func aQuorumKeepsOneInstancesTroubleToItself(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let quorum = FleetMode.quorum(minimum: 2, within: .seconds(10))
        let a = try Instance(redis, mode: quorum), b = try Instance(redis, mode: quorum), c = try Instance(redis, mode: quorum)
        try await a.sharing()
        try await b.sharing()
        try await c.sharing()
        a.fail(2)
        #expect(a.breaker.state == .open)
        try await Task.sleep(for: .milliseconds(400))
        #expect(b.breaker.state == .closed && c.breaker.state == .closed, "one instance's failures stay its own")
        b.fail(2)
        try await eventually("the second trip reaches the quorum: c opens too") { c.breaker.state == .open }
    }

    @Test func namesAreDataAndNeverReachAnotherBreaker() async throws {
        let redis = try await RedisDeployment(kind: .plain).start()
        let names = ["a", "{a}", "a}", "x:y", "with space", "line\nbreak", "ünïcödé"]
        let left = try names.map { try Instance(redis, name: $0) }
        let right = try names.map { try Instance(redis, name: $0) }
        for instance in left { try await instance.sharing() }
        for instance in right { try await instance.sharing() }
        left[1].fail(2)  // "{a}"
        try await eventually("its twin opens") { right[1].breaker.state == .open }
        try await Task.sleep(for: .milliseconds(200))
        for index in names.indices where index != 1 {
            #expect(right[index].breaker.state == .closed && left[index].breaker.state == .closed, "\(names[index]) untouched")
        }
        let client = try redis.client()
        let keys = try await client.send([.bulk("KEYS"), .bulk("*")]).elements?.compactMap(\.string) ?? []
        #expect(keys.allSatisfy { $0.hasPrefix("breaker:{=") || $0 == "breaker:instances" }, "\(keys)")
    }

    @Test(arguments: RedisDeployment.all) func stoppingTheFleetGivesItsTrialLeaseBack(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let a = try Instance(redis, resetTimeout: .seconds(30))
        try await a.sharing()
        a.fail(2)
        let client = try redis.client()
        let lease = RESPValue.bulk("breaker:{=payments}:lease")
        try await eventually("a holds the lease") { try await client.send([.bulk("GET"), lease]).string == a.fleet.configuration.instance }
        try await whenTheExecutorIsResponsive()  // the way out has 0.9 s for it
        a.task.cancel()
        try await eventually("given back on the way out") { try await client.send([.bulk("EXISTS"), lease]).integer == 0 }
    }

    @Test func garbageInRedisIsIgnored() async throws {
        let redis = try await RedisDeployment(kind: .plain).start()
        let a = try Instance(redis)
        try await a.sharing()
        let client = try redis.client()
        for payload in ["", "v1", "v1 99999999999999999999 1 open normal 0 0 5", "\u{0}\u{1}garbage", String(repeating: "v1 ", count: 10_000)] {
            _ = try await client.send([.bulk("PUBLISH"), .bulk("breaker:{=payments}:changes"), .bulk(payload)])
        }
        _ = try await client.send([.bulk("SET"), .bulk("breaker:{=payments}:state"), .bulk("not a snapshot")])
        try await Task.sleep(for: Duration.milliseconds(300).scaled)  // the garbage has arrived
        #expect(a.breaker.state == .closed)
        a.fail(2)  // the stored garbage sorts below any real snapshot: a's trip is published over it
        let b = try Instance(redis)
        try await eventually("a newcomer catches up from the stored state") { b.breaker.state == .open }
    }
}

/// A count shared by tasks.
final class Tally: Sendable {
    let value = Atomic<Int>(0)
}
#endif
