/// The summary of a ``CircuitMachine`` that the call path reads with one atomic load.
///
/// Layout of `raw`: bits 0-1 the state, bits 2-6 the flags below, bits 8-63 the generation (the low 56
/// bits of the machine's). `openUntil` travels in a second atomic; a reader trusts it only when `raw`
/// reads the same before and after it.
@usableFromInline
struct PublishedWord: Sendable, Equatable {
    /// A call may run without taking the lock (closed and normal, disabled, or metrics-only).
    @usableFromInline static let admitsFreely: UInt64 = 1 << 2
    /// A fast success changes nothing (no failures in a row; no window, or a full count window of fast
    /// successes), so it need not take the lock.
    @usableFromInline static let successIsNoop: UInt64 = 1 << 3
    /// Disabled: outcomes are not recorded at all.
    @usableFromInline static let recordsNothing: UInt64 = 1 << 4
    /// Open with a known deadline, or half-open with every trial slot taken: a call before `openUntil`
    /// is rejected without the lock.
    @usableFromInline static let rejectsUntilDeadline: UInt64 = 1 << 5
    /// Half-open with every trial slot taken; `openUntil` is the oldest trial's deadline, and a
    /// rejection has nothing to wait for (retry after zero).
    static let trialsFull: UInt64 = 1 << 6
    @usableFromInline static let generationShift: UInt64 = 8
    static let generationMask: UInt64 = (1 << 56) - 1

    var raw: UInt64
    var openUntil: Nanoseconds

    @usableFromInline
    static func generation(of raw: UInt64) -> UInt64 { raw >> generationShift }

    static func state(of raw: UInt64) -> CircuitState { CircuitState(code: UInt8(raw & 3)) }
}
