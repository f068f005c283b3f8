#if Redis
import Breaker

/// The fleet publisher's work as a plain value: what each breaker has waiting (a local change to
/// publish, the latest snapshot for the trial lease, a catch-up), served in the order the breakers
/// first asked, and the retries after failed exchanges. Part of ``FleetMachine``.
///
/// A breaker waits at most once: a later local change supersedes one not yet published (only the
/// latest state matters to the fleet). After a failed exchange the breaker catches up again later,
/// which also publishes its local state if that is the newer one; one retry is scheduled at a time, by
/// ``Backoff/fleet`` on the failures in a row, and it catches up every breaker that failed meanwhile.
struct FleetWork: Sendable {
    /// What one breaker has waiting.
    struct Item: Sendable, Equatable {
        /// A local change to publish (the latest).
        var change: CircuitChange?
        /// The latest snapshot seen, local or heard, for the trial lease.
        var snapshot: CircuitSnapshot?
        /// Whether that snapshot's opening is fleet-wide: shared, heard, manual, or (set by the
        /// publisher) a quorum reached.
        var fleetWide = false
        /// Read the stored state and catch up.
        var sync = false
    }

    private var items: [String: Item] = [:]
    private var order: [String] = []
    /// Failed exchanges in a row.
    private(set) var failures = 0
    private var retrying: Set<String> = []
    /// Whether a retry is scheduled (its delay was handed out and ``retryDue()`` has not come yet).
    private(set) var retryScheduled = false

    /// A committed change of the circuit of `name`, whose fleet mode is `mode`: a local one is to be
    /// published, and any one is the snapshot the trial lease follows.
    mutating func changed(_ name: String, _ change: CircuitChange, mode: FleetMode) {
        update(name) { item in
            if !change.isRemote { item.change = change }
            item.snapshot = change.snapshot
            item.fleetWide = change.isRemote || mode == .shared || change.cause.kind == .manual
        }
    }

    /// The breaker `name` is to catch up: new, or its changes may have been missed.
    mutating func catchUp(_ name: String) {
        update(name) { $0.sync = true }
    }

    /// The next breaker's work, the oldest first; `nil` when nothing waits.
    mutating func next() -> (name: String, item: Item)? {
        while !order.isEmpty {
            let name = order.removeFirst()
            if let item = items.removeValue(forKey: name) { return (name, item) }
        }
        return nil
    }

    /// An exchange for `name` failed: it catches up again at the next retry. Returns the delay to
    /// schedule that retry after (its spread drawn from `random`), or `nil` when one is already scheduled.
    mutating func failed(_ name: String, using random: inout some RandomNumberGenerator) -> Duration? {
        retrying.insert(name)
        failures += 1
        guard !retryScheduled else { return nil }
        retryScheduled = true
        return Backoff.fleet.delay(afterFailures: failures, using: &random)
    }

    /// An exchange succeeded: the failures in a row start again from none.
    mutating func succeeded() {
        failures = 0
    }

    /// The scheduled retry is due: every breaker that failed since the last one catches up.
    mutating func retryDue() {
        retryScheduled = false
        for name in retrying.sorted() { catchUp(name) }
        retrying.removeAll()
    }

    private mutating func update(_ name: String, _ change: (inout Item) -> Void) {
        if items[name] == nil { order.append(name) }
        change(&items[name, default: Item()])
    }
}
#endif
