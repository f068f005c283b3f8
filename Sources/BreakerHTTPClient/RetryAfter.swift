#if HTTPClient
/// Reading an HTTP `Retry-After` header (RFC 9110 §10.2.3): a number of seconds, or an HTTP date.
enum RetryAfter {
    /// The wait `value` asks for: its seconds, or the time from `reference` (seconds since 1970: the
    /// response's own `Date` header when it has one, so the two clocks cannot disagree; else this
    /// machine's clock) to its date. `nil` for a value that is neither, or a date already past.
    static func wait(_ value: String, reference: Double) -> Duration? {
        let text = value.trimmingCharacters(in: " \t")
        if let seconds = Int64(text, radix: 10) { return seconds >= 0 ? .seconds(seconds) : nil }
        guard let date = httpDate(String(text)) else { return nil }
        let wait = date - reference
        return wait > 0 ? .milliseconds(Int64((wait * 1_000).rounded())) : nil
    }

    /// Seconds since 1970 of an HTTP date in any of the three forms a recipient must accept:
    /// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate), `Sunday, 06-Nov-94 08:49:37 GMT` (RFC 850) and
    /// `Sun Nov  6 08:49:37 1994` (asctime).
    static func httpDate(_ text: String) -> Double? {
        let tokens = text.split { $0 == " " || $0 == "," || $0 == "-" }.map(String.init)
        var numbers: [Int] = []
        var month: Int?
        var clock: [Int]?
        for token in tokens {
            if let index = months.firstIndex(of: token.prefix(3).lowercased()), token.count == 3 {
                month = index + 1
            } else if token.contains(":") {
                let parts = token.split(separator: ":").compactMap { Int($0) }
                guard parts.count == 3 else { return nil }
                clock = parts
            } else if let number = Int(token) {
                numbers.append(number)
            }
        }
        guard let month, let clock, numbers.count == 2 else { return nil }
        let day = numbers[0]
        var year = numbers[1]
        if year < 100 { year += year >= 70 ? 1900 : 2000 }  // RFC 850's two-digit years
        guard (1...31).contains(day), (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2]) else { return nil }
        let days = daysSince1970(year: year, month: month, day: day)
        return Double(days * 86_400 + clock[0] * 3_600 + clock[1] * 60 + clock[2])
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    private static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return text
    }
}
#endif
