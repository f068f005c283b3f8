import Synchronization

/// The calls of a circuit that are still running, counted by the time slot they started in, so that a
/// call that hangs counts as slow at the next admission instead of only when (if ever) it returns
/// (``SlowCallPolicy/countsRunningCalls``).
///
/// Time is cut into slots of a power-of-two width between an eighth and a quarter of the slow-call
/// threshold. Each of ``slots`` atomic words holds one slot: the slot's number, whether its calls were
/// already counted, and how many of them are running. An admission adds its call to its slot and, once
/// per slot width, claims the slots whose calls have all run past the threshold; a finished call takes
/// itself out and learns whether it was counted, so that no call is counted twice. Every decision is one
/// compare-and-exchange on one word, so a call either finishes before its slot is claimed (and is
/// recorded as usual) or is counted by the claim (and not recorded again); no lock is taken.
///
/// A hung call counts as slow at the first admission after it has run for the threshold plus at most one
/// slot width. One tracker serves one threshold; a circuit that changes
/// its threshold starts a new one and keeps the old one alive for the calls admitted into it.
@usableFromInline
final class RunningCalls: @unchecked Sendable {  // the words are atomics; the pointer never changes
    static let slots = 16
    /// Word layout: running calls (bits 0-15), counted (bit 16), slot number (bits 17-63, wrapping).
    private static let runningMask: UInt64 = 0xFFFF
    private static let counted: UInt64 = 1 << 16
    private static let numberShift: UInt64 = 17
    private static let numberMask: UInt64 = (1 << 47) - 1

    let threshold: Nanoseconds
    /// log2 of the slot width.
    private let shift: Int64
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    /// The newest slot number claimed so far.
    private let claimedThrough = Atomic<Int64>(.min)

    init(threshold: Nanoseconds) {
        self.threshold = threshold
        let quarter = max(1, threshold / 4)
        shift = Int64(63 - quarter.leadingZeroBitCount)  // the largest power of two ≤ a quarter
        words = .allocate(capacity: Self.slots)
        for index in 0..<Self.slots { (words + index).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: Self.slots)
        words.deallocate()
    }

    /// The width of a slot, in nanoseconds.
    var slotWidth: Nanoseconds { 1 << shift }

    /// Adds a call that started at `start`; returns its slot number, or `nil` if it is not tracked (its
    /// slot was already counted, is full, or was taken over by a newer one while this thread was held up).
    /// `orphans` are calls of an older slot that had not been counted and whose word this call took over:
    /// they have run far past the threshold, and the caller counts them now.
    func enter(at start: Nanoseconds) -> (slot: Int64?, orphans: Int) {
        let number = start >> shift
        let tag = UInt64(bitPattern: number) & Self.numberMask
        let word = words + Int(number & Int64(Self.slots - 1))
        var current = word.pointee.load(ordering: .relaxed)
        while true {
            let stored = current >> Self.numberShift
            var orphans = 0
            let desired: UInt64
            if stored == tag {
                guard current & Self.counted == 0, current & Self.runningMask != Self.runningMask else { return (nil, 0) }
                desired = current + 1
            } else if Self.isNewer(tag, than: stored) {
                if current & Self.counted == 0 { orphans = Int(current & Self.runningMask) }
                desired = tag << Self.numberShift | 1
            } else {
                return (nil, 0)
            }
            let (exchanged, original) = word.pointee.compareExchange(expected: current, desired: desired, ordering: .relaxed)
            if exchanged { return (number, orphans) }
            current = original
        }
    }

    /// Takes a finished call out of `slot`; returns `true` if it was already counted as slow while running
    /// (or settled by ``forgetAll()``).
    func leave(slot number: Int64) -> Bool {
        let tag = UInt64(bitPattern: number) & Self.numberMask
        let word = words + Int(number & Int64(Self.slots - 1))
        var current = word.pointee.load(ordering: .relaxed)
        while true {
            // Taken over by a newer slot: the call was counted by a claim or as an orphan.
            guard current >> Self.numberShift == tag else { return true }
            let (exchanged, original) = word.pointee.compareExchange(expected: current, desired: current - 1, ordering: .relaxed)
            if exchanged { return current & Self.counted != 0 }
            current = original
        }
    }

    /// Claims every slot whose calls have all run for at least the threshold at `now` and were not
    /// counted yet; returns how many calls they hold (to count as slow). Costs one load and a comparison
    /// except once per slot width, and only one caller claims a given slot.
    func claimOverdue(now: Nanoseconds) -> Int {
        // Slot n ends at (n + 1) << shift: all of its calls have run the threshold once that plus the
        // threshold has passed.
        let due = (now.addingSaturating(-threshold) >> shift) - 1
        var previous = claimedThrough.load(ordering: .relaxed)
        while due > previous {
            let (exchanged, original) = claimedThrough.compareExchange(expected: previous, desired: due, ordering: .relaxed)
            if exchanged { break }
            previous = original
        }
        guard due > previous else { return 0 }
        var overdue = 0
        for number in max(previous &+ 1, due - Int64(Self.slots) + 1)...due {
            overdue += claim(number)
        }
        return overdue
    }

    /// Settles every running call without counting it: the circuit moved to a new generation, and calls
    /// admitted in the old one must not weigh on the new one. (Calls joining a settled slot later are
    /// not tracked.) Their outcomes are dropped as late, and
    /// they are not judged slow when they end either (the word cannot tell them from counted calls).
    func forgetAll() {
        for index in 0..<Self.slots {
            let word = words + index
            var current = word.pointee.load(ordering: .relaxed)
            while current & Self.counted == 0 && current & Self.runningMask != 0 {
                let (exchanged, original) = word.pointee.compareExchange(expected: current, desired: current | Self.counted, ordering: .relaxed)
                if exchanged { break }
                current = original
            }
        }
    }

    /// The number of calls in slot `number` (or in an older slot left in its word) not counted yet,
    /// marking them counted.
    private func claim(_ number: Int64) -> Int {
        let tag = UInt64(bitPattern: number) & Self.numberMask
        let word = words + Int(number & Int64(Self.slots - 1))
        var current = word.pointee.load(ordering: .relaxed)
        while true {
            let stored = current >> Self.numberShift
            // Counted already, or taken over by a slot that is not due yet.
            guard current & Self.counted == 0, stored == tag || Self.isNewer(tag, than: stored) else { return 0 }
            let (exchanged, original) = word.pointee.compareExchange(expected: current, desired: current | Self.counted, ordering: .relaxed)
            if exchanged { return Int(current & Self.runningMask) }
            current = original
        }
    }

    /// Whether slot tag `a` comes after `b`, in the wrapping 47-bit numbering.
    private static func isNewer(_ a: UInt64, than b: UInt64) -> Bool {
        let distance = (a &- b) & numberMask
        return distance != 0 && distance < (1 << 46)
    }
}
