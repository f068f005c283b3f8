/// Who may start half-open trials of a circuit: the seam through which a fleet lets one instance
/// probe a recovering dependency while the others keep rejecting.
///
/// In memory the gate is always ``local``. A shared storage sets it with
/// ``InMemoryStorage/setTrialGate(_:)`` as its trial lease changes hands:
///
/// ```swift
/// circuit.setTrialGate(.heldElsewhere(for: .seconds(5)))  // another instance probes; keep rejecting
/// circuit.setTrialGate(.heldHere)                          // this instance won the lease
/// circuit.setTrialGate(.local)                             // no fleet decision: decide here
/// ```
///
/// While the gate is held elsewhere, an open circuit stays open past its own deadline and calls are
/// rejected without taking the lock, until the gate's deadline (then the gate falls back to ``local``)
/// or until the storage changes it.
public struct TrialGate: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case local
        case heldHere
        case heldElsewhere(Duration)
    }
    let kind: Kind

    /// This instance decides alone when to start trials (the default).
    public static let local = TrialGate(kind: .local)
    /// This instance holds the fleet's trial lease: it starts trials when its open period ends.
    public static let heldHere = TrialGate(kind: .heldHere)
    /// Another instance holds the trial lease for up to `duration` from now: keep rejecting until its
    /// outcome arrives (as a change applied to the circuit) or the time runs out.
    public static func heldElsewhere(for duration: Duration) -> TrialGate { TrialGate(kind: .heldElsewhere(duration)) }

    /// `local`, `held here` or `held elsewhere for 5.0 seconds`.
    public var description: String {
        switch kind {
        case .local: "local"
        case .heldHere: "held here"
        case .heldElsewhere(let duration): "held elsewhere for \(duration)"
        }
    }
}
