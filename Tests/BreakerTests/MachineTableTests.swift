@testable import Breaker
import Testing

/// The pure state machine, event by event: one table row per (starting state, event) pair, run on a
/// fresh ``CircuitMachine`` put in its starting state by its own events, with concrete clock readings.
///
/// The policy: one counted failure in a row trips (`failMax` 1), open for 10 s (fixed), one trial at a
/// time, one successful trial closes, a trial is given up after 5 s.
@Suite("CircuitMachine transition table")
struct MachineTableTests {
    // MARK: The policy and the clock

    /// Whole seconds on the machine's time line.
    static func sec(_ seconds: Int64) -> Nanoseconds { seconds * 1_000_000_000 }

    static let policy: MachinePolicy = {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 1
        configuration.resetTimeout = .seconds(10)
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: 1, successesToClose: 1, maxTrialDuration: .seconds(5))
        return MachinePolicy(configuration)
    }()

    /// `force(.open)` in the table opens for this long (not `resetTimeout`, to tell them apart).
    static let forcedOpenFor = sec(20)
    /// The newer remote snapshot: open with 30 s left, at epoch 50 from origin 9.
    static let remoteEpoch: UInt64 = 50
    static let newerSnapshot = CircuitSnapshot(state: .open, consecutiveTrips: 1, openRemaining: .seconds(30), epoch: remoteEpoch, origin: 9)
    /// A gate held elsewhere in the table lasts this long from the event's clock reading.
    static let gateFor = sec(4)
    static let never = Nanoseconds.max

    // MARK: Starting states

    /// A machine in one starting state, with the tickets a caller could still hold, and the clock
    /// reading of the event under test.
    struct Situation {
        var machine: CircuitMachine
        /// A non-trial ticket taken while the circuit was closed. In closed, disabled and metrics-only it
        /// is of the current generation; everywhere else the circuit has moved on since, so it is stale.
        var closedTicket: Ticket
        /// The running trial, where one is in flight.
        var trialTicket: Ticket?
        /// A ticket of an earlier generation than the current one.
        var staleTicket: Ticket
        var now: Nanoseconds
    }

    struct SetupFailed: Error, CustomStringConvertible { var description: String }

    enum Start: String, CaseIterable, Sendable, CustomStringConvertible {
        /// Ticket A taken at 100 s, then `force(.closed)` at 100 s (epoch 1, generation 1, A stale);
        /// ticket B taken at 101 s; event at 102 s.
        case closed
        /// Tickets taken at 100 s, one fails at 100 s: open until 110 s (epoch 1); event at 105 s.
        case openBeforeDeadline
        /// As above; event at 112 s.
        case openPastDeadline
        /// Tripped at 100 s, trial admitted at 110 s (half-open, epoch 2), the trial ends ignored at
        /// 111 s: the slot is free again; event at 112 s.
        case halfOpenFree
        /// Tripped at 100 s, trial admitted at 110 s and still running (its deadline is 115 s); event at 112 s.
        case halfOpenFull
        /// As above; event at 116 s, past the trial's 5 s.
        case halfOpenTrialOverdue
        /// Ticket taken at 100 s, then `setMode(.forcedOpen)` at 100 s (epoch 1); event at 105 s.
        case forcedOpen
        /// Ticket A taken at 100 s, `setMode(.disabled)` at 100 s (epoch 1), ticket B at 101 s; event at 102 s.
        case disabled
        /// As `disabled`, with `setMode(.metricsOnly)`.
        case metricsOnly

        var description: String {
            switch self {
            case .closed: "closed"
            case .openBeforeDeadline: "open (before deadline)"
            case .openPastDeadline: "open (deadline passed)"
            case .halfOpenFree: "half-open (slot free)"
            case .halfOpenFull: "half-open (slots full)"
            case .halfOpenTrialOverdue: "half-open (trial overdue)"
            case .forcedOpen: "forced open"
            case .disabled: "disabled"
            case .metricsOnly: "metrics-only"
            }
        }

        /// What the setup must have produced: state, mode, trials in flight, epoch.
        var expected: (state: CircuitState, mode: OperatingMode, trials: Int, epoch: UInt64) {
            switch self {
            case .closed: (.closed, .normal, 0, 1)
            case .openBeforeDeadline, .openPastDeadline: (.open, .normal, 0, 1)
            case .halfOpenFree: (.halfOpen, .normal, 0, 2)
            case .halfOpenFull, .halfOpenTrialOverdue: (.halfOpen, .normal, 1, 2)
            case .forcedOpen: (.open, .forcedOpen, 0, 1)
            case .disabled: (.closed, .disabled, 0, 1)
            case .metricsOnly: (.closed, .metricsOnly, 0, 1)
            }
        }

        func make() throws -> Situation {
            let p = MachineTableTests.policy
            var m = CircuitMachine(localOrigin: 1)
            switch self {
            case .closed:
                let stale = try admitted(m.admit(now: sec(100), policy: p).decision)
                _ = m.force(.closed, now: sec(100), openFor: p.resetTimeout)
                let ticket = try admitted(m.admit(now: sec(101), policy: p).decision)
                return Situation(machine: m, closedTicket: ticket, staleTicket: stale, now: sec(102))
            case .openBeforeDeadline, .openPastDeadline:
                let ticket = try trip(&m)
                return Situation(machine: m, closedTicket: ticket, staleTicket: ticket, now: self == .openBeforeDeadline ? sec(105) : sec(112))
            case .halfOpenFree:
                let ticket = try trip(&m)
                let trial = try admitted(m.admit(now: sec(110), policy: p).decision)
                _ = m.record(.ignored, slow: false, ticket: trial, now: sec(111), policy: p)
                return Situation(machine: m, closedTicket: ticket, staleTicket: ticket, now: sec(112))
            case .halfOpenFull, .halfOpenTrialOverdue:
                let ticket = try trip(&m)
                let trial = try admitted(m.admit(now: sec(110), policy: p).decision)
                return Situation(
                    machine: m, closedTicket: ticket, trialTicket: trial, staleTicket: ticket, now: self == .halfOpenFull ? sec(112) : sec(116))
            case .forcedOpen:
                let ticket = try admitted(m.admit(now: sec(100), policy: p).decision)
                _ = m.setMode(.forcedOpen, now: sec(100), policy: p)
                return Situation(machine: m, closedTicket: ticket, staleTicket: ticket, now: sec(105))
            case .disabled, .metricsOnly:
                let stale = try admitted(m.admit(now: sec(100), policy: p).decision)
                _ = m.setMode(self == .disabled ? .disabled : .metricsOnly, now: sec(100), policy: p)
                let ticket = try admitted(m.admit(now: sec(101), policy: p).decision)
                return Situation(machine: m, closedTicket: ticket, staleTicket: stale, now: sec(102))
            }
        }

        /// Admits a ticket to keep and one to fail at 100 s; the failure opens the circuit until 110 s.
        /// Returns the kept (closed-generation) ticket.
        private func trip(_ m: inout CircuitMachine) throws -> Ticket {
            let p = MachineTableTests.policy
            let kept = try admitted(m.admit(now: sec(100), policy: p).decision)
            let failing = try admitted(m.admit(now: sec(100), policy: p).decision)
            guard case .opened = m.record(.failure, slow: false, ticket: failing, now: sec(100), policy: p).decision else {
                throw SetupFailed(description: "\(self): the failure did not trip")
            }
            return kept
        }
    }

    static func admitted(_ admission: Admission) throws -> Ticket {
        guard case .admitted(let ticket) = admission else { throw SetupFailed(description: "not admitted: \(admission)") }
        return ticket
    }

    // MARK: Events

    enum Event: String, CaseIterable, Sendable, CustomStringConvertible {
        case admit
        case closedSuccess, closedFailure, closedIgnored
        case trialSuccess, trialFailure
        case staleFailure
        case forceOpen, forceHalfOpen, forceClosed
        case modeNormal, modeDisabled, modeForcedOpen, modeMetricsOnly
        case remoteNewer, remoteOlder
        case gateThenAdmit

        var description: String {
            switch self {
            case .admit: "admit"
            case .closedSuccess: "record success (closed ticket)"
            case .closedFailure: "record failure (closed ticket)"
            case .closedIgnored: "record ignored (closed ticket)"
            case .trialSuccess: "record success (trial ticket)"
            case .trialFailure: "record failure (trial ticket)"
            case .staleFailure: "record failure (stale generation)"
            case .forceOpen: "force(.open, 20 s)"
            case .forceHalfOpen: "force(.halfOpen)"
            case .forceClosed: "force(.closed)"
            case .modeNormal: "setMode(.normal)"
            case .modeDisabled: "setMode(.disabled)"
            case .modeForcedOpen: "setMode(.forcedOpen)"
            case .modeMetricsOnly: "setMode(.metricsOnly)"
            case .remoteNewer: "applyRemote(newer: open 30 s, epoch 50)"
            case .remoteOlder: "applyRemote(older: same epoch, lower origin)"
            case .gateThenAdmit: "setGate(.heldElsewhere(now + 4 s)), admit"
            }
        }

        /// Runs the event on `situation` at its clock reading; returns the decision and the changes.
        func run(on situation: inout Situation) throws -> (Decision, [MachineChange]) {
            let p = MachineTableTests.policy
            let now = situation.now
            func record(_ outcome: CallOutcome, _ ticket: Ticket) -> (Decision, [MachineChange]) {
                let step = situation.machine.record(outcome, slow: false, ticket: ticket, now: now, policy: p)
                return (Decision(step.decision), step.changes.all)
            }
            func done(_ step: MachineStep<Void>) -> (Decision, [MachineChange]) { (.done, step.changes.all) }
            switch self {
            case .admit:
                let step = situation.machine.admit(now: now, policy: p)
                return (Decision(step.decision), step.changes.all)
            case .closedSuccess: return record(.success, situation.closedTicket)
            case .closedFailure: return record(.failure, situation.closedTicket)
            case .closedIgnored: return record(.ignored, situation.closedTicket)
            case .trialSuccess, .trialFailure:
                guard let trial = situation.trialTicket else { throw SetupFailed(description: "no trial in flight") }
                return record(self == .trialSuccess ? .success : .failure, trial)
            case .staleFailure: return record(.failure, situation.staleTicket)
            case .forceOpen: return done(situation.machine.force(.open, now: now, openFor: MachineTableTests.forcedOpenFor))
            case .forceHalfOpen: return done(situation.machine.force(.halfOpen, now: now, openFor: p.resetTimeout))
            case .forceClosed: return done(situation.machine.force(.closed, now: now, openFor: p.resetTimeout))
            case .modeNormal: return done(situation.machine.setMode(.normal, now: now, policy: p))
            case .modeDisabled: return done(situation.machine.setMode(.disabled, now: now, policy: p))
            case .modeForcedOpen: return done(situation.machine.setMode(.forcedOpen, now: now, policy: p))
            case .modeMetricsOnly: return done(situation.machine.setMode(.metricsOnly, now: now, policy: p))
            case .remoteNewer:
                let step = situation.machine.applyRemote(MachineTableTests.newerSnapshot, now: now, policy: p)
                return (.applied(step.decision), step.changes.all)
            case .remoteOlder:
                // Same epoch as the machine's latest change, from a lower origin (0 < local origin 1): older.
                let older = CircuitSnapshot(state: .halfOpen, epoch: situation.machine.epoch, origin: 0)
                let step = situation.machine.applyRemote(older, now: now, policy: p)
                return (.applied(step.decision), step.changes.all)
            case .gateThenAdmit:
                situation.machine.setGate(.heldElsewhere(until: now + MachineTableTests.gateFor))
                let step = situation.machine.admit(now: now, policy: p)
                return (Decision(step.decision), step.changes.all)
            }
        }
    }

    // MARK: Expectations

    /// What a step decided, in a form the table can state.
    enum Decision: Equatable, Sendable, CustomStringConvertible {
        case admittedTrial
        case admittedNonTrial
        case rejected(retryAfter: Nanoseconds)
        case rejectedWithReopen
        case needsClock
        case dropped
        case counted
        case opened(TransitionCause.Kind, retryAfter: Nanoseconds)
        case tripRequested
        case evaluateRule
        /// A manual transition or mode change (no decision).
        case done
        /// `applyRemote`: whether the snapshot was taken.
        case applied(Bool)

        init(_ admission: Admission) {
            switch admission {
            case .admitted(let ticket): self = ticket.isTrial ? .admittedTrial : .admittedNonTrial
            case .rejected(let retryAfter, nil): self = .rejected(retryAfter: retryAfter)
            case .rejected(_, .some): self = .rejectedWithReopen
            case .needsClock: self = .needsClock
            }
        }

        init(_ result: RecordResult) {
            switch result {
            case .dropped: self = .dropped
            case .counted: self = .counted
            case .opened(let cause, let retryAfter): self = .opened(cause.kind, retryAfter: retryAfter)
            case .tripRequested: self = .tripRequested
            case .evaluateRule: self = .evaluateRule
            }
        }

        var description: String {
            switch self {
            case .admittedTrial: "admitted as trial"
            case .admittedNonTrial: "admitted (not a trial)"
            case .rejected(let retryAfter): "rejected, retry after \(MachineTableTests.show(retryAfter))"
            case .rejectedWithReopen: "rejected with a reopen request"
            case .needsClock: "needs a clock reading"
            case .dropped: "dropped"
            case .counted: "counted"
            case .opened(let kind, let retryAfter): "opened (\(kind)), retry after \(MachineTableTests.show(retryAfter))"
            case .tripRequested: "trip requested"
            case .evaluateRule: "evaluate the custom rule"
            case .done: "done"
            case .applied(let applied): applied ? "applied" : "not applied"
            }
        }
    }

    /// One committed change: from, to, why, whether a state was entered, and the open deadline it reports.
    struct Change: Equatable, Sendable, CustomStringConvertible {
        var from: CircuitState
        var to: CircuitState
        var cause: TransitionCause.Kind
        var isTransition: Bool
        var openUntil: Nanoseconds?

        init(from: CircuitState, to: CircuitState, cause: TransitionCause.Kind, isTransition: Bool, openUntil: Nanoseconds?) {
            self.from = from
            self.to = to
            self.cause = cause
            self.isTransition = isTransition
            self.openUntil = openUntil
        }

        init(_ change: MachineChange) {
            self.init(
                from: change.previousState, to: change.state, cause: change.cause.kind, isTransition: change.isTransition,
                openUntil: change.openUntil)
        }

        var description: String {
            "\(from) → \(to) (\(cause)\(isTransition ? "" : ", not a transition")\(openUntil.map { ", open until \(MachineTableTests.show($0))" } ?? ""))"
        }
    }

    enum EpochChange: Equatable, Sendable, CustomStringConvertible {
        /// Local changes: the epoch grows by this much.
        case plus(UInt64)
        /// A remote change: the epoch becomes the snapshot's.
        case set(UInt64)

        var description: String {
            switch self {
            case .plus(let n): "epoch +\(n)"
            case .set(let n): "epoch = \(n)"
            }
        }
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var start: Start
        var event: Event
        var decision: Decision
        var state: CircuitState
        var mode: OperatingMode
        var changes: [Change]
        var epoch: EpochChange

        var testDescription: String { "\(start) · \(event)" }
    }

    static func show(_ nanoseconds: Nanoseconds) -> String {
        if nanoseconds == .max { return "∞" }
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000) s" }
        return "\(Double(nanoseconds) / 1e9) s"
    }

    // MARK: The table

    /// A transition (the circuit entered `to`); `until` is the open deadline the change reports.
    static func entered(_ from: CircuitState, _ to: CircuitState, _ cause: TransitionCause.Kind, until: Nanoseconds? = nil) -> Change {
        Change(from: from, to: to, cause: cause, isTransition: true, openUntil: until)
    }

    /// A change that entered no state (same state, new mode, deadline or epoch).
    static func stayed(_ state: CircuitState, _ cause: TransitionCause.Kind, until: Nanoseconds? = nil) -> Change {
        Change(from: state, to: state, cause: cause, isTransition: false, openUntil: until)
    }

    static func row(
        _ start: Start, _ event: Event, _ decision: Decision, _ state: CircuitState, _ mode: OperatingMode = .normal,
        _ changes: [Change] = [], _ epoch: EpochChange = .plus(0)
    ) -> Row {
        Row(start: start, event: event, decision: decision, state: state, mode: mode, changes: changes, epoch: epoch)
    }

    /// Pairs with no row, and why.
    static let skipped: [(Start, Event, String)] = [
        (.closed, .trialSuccess, "no trial runs in closed: a trial ticket here is from an earlier generation (stale row)"),
        (.closed, .trialFailure, "as above"),
        (.openBeforeDeadline, .trialSuccess, "no trial runs in open: any trial ticket is stale (stale row)"),
        (.openBeforeDeadline, .trialFailure, "as above"),
        (.openPastDeadline, .trialSuccess, "as above"),
        (.openPastDeadline, .trialFailure, "as above"),
        (.halfOpenFree, .trialSuccess, "one permitted trial: a free slot means no trial in flight"),
        (.halfOpenFree, .trialFailure, "as above"),
        (.forcedOpen, .trialSuccess, "no trial runs when forced open (stale row)"),
        (.forcedOpen, .trialFailure, "as above"),
        (.disabled, .trialSuccess, "disabled admits no trials"),
        (.disabled, .trialFailure, "as above"),
        (.metricsOnly, .trialSuccess, "metrics-only admits no trials"),
        (.metricsOnly, .trialFailure, "as above"),
    ]

    // Reading a row: start · event → decision, state [mode] afterwards, changes (from → to, cause, open
    // deadline on the machine's time line), epoch. `.open` targets of force/remote report their deadline:
    // force(.open) opens for 20 s, the newer snapshot for 30 s, a trip for 10 s; forced open is ∞.
    static let rows: [Row] = {
        let never = MachineTableTests.never
        let remote = EpochChange.set(remoteEpoch)
        return [
            // Closed (event at 102 s).
            row(.closed, .admit, .admittedNonTrial, .closed),
            row(.closed, .closedSuccess, .counted, .closed),
            row(.closed, .closedFailure, .opened(.consecutiveFailures, retryAfter: sec(10)), .open, .normal,
                [entered(.closed, .open, .consecutiveFailures, until: sec(112))], .plus(1)),
            row(.closed, .closedIgnored, .counted, .closed),
            row(.closed, .staleFailure, .dropped, .closed),
            row(.closed, .forceOpen, .done, .open, .normal, [entered(.closed, .open, .manual, until: sec(122))], .plus(1)),
            row(.closed, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.closed, .halfOpen, .manual)], .plus(1)),
            row(.closed, .forceClosed, .done, .closed, .normal, [entered(.closed, .closed, .manual)], .plus(1)),
            row(.closed, .modeNormal, .done, .closed),
            row(.closed, .modeDisabled, .done, .closed, .disabled, [entered(.closed, .closed, .modeChanged)], .plus(1)),
            row(.closed, .modeForcedOpen, .done, .open, .forcedOpen, [entered(.closed, .open, .modeChanged, until: never)], .plus(1)),
            row(.closed, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.closed, .closed, .modeChanged)], .plus(1)),
            row(.closed, .remoteNewer, .applied(true), .open, .normal, [entered(.closed, .open, .remote, until: sec(132))], remote),
            row(.closed, .remoteOlder, .applied(false), .closed),
            row(.closed, .gateThenAdmit, .admittedNonTrial, .closed),

            // Open, before its deadline (open until 110 s; event at 105 s). Closed tickets are stale here.
            row(.openBeforeDeadline, .admit, .rejected(retryAfter: sec(5)), .open),
            row(.openBeforeDeadline, .closedSuccess, .dropped, .open),
            row(.openBeforeDeadline, .closedFailure, .dropped, .open),
            row(.openBeforeDeadline, .closedIgnored, .dropped, .open),
            row(.openBeforeDeadline, .staleFailure, .dropped, .open),
            row(.openBeforeDeadline, .forceOpen, .done, .open, .normal, [entered(.open, .open, .manual, until: sec(125))], .plus(1)),
            row(.openBeforeDeadline, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.open, .halfOpen, .manual)], .plus(1)),
            row(.openBeforeDeadline, .forceClosed, .done, .closed, .normal, [entered(.open, .closed, .manual)], .plus(1)),
            row(.openBeforeDeadline, .modeNormal, .done, .open),
            row(.openBeforeDeadline, .modeDisabled, .done, .closed, .disabled, [entered(.open, .closed, .modeChanged)], .plus(1)),
            row(.openBeforeDeadline, .modeForcedOpen, .done, .open, .forcedOpen, [entered(.open, .open, .modeChanged, until: never)], .plus(1)),
            row(.openBeforeDeadline, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.open, .closed, .modeChanged)], .plus(1)),
            row(.openBeforeDeadline, .remoteNewer, .applied(true), .open, .normal, [stayed(.open, .remote, until: sec(135))], remote),
            row(.openBeforeDeadline, .remoteOlder, .applied(false), .open),
            // The open period (5 s left) is checked before the gate (4 s).
            row(.openBeforeDeadline, .gateThenAdmit, .rejected(retryAfter: sec(5)), .open),

            // Open, deadline passed (open until 110 s; event at 112 s).
            row(.openPastDeadline, .admit, .admittedTrial, .halfOpen, .normal, [entered(.open, .halfOpen, .openPeriodElapsed)], .plus(1)),
            row(.openPastDeadline, .closedSuccess, .dropped, .open),
            row(.openPastDeadline, .closedFailure, .dropped, .open),
            row(.openPastDeadline, .closedIgnored, .dropped, .open),
            row(.openPastDeadline, .staleFailure, .dropped, .open),
            row(.openPastDeadline, .forceOpen, .done, .open, .normal, [entered(.open, .open, .manual, until: sec(132))], .plus(1)),
            row(.openPastDeadline, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.open, .halfOpen, .manual)], .plus(1)),
            row(.openPastDeadline, .forceClosed, .done, .closed, .normal, [entered(.open, .closed, .manual)], .plus(1)),
            row(.openPastDeadline, .modeNormal, .done, .open),
            row(.openPastDeadline, .modeDisabled, .done, .closed, .disabled, [entered(.open, .closed, .modeChanged)], .plus(1)),
            row(.openPastDeadline, .modeForcedOpen, .done, .open, .forcedOpen, [entered(.open, .open, .modeChanged, until: never)], .plus(1)),
            row(.openPastDeadline, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.open, .closed, .modeChanged)], .plus(1)),
            row(.openPastDeadline, .remoteNewer, .applied(true), .open, .normal, [stayed(.open, .remote, until: sec(142))], remote),
            row(.openPastDeadline, .remoteOlder, .applied(false), .open),
            // Period over, but the gate is held elsewhere for 4 s more: no half-open here yet.
            row(.openPastDeadline, .gateThenAdmit, .rejected(retryAfter: sec(4)), .open),

            // Half-open with the trial slot free (event at 112 s).
            row(.halfOpenFree, .admit, .admittedTrial, .halfOpen),
            row(.halfOpenFree, .closedSuccess, .dropped, .halfOpen),
            row(.halfOpenFree, .closedFailure, .dropped, .halfOpen),
            row(.halfOpenFree, .closedIgnored, .dropped, .halfOpen),
            row(.halfOpenFree, .staleFailure, .dropped, .halfOpen),
            row(.halfOpenFree, .forceOpen, .done, .open, .normal, [entered(.halfOpen, .open, .manual, until: sec(132))], .plus(1)),
            row(.halfOpenFree, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.halfOpen, .halfOpen, .manual)], .plus(1)),
            row(.halfOpenFree, .forceClosed, .done, .closed, .normal, [entered(.halfOpen, .closed, .manual)], .plus(1)),
            row(.halfOpenFree, .modeNormal, .done, .halfOpen),
            row(.halfOpenFree, .modeDisabled, .done, .closed, .disabled, [entered(.halfOpen, .closed, .modeChanged)], .plus(1)),
            row(.halfOpenFree, .modeForcedOpen, .done, .open, .forcedOpen, [entered(.halfOpen, .open, .modeChanged, until: never)], .plus(1)),
            row(.halfOpenFree, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.halfOpen, .closed, .modeChanged)], .plus(1)),
            row(.halfOpenFree, .remoteNewer, .applied(true), .open, .normal, [entered(.halfOpen, .open, .remote, until: sec(142))], remote),
            row(.halfOpenFree, .remoteOlder, .applied(false), .halfOpen),
            row(.halfOpenFree, .gateThenAdmit, .rejected(retryAfter: sec(4)), .halfOpen),

            // Half-open, the one slot taken by a trial admitted at 110 s (deadline 115 s; event at 112 s).
            row(.halfOpenFull, .admit, .rejected(retryAfter: sec(3)), .halfOpen),
            row(.halfOpenFull, .closedSuccess, .dropped, .halfOpen),
            row(.halfOpenFull, .closedFailure, .dropped, .halfOpen),
            row(.halfOpenFull, .closedIgnored, .dropped, .halfOpen),
            row(.halfOpenFull, .trialSuccess, .counted, .closed, .normal, [entered(.halfOpen, .closed, .trialsSucceeded)], .plus(1)),
            row(.halfOpenFull, .trialFailure, .opened(.trialFailed, retryAfter: sec(10)), .open, .normal,
                [entered(.halfOpen, .open, .trialFailed, until: sec(122))], .plus(1)),
            row(.halfOpenFull, .staleFailure, .dropped, .halfOpen),
            row(.halfOpenFull, .forceOpen, .done, .open, .normal, [entered(.halfOpen, .open, .manual, until: sec(132))], .plus(1)),
            row(.halfOpenFull, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.halfOpen, .halfOpen, .manual)], .plus(1)),
            row(.halfOpenFull, .forceClosed, .done, .closed, .normal, [entered(.halfOpen, .closed, .manual)], .plus(1)),
            row(.halfOpenFull, .modeNormal, .done, .halfOpen),
            row(.halfOpenFull, .modeDisabled, .done, .closed, .disabled, [entered(.halfOpen, .closed, .modeChanged)], .plus(1)),
            row(.halfOpenFull, .modeForcedOpen, .done, .open, .forcedOpen, [entered(.halfOpen, .open, .modeChanged, until: never)], .plus(1)),
            row(.halfOpenFull, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.halfOpen, .closed, .modeChanged)], .plus(1)),
            row(.halfOpenFull, .remoteNewer, .applied(true), .open, .normal, [entered(.halfOpen, .open, .remote, until: sec(142))], remote),
            row(.halfOpenFull, .remoteOlder, .applied(false), .halfOpen),
            // The gate (4 s) is checked before the full slots (3 s to the trial's deadline).
            row(.halfOpenFull, .gateThenAdmit, .rejected(retryAfter: sec(3)), .halfOpen),  // busy until the trial's deadline, as retryAfter and the published word say

            // Half-open, the trial admitted at 110 s is past its 5 s (event at 116 s).
            row(.halfOpenTrialOverdue, .admit, .rejected(retryAfter: sec(10)), .open, .normal,
                [entered(.halfOpen, .open, .trialTimedOut, until: sec(126))], .plus(1)),
            row(.halfOpenTrialOverdue, .closedSuccess, .dropped, .halfOpen),
            row(.halfOpenTrialOverdue, .closedFailure, .dropped, .halfOpen),
            row(.halfOpenTrialOverdue, .closedIgnored, .dropped, .halfOpen),
            // The deadline is enforced lazily, by the next admission: a late trial that reports first still counts.
            row(.halfOpenTrialOverdue, .trialSuccess, .counted, .closed, .normal, [entered(.halfOpen, .closed, .trialsSucceeded)], .plus(1)),
            row(.halfOpenTrialOverdue, .trialFailure, .opened(.trialFailed, retryAfter: sec(10)), .open, .normal,
                [entered(.halfOpen, .open, .trialFailed, until: sec(126))], .plus(1)),
            row(.halfOpenTrialOverdue, .staleFailure, .dropped, .halfOpen),
            row(.halfOpenTrialOverdue, .forceOpen, .done, .open, .normal, [entered(.halfOpen, .open, .manual, until: sec(136))], .plus(1)),
            row(.halfOpenTrialOverdue, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.halfOpen, .halfOpen, .manual)], .plus(1)),
            row(.halfOpenTrialOverdue, .forceClosed, .done, .closed, .normal, [entered(.halfOpen, .closed, .manual)], .plus(1)),
            row(.halfOpenTrialOverdue, .modeNormal, .done, .halfOpen),
            row(.halfOpenTrialOverdue, .modeDisabled, .done, .closed, .disabled, [entered(.halfOpen, .closed, .modeChanged)], .plus(1)),
            row(.halfOpenTrialOverdue, .modeForcedOpen, .done, .open, .forcedOpen,
                [entered(.halfOpen, .open, .modeChanged, until: never)], .plus(1)),
            row(.halfOpenTrialOverdue, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.halfOpen, .closed, .modeChanged)], .plus(1)),
            row(.halfOpenTrialOverdue, .remoteNewer, .applied(true), .open, .normal,
                [entered(.halfOpen, .open, .remote, until: sec(146))], remote),
            row(.halfOpenTrialOverdue, .remoteOlder, .applied(false), .halfOpen),
            // The overdue trial is given up before the gate is consulted.
            row(.halfOpenTrialOverdue, .gateThenAdmit, .rejected(retryAfter: sec(10)), .open, .normal,
                [entered(.halfOpen, .open, .trialTimedOut, until: sec(126))], .plus(1)),

            // Forced open (since 100 s; event at 105 s). Manual transitions return the mode to normal.
            row(.forcedOpen, .admit, .rejected(retryAfter: never), .open, .forcedOpen),
            row(.forcedOpen, .closedSuccess, .dropped, .open, .forcedOpen),
            row(.forcedOpen, .closedFailure, .dropped, .open, .forcedOpen),
            row(.forcedOpen, .closedIgnored, .dropped, .open, .forcedOpen),
            row(.forcedOpen, .staleFailure, .dropped, .open, .forcedOpen),
            row(.forcedOpen, .forceOpen, .done, .open, .normal, [entered(.open, .open, .manual, until: sec(125))], .plus(1)),
            row(.forcedOpen, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.open, .halfOpen, .manual)], .plus(1)),
            row(.forcedOpen, .forceClosed, .done, .closed, .normal, [entered(.open, .closed, .manual)], .plus(1)),
            // Released: an ordinary open period of resetTimeout from now.
            row(.forcedOpen, .modeNormal, .done, .open, .normal, [stayed(.open, .modeChanged, until: sec(115))], .plus(1)),
            row(.forcedOpen, .modeDisabled, .done, .closed, .disabled, [entered(.open, .closed, .modeChanged)], .plus(1)),
            // Entered again and heard, though it was the mode already.
            row(.forcedOpen, .modeForcedOpen, .done, .open, .forcedOpen, [entered(.open, .open, .modeChanged, until: never)], .plus(1)),
            row(.forcedOpen, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.open, .closed, .modeChanged)], .plus(1)),
            // The snapshot's mode (normal) replaces forced open.
            row(.forcedOpen, .remoteNewer, .applied(true), .open, .normal, [stayed(.open, .remote, until: sec(135))], remote),
            row(.forcedOpen, .remoteOlder, .applied(false), .open, .forcedOpen),
            row(.forcedOpen, .gateThenAdmit, .rejected(retryAfter: never), .open, .forcedOpen),

            // Disabled (since 100 s; event at 102 s). Nothing is recorded.
            row(.disabled, .admit, .admittedNonTrial, .closed, .disabled),
            row(.disabled, .closedSuccess, .dropped, .closed, .disabled),
            row(.disabled, .closedFailure, .dropped, .closed, .disabled),
            row(.disabled, .closedIgnored, .dropped, .closed, .disabled),
            row(.disabled, .staleFailure, .dropped, .closed, .disabled),
            row(.disabled, .forceOpen, .done, .open, .normal, [entered(.closed, .open, .manual, until: sec(122))], .plus(1)),
            row(.disabled, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.closed, .halfOpen, .manual)], .plus(1)),
            row(.disabled, .forceClosed, .done, .closed, .normal, [entered(.closed, .closed, .manual)], .plus(1)),
            row(.disabled, .modeNormal, .done, .closed, .normal, [stayed(.closed, .modeChanged)], .plus(1)),
            row(.disabled, .modeDisabled, .done, .closed, .disabled, [entered(.closed, .closed, .modeChanged)], .plus(1)),
            row(.disabled, .modeForcedOpen, .done, .open, .forcedOpen, [entered(.closed, .open, .modeChanged, until: never)], .plus(1)),
            row(.disabled, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.closed, .closed, .modeChanged)], .plus(1)),
            row(.disabled, .remoteNewer, .applied(true), .open, .normal, [entered(.closed, .open, .remote, until: sec(132))], remote),
            row(.disabled, .remoteOlder, .applied(false), .closed, .disabled),
            row(.disabled, .gateThenAdmit, .admittedNonTrial, .closed, .disabled),

            // Metrics-only (since 100 s; event at 102 s). Outcomes count, but never trip.
            row(.metricsOnly, .admit, .admittedNonTrial, .closed, .metricsOnly),
            row(.metricsOnly, .closedSuccess, .counted, .closed, .metricsOnly),
            row(.metricsOnly, .closedFailure, .counted, .closed, .metricsOnly),
            row(.metricsOnly, .closedIgnored, .counted, .closed, .metricsOnly),
            row(.metricsOnly, .staleFailure, .dropped, .closed, .metricsOnly),
            row(.metricsOnly, .forceOpen, .done, .open, .normal, [entered(.closed, .open, .manual, until: sec(122))], .plus(1)),
            row(.metricsOnly, .forceHalfOpen, .done, .halfOpen, .normal, [entered(.closed, .halfOpen, .manual)], .plus(1)),
            row(.metricsOnly, .forceClosed, .done, .closed, .normal, [entered(.closed, .closed, .manual)], .plus(1)),
            row(.metricsOnly, .modeNormal, .done, .closed, .normal, [stayed(.closed, .modeChanged)], .plus(1)),
            row(.metricsOnly, .modeDisabled, .done, .closed, .disabled, [entered(.closed, .closed, .modeChanged)], .plus(1)),
            row(.metricsOnly, .modeForcedOpen, .done, .open, .forcedOpen, [entered(.closed, .open, .modeChanged, until: never)], .plus(1)),
            row(.metricsOnly, .modeMetricsOnly, .done, .closed, .metricsOnly, [entered(.closed, .closed, .modeChanged)], .plus(1)),
            row(.metricsOnly, .remoteNewer, .applied(true), .open, .normal, [entered(.closed, .open, .remote, until: sec(132))], remote),
            row(.metricsOnly, .remoteOlder, .applied(false), .closed, .metricsOnly),
            row(.metricsOnly, .gateThenAdmit, .admittedNonTrial, .closed, .metricsOnly),
        ]
    }()

    // MARK: Running the table

    @Test("transition table", arguments: rows)
    func transition(_ row: Row) throws {
        var situation = try row.start.make()
        let epochBefore = situation.machine.epoch
        let modeBefore = situation.machine.mode

        let (decision, committed) = try row.event.run(on: &situation)
        let machine = situation.machine

        #expect(decision == row.decision)
        #expect(machine.state == row.state)
        #expect(machine.mode == row.mode)
        #expect(committed.map(Change.init) == row.changes)
        switch row.epoch {
        case .plus(let n): #expect(machine.epoch == epochBefore + n, "\(row.epoch)")
        case .set(let n): #expect(machine.epoch == n, "\(row.epoch)")
        }

        // Every change is numbered: local ones one by one from the epoch before, stamped with the local
        // origin; a remote one with the snapshot's epoch and origin.
        for (index, change) in committed.enumerated() {
            switch row.epoch {
            case .plus: #expect(change.epoch == epochBefore + UInt64(index) + 1 && change.origin == machine.localOrigin)
            case .set(let n): #expect(change.epoch == n && change.origin == Self.newerSnapshot.origin)
            }
        }
        // The first change starts from the mode the machine was in; the last one ends where the machine is.
        #expect(committed.first.map { $0.previousMode == modeBefore } ?? true)
        if let last = committed.last {
            #expect(last.state == machine.state && last.mode == machine.mode && last.epoch == machine.epoch)
        }
        // An open circuit's deadline in the change is the machine's (∞ when forced open).
        if let last = committed.last, last.state == .open, machine.mode == .normal {
            #expect(last.openUntil == machine.openUntil)
        }
    }

    @Test func theTableCoversEveryPairExactlyOnce() {
        var seen: [String: Int] = [:]
        for row in Self.rows { seen["\(row.start.rawValue)/\(row.event.rawValue)", default: 0] += 1 }
        for (start, event, _) in Self.skipped { seen["\(start.rawValue)/\(event.rawValue)", default: 0] += 1 }
        for start in Start.allCases {
            for event in Event.allCases {
                let count = seen["\(start.rawValue)/\(event.rawValue)", default: 0]
                #expect(count == 1, "\(start) · \(event): \(count) rows or skips")
            }
        }
        #expect(seen.count == Start.allCases.count * Event.allCases.count)
    }

    @Test(arguments: Start.allCases)
    func eachStartingStateIsWhatItSays(_ start: Start) throws {
        let situation = try start.make()
        let expected = start.expected
        #expect(situation.machine.state == expected.state)
        #expect(situation.machine.mode == expected.mode)
        #expect(situation.machine.trialsInFlight == expected.trials)
        #expect(situation.machine.epoch == expected.epoch)
        #expect(situation.staleTicket.generation != situation.machine.generation)
        #expect(situation.trialTicket.map { $0.isTrial && $0.generation == situation.machine.generation } ?? true)
    }

    // MARK: Focused tests

    /// A trial past `maxTrialDuration` is given up by the next admission, in the same step that
    /// rejects it: half-open → open (trial timed out), open for `resetTimeout` from now.
    @Test func anOverdueTrialIsGivenUpByTheNextAdmission() throws {
        var situation = try Start.halfOpenTrialOverdue.make()
        let before = situation.machine.epoch
        let step = situation.machine.admit(now: Self.sec(116), policy: Self.policy)

        #expect(Decision(step.decision) == .rejected(retryAfter: Self.sec(10)))
        let changes = step.changes.all
        // One change: the step does not pass through another state on the way.
        #expect(changes.count == 1)
        #expect(step.changes.second == nil)
        let change = try #require(changes.first)
        #expect(change.previousState == .halfOpen && change.state == .open)
        #expect(change.cause.kind == .trialTimedOut && change.isTransition)
        #expect(change.openUntil == Self.sec(126) && change.epoch == before + 1)
        #expect(situation.machine.trialsInFlight == 0 && situation.machine.consecutiveTrips == 2)

        // The given-up trial's late outcome belongs to the old generation.
        let late = try #require(situation.trialTicket)
        let record = situation.machine.record(.success, slow: false, ticket: late, now: Self.sec(117), policy: Self.policy)
        #expect(Decision(record.decision) == .dropped && record.changes.isEmpty)
        #expect(situation.machine.state == .open)
    }

    /// ``MachineChanges`` keeps two changes in the order they were committed.
    @Test func twoChangesInOneStepKeepTheirOrder() {
        func change(_ from: CircuitState, _ to: CircuitState, epoch: UInt64) -> MachineChange {
            MachineChange(
                previousState: from, previousMode: .normal, cause: TransitionCause(.manual), isTransition: true, state: to, mode: .normal,
                failureCount: 0, consecutiveTrips: 0, openUntil: nil, epoch: epoch, origin: 1)
        }
        var changes = MachineChanges()
        #expect(changes.isEmpty)
        changes.append(change(.open, .halfOpen, epoch: 1))
        changes.append(change(.halfOpen, .open, epoch: 2))
        #expect(!changes.isEmpty)
        #expect(changes.all.map(\.epoch) == [1, 2])
        #expect(changes.all.map(\.state) == [.halfOpen, .open])
    }

    @Test func publishedWordForClosedOpenAndFullHalfOpen() throws {
        let p = Self.policy
        func has(_ word: PublishedWord, _ bit: UInt64) -> Bool { word.raw & bit != 0 }

        // Closed: calls go through without the lock; a fast success changes nothing.
        let closed = CircuitMachine(localOrigin: 1)
        let closedWord = closed.published(policy: p, timing: PublishedWord.timesCalls)
        #expect(PublishedWord.state(of: closedWord.raw) == .closed)
        #expect(has(closedWord, PublishedWord.admitsFreely) && has(closedWord, PublishedWord.successIsNoop))
        #expect(!has(closedWord, PublishedWord.rejectsUntilDeadline) && !has(closedWord, PublishedWord.trialsFull))
        #expect(has(closedWord, PublishedWord.timesCalls), "the timing bits are passed through")
        #expect(PublishedWord.generation(of: closedWord.raw) == closed.generation)

        // Open: rejected until the deadline, which is the machine's.
        let open = try Start.openBeforeDeadline.make().machine
        let openWord = open.published(policy: p, timing: 0)
        #expect(PublishedWord.state(of: openWord.raw) == .open)
        #expect(has(openWord, PublishedWord.rejectsUntilDeadline))
        #expect(!has(openWord, PublishedWord.admitsFreely) && !has(openWord, PublishedWord.trialsFull))
        #expect(openWord.openUntil == open.openUntil && openWord.openUntil == Self.sec(110))
        #expect(PublishedWord.generation(of: openWord.raw) == open.generation)

        // Half-open with every slot taken: rejected until the oldest trial's deadline.
        let full = try Start.halfOpenFull.make().machine
        let fullWord = full.published(policy: p, timing: 0)
        #expect(PublishedWord.state(of: fullWord.raw) == .halfOpen)
        #expect(has(fullWord, PublishedWord.rejectsUntilDeadline) && has(fullWord, PublishedWord.trialsFull))
        #expect(!has(fullWord, PublishedWord.admitsFreely))
        #expect(fullWord.openUntil == full.trialDeadline(policy: p) && fullWord.openUntil == Self.sec(115))

        // Half-open with the slot free: goes to the lock (no bit), so the trial can be admitted there.
        let free = try Start.halfOpenFree.make().machine
        let freeWord = free.published(policy: p, timing: 0)
        #expect(!has(freeWord, PublishedWord.rejectsUntilDeadline) && !has(freeWord, PublishedWord.admitsFreely))
    }

    /// A circuit (failMax 1, open 10 s) with a ramp over 20 s from 20 %: half-open at 100 s, its trial
    /// admitted at 101 s and closing it at 102 s; with its policy and the close's changes.
    static func closedByATrialWithARamp() throws -> (CircuitMachine, MachinePolicy, [MachineChange]) {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 1
        configuration.resetTimeout = .seconds(10)
        configuration.recoveryRamp = .linear(over: .seconds(20), from: 0.2)
        let p = MachinePolicy(configuration)
        var m = CircuitMachine(localOrigin: 1)
        m.anchor(now: Self.sec(100), policy: p)
        _ = m.force(.halfOpen, now: Self.sec(100), openFor: p.resetTimeout)
        guard case .admitted(let trial) = m.admit(now: Self.sec(101), policy: p).decision else { throw TrialRejected() }
        let close = m.record(.success, slow: false, ticket: trial, now: Self.sec(102), policy: p).changes.all
        return (m, p, close)
    }

    struct TrialRejected: Error {}

    /// A trial that closes a ramping circuit starts the ramp: the published word sends calls to the
    /// ramp's lock-free lottery (no `admitsFreely`), with the ramp's end and virtual start; the first
    /// admission past the end ends it. Any transition, and a circuit closed by hand, has no ramp.
    @Test func aSuccessfulTrialStartsTheRecoveryRampAndTheFirstCallPastItsEndEndsIt() throws {
        var (m, p, _) = try Self.closedByATrialWithARamp()
        #expect(m.state == .closed && m.rampUntil == Self.sec(122))
        let word = m.published(policy: p, timing: 0)
        #expect(word.raw & PublishedWord.ramping != 0 && word.raw & PublishedWord.admitsFreely == 0)
        #expect(word.openUntil == Self.sec(122))
        #expect(word.rampFrom == Self.sec(97), "0 % at 97 s, 20 % at the close (102 s), 100 % at 122 s")
        #expect(abs(m.admittedFraction(now: Self.sec(112), policy: p) - 0.6) < 1e-12)
        _ = m.admit(now: Self.sec(121), policy: p)
        #expect(m.rampUntil == Self.sec(122), "before the end: the call path decided; the machine keeps the ramp")
        _ = m.admit(now: Self.sec(122), policy: p)
        #expect(m.rampUntil == nil)
        #expect(m.published(policy: p, timing: 0).raw & PublishedWord.admitsFreely != 0)

        _ = m.force(.halfOpen, now: Self.sec(130), openFor: p.resetTimeout)
        guard case .admitted(let second) = m.admit(now: Self.sec(130), policy: p).decision else { Issue.record("trial rejected"); return }
        _ = m.record(.success, slow: false, ticket: second, now: Self.sec(131), policy: p)
        _ = m.force(.open, now: Self.sec(132), openFor: p.resetTimeout)
        #expect(m.rampUntil == nil, "a transition ends the ramp")
        _ = m.force(.closed, now: Self.sec(133), openFor: p.resetTimeout)
        #expect(m.rampUntil == nil, "closed by hand: no ramp")
    }

    /// The ramp travels with the close: the committed change carries its end, a snapshot what is left
    /// of it; a closed snapshot from elsewhere with a ramp left starts one here to the same end (capped
    /// at this circuit's own length), and any other applied snapshot ends a ramp under way.
    @Test func theRampTravelsWithTheCloseAndIsTakenFromElsewhere() throws {
        let (m, p, close) = try Self.closedByATrialWithARamp()
        #expect(close.map(\.rampUntil) == [Self.sec(122)], "the close carries the ramp's end")
        #expect(m.snapshot(now: Self.sec(112), policy: p).rampRemaining == .seconds(10))
        #expect(m.snapshot(now: Self.sec(122), policy: p).rampRemaining == nil, "over at its end")

        var other = CircuitMachine(state: .open, localOrigin: 2)
        other.anchor(now: Self.sec(200), policy: p)
        _ = other.applyRemote(CircuitSnapshot(state: .closed, rampRemaining: .seconds(5), epoch: 9, origin: 1), now: Self.sec(201), policy: p)
        #expect(other.state == .closed && other.rampUntil == Self.sec(206))
        _ = other.applyRemote(CircuitSnapshot(state: .closed, rampRemaining: .seconds(90), epoch: 10, origin: 1), now: Self.sec(202), policy: p)
        #expect(other.rampUntil == Self.sec(222), "no longer than this circuit's own ramp")
        _ = other.applyRemote(CircuitSnapshot(state: .open, openRemaining: .seconds(3), epoch: 11, origin: 1), now: Self.sec(203), policy: p)
        #expect(other.rampUntil == nil, "opened elsewhere: the ramp is over")
    }

    /// A failure of a closed circuit with a throttle starts (or extends) the throttle's watch: the
    /// published word sends calls to the throttle (no `admitsFreely`) until a window after the latest
    /// failure; the first admission past it ends the watch. Successes do not extend it; a transition ends it.
    @Test func aFailureStartsTheThrottlesWatchUntilAWindowAfterTheLatestFailure() {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.9, minimumCalls: 100)
        configuration.throttle = AdaptiveThrottle(window: .seconds(30))
        let p = MachinePolicy(configuration)
        var m = CircuitMachine(localOrigin: 1)
        m.adoptWindow(p.window)
        m.anchor(now: Self.sec(100), policy: p)
        let ticket = Ticket(generation: m.generation, isTrial: false)
        _ = m.record(.success, slow: false, ticket: ticket, now: Self.sec(100), policy: p)
        #expect(m.throttledUntil == nil, "a success starts nothing")
        _ = m.record(.failure, slow: false, ticket: ticket, now: Self.sec(101), policy: p)
        #expect(m.throttledUntil == Self.sec(131))
        _ = m.record(.failure, slow: false, ticket: ticket, now: Self.sec(110), policy: p)
        #expect(m.throttledUntil == Self.sec(140), "the latest failure extends it")
        _ = m.record(.success, slow: false, ticket: ticket, now: Self.sec(120), policy: p)
        let word = m.published(policy: p, timing: 0)
        #expect(word.raw & PublishedWord.throttling != 0 && word.raw & PublishedWord.admitsFreely == 0)
        #expect(word.throttleUntil == Self.sec(140))
        _ = m.admit(now: Self.sec(139), policy: p)
        #expect(m.throttledUntil == Self.sec(140))
        _ = m.admit(now: Self.sec(140), policy: p)
        #expect(m.throttledUntil == nil && m.published(policy: p, timing: 0).raw & PublishedWord.admitsFreely != 0)
        _ = m.record(.failure, slow: false, ticket: ticket, now: Self.sec(150), policy: p)
        _ = m.force(.open, now: Self.sec(151), openFor: p.resetTimeout)
        #expect(m.throttledUntil == nil, "a transition ends the watch")
    }

    @Test func publishedDeadlineOfAnOpenCircuitWaitsForAGateHeldElsewhere() throws {
        var open = try Start.openBeforeDeadline.make().machine
        open.setGate(.heldElsewhere(until: Self.sec(118)))
        let word = open.published(policy: Self.policy, timing: 0)
        #expect(word.raw & PublishedWord.rejectsUntilDeadline != 0)
        #expect(word.openUntil == Self.sec(118))
    }

    struct JitterCase: Sendable, CustomTestStringConvertible {
        var sample: Double
        /// The first trip's open period (resetTimeout 10 s × 1, spread by jitter 0.5 × sample).
        var first: Nanoseconds
        /// The second trip in a row (10 s × 2, spread the same way).
        var second: Nanoseconds
        var testDescription: String { "jitter sample \(sample)" }
    }

    static let jitterCases: [JitterCase] = [
        JitterCase(sample: 1, first: sec(15), second: sec(30)),
        JitterCase(sample: -1, first: sec(5), second: sec(10)),
        JitterCase(sample: 0, first: sec(10), second: sec(20)),
        JitterCase(sample: 0.5, first: sec(12) + 500_000_000, second: sec(25)),
        JitterCase(sample: 3, first: sec(15), second: sec(30)),  // clamped to 1
    ]

    @Test(arguments: jitterCases)
    func jitterSpreadsAnExponentialOpenPeriodDeterministically(_ jitter: JitterCase) throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 1
        configuration.resetTimeout = .seconds(10)
        configuration.openDuration = .exponential(multiplier: 2, maximum: .seconds(100), jitter: 0.5)
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: 1, successesToClose: 1, maxTrialDuration: .seconds(5))
        let p = MachinePolicy(configuration)
        #expect(p.hasJitter)

        // The same sample gives the same period, every time.
        for _ in 0..<2 {
            var m = CircuitMachine(localOrigin: 1)
            let ticket = try Self.admitted(m.admit(now: Self.sec(100), policy: p).decision)
            let trip = m.record(.failure, slow: false, ticket: ticket, now: Self.sec(100), policy: p, jitter: jitter.sample)
            #expect(Decision(trip.decision) == .opened(.consecutiveFailures, retryAfter: jitter.first))
            #expect(m.openUntil == Self.sec(100) + jitter.first)
            #expect(trip.changes.all.first?.openUntil == Self.sec(100) + jitter.first)

            // The trial after it fails: the second trip in a row doubles the base before the spread.
            let trialAt = m.openUntil
            let trial = try Self.admitted(m.admit(now: trialAt, policy: p).decision)
            let again = m.record(.failure, slow: false, ticket: trial, now: trialAt, policy: p, jitter: jitter.sample)
            #expect(Decision(again.decision) == .opened(.trialFailed, retryAfter: jitter.second))
            #expect(m.openUntil == trialAt + jitter.second)
        }

        let context = TripContext(consecutiveTrips: 1, failureRate: 1, resetTimeout: .seconds(10))
        #expect(p.builtinOpenDuration(context, jitter: jitter.sample) == jitter.first)
    }

    @Test func jitterAlsoSizesTheReopenOfAnOverdueTrial() throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 1
        configuration.resetTimeout = .seconds(10)
        configuration.openDuration = .exponential(multiplier: 2, maximum: .seconds(100), jitter: 0.5)
        configuration.halfOpen = HalfOpenPolicy(permittedCalls: 1, successesToClose: 1, maxTrialDuration: .seconds(5))
        let p = MachinePolicy(configuration)
        var m = CircuitMachine(localOrigin: 1)
        _ = m.force(.halfOpen, now: Self.sec(100), openFor: p.resetTimeout)
        _ = try Self.admitted(m.admit(now: Self.sec(100), policy: p).decision)
        // First trip since closing (force does not count one): 10 s × 1.5.
        let step = m.admit(now: Self.sec(105), policy: p, jitter: 1)
        #expect(Decision(step.decision) == .rejected(retryAfter: Self.sec(15)))
        #expect(step.changes.all.map(Change.init) == [Self.entered(.halfOpen, .open, .trialTimedOut, until: Self.sec(120))])
    }

    @Test func aLocalChangeAfterARemoteOneContinuesFromTheRemoteEpoch() throws {
        var situation = try Start.closed.make()
        _ = situation.machine.applyRemote(Self.newerSnapshot, now: Self.sec(102), policy: Self.policy)
        #expect(situation.machine.epoch == Self.remoteEpoch && situation.machine.origin == 9)
        let step = situation.machine.force(.closed, now: Self.sec(103), openFor: Self.policy.resetTimeout)
        #expect(step.changes.all.map(\.epoch) == [Self.remoteEpoch + 1])
        #expect(situation.machine.origin == situation.machine.localOrigin)
        // The snapshot that was newer is now older than the machine.
        #expect(situation.machine.applyRemote(Self.newerSnapshot, now: Self.sec(104), policy: Self.policy).decision == false)
    }
}
