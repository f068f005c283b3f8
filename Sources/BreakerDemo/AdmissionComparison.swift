import Foundation

/// The demo's comparisons of admission control, in simulated time: `overload` (goodput and p99 of
/// each protection at 0.5× to 4× the dependency's capacity) and `recovery-herd` (what reaches a
/// dependency in the first second after it comes back, for 1 and 3 instances).
public enum AdmissionComparison: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Each protection at each offered load (``OverloadSimulation``).
    case overload
    /// The first second after an outage (``RecoveryHerdSimulation``).
    case recoveryHerd = "recovery-herd"

    /// The option's spelling.
    public var description: String { rawValue }

    /// A short account for `--help`.
    public var summary: String {
        switch self {
        case .overload: "each protection at 0.5×–4× the dependency's capacity"
        case .recoveryHerd: "the first second after an outage, 1 and 3 instances"
        }
    }

    /// One line on what the comparison simulates.
    public func headline(_ settings: OverloadSettings) -> String {
        switch self {
        case .overload:
            "Overload: a dependency serving \(Int(settings.capacity)) calls/s at \(Self.milliseconds(settings.baseLatency)), slower past "
                + "capacity, callers timing out at \(Self.milliseconds(settings.timeout)); 60 s per run, the first 10 s left out."
        case .recoveryHerd:
            "Recovery: \(Int(RecoveryHerdSimulation.normalRate)) calls/s over the instances, each with its own breaker; the dependency "
                + "down from \(Int(RecoveryHerdSimulation.outage.start)) s to \(Int(RecoveryHerdSimulation.outage.end)) s; up to 3 attempts per call."
        }
    }

    /// The overload table: one row per protection and load.
    public static func overloadTable(_ outcomes: [OverloadOutcome]) -> String {
        var lines = [
            "| protection | load | goodput (calls/s) | goodput / capacity | p99 latency | rejected |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for outcome in outcomes {
            lines.append(
                "| \(outcome.protection) | \(number(outcome.load))× | \(Int(outcome.goodput.rounded())) | \(percent(outcome.goodputShare)) "
                    + "| \(milliseconds(outcome.p99)) | \(percent(outcome.rejectedShare)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// The recovery table: one row per protection and number of instances.
    public static func herdTable(_ outcomes: [RecoveryHerdOutcome]) -> String {
        var lines = [
            "| protection | instances | load in the first second | busiest 100 ms | target |",
            "|---|---:|---:|---:|---:|",
        ]
        for outcome in outcomes {
            lines.append(
                "| \(outcome.protection) | \(outcome.instances) | \(percent(outcome.loadShare)) of normal | \(percent(outcome.peakShare)) of normal "
                    + "| \(outcome.rampTarget.map { "≤ \(percent($0))" } ?? "–") |")
        }
        return lines.joined(separator: "\n")
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    private static func percent(_ value: Double) -> String { "\(Int((value * 100).rounded())) %" }

    private static func milliseconds(_ duration: Duration) -> String { "\(Int((duration.inSeconds * 1000).rounded())) ms" }
}
