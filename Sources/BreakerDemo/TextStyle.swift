import Breaker

/// How text for a terminal is dressed: plain, or with ANSI colours and bold.
public enum TextStyle: Sendable, Hashable {
    /// No escape codes: for files, pipes and `NO_COLOR`.
    case plain
    /// ANSI escape codes for colour and bold.
    case ansi

    /// `text` in bold.
    func bold(_ text: String) -> String { wrap(text, "1") }
    /// `text` dimmed.
    func dim(_ text: String) -> String { wrap(text, "2") }

    /// `text` in the colour of `state`: green closed, red open, amber half-open.
    func colored(_ text: String, for state: CircuitState) -> String {
        switch state {
        case .closed: wrap(text, "32")
        case .open: wrap(text, "31")
        case .halfOpen: wrap(text, "33")
        }
    }

    private func wrap(_ text: String, _ code: String) -> String {
        self == .ansi ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
