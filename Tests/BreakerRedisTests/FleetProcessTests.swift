#if Redis
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import NIOConcurrencyHelpers
#endif

/// A fleet of three separate processes (`BreakerFleetProbe`) sharing one breaker through a real
/// redis-server, deployed each way of ``RedisDeployment``: a trip in one rejects in the others, one
/// trial runs fleet-wide, calls keep flowing with Redis stopped mid-run and the instances converge when
/// it returns, a quorum keeps one instance's trouble to itself, and a lease holder killed mid-trial
/// hands the trial to another instance.
@Suite("A fleet of three processes", redisTests, .serialized)
struct FleetProcessTests {
    /// One probe process, answering one line per command.
    final class Probe: Sendable {
        private let process: Process
        private let input: FileHandle
        private let output = Lines()

        final class Lines: Sendable {
            let lines = NIOLockedValueBox<[String]>([])
        }

        init(_ redis: RedisDeployment.Running, name: String, mode: String = "shared", failMax: Int = 3, resetMilliseconds: Int = 1_000, environment: [String: String] = [:]) throws {
            let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("BreakerFleetProbe")
            process = Process()
            process.executableURL = binary
            process.arguments = [redis.url, name, mode, String(failMax), String(resetMilliseconds)]
            process.environment = ProcessInfo.processInfo.environment.merging(redis.probeEnvironment.merging(environment) { $1 }) { $1 }
            let stdin = Pipe(), stdout = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice
            input = stdin.fileHandleForWriting
            try process.run()
            let descriptor = stdout.fileHandleForReading.fileDescriptor
            let lines = output
            Thread.detachNewThread {
                var pending: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4_096)
                while true {
                    let count = read(descriptor, &chunk, chunk.count)
                    if count <= 0 { return }
                    pending += chunk[0..<count]
                    while let newline = pending.firstIndex(of: 10) {
                        let line = String(decoding: pending[..<newline], as: UTF8.self)
                        pending.removeFirst(newline + 1)
                        lines.lines.withLockedValue { $0.append(line) }
                    }
                }
            }
        }

        /// The next line the probe prints, waiting up to `limit`.
        func next(within limit: Duration = .seconds(5)) async throws -> String {
            var patience = Patience(limit)
            repeat {
                if let line = output.lines.withLockedValue({ $0.isEmpty ? nil : $0.removeFirst() }) { return line }
            } while try await patience.pause(.milliseconds(2))
            throw ProbeTimedOut()
        }

        struct ProbeTimedOut: Error {}

        func send(_ command: String) async throws -> String {
            input.write((command + "\n").data(using: .utf8)!)
            return try await next()
        }

        /// Sends a command whose answer comes later (`hold`).
        func start(_ command: String) { input.write((command + "\n").data(using: .utf8)!) }

        func state() async throws -> String { try await send("state").split(separator: " ").first.map(String.init) ?? "" }

        /// Kills the process at once, as a crash or an OOM kill would.
        func kill() { _ = Glibc.kill(process.processIdentifier, SIGKILL) }

        deinit {
            process.terminate()
        }
    }

    static func fleet(
        _ redis: RedisDeployment.Running, name: String, mode: String = "shared", count: Int = 3, environment: [String: String] = [:]
    ) async throws -> [Probe] {
        let probes = try (0..<count).map { _ in
            try Probe(redis, name: name, mode: mode, resetMilliseconds: Int(1_000 * timingScale), environment: environment)
        }
        for probe in probes { #expect(try await probe.next(within: .seconds(10)) == "ready") }
        try await eventually("every instance is sharing") { try await probes.asyncMap { try await $0.send("status") }.allSatisfy { $0 == "sharing" } }
        return probes
    }

    @Test(arguments: RedisDeployment.all) func oneTripsTheOthersRejectAndOneTrialRunsFleetWide(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let probes = try await Self.fleet(redis, name: "inventory")
        #expect(try await probes[0].send("fail") == "failed")
        #expect(try await probes[0].send("fail") == "failed")
        #expect(try await probes[0].send("fail") == "tripped")
        let tripped = ContinuousClock.now
        try await eventually(within: .seconds(2), "the others open") {
            let states = try await probes.asyncMap { try await $0.state() }
            return states == ["open", "open", "open"]
        }
        #expect(tripped.duration(to: .now) < Duration.seconds(1).scaled)
        #expect(try await probes[1].send("ok") == "rejected")
        #expect(try await probes[2].send("ok") == "rejected")

        // Past the open period, all three try at once: exactly one runs the trial.
        try await Task.sleep(for: Duration.milliseconds(1_100).scaled)
        for probe in probes { probe.start("hold") }
        let answers = try await probes.asyncMap { try await $0.next() }
        #expect(answers.filter { $0 == "ran" }.count == 1, "one trial fleet-wide: \(answers)")
        for probe in probes { #expect(try await probe.send("release") == "released") }
        try await eventually(within: .seconds(2), "the trial's success closes every instance") {
            try await probes.asyncMap { try await $0.state() } == ["closed", "closed", "closed"]
        }
    }

    @Test(arguments: RedisDeployment.all) func redisStoppedMidRunFailsNoCallAndTheFleetConvergesWhenItReturns(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let probes = try await Self.fleet(redis, name: "search")
        redis.stop()
        for probe in probes {
            for _ in 0..<100 { #expect(try await probe.send("ok") == "ran", "no call fails because Redis is gone") }
        }
        for _ in 0..<3 { _ = try await probes[0].send("fail") }
        #expect(try await probes[0].state() == "open")
        #expect(try await probes[1].state() == "closed", "decided locally while Redis is gone")
        try await redis.restart()
        try await eventually(within: .seconds(15), "every instance converges on the trip") {
            try await probes.asyncMap { try await $0.state() } == ["open", "open", "open"]
        }
        let epochs = try await probes.asyncMap { try await $0.send("state").split(separator: " ").last.map(String.init) }
        #expect(Set(epochs).count == 1, "one state, one epoch: \(epochs)")
    }

    @Test(arguments: RedisDeployment.all) func aQuorumOfTwoKeepsOneInstancesTroubleToItself(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let probes = try await Self.fleet(redis, name: "pricing", mode: "quorum:2")
        for _ in 0..<3 { _ = try await probes[0].send("fail") }
        #expect(try await probes[0].state() == "open")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await probes.asyncMap { try await $0.state() } == ["open", "closed", "closed"])
        for _ in 0..<3 { _ = try await probes[1].send("fail") }
        try await eventually(within: .seconds(2), "the second trip makes the quorum: the third instance opens") {
            try await probes[2].state() == "open"
        }
    }
}

extension FleetProcessTests {
    @Test(arguments: RedisDeployment.all) func aLeaseHolderKilledMidTrialHandsTheTrialToAnotherInstance(_ deployment: RedisDeployment) async throws {
        let redis = try await deployment.start()
        let (trial, margin) = (Duration.milliseconds(1_000).scaled, Duration.milliseconds(500).scaled)
        let probes = try await Self.fleet(
            redis, name: "ledger",
            environment: ["BREAKER_PROBE_MAX_TRIAL_MS": "\(Int(trial / .milliseconds(1)))", "BREAKER_PROBE_LEASE_MARGIN_MS": "\(Int(margin / .milliseconds(1)))"])
        for _ in 0..<3 { _ = try await probes[0].send("fail") }
        let tripped = ContinuousClock.now
        try await eventually(within: .seconds(2), "all open") { try await probes.asyncMap { try await $0.state() } == ["open", "open", "open"] }
        try await Task.sleep(for: Duration.milliseconds(1_100).scaled)  // past the open period
        for probe in probes { probe.start("hold") }
        let answers = try await probes.asyncMap { try await $0.next() }
        let holder = try #require(answers.firstIndex(of: "ran"), "one instance runs the trial: \(answers)")
        probes[holder].kill()
        let survivors = probes.indices.filter { $0 != holder }.map { probes[$0] }
        // The lease was taken at the trip for the open period + the trial's longest run + the margin.
        let bound = Duration.milliseconds(1_000).scaled + trial + margin + Duration.seconds(1).scaled
        var probed = false
        while !probed && tripped.duration(to: .now) < bound + .seconds(1) {
            for survivor in survivors where try await survivor.send("ok") == "ran" { probed = true }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(probed, "another instance probes after the dead holder's lease")
        #expect(tripped.duration(to: .now) < bound, "within open period + maxTrialDuration + margin (+1 s): \(tripped.duration(to: .now))")
        try await eventually(within: .seconds(2), "the survivors close together") {
            try await survivors.asyncMap { try await $0.state() } == ["closed", "closed"]
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
#endif
