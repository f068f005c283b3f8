import Breaker
import BreakerTestKit

/// A reference model of the circuit breaker: single-threaded, written from the documented semantics
/// (README, doc comments, the project brief), not from `CircuitMachine`. It keeps plain lists (every
/// outcome in the window, every running trial) and recomputes everything on demand, so each rule can
/// be read off in a line or two. Time is whole milliseconds on the test's `ManualClock`.
struct ModelConfig {
    enum Trip {
        case consecutive
        case rate(threshold: Double, minimumCalls: Int)
        case custom(@Sendable (WindowSnapshot) -> Bool)
    }

    enum Window {
        case none
        case lastCalls(Int)
        /// `span` ms in buckets of `bucket` ms; `phase` aligns bucket edges with the breaker's clock origin.
        case duration(span: Int, bucket: Int, phase: Int)
    }

    enum OpenDuration {
        case fixed
        case exponential(multiplier: Int, maximum: Int)
        /// Milliseconds for the n-th trip in a row.
        case custom(@Sendable (Int) -> Int)
    }

    struct Slow {
        var threshold: Int
        var rate: Double
        var minimumCalls: Int
        /// Calls still running past the threshold count as slow at the next closed-state admission.
        var countsRunningCalls = true
    }

    var failMax: Int
    var resetTimeout: Int
    var trip: Trip = .consecutive
    var window: Window = .none
    var slow: Slow? = nil
    var openDuration: OpenDuration = .fixed
    var permittedCalls = 1
    var successesToClose = 1
    var maxTrialDuration: Int? = 60_000
    /// After trials close the circuit: ramp up over `duration` ms from `initial` of the calls.
    var ramp: (duration: Int, initial: Double)? = nil
    /// The adaptive throttle's window in ms: a counted failure of the closed circuit starts (or
    /// extends) its watch for that long.
    var throttleWindow: Int? = nil
}

/// What a caller of `breaker.call` sees.
enum Observed: Equatable, CustomStringConvertible {
    /// The body's value came back.
    case value
    /// The body's own error came back unchanged (`Boom`, `Benign`, `CancellationError`).
    case rethrown(String)
    /// `CircuitBreakerError` with this reason; `ran` says whether the body ran.
    case breaker(String)

    var description: String {
        switch self {
        case .value: "value"
        case .rethrown(let error): "rethrown \(error)"
        case .breaker(let reason): "CircuitBreakerError.\(reason)"
        }
    }
}

/// The kinds of body a step can run.
enum BodyKind: String, CaseIterable {
    case success, failure, excluded, cancelled

    var errorName: String? {
        switch self {
        case .success: nil
        case .failure: "Boom"
        case .excluded: "Benign"
        case .cancelled: "CancellationError"
        }
    }
}

final class ReferenceModel {
    enum Outcome { case success, failure, ignored }

    struct Ticket {
        var generation: Int
        var isTrial: Bool
        var start: Int
        /// Set when the call joined the running calls (see `claimRunningCalls`).
        var runningID: Int? = nil
    }

    /// A call of the closed circuit that joined the running calls: its slot is its start in slots of a
    /// power-of-two number of nanoseconds, the largest not above a quarter of the slow-call threshold.
    struct RunningCall {
        var id: Int
        var slot: Int
        /// Counted as slow while running, or settled by a change of generation: not judged again.
        var settled = false
    }

    struct Entry {
        var time: Int
        var failed: Bool
        var slow: Bool
    }

    var config: ModelConfig
    /// The operating mode: normal, or an override (disabled: everything passes, nothing is recorded;
    /// metricsOnly: everything passes and is recorded, nothing trips; forcedOpen: everything is rejected).
    var mode: OperatingMode = .normal
    var now = 0
    var state: CircuitState = .closed
    var failureCount = 0
    /// Trips since the circuit last closed.
    var trips = 0
    var openedAt = 0
    var openUntil = 0
    var generation = 0
    /// Start times of the half-open trials running now.
    var runningTrials: [Int] = []
    var trialSuccesses = 0
    /// Every counted closed-state outcome since the circuit last closed.
    var outcomes: [Entry] = []
    var events: [EventRecorder.Event] = []
    var successes = 0, failures = 0, ignored = 0, rejected = 0, slowCalls = 0
    var running: [RunningCall] = []
    var nextRunningID = 0
    /// A slot closed to joining: it held running calls when the generation changed, which settled them;
    /// later calls in it are not tracked.
    var closedSlot: Int?
    /// While the circuit ramps up after its trials closed it: when the ramp ends.
    var rampUntil: Int?
    /// The lots ramp admissions draw: the documented sequence, SplitMix64 from 0, one lot per
    /// admission while ramping.
    var lots = SeededRandom(seed: 0)
    /// Why the last rejected admission was rejected (`CircuitBreakerError.Reason`'s description).
    var rejection = "open"
    /// While the adaptive throttle watches: until when.
    var throttleUntil: Int?
    /// The last admission was one the throttle decides by its own statistics and lot, which the model
    /// does not keep: the breaker may shed it (``throttled()``) or let it in.
    var throttleMayShed = false

    init(config: ModelConfig) { self.config = config }

    // MARK: Reading

    /// `retryAfter`: while open, the time left ("forever" when forced open); while half-open with every
    /// trial slot taken, the time to the oldest trial's deadline; otherwise nil.
    var retryAfter: Duration? {
        if state == .halfOpen && runningTrials.count >= config.permittedCalls {
            guard let limit = config.maxTrialDuration, let oldest = runningTrials.min() else { return nil }
            return .milliseconds(max(0, oldest + limit - now))
        }
        guard state == .open else { return nil }
        return mode == .forcedOpen ? .nanoseconds(Int64.max) : .milliseconds(max(0, openUntil - now))
    }

    /// The outcomes the window holds now.
    var windowEntries: [Entry] {
        switch config.window {
        case .none: return []
        case .lastCalls(let count): return Array(outcomes.suffix(count))
        case .duration(let span, let bucket, let phase):
            let buckets = span / bucket
            func index(_ t: Int) -> Int { Int((Double(t + phase) / Double(bucket)).rounded(.down)) }
            return outcomes.filter { index($0.time) > index(now) - buckets }
        }
    }

    var snapshot: WindowSnapshot {
        let entries = windowEntries
        return WindowSnapshot(
            calls: entries.count, failures: entries.filter(\.failed).count, slowCalls: entries.filter(\.slow).count,
            slowFailures: entries.filter { $0.slow && $0.failed }.count, consecutiveFailures: failureCount)
    }

    // MARK: Transitions

    private func enter(_ target: CircuitState) {
        events.append(.stateChange(state, target))
        state = target
        newGeneration()
        rampUntil = nil
        throttleUntil = nil
        runningTrials = []
        trialSuccesses = 0
        if target == .closed {
            failureCount = 0
            trips = 0
            outcomes = []
        }
    }

    func openDuration(forTrip n: Int) -> Int {
        switch config.openDuration {
        case .fixed:
            return config.resetTimeout
        case .exponential(let multiplier, let maximum):
            var value = config.resetTimeout
            for _ in 1..<max(1, n) { value = min(value * multiplier, maximum) }
            return min(value, maximum)
        case .custom(let size):
            let value = size(n)
            return value > 0 ? value : config.resetTimeout
        }
    }

    private func trip() {
        trips += 1
        enter(.open)
        openedAt = now
        openUntil = now + openDuration(forTrip: trips)
    }

    // MARK: Running calls

    private func newGeneration() {
        generation += 1
        if running.contains(where: { $0.slot == currentSlot && !$0.settled }) { closedSlot = currentSlot }
        // Calls running from the old generation are settled without being counted.
        for index in running.indices { running[index].settled = true }
    }

    private var slotShift: Int? {
        guard let slow = config.slow, slow.countsRunningCalls else { return nil }
        let quarter = slow.threshold * 1_000_000 / 4
        return Int.bitWidth - 1 - quarter.leadingZeroBitCount
    }

    private var currentSlot: Int? { slotShift.map { (now * 1_000_000) >> $0 } }

    /// At a closed-state admission: counts the calls that have run past the threshold since the start of
    /// their slot's end, once each, as slow; returns whether that opened the circuit.
    private func claimRunningCalls() -> Bool {
        guard let shift = slotShift, let slow = config.slow else { return false }
        let due = (((now - slow.threshold) * 1_000_000) >> shift) - 1
        var count = 0
        for index in running.indices where !running[index].settled && running[index].slot <= due {
            running[index].settled = true
            count += 1
        }
        guard count > 0 else { return false }
        slowCalls += count
        if case .none = config.window {} else {
            for _ in 0..<count { outcomes.append(Entry(time: now, failed: false, slow: true)) }
        }
        guard mode == .normal, tripsNow() else { return false }
        trip()
        return true
    }

    /// A closed-state call admitted now: a ticket that joins the running calls when they are counted.
    private func closedTicket() -> Ticket {
        var ticket = Ticket(generation: generation, isTrial: false, start: now)
        if let slot = currentSlot, slot != closedSlot {
            nextRunningID += 1
            running.append(RunningCall(id: nextRunningID, slot: slot))
            ticket.runningID = nextRunningID
        }
        return ticket
    }

    // MARK: Calls

    /// Admission at `now`: a ticket, or nil for a rejection.
    func admit() -> Ticket? {
        rejection = "open"
        throttleMayShed = false
        if mode == .disabled { return Ticket(generation: generation, isTrial: false, start: now) }  // nothing is heard
        if mode == .metricsOnly {
            _ = claimRunningCalls()
            events.append(.beforeCall)
            return closedTicket()
        }
        if mode == .forcedOpen {
            rejected += 1
            return nil
        }
        switch state {
        case .closed:
            if let end = rampUntil, let ramp = config.ramp {
                if now >= end {
                    rampUntil = nil
                } else {
                    // A lot under the fraction the ramp admits now gets in.
                    let fraction = ramp.initial + (1 - ramp.initial) * Double(now - (end - ramp.duration)) / Double(ramp.duration)
                    if lots.unit() >= fraction {
                        rejected += 1
                        rejection = "rampingUp"
                        return nil
                    }
                }
            }
            if claimRunningCalls() { return admit() }  // opened: decide again
            throttleMayShed = mode == .normal && throttleUntil.map { now < $0 } ?? false
            events.append(.beforeCall)
            return closedTicket()
        case .open:
            if now < openUntil {
                rejected += 1
                return nil
            }
            enter(.halfOpen)
            return admitTrial()
        case .halfOpen:
            if let limit = config.maxTrialDuration, let oldest = runningTrials.min(), now - oldest >= limit {
                trip()  // a trial hung: the circuit reopens, this caller is rejected
                rejected += 1
                return nil
            }
            if runningTrials.count >= config.permittedCalls {
                rejected += 1
                return nil
            }
            return admitTrial()
        }
    }

    private func admitTrial() -> Ticket {
        runningTrials.append(now)
        events.append(.beforeCall)
        return Ticket(generation: generation, isTrial: true, start: now)
    }

    private func releaseTrial(_ ticket: Ticket) {
        if let index = runningTrials.firstIndex(of: ticket.start) { runningTrials.remove(at: index) }
    }

    /// The end of an admitted call at `now`; returns what its caller sees.
    func complete(_ ticket: Ticket, _ kind: BodyKind) -> Observed {
        let natural: Observed = kind.errorName.map { .rethrown($0) } ?? .value
        // Disabled when the call ends: nothing is counted and nothing is heard.
        if mode == .disabled { return natural }
        var countedWhileRunning = false
        if let id = ticket.runningID, let index = running.firstIndex(where: { $0.id == id }) {
            countedWhileRunning = running.remove(at: index).settled
        }
        let slow = !countedWhileRunning && (config.slow.map { now - ticket.start >= $0.threshold } ?? false)
        if slow { slowCalls += 1 }
        let outcome: Outcome
        switch kind {
        case .success, .excluded: outcome = .success; successes += 1
        case .failure: outcome = .failure; failures += 1
        case .cancelled: outcome = .ignored; ignored += 1
        }
        if outcome == .failure { events.append(.failure("Boom(1)")) }
        defer { if outcome == .success { events.append(.success) } }  // after any transition the success causes
        if countedWhileRunning { return natural }  // heard and counted in metrics, not recorded again

        // A call from an earlier generation (a transition or a mode change since), or anything while disabled.
        guard ticket.generation == generation, mode != .disabled else { return natural }
        if ticket.isTrial {
            switch outcome {
            case .ignored:
                releaseTrial(ticket)
            case .success where slow:  // a slow trial is a failed trial; the caller still gets its value
                failureCount += 1
                trip()
            case .success:
                releaseTrial(ticket)
                failureCount = 0
                trialSuccesses += 1
                if trialSuccesses >= config.successesToClose {
                    enter(.closed)
                    if let ramp = config.ramp { rampUntil = now + ramp.duration }
                }
            case .failure:
                failureCount += 1
                trip()
                return .breaker("trialFailed")
            }
            return natural
        }
        // Closed (the generation is unchanged since a closed-state admission).
        if outcome == .ignored { return natural }
        if outcome == .failure, let window = config.throttleWindow { throttleUntil = now + window }
        failureCount = outcome == .failure ? failureCount + 1 : 0
        if case .none = config.window {} else { outcomes.append(Entry(time: now, failed: outcome == .failure, slow: slow)) }
        guard mode == .normal else { return natural }  // metrics-only: recorded, never trips
        guard tripsNow() else { return natural }
        trip()
        // The tripping call throws `tripped` if it failed; a success (a slow one, or an excluded error,
        // which is rethrown unchanged) keeps its own result.
        return outcome == .failure ? .breaker("tripped") : natural
    }

    /// Whether the window (and the failures in a row) call for a trip now.
    private func tripsNow() -> Bool {
        let window = snapshot
        var trips: Bool
        switch config.trip {
        case .consecutive: trips = failureCount >= config.failMax
        case .rate(let threshold, let minimumCalls): trips = window.calls >= minimumCalls && window.failureRate >= threshold
        case .custom(let rule): trips = rule(window)
        }
        if let policy = config.slow, window.calls >= policy.minimumCalls, window.slowCallRate >= policy.rate { trips = true }
        return trips
    }

    // MARK: Manual control and configuration

    func forceOpen() {
        mode = .normal
        enter(.open)
        openedAt = now
        openUntil = now + config.resetTimeout
    }

    /// The breaker shed the admission the throttle decided (``throttleMayShed``): it did not happen.
    func throttled() {
        events.removeLast()  // its beforeCall
        rejected += 1
        rejection = "throttled"
    }

    func forceHalfOpen() { mode = .normal; enter(.halfOpen) }
    func forceClose() { mode = .normal; enter(.closed) }

    /// `setMode`: the state the mode implies is entered (and heard) even if it is the current one;
    /// back to normal, calls admitted under the old mode are dropped, and a circuit released from
    /// forced open stays open for `resetTimeout` from now.
    func setMode(_ newMode: OperatingMode) {
        if newMode == .normal && mode == .normal { return }  // no change: calls in flight still count
        let wasForcedOpen = mode == .forcedOpen
        mode = .normal
        switch newMode {
        case .forcedOpen:
            enter(.open)
            openedAt = now
        case .disabled, .metricsOnly:
            enter(.closed)
        default:
            newGeneration()
            if wasForcedOpen && state == .open {
                openedAt = now
                openUntil = now + config.resetTimeout
            }
        }
        mode = newMode
    }

    func setFailMax(_ value: Int) { config.failMax = value }

    /// A new reset timeout applies to the current open period too (aiobreaker) when open periods are
    /// fixed; an exponential or custom period keeps the length it was given.
    func setResetTimeout(_ value: Int) {
        config.resetTimeout = value
        if state == .open, mode == .normal, case .fixed = config.openDuration { openUntil = openedAt + value }
    }
}



