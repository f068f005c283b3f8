/// The demo's options, as the command line gives them, with their checks. The command-line parser
/// lives in the `breaker-demo` executable; the rules live here, where tests can reach them.
public struct DemoOptions: Sendable, Hashable {
    /// The seed used when none is given: every default run tells the same story.
    public static let defaultSeed: UInt64 = 42
    /// The simulated durations accepted, in seconds.
    public static let durationRange = 10...3600
    /// The folder the chart goes to when none is given, relative to the current directory.
    public static let defaultOutput = "breaker-demo-output"

    /// The story the dependency acts out.
    public var scenario: Scenario
    /// The breaker's policy.
    public var policy: PolicyChoice
    /// Simulated seconds to run.
    public var duration: Int
    /// The seed of the simulation's random draws.
    public var seed: UInt64
    /// The folder to write `timeline.svg` to.
    public var output: String

    /// Options with the demo's defaults, or the given values.
    public init(
        scenario: Scenario = .outage, policy: PolicyChoice = .failureRate, duration: Int = 120, seed: UInt64 = DemoOptions.defaultSeed,
        output: String = DemoOptions.defaultOutput
    ) {
        self.scenario = scenario
        self.policy = policy
        self.duration = duration
        self.seed = seed
        self.output = output
    }

    /// Throws a ``DemoOptionsError`` naming the first option out of range.
    public func validate() throws(DemoOptionsError) {
        guard Self.durationRange.contains(duration) else {
            throw DemoOptionsError(
                "--duration must be between \(Self.durationRange.lowerBound) and \(Self.durationRange.upperBound) simulated seconds; got \(duration).")
        }
        guard !output.allSatisfy(\.isWhitespace) else {
            throw DemoOptionsError("--output must name a folder; got an empty path.")
        }
    }

    /// The simulation these options ask for.
    public var simulationSettings: SimulationSettings {
        SimulationSettings(scenario: scenario, policy: policy.settings, duration: .seconds(duration), seed: seed)
    }
}

/// An option out of range, with a message that says which and what is allowed.
public struct DemoOptionsError: Error, Hashable, CustomStringConvertible {
    /// `--duration must be between 10 and 3600 simulated seconds; got 5.`
    public let message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
