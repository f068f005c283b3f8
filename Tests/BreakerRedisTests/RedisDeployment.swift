#if Redis
import BreakerRedis
import Foundation
import NIOConcurrencyHelpers
import NIOSSL
import Testing

/// A way Redis is deployed in production, started for one test: the fleet scenarios run against each.
struct RedisDeployment: Sendable, CustomTestStringConvertible {
    enum Kind: Sendable {
        case plain, password, aclUserWithDatabase, tlsWithPassword, cluster
        /// A master, a replica and three sentinels (``RedisSentinelSetup``), reached by a
        /// `redis-sentinel://` URL.
        case sentinel
    }

    let kind: Kind

    /// Every deployment, or those `BREAKER_REDIS_DEPLOYMENTS` names (comma-separated kinds: the
    /// sanitizer passes run the concurrency on `plain,tlsWithPassword,cluster,sentinel`, the full matrix runs
    /// in the plain pass).
    static let all: [RedisDeployment] = {
        let every: [Kind] = [.plain, .password, .aclUserWithDatabase, .tlsWithPassword, .cluster, .sentinel]
        let chosen = ProcessInfo.processInfo.environment["BREAKER_REDIS_DEPLOYMENTS"]?.split(separator: ",").map(String.init)
        for name in chosen ?? [] where !every.contains(where: { "\($0)" == name }) {
            fatalError("BREAKER_REDIS_DEPLOYMENTS: unknown deployment '\(name)' (known: \(every))")
        }
        return every.filter { kind in chosen.map { $0.contains("\(kind)") } ?? true }.map(RedisDeployment.init)
    }()

    var testDescription: String {
        switch kind {
        case .plain: "no auth"
        case .password: "a password"
        case .aclUserWithDatabase: "an ACL user, database 3"
        case .tlsWithPassword: "TLS with a password"
        case .cluster: "a cluster of 3 masters and 3 replicas"
        case .sentinel: "Sentinel: a master, a replica, three sentinels"
        }
    }

    /// A running server of this kind, and how to reach it.
    struct Running: Sendable {
        /// The server, the cluster node the URL names, or for Sentinel the master it started with.
        let server: RedisServer
        /// The cluster, for a cluster.
        var cluster: RedisCluster? = nil
        /// For Sentinel: all of it.
        var sentinel: RedisSentinelSetup? = nil
        /// This deployment's share of the machine (see ``ServerAdmission``), given back with the last copy.
        var admission: ServerAdmission.Ticket? = nil
        /// The URL a user would write (for the probe processes too).
        let url: String
        /// For TLS: the throwaway authority the server's certificate is signed by.
        let authority: String?

        /// The client configuration for it, as a user would set it up, with `change` applied.
        func configuration(_ change: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisConfiguration {
            var configuration = try RedisConfiguration(url: url)
            if let authority {
                configuration.tls?.trustRoots = .file(authority)
                configuration.tlsServerName = "localhost"
            }
            change(&configuration)
            return configuration
        }

        /// The environment a probe process needs to trust the server (see BreakerFleetProbe).
        var probeEnvironment: [String: String] {
            authority.map { ["BREAKER_PROBE_CA": $0, "BREAKER_PROBE_SERVER_NAME": "localhost"] } ?? [:]
        }

        /// A client with the deployment's credentials, for the test's own look at the server.
        func client() throws -> RedisClient { RedisClient(configuration: try configuration()) }

        /// Takes Redis away: the server, every node of a cluster, or for Sentinel every data node (with
        /// no replica left there is no failover: Redis is gone as a single server stopped is;
        /// `FleetSentinelTests` and `FleetClusterTests` kill a master alone and follow the failover).
        func stop() {
            if let cluster {
                cluster.stop()
            } else if let sentinel {
                sentinel.stopDataNodes()
            } else {
                server.stop()
            }
        }

        /// Brings Redis back, empty, where it was (a cluster re-forms from the configuration its
        /// nodes kept).
        func restart() async throws {
            if let cluster {
                try await cluster.restart()
            } else if let sentinel {
                try await sentinel.restartDataNodes()
            } else {
                try await server.restart()
            }
        }
    }

    /// How many Redis processes this deployment runs.
    var processes: Int {
        switch kind {
        case .cluster: 6
        case .sentinel: 5
        default: 1
        }
    }

    func start(_ extra: [String] = []) async throws -> Running {
        let ticket = await ServerAdmission.shared.enter(processes)
        var running = try await startServers(extra)
        running.admission = ticket
        return running
    }

    private func startServers(_ extra: [String]) async throws -> Running {
        switch kind {
        case .plain:
            let server = try await RedisServer.start(extra)
            return Running(server: server, url: server.url, authority: nil)
        case .password:
            let server = try await RedisServer.start(["--requirepass", "pw 1:@/%"] + extra)
            return Running(server: server, url: "redis://:pw%201%3A%40%2F%25@127.0.0.1:\(server.port)", authority: nil)
        case .aclUserWithDatabase:
            // Exactly the rights RunningAFleet.md documents (+exists: the tests' own look at the lease).
            let rights = "+ping +select +eval +evalsha +script|load +time +get +set +del +pexpire +pttl +zadd +zremrangebyscore +zcard +publish +spublish +psubscribe +ssubscribe +cluster|shards +cluster|slots +asking +exists"
            let user = ["--user", "fleet", "on", ">fleet-pass", "~breaker:*", "&breaker:{*}:changes"] + rights.split(separator: " ").map(String.init)
            let server = try await RedisServer.start(user + ["--user", "default", "off"] + extra)
            return Running(server: server, url: "redis://fleet:fleet-pass@127.0.0.1:\(server.port)/3", authority: nil)
        case .tlsWithPassword:
            let certificates = try await ThrowawayCertificates.shared()
            let server = try await RedisServer.start(
                [
                    "--tls-cert-file", certificates.serverCertificate, "--tls-key-file", certificates.serverKey,
                    "--tls-ca-cert-file", certificates.authority, "--tls-auth-clients", "no", "--requirepass", "tls-pass",
                ] + extra, tlsOnly: true)
            return Running(server: server, url: "rediss://:tls-pass@127.0.0.1:\(server.port)", authority: certificates.authority)
        case .cluster:
            let cluster = try await RedisCluster.start()
            return Running(server: cluster.nodes[0], cluster: cluster, url: cluster.url, authority: nil)
        case .sentinel:
            let setup = try await RedisSentinelSetup.start(extra)
            return Running(server: setup.master, sentinel: setup, url: setup.url, authority: nil)
        }
    }
}

/// A bound on the Redis processes the deployments of a test run keep at once (12: two clusters, or a
/// cluster and a Sentinel set-up, or a dozen single servers). Every scenario runs on six deployments,
/// all tests at once; unbounded, a 2-core machine ran some 90 servers together and every real-time
/// bound of the run (the HTTP client's too) failed.
final class ServerAdmission: Sendable {
    static let shared = ServerAdmission(capacity: 12)

    /// A share held until the last reference to it is gone.
    final class Ticket: Sendable {
        let weight: Int
        let admission: ServerAdmission
        init(weight: Int, admission: ServerAdmission) {
            self.weight = weight
            self.admission = admission
        }
        deinit { admission.leave(weight) }
    }

    private let state: NIOLockedValueBox<(free: Int, waiting: [(weight: Int, continuation: CheckedContinuation<Void, Never>)])>

    init(capacity: Int) { state = NIOLockedValueBox((capacity, [])) }

    /// Waits, first come first served, until `weight` processes fit.
    func enter(_ weight: Int) async -> Ticket {
        await withCheckedContinuation { continuation in
            let admitted = state.withLockedValue { state in
                guard state.waiting.isEmpty, state.free >= weight else {
                    state.waiting.append((weight, continuation))
                    return false
                }
                state.free -= weight
                return true
            }
            if admitted { continuation.resume() }
        }
        return Ticket(weight: weight, admission: self)
    }

    fileprivate func leave(_ weight: Int) {
        let admitted = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.free += weight
            var admitted: [CheckedContinuation<Void, Never>] = []
            while let next = state.waiting.first, next.weight <= state.free {
                state.free -= next.weight
                admitted.append(state.waiting.removeFirst().continuation)
            }
            return admitted
        }
        for continuation in admitted { continuation.resume() }
    }
}
#endif
