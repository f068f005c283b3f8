import BreakerTestKit

/// A story the simulated dependency acts out: when it is healthy, and how it misbehaves otherwise.
///
/// Phases scale with the simulated duration, so a short run tells the same story faster.
public enum Scenario: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// Healthy, then down for a while (every call times out), then healthy again.
    case outage
    /// Short outages again and again, with healthy stretches between them.
    case flapping
    /// For a phase, calls take longer than the slow-call threshold; the slowest time out.
    case slowDependency = "slow-dependency"
    /// For a phase, a large share of calls fail fast while the rest succeed.
    case brownOut = "brown-out"

    /// The option's spelling: `outage`, `flapping`, `slow-dependency`, `brown-out`.
    public var description: String { rawValue }

    /// A short account for `--help`, at most 60 characters.
    public var summary: String {
        switch self {
        case .outage: "healthy, down for a third of the run (time-outs), healthy"
        case .flapping: "short outages every sixth of the run, healthy in between"
        case .slowDependency: "for a third of the run calls take 0.6–1.3 s (time-out 1 s)"
        case .brownOut: "for 40 % of the run, 60 % of calls fail fast"
        }
    }

    /// The dependency acting out this scenario over `duration` seconds.
    public func dependency(duration: Double) -> Dependency {
        let phases: [DependencyPhase]
        switch self {
        case .outage:
            phases = Self.cover(duration, with: [(0.25 * duration, 0.55 * duration, .down)])
        case .flapping:
            let period = duration / 6
            let outages = (1..<6).map { cycle -> (Double, Double, DependencyPhase.Condition) in
                let start = Double(cycle) * period
                return (start + 0.4 * period, start + 0.7 * period, .down)
            }
            phases = Self.cover(duration, with: outages)
        case .slowDependency:
            phases = Self.cover(duration, with: [(0.3 * duration, 0.65 * duration, .slow)])
        case .brownOut:
            phases = Self.cover(duration, with: [(0.25 * duration, 0.65 * duration, .degraded(failureShare: 0.6))])
        }
        return Dependency(phases: phases)
    }

    /// `troubles`, in order, with healthy phases filling the gaps between them and up to `duration`.
    private static func cover(_ duration: Double, with troubles: [(Double, Double, DependencyPhase.Condition)]) -> [DependencyPhase] {
        var phases: [DependencyPhase] = []
        var cursor = 0.0
        for (start, end, condition) in troubles {
            if start > cursor { phases.append(DependencyPhase(start: cursor, end: start, condition: .healthy)) }
            phases.append(DependencyPhase(start: start, end: end, condition: condition))
            cursor = end
        }
        if cursor < duration { phases.append(DependencyPhase(start: cursor, end: duration, condition: .healthy)) }
        return phases
    }
}

/// A stretch of time during which the dependency behaves one way.
public struct DependencyPhase: Sendable, Hashable {
    /// How the dependency behaves.
    public enum Condition: Sendable, Hashable {
        /// Answers in 20 to 120 ms; one call in 200 fails.
        case healthy
        /// Answers nothing: every call waits for the client's time-out, then fails.
        case down
        /// Answers in 0.6 to 1.3 s; calls past the time-out fail.
        case slow
        /// Fails fast for this share (0...1) of calls; the others succeed.
        case degraded(failureShare: Double)

        /// `healthy`, `down`, `slow`, `60 % failing`.
        public var label: String {
            switch self {
            case .healthy: "healthy"
            case .down: "down"
            case .slow: "slow"
            case .degraded(let share): "\(Format.percent(share)) failing"
            }
        }

        /// Whether calls made now would mostly fail or crawl.
        public var isTroubled: Bool { self != .healthy }
    }

    /// Seconds since the start of the run when the phase begins.
    public var start: Double
    /// Seconds since the start of the run when the phase ends.
    public var end: Double
    /// How the dependency behaves during the phase.
    public var condition: Condition

    /// A phase from `start` to `end` seconds.
    public init(start: Double, end: Double, condition: Condition) {
        self.start = start
        self.end = end
        self.condition = condition
    }
}

/// The simulated dependency: its phases, and how one call to it goes.
public struct Dependency: Sendable, Hashable {
    /// The phases, in time order, covering the whole run.
    public var phases: [DependencyPhase]
    /// How long a client waits for an answer before giving up; a call that takes longer fails then.
    public var timeout: Duration = .seconds(1)

    /// A dependency that goes through `phases`.
    public init(phases: [DependencyPhase], timeout: Duration = .seconds(1)) {
        self.phases = phases
        self.timeout = timeout
    }

    /// What one call would do: whether it fails, and how long the caller waits for the answer.
    public struct Response: Sendable, Hashable {
        /// Whether the call fails (an error, or the client's time-out).
        public var fails: Bool
        /// How long the caller waits for the answer or the time-out.
        public var latency: Duration
    }

    /// How the dependency behaves `seconds` into the run.
    public func condition(at seconds: Double) -> DependencyPhase.Condition {
        phases.first { seconds >= $0.start && seconds < $0.end }?.condition ?? .healthy
    }

    /// What a call made `seconds` into the run does, drawn from `random`.
    package func respond(at seconds: Double, random: inout SeededRandom) -> Response {
        let limit = timeout.inSeconds
        switch condition(at: seconds) {
        case .healthy:
            let fails = random.unit() < 0.005
            return Response(fails: fails, latency: Self.milliseconds(random.uniform(0.02...0.12)))
        case .down:
            return Response(fails: true, latency: timeout)
        case .slow:
            let latency = random.uniform(0.6...1.3)
            return latency >= limit ? Response(fails: true, latency: timeout) : Response(fails: false, latency: Self.milliseconds(latency))
        case .degraded(let share):
            let fails = random.unit() < share
            return Response(fails: fails, latency: Self.milliseconds(fails ? random.uniform(0.02...0.06) : random.uniform(0.04...0.16)))
        }
    }

    /// `down 30–66 s (calls time out after 1 s), healthy otherwise`: the phases that are not healthy.
    public var story: String {
        let troubles = phases.filter { $0.condition.isTroubled }
        guard !troubles.isEmpty else { return "healthy throughout" }
        let inMinutes = (phases.last?.end ?? 0) > 600
        var parts: [String] = []
        var index = 0
        while index < troubles.count {
            let condition = troubles[index].condition
            var spans: [String] = []
            while index < troubles.count && troubles[index].condition == condition {
                spans.append(Self.span(troubles[index].start, troubles[index].end, inMinutes: inMinutes))
                index += 1
            }
            parts.append("\(condition.label) \(spans.joined(separator: ", "))")
        }
        var text = parts.joined(separator: "; ")
        if troubles.contains(where: { $0.condition == .down || $0.condition == .slow }) {
            text += " (calls time out after \(Format.duration(timeout)))"
        }
        return text + "; healthy otherwise"
    }

    /// `30–66 s`, or `14–17 min` for long runs.
    private static func span(_ start: Double, _ end: Double, inMinutes: Bool) -> String {
        inMinutes
            ? "\(Format.trimmed(start / 60, decimals: 1))–\(Format.trimmed(end / 60, decimals: 1)) min"
            : "\(Format.trimmed(start, decimals: 1))–\(Format.trimmed(end, decimals: 1)) s"
    }

    /// `seconds` rounded to the millisecond, as a duration.
    private static func milliseconds(_ seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
