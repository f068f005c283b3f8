/// The summary of a ``CircuitMachine`` that the call path reads with one atomic load.
///
/// Layout of `raw`: bits 0-1 the state, bits 2-7 the flags below, bits 8-63 the generation (the low 56
/// bits of the machine's). `openUntil` and `parking` travel in atomics of their own, stored before
/// `raw`; a reader trusts `openUntil` only when `raw` reads the same before and after it.
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
    /// Closed with a time window holding no failure and no slow call: a success may be parked in
    /// ``InMemoryStorage/deferred`` instead of taking the lock, as `parking` says.
    static let successDeferrable: UInt64 = 1 << 7
    @usableFromInline static let generationShift: UInt64 = 8
    static let generationMask: UInt64 = (1 << 56) - 1

    var raw: UInt64
    var openUntil: Nanoseconds
    /// For a parked success: the bucket width (low 56 bits) and the parking tag (high 8 bits); 0 when
    /// successes cannot be parked. One word, so a parker reads a width and tag that belong together.
    var parking: UInt64 = 0

    static func parking(width: Nanoseconds, tag: UInt64) -> UInt64 {
        (tag << 56) | (UInt64(width) & ((1 << 56) - 1))
    }

    @usableFromInline
    static func generation(of raw: UInt64) -> UInt64 { raw >> generationShift }

    static func state(of raw: UInt64) -> CircuitState { CircuitState(code: UInt8(raw & 3)) }
}
