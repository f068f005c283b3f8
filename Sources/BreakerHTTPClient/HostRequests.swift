#if HTTPClient
import AsyncHTTPClient
import Breaker
import Synchronization

/// One host as the client sees it: its breaker, its retry budget, and its requests in flight, which it
/// cancels when the breaker opens if they have run past the slow-call threshold.
///
/// A hung request holds a pooled connection until its deadline. Once the breaker has opened, it has
/// been counted as slow already and its answer can change nothing; cancelling it closes its connection,
/// so the trial that follows gets a connection at once instead of waiting for the pool.
final class HostRequests: CircuitBreakerListener, Sendable {
    /// A request in flight, cancellable from the listener.
    struct Request {
        var start: ContinuousClock.Instant
        var task: Task<HTTPClientResponse, any Error>
        var cancelledByBreaker = false
    }

    private struct Table {
        var nextID: UInt64 = 0
        var requests: [UInt64: Request] = [:]
    }

    let breaker: CircuitBreaker
    let retryBudget: RetryBudget?
    private let table = Mutex(Table())

    init(breaker: CircuitBreaker, retryBudget: RetryBudget?) {
        self.breaker = breaker
        self.retryBudget = retryBudget
    }

    var interests: BreakerEvent.Kinds { .stateChanged }

    func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        guard event.change?.state == .open, let threshold = breaker.configuration.slowCalls?.threshold else { return }
        sweep(threshold: threshold, openedAt: .now)
    }

    /// Cancels the requests that started before the breaker opened at `openedAt` and have run past
    /// `threshold`; the younger ones are cancelled as they cross it, while the breaker stays open or
    /// half-open (they hold connections the trial needs, and a hang that opened the breaker holds them
    /// too).
    private func sweep(threshold: Duration, openedAt: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        let (hung, youngest) = table.withLock { table in
            var hung: [Task<HTTPClientResponse, any Error>] = []
            var youngest: ContinuousClock.Instant?
            for (id, request) in table.requests where request.start <= openedAt && !request.cancelledByBreaker {
                if now - request.start >= threshold {
                    table.requests[id]?.cancelledByBreaker = true
                    hung.append(request.task)
                } else {
                    youngest = max(youngest ?? request.start, request.start)
                }
            }
            return (hung, youngest)
        }
        for task in hung { task.cancel() }  // outside the lock: cancellation handlers run here
        guard let youngest else { return }
        Task { [weak self] in
            try await Task.sleep(until: youngest + threshold, clock: .continuous)
            guard let self, self.breaker.state != .closed else { return }
            self.sweep(threshold: threshold, openedAt: openedAt)
        }
    }

    /// Runs `send` in a task this host can cancel, and says whether the breaker cancelled it.
    func run(
        _ send: @escaping @Sendable () async throws -> HTTPClientResponse
    ) async -> (result: Result<HTTPClientResponse, any Error>, cancelledByBreaker: Bool) {
        let task = Task(operation: send)
        let id = table.withLock { table in
            table.nextID &+= 1
            table.requests[table.nextID] = Request(start: .now, task: task)
            return table.nextID
        }
        let result = await withTaskCancellationHandler {
            await task.result
        } onCancel: {
            task.cancel()
        }
        let removed = table.withLock { $0.requests.removeValue(forKey: id) }
        return (result, removed?.cancelledByBreaker ?? false)
    }

    /// Requests in flight (for tests).
    var inFlight: Int { table.withLock { $0.requests.count } }
}
#endif
