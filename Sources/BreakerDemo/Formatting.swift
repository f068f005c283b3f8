/// Number and time formatting shared by the report, the progress line and the chart: fixed rules,
/// independent of the locale, so every run prints the same text.
enum Format {
    /// `30 s`, `30.6 s`: a moment of the simulation, to a tenth of a second.
    static func moment(_ seconds: Double) -> String {
        "\(tenths(seconds)) s"
    }

    /// `5 s`, `500 ms`, `1.5 s`: a configured duration, as short as it can be without losing precision.
    static func duration(_ duration: Duration) -> String {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        if nanoseconds < 1_000_000_000 && nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000) ms" }
        let seconds = Double(nanoseconds) / 1e9
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000) s" }
        return "\(trimmed(seconds, decimals: 3)) s"
    }

    /// `42 s`, `9 min 12 s`, `1 h 3 min`: a length of waiting, rounded to what a person cares about.
    static func waiting(_ seconds: Double) -> String {
        if seconds < 10 { return "\(tenths(seconds)) s" }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 {
            let rest = whole % 60
            return rest == 0 ? "\(whole / 60) min" : "\(whole / 60) min \(rest) s"
        }
        let minutes = (whole % 3600) / 60
        return minutes == 0 ? "\(whole / 3600) h" : "\(whole / 3600) h \(minutes) min"
    }

    /// `2,400`: a count with thousands separated.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    /// `50 %`, `62.5 %`: a fraction as a percentage, to a tenth, without a trailing `.0`.
    static func percent(_ fraction: Double) -> String {
        "\(trimmed(fraction * 100, decimals: 1)) %"
    }

    /// `30`, `30.6`: a non-negative value to one decimal, always with it.
    static func tenths(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// `0.5`, `12`, `1.25`: a value to at most `decimals` decimals, trailing zeros dropped.
    static func trimmed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        var fraction = String(abs(scaled % Int(scale)))
        if decimals == 0 || fraction == "0" { return "\(whole)" }
        fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }

    /// `text` padded with spaces on the left to `width` characters.
    static func right(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// `text` padded with spaces on the right to `width` characters.
    static func left(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
