import ArgumentParser
import BreakerDemo

// The demo library knows nothing of the argument parser; the command teaches it to read these.
extension Scenario: ExpressibleByArgument {}
extension AdmissionComparison: ExpressibleByArgument {}

/// What `--scenario` names: a story for the timeline, or one of the admission-control comparisons.
enum DemoScenario: ExpressibleByArgument, Equatable {
    case timeline(Scenario)
    case comparison(AdmissionComparison)

    init?(argument: String) {
        if let scenario = Scenario(argument: argument) {
            self = .timeline(scenario)
        } else if let comparison = AdmissionComparison(argument: argument) {
            self = .comparison(comparison)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { Scenario.allValueStrings + AdmissionComparison.allValueStrings }
}
extension PolicyChoice: ExpressibleByArgument {}
