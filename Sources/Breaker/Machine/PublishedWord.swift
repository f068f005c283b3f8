/// The summary of a circuit that the call path reads with one atomic load (see `Circuit/README.md`
/// for who writes each lock-free word, in which order, and why a reader can trust it).
///
/// Layout of `raw`:
///
/// | bits  | content |
/// |-------|---------|
/// | 0-1   | the state (``CircuitState/code``) |
/// | 2-7   | what the state allows: ``admitsFreely`` ... ``successDeferrable`` |
/// | 8-11  | how the policy times calls: ``timesCalls`` ... ``coarseBuckets`` |
/// | 12-13 | admission control while closed: ``ramping``, ``throttling`` |
/// | 14-63 | the low 50 bits of the machine's generation |
///
/// `openUntil`, `rampFrom`, `throttleUntil` and `parking` travel in atomics of their own, stored before
/// `raw`; a reader trusts them only when `raw` reads the same before and after them.
@usableFromInline
struct PublishedWord: Sendable, Equatable {
    /// A call may run without taking the lock (closed and normal, disabled, or metrics-only).
    @usableFromInline static let admitsFreely: UInt64 = 1 << 2
    /// A fast success changes nothing (no failures in a row; no window, or a full count window of fast
    /// successes), so it need not take the lock.
    @usableFromInline static let successIsNoop: UInt64 = 1 << 3
    /// Disabled: outcomes are neither recorded nor counted in metrics.
    @usableFromInline static let recordsNothing: UInt64 = 1 << 4
    /// Open with a known deadline, half-open with every trial slot taken, or waiting on a trial gate
    /// held elsewhere: a call before `openUntil` is rejected without the lock.
    @usableFromInline static let rejectsUntilDeadline: UInt64 = 1 << 5
    /// Half-open with every trial slot taken; `openUntil` is the oldest trial's deadline.
    @usableFromInline static let trialsFull: UInt64 = 1 << 6
    /// Closed with a time window holding no failure and no slow call: a success may be parked in
    /// ``InMemoryStorage/deferred`` instead of taking the lock, as `parking` says.
    static let successDeferrable: UInt64 = 1 << 7
    /// Slow-call detection is on: calls are timed.
    @usableFromInline static let timesCalls: UInt64 = 1 << 8
    /// Calls are timed with the cheap lagging clock: the slow-call threshold is wide enough.
    @usableFromInline static let coarseCallTiming: UInt64 = 1 << 9
    /// A time window is kept: every outcome needs a clock reading.
    static let timesOutcomes: UInt64 = 1 << 10
    /// Successes are placed in time buckets with the cheap lagging clock: the buckets are wide enough.
    static let coarseBuckets: UInt64 = 1 << 11
    /// Closed and recovering (``RecoveryRamp``): a call is admitted without the lock if a uniform draw
    /// falls under `(now - rampFrom) / (openUntil - rampFrom)`, and `openUntil` is the ramp's end.
    @usableFromInline static let ramping: UInt64 = 1 << 12
    /// Closed with a failure in the adaptive throttle's window: a call is counted and admitted by the
    /// throttle's lot, without the lock, before `throttleUntil`.
    @usableFromInline static let throttling: UInt64 = 1 << 13
    @usableFromInline static let generationShift: UInt64 = 14
    /// Generations are kept to 50 bits, so that they fit the word whole.
    static let generationMask: UInt64 = (1 << 50) - 1

    var raw: UInt64
    var openUntil: Nanoseconds
    /// While ``ramping``: the instant from which the admitted fraction would rise from 0 (see
    /// ``RecoveryRamp``); 0 otherwise.
    var rampFrom: Nanoseconds = 0
    /// While ``throttling``: until when; 0 otherwise.
    var throttleUntil: Nanoseconds = 0
    /// For a parked success: the bucket width (low 56 bits) and the parking tag (high 8 bits); 0 when
    /// successes cannot be parked. One word, so a parker reads a width and tag that belong together.
    var parking: UInt64 = 0

    static let parkingWidthMask: UInt64 = (1 << 56) - 1

    static func parking(width: Nanoseconds, tag: UInt64) -> UInt64 {
        (tag << 56) | (UInt64(width) & parkingWidthMask)
    }

    @usableFromInline
    static func generation(of raw: UInt64) -> UInt64 { raw >> generationShift }

    static func state(of raw: UInt64) -> CircuitState { CircuitState(code: UInt8(raw & 3)) }
}

extension CircuitMachine {
    /// The summary the lock-free call path reads; see ``PublishedWord``. `policy` is the circuit's
    /// policy, if one is installed, and `timing` its ``PublishedWord/timesCalls``... bits.
    func published(policy: MachinePolicy?, timing: UInt64) -> PublishedWord {
        // No failures in a row, and no window or a full window of fast successes: a fast success changes
        // nothing (unless a custom rule must see every outcome).
        let quietSuccesses = policy.map { !$0.trip.seesEveryOutcome } ?? false
        let successChangesNothing = consecutiveFailures == 0 && (window.map { quietSuccesses && $0.isFullOfFastSuccesses } ?? true)
        var bits: UInt64 = UInt64(state.code) | timing
        var deadline = openUntil
        var rampFrom: Nanoseconds = 0
        var throttleUntil: Nanoseconds = 0
        // A time window with nothing but fast successes in it: a fast success may be counted later.
        let deferWidth = consecutiveFailures == 0 && quietSuccesses ? window?.quietBucketWidth : nil
        let gateDeadline: Nanoseconds? = if case .heldElsewhere(let until) = gate { until } else { nil }
        switch mode.kind {
        case .disabled:
            bits |= PublishedWord.admitsFreely | PublishedWord.successIsNoop | PublishedWord.recordsNothing
        case .forcedOpen:
            break
        case .metricsOnly, .normal:
            if state == .closed {
                if mode.kind == .normal, let ramp = policy?.recoveryRamp, let end = rampUntil {
                    bits |= PublishedWord.ramping
                    deadline = end
                    rampFrom = ramp.virtualStart(end: end)
                }
                if mode.kind == .normal, policy?.throttleWindow != nil, let end = throttledUntil {
                    bits |= PublishedWord.throttling
                    throttleUntil = end
                }
                if bits & (PublishedWord.ramping | PublishedWord.throttling) == 0 { bits |= PublishedWord.admitsFreely }
                if successChangesNothing { bits |= PublishedWord.successIsNoop }
                if deferWidth != nil { bits |= PublishedWord.successDeferrable }
            } else if state == .open && openedAt != nil {
                bits |= PublishedWord.rejectsUntilDeadline
                deadline = max(openUntil, gateDeadline ?? .min)
            } else if state == .halfOpen, let policy, !reopenPending {
                if trialsInFlight >= policy.permittedTrials, let oldest = trialStarts.min() {
                    // Every trial slot is taken: callers are rejected until the oldest trial's deadline.
                    bits |= PublishedWord.rejectsUntilDeadline | PublishedWord.trialsFull
                    deadline = policy.maxTrialDuration.map { oldest.addingSaturating($0) } ?? .max
                } else if let gateDeadline {
                    bits |= PublishedWord.rejectsUntilDeadline
                    deadline = gateDeadline
                }
            }
        }
        return PublishedWord(
            raw: bits | (generation << PublishedWord.generationShift), openUntil: deadline, rampFrom: rampFrom, throttleUntil: throttleUntil,
            parking: bits & PublishedWord.successDeferrable != 0
                ? PublishedWord.parking(width: deferWidth ?? 0, tag: Self.parkingTag(generation: generation, windowEpoch: windowEpoch)) : 0)
    }
}
