import Breaker
import BreakerDemo
import Testing

@Suite("Report")
struct ReportTests {
    @Test("the header states the failure-rate policy's real values")
    func failureRateHeader() {
        let result = Simulation.run(SimulationSettings(scenario: .outage, policy: PolicyChoice.failureRate.settings))
        let header = Report.header(result)
        #expect(header.contains("failure rate ≥ 50 % over 10 s, at least 10 calls; open 5 s; one trial call decides"))
        #expect(header.contains("outage scenario, failure-rate policy, 120 s simulated, seed 42"))
        #expect(header.contains("down 30–66 s"))
        // Not aiobreaker's defaults (5 failures in a row, open 60 s): this policy does not use them.
        #expect(!header.contains("60 s") && !header.contains("in a row"))
    }

    @Test("other values reach both the breaker and the header")
    func customValues() {
        let policy = DemoPolicy(rule: .failureRate(threshold: 0.6, minimumCalls: 20), window: .seconds(30), openFor: .seconds(8))
        let configuration = policy.configuration
        #expect(configuration.trip == .failureRate(0.6, minimumCalls: 20))
        #expect(configuration.window == .duration(.seconds(30), bucket: .seconds(1)))
        #expect(configuration.resetTimeout == .seconds(8))

        let result = Simulation.run(SimulationSettings(policy: policy, duration: .seconds(60)))
        #expect(result.configuration == configuration)
        #expect(Report.header(result).contains("failure rate ≥ 60 % over 30 s, at least 20 calls; open 8 s"))
    }

    @Test("the consecutive and slow-call policies are described with their numbers")
    func otherPolicies() {
        #expect(PolicyChoice.consecutive.settings.summary == "5 failures in a row; open 5 s; one trial call decides")
        #expect(PolicyChoice.consecutive.settings.configuration.failMax == 5)
        #expect(PolicyChoice.consecutive.settings.configuration.trip == .consecutiveFailures)

        let slow = PolicyChoice.slowCalls.settings
        #expect(slow.configuration.slowCalls == SlowCallPolicy(threshold: .milliseconds(500), rate: 0.5, minimumCalls: 10))
        #expect(slow.summary.hasPrefix("calls ≥ 500 ms make up ≥ 50 % over 10 s, at least 10 calls (or 5 failures in a row); open 5 s"))

        let three = DemoPolicy(rule: .consecutiveFailures(3), openFor: .milliseconds(1500))
        #expect(three.summary.hasPrefix("3 failures in a row; open 1.5 s"))
        #expect(three.configuration.failMax == 3 && three.configuration.resetTimeout == .milliseconds(1500))
    }

    @Test("the summary table has the totals; every transition is listed with its time and cause")
    func summaryAndTransitions() {
        let result = Simulation.run(SimulationSettings(scenario: .outage))
        let text = Report.render(result)
        let totals = result.totals
        for (label, value) in [("calls made", totals.calls), ("rejected", totals.rejected), ("failures avoided", totals.failuresAvoided)] {
            let line = text.split(separator: "\n").first { $0.hasPrefix("  \(label) ") }
            #expect(line?.contains(Self.grouped(value)) == true, "\(label)")
        }
        #expect(text.contains("time saved"))
        #expect(text.contains("\(result.trips.count) trips, \(result.transitions.count) transitions"))
        let listed = text.split(separator: "\n").filter { $0.contains(" → ") }
        #expect(listed.count == result.transitions.count)
        for (line, transition) in zip(listed, result.transitions) {
            #expect(line.contains("\(transition.from) → \(transition.to)"))
            #expect(line.hasSuffix(transition.cause.description))
        }
        #expect(text.contains("failure rate 50 % ≥ 50 %") || text.contains("failure rate 5"))
        #expect(text.contains("trial failed") && text.contains("open period elapsed") && text.contains("trial succeeded"))
        // Plain style: no escape codes.
        #expect(!text.contains("\u{1B}"))
    }

    @Test("a run without trips says so, and points a slow dependency to the slow-call policy")
    func noTrips() {
        let result = Simulation.run(SimulationSettings(scenario: .slowDependency, policy: DemoPolicy(rule: .consecutiveFailures(50))))
        #expect(result.transitions.isEmpty)
        let text = Report.render(result)
        #expect(text.contains("The circuit stayed closed"))
        #expect(text.contains("--policy slow-calls"))
    }

    /// `2,400`.
    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return text
    }
}
