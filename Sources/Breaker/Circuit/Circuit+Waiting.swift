/// Waiting for a change of the circuit (``CircuitBreaker/waitUntilRetry()``), with no timer: a waiter
/// is resumed by the next locked section that changes the circuit, or by its own deadline.
extension Circuit {
    /// A number that moves whenever the circuit changes or its trial gate is set, for ``waitForChange(after:until:)``.
    var wakeups: UInt64 { core.withLock { $0.wakeups } }

    /// Suspends until the circuit changes after `wakeups` was read, or until `deadline` on `time`
    /// (`nil` or `.max`: no deadline). Throws `CancellationError` if the task is cancelled.
    func waitForChange(after seen: UInt64, until deadline: Nanoseconds?, time: TimeSource) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.nextWakeup(after: seen) }
            if let deadline, deadline != .max {
                group.addTask { try await time.sleepUntil(deadline) }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func nextWakeup(after seen: UInt64) async throws {
        let id = core.withLock { core in
            core.nextWaiter &+= 1
            return core.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = core.withLock { core -> Bool in
                    if core.wakeups != seen || core.cancelledWaiters.remove(id) != nil { return true }
                    core.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = core.withLock { core -> Waiter? in
                if let index = core.waiters.firstIndex(where: { $0.id == id }) { return core.waiters.remove(at: index) }
                core.cancelledWaiters.insert(id)
                return nil
            }
            waiter?.continuation.resume()
        }
        try Task.checkCancellation()
    }

    func wakeWaiters() {
        let waiters = core.withLock { core -> [Waiter] in
            core.wakeups &+= 1
            return core.waiters.take()
        }
        for waiter in waiters { waiter.continuation.resume() }
    }
}
