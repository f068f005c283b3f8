import ArgumentParser
import BreakerDemo
#if Redis
import BreakerRedis
#endif
import Foundation

/// `breaker-demo`: simulated clients call a simulated dependency through one circuit breaker; the
/// run plays on the terminal, then prints what the breaker did and writes a timeline chart.
@main
struct BreakerDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaker-demo",
        abstract: "Watch a circuit breaker protect clients from a misbehaving dependency, in simulated time.",
        discussion: """
            Simulated clients make about 20 calls a second to a simulated dependency through one \
            CircuitBreaker on a manual clock, so minutes of traffic take a moment and the same seed \
            always tells the same story. The run plays on the terminal, then the demo prints what \
            the breaker did (calls let through, rejected, failures avoided, time saved, and every \
            transition with its cause) and writes a timeline chart, timeline.svg, to the output folder.

            Scenarios:
              outage           \(Scenario.outage.summary)
              flapping         \(Scenario.flapping.summary)
              slow-dependency  \(Scenario.slowDependency.summary)
              brown-out        \(Scenario.brownOut.summary)
              overload         \(AdmissionComparison.overload.summary)
              recovery-herd    \(AdmissionComparison.recoveryHerd.summary)

            The last two compare protections (none, the classic breaker, the recovery ramp, the \
            adaptive throttle, the concurrency limiter, all together) in simulated time, print a \
            table and write admission.svg.

            Policies:
              consecutive      \(PolicyChoice.consecutive.summary)
              failure-rate     \(PolicyChoice.failureRate.summary)
              slow-calls       \(PolicyChoice.slowCalls.summary)

            After a trip, every policy here: \(PolicyChoice.failureRate.settings.recovery).

            With --redis, the demo runs a fleet instead: --instances processes (3 by default) share \
            one breaker through that Redis server, in real time (about 8 s). Their dependency goes \
            down; the busiest instance trips first and the others open with it, without failing a \
            call of their own; one trial at a time probes, and every instance closes together.
            """)

    @Option(help: "How the dependency misbehaves: an outage, short outages again and again, slow answers, or a share of calls failing; or a comparison: overload, recovery-herd.")
    var scenario: DemoScenario = .timeline(.outage)

    @Option(help: "What opens the circuit: failures in a row, a failure rate over a time window, or a share of slow calls.")
    var policy: PolicyChoice = .failureRate

    @Option(help: "How many simulated seconds to run, from 10 to 3600.")
    var duration: Int = 120

    @Option(help: "The seed of the simulation's random draws; the same seed tells the same story.")
    var seed: UInt64 = DemoOptions.defaultSeed

    @Option(help: "The folder to write timeline.svg to; created if missing.")
    var output: String = DemoOptions.defaultOutput

    @Flag(inversion: .prefixedNo, help: "Play the run on the terminal, a few seconds long; --no-live prints only the results.")
    var live = true

    @Option(help: "Run a fleet sharing one breaker through this Redis server (redis://host:port) instead of the simulation.")
    var redis: String?

    @Option(help: "With --redis: how many processes share the breaker, from 2 to 8.")
    var instances: Int = 3

    @Option(help: .hidden)
    var fleetInstance: Int?

    @Option(help: .hidden)
    var fleetBreaker: String?

    /// The options as the demo library knows them.
    var options: DemoOptions {
        guard case .timeline(let story) = scenario else { return DemoOptions(policy: policy, duration: duration, seed: seed, output: output) }
        return DemoOptions(scenario: story, policy: policy, duration: duration, seed: seed, output: output)
    }

    func validate() throws {
        guard (2...8).contains(instances) else { throw ValidationError("--instances must be 2...8, not \(instances)") }
        if let redis {
            #if Redis
            do {
                _ = try RedisConfiguration(url: redis)
            } catch {
                throw ValidationError("--redis: \(error.message)")
            }
            #else
            throw ValidationError("--redis: this build has no Redis support (the package's trait \"Redis\" is off)")
            #endif
        }
        do {
            try options.validate()
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        #if Redis
        if let redis {
            if let fleetInstance, let fleetBreaker {
                try await FleetDemo.runInstance(fleetInstance, of: instances, redis: redis, breaker: fleetBreaker)
            } else {
                try await FleetDemo.run(instances: instances, redis: redis)
            }
            return
        }
        #endif
        if case .comparison(let comparison) = scenario {
            try compare(comparison)
            return
        }
        let result = Simulation.run(options.simulationSettings)
        let terminal = Terminal()
        if live {
            terminal.play(result)
        }

        let folder = URL(fileURLWithPath: output, isDirectory: true).standardizedFileURL
        let file = folder.appendingPathComponent("timeline.svg")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try TimelineChart.svg(result).write(to: file, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write the chart to \(file.path): \(error.localizedDescription)")
        }

        print(Report.render(result, style: terminal.style))
        print("  chart  \(file.path)")
    }

    /// Runs an admission-control comparison: prints its table and writes `admission.svg` (both comparisons).
    func compare(_ comparison: AdmissionComparison) throws {
        var settings = OverloadSettings()
        settings.seed = seed
        let overload = OverloadSimulation.compare(settings)
        let herd = RecoveryHerdSimulation.compare(seed: seed)
        switch comparison {
        case .overload:
            print(comparison.headline(settings) + "\n")
            print(AdmissionComparison.overloadTable(overload))
        case .recoveryHerd:
            print(comparison.headline(settings) + "\n")
            print(AdmissionComparison.herdTable(herd))
        }
        let folder = URL(fileURLWithPath: output, isDirectory: true).standardizedFileURL
        let file = folder.appendingPathComponent("admission.svg")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try AdmissionChart.svg(overload: overload, herd: herd).write(to: file, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write the chart to \(file.path): \(error.localizedDescription)")
        }
        print("\n  chart  \(file.path)")
    }
}
