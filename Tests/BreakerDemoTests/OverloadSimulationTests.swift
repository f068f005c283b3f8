import Breaker
import BreakerDemo
import Testing

@Suite("Admission control in simulated time (issue 18, item 5)")
struct OverloadSimulationTests {
    /// Half the demo's run (30 s, 5 s of warm-up): the same dynamics, half the time under a sanitizer.
    static let settings: OverloadSettings = {
        var settings = OverloadSettings()
        settings.duration = .seconds(30)
        settings.warmUp = .seconds(5)
        return settings
    }()
    static let overload = OverloadSimulation.compare(settings)
    static let herd = RecoveryHerdSimulation.compare()

    static func outcome(_ protection: Protection, _ load: Double) throws -> OverloadOutcome {
        try #require(overload.first { $0.protection == protection && $0.load == load })
    }

    @Test func underCapacityEveryProtectionServesEveryCallAtTheBaseLatency() throws {
        for protection in Protection.all {
            let light = try Self.outcome(protection, 0.5)
            #expect(abs(light.goodputShare - 0.5) < 0.03, "\(protection): \(light.goodputShare)")
            #expect(light.rejectedShare == 0 && light.p99 < .milliseconds(100), "\(protection)")
        }
    }

    @Test func unprotectedPastCapacityTheDependencyCollapsesIntoTimeOuts() throws {
        for load in [2.0, 4.0] {
            let none = try Self.outcome(.none, load)
            #expect(none.goodputShare < 0.05 && none.p99 == .seconds(1), "\(load)×: \(none.goodputShare)")
        }
    }

    @Test func aBreakerKeepsSomeGoodputAndTheRampMoreThanTheClassicOne() throws {
        for load in [2.0, 4.0] {
            let classic = try Self.outcome(.classic, load)
            let ramp = try Self.outcome(.ramp, load)
            #expect(classic.goodputShare > 0.1 && ramp.goodputShare > classic.goodputShare, "\(load)×")
        }
    }

    /// The targets: at 4× capacity, goodput ≥ 90 % of capacity and p99 ≤ 3× the unloaded
    /// latency with the limiter (a latency budget of twice the base latency), alone or with the rest.
    @Test func theLimiterHoldsGoodputAndLatencyAtFourTimesCapacity() throws {
        let unloaded = Self.settings.baseLatency
        for protection in [Protection.limiter, .everything] {
            for load in [2.0, 4.0] {
                let outcome = try Self.outcome(protection, load)
                #expect(outcome.goodputShare >= 0.9, "\(protection) at \(load)×: \(outcome.goodputShare)")
                #expect(outcome.p99 <= unloaded * 3, "\(protection) at \(load)×: \(outcome.p99)")
            }
        }
        // Gradient2 keeps the goodput, but its long-term average follows a sustained overload up.
        let gradient2 = try Self.outcome(.gradient2, 4)
        #expect(gradient2.goodputShare >= 0.9 && gradient2.p99 > unloaded * 3)
    }

    @Test func theRampKeepsTheFirstSecondAfterRecoveryWithinItsFraction() throws {
        for instances in [1, 3] {
            let ramp = try #require(Self.herd.first { $0.protection == .ramp && $0.instances == instances })
            let classic = try #require(Self.herd.first { $0.protection == .classic && $0.instances == instances })
            let target = try #require(ramp.rampTarget)
            #expect(ramp.loadShare <= target, "\(instances): \(ramp.loadShare) > \(target)")
            #expect(classic.loadShare >= 0.9, "without the ramp the herd arrives: \(classic.loadShare)")
        }
    }

    @Test func theSameSeedTellsTheSameStory() {
        #expect(OverloadSimulation.run(.throttle, load: 2) == OverloadSimulation.run(.throttle, load: 2))
        #expect(RecoveryHerdSimulation.run(.ramp, instances: 3) == RecoveryHerdSimulation.run(.ramp, instances: 3))
    }

    @Test func theChartIsWellFormedAndNamesEveryProtection() throws {
        let document = try SVGDocument(AdmissionChart.svg(overload: Self.overload, herd: Self.herd))
        for protection in Protection.all { #expect(document.texts.contains(protection.name)) }
        #expect(document.elements.filter { $0.name == "rect" }.count > Self.overload.count)
    }

    @Test func theTablesHaveARowPerOutcome() {
        #expect(AdmissionComparison.overloadTable(Self.overload).split(separator: "\n").count == Self.overload.count + 2)
        #expect(AdmissionComparison.herdTable(Self.herd).split(separator: "\n").count == Self.herd.count + 2)
    }
}
