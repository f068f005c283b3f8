/// An event for a breaker's listeners.
enum BreakerEvent: Sendable {
    case beforeCall
    case success
    case failure(any Error)
    case stateChange(from: CircuitState, to: CircuitState)
}

/// Delivers a breaker's events to its listeners in the order the state machine produced them, one at
/// a time, and never under the state lock.
///
/// Events are queued while the storage lock is held (so their order is the machine's order), and
/// delivered after it is released by whichever thread finds no delivery under way. That thread keeps
/// delivering until the queue is empty, so events queued meanwhile by other threads, or by a listener
/// re-entering the breaker, are delivered too, in order, and without recursion.
final class EventQueue: Sendable {
    private struct State: Sendable {
        var pending: [BreakerEvent] = []
        var delivering = false
        /// The state and generation this breaker last reported, to notice changes made through a
        /// shared storage by other breakers.
        var seenState: CircuitState = .closed
        var seenGeneration: UInt64 = 0
    }

    private let state = Locked(State())

    /// Queues `event`; call with the storage lock held.
    func enqueue(_ event: BreakerEvent) {
        state.withLock { $0.pending.append(event) }
    }

    /// Queues a state change for a change someone else made since this breaker last looked, then
    /// records what it sees now; call with the storage lock held, before queuing this breaker's own events.
    func catchUp(state current: CircuitState, generation: UInt64) {
        state.withLock { queue in
            if queue.seenGeneration != generation && queue.seenState != current {
                queue.pending.append(.stateChange(from: queue.seenState, to: current))
            }
            queue.seenState = current
            queue.seenGeneration = generation
        }
    }

    /// Records the state this breaker now reports; call with the storage lock held.
    func markSeen(state current: CircuitState, generation: UInt64) {
        state.withLock { queue in
            queue.seenState = current
            queue.seenGeneration = generation
        }
    }

    /// Forgets undelivered events (queued while the last listener was being removed) and starts
    /// reporting from `current`; call with the storage lock held, when the first listener arrives.
    func restart(state current: CircuitState, generation: UInt64) {
        state.withLock { queue in
            queue.pending.removeAll()
            queue.seenState = current
            queue.seenGeneration = generation
        }
    }

    /// Delivers queued events with `deliver` unless another thread is already delivering.
    func drain(_ deliver: (BreakerEvent) -> Void) {
        var batch: [BreakerEvent] = state.withLock { queue in
            guard !queue.delivering, !queue.pending.isEmpty else { return [] }
            queue.delivering = true
            return queue.pending.take()
        }
        while !batch.isEmpty {
            for event in batch { deliver(event) }
            batch = state.withLock { queue in
                if queue.pending.isEmpty {
                    queue.delivering = false
                    return []
                }
                return queue.pending.take()
            }
        }
    }
}

extension Array {
    /// Returns the elements and leaves the array empty.
    fileprivate mutating func take() -> [Element] {
        var taken: [Element] = []
        swap(&taken, &self)
        return taken
    }
}
