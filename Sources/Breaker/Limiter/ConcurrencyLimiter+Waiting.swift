import Synchronization

/// The bounded wait for a slot (``ConcurrencyLimiter/Configuration/maxWait``): a first-come,
/// first-served queue under the limiter's lock.
///
/// A waiter leaves the queue exactly once, by whoever removes it under the lock: a freed slot or a
/// risen limit (granted, the slot already taken for it), its deadline (timed out), or its task's
/// cancellation. Continuations are resumed after the lock is released.
extension ConcurrencyLimiter {
    /// A call in the queue.
    struct Waiter: Sendable {
        let id: UInt64
        let continuation: CheckedContinuation<WaitResult, Never>
    }

    /// How a wait ended.
    enum WaitResult: Sendable {
        /// A slot was taken for the waiter; the slots in use then, itself included.
        case granted(inFlight: Int)
        case timedOut
        case cancelled
    }

    /// A waiter to resume once the lock is released.
    typealias Resumption = (continuation: CheckedContinuation<WaitResult, Never>, result: WaitResult)

    /// Admits an async call that found no free slot (or found others waiting): rejects it at once
    /// without ``Configuration/maxWait``; otherwise queues it until a slot is taken for it, its wait
    /// runs out (rejected), or its task is cancelled (`CancellationError`).
    @usableFromInline
    nonisolated(nonsending)
    func admitAfterWaiting() async throws -> Admission {
        guard let maxWait = configuration.maxWait else { throw rejection() }
        let deadline = time.now().addingSaturating(maxWait.nanoseconds)
        let id = state.withLock { state in
            state.lastWaiter &+= 1
            return state.lastWaiter
        }
        var timer: Task<Void, Never>?
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WaitResult, Never>) in
                let (served, queuedNow) = state.withLock { state -> ([Resumption], Bool) in
                    // Cancelled before joining: the cancellation handler found nothing to remove.
                    if Task.isCancelled { return ([(continuation, .cancelled)], false) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    queued.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    let served = grantSlots(&state)  // a slot freed before the count rose is found here
                    return (served, state.waiters.last?.id == id)  // served oldest first: if still queued, last
                }
                if queuedNow {
                    timer = Task { [self] in
                        guard (try? await time.sleepUntil(deadline)) != nil else { return }
                        leaveQueue(id, .timedOut)
                    }
                }
                resume(served)
            }
        } onCancel: {
            leaveQueue(id, .cancelled)
        }
        timer?.cancel()
        switch result {
        case .granted(let inFlight):
            // Cancelled as the slot came: give it back rather than start a call the caller gave up on.
            if Task.isCancelled {
                freeSlot()
                throw CancellationError()
            }
            return Admission(inFlight: inFlight, start: timesCalls ? readClock() : 0)
        case .timedOut:
            throw rejection()
        case .cancelled:
            throw CancellationError()
        }
    }

    /// Under the lock: takes a slot for each waiter, oldest first, while slots are free.
    func grantSlots(_ state: inout State) -> [Resumption] {
        var served: [Resumption] = []
        while !state.waiters.isEmpty, let inFlight = takeSlot() {
            let waiter = state.waiters.removeFirst()
            queued.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            served.append((waiter.continuation, .granted(inFlight: inFlight)))
        }
        return served
    }

    /// Hands free slots to waiting calls (after a slot was freed with waiters in the queue).
    @usableFromInline
    func serveQueue() {
        resume(state.withLock { grantSlots(&$0) })
    }

    /// Removes waiter `id` from the queue, if it is still there, and resumes it with `result`.
    func leaveQueue(_ id: UInt64, _ result: WaitResult) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            queued.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: result)
    }

    /// Resumes waiters that left the queue, outside the lock.
    func resume(_ served: [Resumption]) {
        for (continuation, result) in served { continuation.resume(returning: result) }
    }
}
