#if Redis
import Breaker

/// How a circuit's snapshot travels: one line of text, `v1 EPOCH ORIGIN STATE MODE FAILURES TRIPS UNTIL`.
///
/// EPOCH and ORIGIN are zero-padded to 20 digits, so the Lua scripts order snapshots by comparing the
/// first 44 bytes as strings (Lua numbers are doubles: they cannot hold a 64-bit origin). UNTIL is, for
/// an open circuit, the open period and, for a closed one ramping up (``CircuitSnapshot/rampRemaining``),
/// the ramp, in milliseconds: remaining, in a published message; as an instant of the server's clock
/// (`TIME`), in the stored key, so that an instance reading it later computes what remains and every
/// instance ramps to the same end; `-1` otherwise. (An instance of an earlier version reads a closed
/// line's UNTIL as nothing: it does not ramp, and the rest of the fleet still does.)
enum FleetSnapshotCoding {
    /// The ordering prefix and state of `snapshot`, without the open period.
    static func head(_ snapshot: CircuitSnapshot) -> String {
        "v1 \(padded(snapshot.epoch)) \(padded(snapshot.origin)) \(stateCode(snapshot.state)) \(modeCode(snapshot.mode)) \(snapshot.failureCount) \(snapshot.consecutiveTrips)"
    }

    /// The open period or ramp of `snapshot` in milliseconds, or -1.
    static func untilMilliseconds(_ snapshot: CircuitSnapshot) -> Int64 {
        let remaining = snapshot.state == .open ? snapshot.openRemaining : snapshot.state == .closed ? snapshot.rampRemaining : nil
        guard let remaining else { return -1 }
        let (seconds, attoseconds) = remaining.components
        if seconds > Int64.max / 2_000 { return Int64.max / 2 }  // forced open: "forever"
        return max(0, seconds * 1_000 + attoseconds / 1_000_000_000_000_000)
    }

    /// Reads a line whose last field is the remaining open or ramp time in milliseconds (or -1).
    static func decode(_ line: String) -> CircuitSnapshot? {
        let fields = line.split(separator: " ")
        guard fields.count == 8, fields[0] == "v1",
            let epoch = UInt64(fields[1]), let origin = UInt64(fields[2]),
            let state = state(fields[3]), let mode = mode(fields[4]),
            let failures = Int(fields[5]), failures >= 0, let trips = Int(fields[6]), trips >= 0,
            let until = Int64(fields[7]), until >= -1
        else { return nil }
        return CircuitSnapshot(
            state: state, mode: mode, failureCount: failures, consecutiveTrips: trips,
            openRemaining: state == .open && until >= 0 ? .milliseconds(until) : nil,
            rampRemaining: state == .closed && until > 0 ? .milliseconds(until) : nil, epoch: epoch, origin: origin)
    }

    /// Replaces the last field of a stored line (an instant of the server's clock) by what remains at `now`.
    static func remainingLine(stored: String, serverNow: Int64) -> String? {
        guard let space = stored.lastIndex(of: " "), let until = Int64(stored[stored.index(after: space)...]) else { return nil }
        let remaining = until < 0 ? -1 : max(0, until - serverNow)
        return "\(stored[..<space]) \(remaining)"
    }

    private static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    private static func stateCode(_ state: CircuitState) -> String {
        switch state {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half-open"
        }
    }

    private static func state(_ code: Substring) -> CircuitState? {
        switch code {
        case "closed": .closed
        case "open": .open
        case "half-open": .halfOpen
        default: nil
        }
    }

    private static let modes: [(String, OperatingMode)] = [
        ("normal", .normal), ("disabled", .disabled), ("forcedOpen", .forcedOpen), ("metricsOnly", .metricsOnly),
    ]

    private static func modeCode(_ mode: OperatingMode) -> String { modes.first { $0.1 == mode }?.0 ?? "normal" }

    private static func mode(_ code: Substring) -> OperatingMode? { modes.first { $0.0 == code }?.1 }
}
#endif
