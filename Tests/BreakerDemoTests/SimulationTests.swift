import Breaker
import BreakerDemo
import Testing

@Suite("Simulation")
struct SimulationTests {
    @Test("one seed tells one story; another seed another")
    func deterministic() {
        let settings = SimulationSettings(scenario: .flapping, policy: PolicyChoice.consecutive.settings, seed: 7)
        let first = Simulation.run(settings)
        let second = Simulation.run(settings)
        #expect(first == second)
        #expect(!first.transitions.isEmpty)

        var other = settings
        other.seed = 8
        #expect(Simulation.run(other).slices != first.slices)
    }

    @Test("an outage opens the circuit while the dependency is down, and it closes after")
    func outageOpensThenCloses() throws {
        let result = Simulation.run(SimulationSettings(scenario: .outage))
        let down = try #require(result.dependency.phases.first { $0.condition == .down })
        #expect(down.start == 30 && down.end == 66)

        let firstTrip = try #require(result.trips.first)
        #expect(firstTrip.time > down.start && firstTrip.time < down.end)
        #expect(firstTrip.from == .closed)
        #expect(firstTrip.cause.kind == .failureRate)
        #expect(result.trips.allSatisfy { $0.time > down.start && $0.time < down.end })

        let last = try #require(result.transitions.last)
        #expect(last.to == .closed && last.time >= down.end)
        #expect(last.cause.kind == .trialsSucceeded)
        #expect(result.slices.last?.stateAtEnd == .closed)

        // Most calls made while it was down were turned away; none after it recovered and closed.
        let totals = result.totals
        #expect(totals.callsWhileTroubled > 0)
        #expect(totals.letThroughWhileTroubled * 4 < totals.callsWhileTroubled)
        #expect(result.slices.filter { $0.start >= last.time + 1 }.allSatisfy { $0.rejected == 0 })
        #expect(totals.failuresAvoided > 0 && totals.waitSaved > 0)
    }

    @Test("before the outage the circuit stays closed and lets everything through")
    func healthyStart() {
        let result = Simulation.run(SimulationSettings(scenario: .outage))
        let before = result.slices.filter { $0.end <= 30 }
        #expect(!before.isEmpty)
        #expect(before.allSatisfy { $0.stateAtEnd == .closed && $0.rejected == 0 && $0.letThrough == $0.calls })
    }

    @Test("every scenario and policy: slices cover the run and every call is let through or rejected", arguments: Scenario.allCases)
    func bookkeeping(scenario: Scenario) {
        for policy in PolicyChoice.allCases {
            let result = Simulation.run(SimulationSettings(scenario: scenario, policy: policy.settings, duration: .seconds(60)))
            #expect(result.configuration == policy.settings.configuration)
            #expect(result.slices.first?.start == 0 && result.slices.last?.end == 60)
            for (earlier, later) in zip(result.slices, result.slices.dropFirst()) { #expect(earlier.end == later.start) }
            #expect(result.slices.allSatisfy { $0.calls == $0.letThrough + $0.rejected && $0.failures <= $0.letThrough })
            #expect(result.slices.allSatisfy { $0.failuresAvoided <= $0.rejected })
            #expect(result.totals.calls > 1_000)
            // Transitions alternate consistently: each starts where the previous one ended.
            var state = CircuitState.closed
            for transition in result.transitions {
                #expect(transition.from == state)
                state = transition.to
            }
            #expect(zip(result.transitions, result.transitions.dropFirst()).allSatisfy { $0.time <= $1.time })
        }
    }

    @Test("the slow-call policy trips on a slow dependency; the consecutive policy barely notices")
    func slowDependency() {
        let slow = Simulation.run(SimulationSettings(scenario: .slowDependency, policy: PolicyChoice.slowCalls.settings))
        #expect(slow.trips.contains { $0.cause.kind == .slowCallRate })
        let consecutive = Simulation.run(SimulationSettings(scenario: .slowDependency, policy: PolicyChoice.consecutive.settings))
        #expect(!consecutive.trips.contains { $0.cause.kind == .slowCallRate })
        #expect(consecutive.totals.rejected < slow.totals.rejected)
    }

    @Test("state spans cover the run in order, one per stretch between transitions")
    func stateSpans() {
        let result = Simulation.run(SimulationSettings(scenario: .flapping))
        let spans = result.stateSpans
        #expect(spans.first?.start == 0 && spans.last?.end == result.duration)
        for (earlier, later) in zip(spans, spans.dropFirst()) {
            #expect(earlier.end == later.start)
            #expect(earlier.state != later.state)
            #expect(earlier.start < earlier.end)
        }
        #expect(Set(spans.map(\.state)) == [.closed, .open, .halfOpen])
    }

    @Test("long runs use longer slices, at most about 240 of them")
    func sliceLength() {
        #expect(SimulationSettings(duration: .seconds(120)).sliceSeconds == 1)
        #expect(SimulationSettings(duration: .seconds(3600)).sliceSeconds == 15)
        let result = Simulation.run(SimulationSettings(duration: .seconds(3600), callsPerSecond: 2))
        #expect(result.slices.count == 240)
    }
}
