import BreakerDemo
import Testing

@Suite("Options")
struct DemoOptionsTests {
    @Test("the defaults are valid: an outage, the failure-rate policy, two minutes, a fixed seed")
    func defaults() throws {
        let options = DemoOptions()
        try options.validate()
        #expect(options.scenario == .outage && options.policy == .failureRate && options.duration == 120)
        #expect(options.seed == DemoOptions.defaultSeed && options.output == "breaker-demo-output")
        let settings = options.simulationSettings
        #expect(settings.duration == .seconds(120) && settings.seed == 42 && settings.policy == PolicyChoice.failureRate.settings)
    }

    @Test("a duration outside 10...3600 is rejected with a message naming the option and the range", arguments: [-1, 0, 9, 3601, 100_000])
    func badDuration(duration: Int) {
        let error = #expect(throws: DemoOptionsError.self) { try DemoOptions(duration: duration).validate() }
        #expect(error?.message == "--duration must be between 10 and 3600 simulated seconds; got \(duration).")
    }

    @Test("the ends of the duration range are accepted", arguments: [10, 3600])
    func durationEnds(duration: Int) throws {
        try DemoOptions(duration: duration).validate()
    }

    @Test("an empty output folder is rejected")
    func emptyOutput() {
        #expect(throws: DemoOptionsError("--output must name a folder; got an empty path.")) { try DemoOptions(output: "  ").validate() }
    }

    @Test("scenario and policy names are the option spellings")
    func spellings() {
        #expect(Scenario.allCases.map(\.rawValue) == ["outage", "flapping", "slow-dependency", "brown-out"])
        #expect(PolicyChoice.allCases.map(\.rawValue) == ["consecutive", "failure-rate", "slow-calls"])
        #expect(Scenario(rawValue: "brownout") == nil)
    }
}
