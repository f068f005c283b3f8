import Breaker

/// The text printed after a run: a header stating the scenario and the policy that ran, a summary
/// table, and every transition with its time and cause.
public enum Report {
    /// The whole report for `result`.
    public static func render(_ result: SimulationResult, style: TextStyle = .plain) -> String {
        ([header(result, style: style), summary(result), transitions(result, style: style)]).joined(separator: "\n\n") + "\n"
    }

    /// The title and what ran: the dependency's story, the traffic and the policy with its real values.
    public static func header(_ result: SimulationResult, style: TextStyle = .plain) -> String {
        let settings = result.settings
        let title = "swift-breaker demo: \(settings.scenario) scenario, \(settings.policy.name) policy, "
            + "\(Format.trimmed(result.duration, decimals: 1)) s simulated, seed \(settings.seed)"
        return [
            style.bold(title),
            "",
            "  dependency  \(result.dependency.story)",
            "  traffic     \(Format.trimmed(settings.callsPerSecond, decimals: 1)) calls a second on average, from simulated clients",
            "  policy      \(settings.policy.summary)",
        ].joined(separator: "\n")
    }

    /// The summary table: calls, let through, rejected, failures, failures avoided, successes lost,
    /// time saved, and what happened while the dependency was in trouble.
    public static func summary(_ result: SimulationResult) -> String {
        let totals = result.totals
        func share(_ part: Int) -> String {
            totals.calls == 0 ? "" : Format.percent(Double(part) / Double(totals.calls))
        }
        func row(_ label: String, _ value: String, _ share: String = "", _ note: String = "") -> String {
            let line = "  \(Format.left(label, 18))\(Format.right(value, 11))  \(Format.right(share, 7))   \(note)"
            return String(line.reversed().drop { $0 == " " }.reversed())
        }
        let timeout = Format.duration(result.dependency.timeout)
        var lines = [
            row("calls made", Format.count(totals.calls)),
            row("let through", Format.count(totals.letThrough), share(totals.letThrough), "reached the dependency"),
            row("rejected", Format.count(totals.rejected), share(totals.rejected), "failed fast, without calling it"),
            row("failures", Format.count(totals.failures), "", "let through, then failed or timed out"),
            row("failures avoided", Format.count(totals.failuresAvoided), "", "rejected calls that would have failed"),
            row("successes lost", Format.count(totals.successesLost), "", "rejected calls that would have succeeded"),
            row("time saved", Format.waiting(totals.waitSaved), "", "waiting the rejected calls were spared (up to \(timeout) each)"),
        ]
        if totals.callsWhileTroubled > 0 {
            let turnedAway = totals.callsWhileTroubled - totals.letThroughWhileTroubled
            lines.append("")
            lines.append(
                "  While the dependency was in trouble, clients made \(Format.count(totals.callsWhileTroubled)) calls: "
                    + "\(Format.count(totals.letThroughWhileTroubled)) reached it, \(Format.count(turnedAway)) were turned away at once.")
        }
        return lines.joined(separator: "\n")
    }

    /// Every transition with its time and its cause in words, or a sentence saying there was none.
    public static func transitions(_ result: SimulationResult, style: TextStyle = .plain) -> String {
        let transitions = result.transitions
        guard !transitions.isEmpty else {
            var text = "  The circuit stayed closed: nothing in this run met the policy's rule."
            if result.settings.scenario == .slowDependency && result.settings.policy.name != PolicyChoice.slowCalls.rawValue {
                text += "\n  Slow answers are not failures to this policy: try --policy slow-calls."
            }
            return text
        }
        let trips = result.trips.count
        var lines = [
            style.bold("  \(trips) \(trips == 1 ? "trip" : "trips"), \(transitions.count) \(transitions.count == 1 ? "transition" : "transitions")"),
            style.dim("  \(Format.right("time", 8))  \(Format.left("change", 20))  cause"),
        ]
        for transition in transitions {
            let change = "\(transition.from) → \(transition.to)"
            let padded = Format.left(change, 20)
            let colored = style.colored(change, for: transition.to) + String(padded.dropFirst(change.count))
            lines.append("  \(Format.right(Format.moment(transition.time), 8))  \(colored)  \(transition.cause)")
        }
        return lines.joined(separator: "\n")
    }
}
