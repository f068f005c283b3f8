import Breaker

/// The lines shown while a run plays: a status line redrawn in place on a terminal, or plain lines
/// at regular intervals when the output is a file or a pipe.
public enum LiveProgress {
    /// The status line after slice `index`: the time, the state, a strip of the states so far
    /// (`▁` closed, `▄` half-open, `█` open) and the running counts. At most 80 columns.
    public static func statusLine(_ result: SimulationResult, through index: Int, style: TextStyle, stripWidth: Int = 24) -> String {
        let slice = result.slices[index]
        let totals = Totals(result.slices[...index])
        let state = slice.stateAtEnd
        let clock = "\(Format.right(Format.trimmed(slice.end, decimals: 0), 4))/\(Format.trimmed(result.duration, decimals: 0)) s"
        let strip = strip(result, until: slice.end, width: stripWidth, style: style)
        let stateWord = style.bold(style.colored(Format.left(state.description, 9), for: state))
        return " \(clock)  \(stateWord) ▕\(strip)▏ \(Format.count(totals.calls)) calls, \(Format.count(totals.rejected)) rejected"
    }

    /// A plain line for the run so far, after slice `index`: the time, the state and the counts.
    public static func plainLine(_ result: SimulationResult, through index: Int) -> String {
        let slice = result.slices[index]
        let totals = Totals(result.slices[...index])
        return "  t=\(Format.right(Format.moment(slice.end), 8))  \(Format.left(slice.stateAtEnd.description, 9))  "
            + "calls \(Format.count(totals.calls))  let through \(Format.count(totals.letThrough))  "
            + "rejected \(Format.count(totals.rejected))  failures \(Format.count(totals.failures))"
    }

    /// The slices after which a plain line is printed: about every tenth of the run, and the last.
    public static func plainLineSlices(_ result: SimulationResult) -> [Int] {
        let count = result.slices.count
        let step = max(1, count / 10)
        var indices = Array(stride(from: step - 1, to: count, by: step))
        if indices.last != count - 1 { indices.append(count - 1) }
        return indices
    }

    /// `width` cells spanning the run, filled up to `time` seconds with the worst state of each cell's stretch.
    static func strip(_ result: SimulationResult, until time: Double, width: Int, style: TextStyle) -> String {
        let spans = result.stateSpans
        let cell = result.duration / Double(width)
        var text = ""
        var run: (state: CircuitState, marks: String)?
        for column in 0..<width {
            let start = Double(column) * cell
            guard start < time else { break }
            let end = min(start + cell, time)
            let states = spans.filter { $0.start < end && $0.end > start }.map(\.state)
            let worst: CircuitState = states.contains(.open) ? .open : states.contains(.halfOpen) ? .halfOpen : .closed
            let mark = switch worst {
            case .closed: "▁"
            case .halfOpen: "▄"
            case .open: "█"
            }
            // Cells of one state share one colour code.
            if let current = run, current.state == worst {
                run?.marks += mark
            } else {
                if let current = run { text += style.colored(current.marks, for: current.state) }
                run = (worst, mark)
            }
        }
        if let current = run { text += style.colored(current.marks, for: current.state) }
        let filled = min(width, Int((time / cell).rounded(.up)))
        text += String(repeating: " ", count: max(0, width - filled))
        return text
    }
}
