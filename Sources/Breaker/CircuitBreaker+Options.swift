import Synchronization

/// Calls with options: a time limit, result classification and a fallback, in any combination.
extension CircuitBreaker {
    /// Runs `body` through the breaker with `options` (see ``CallOptions``).
    ///
    /// With a time limit (the options' or the configuration's), `body` runs in a task of its own, so it
    /// must be `@Sendable`: at the limit that task is cancelled and the caller is answered at once,
    /// whether or not `body` notices the cancellation. Without one, `body` runs in the caller's task.
    /// A synchronous `call` cannot be interrupted: give it a time limit inside (a client timeout), or
    /// make it async.
    ///
    /// ```swift
    /// let stock = try await breaker.call(CallOptions(timeLimit: .seconds(1), fallback: { _ in 0 })) {
    ///     try await inventory.stock(of: item)
    /// }
    /// ```
    public func call<Value: Sendable>(
        _ options: CallOptions<Value>, _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let admitted: Admitted
        do {
            admitted = try await admitWaiting()
        } catch let error as CircuitBreakerError {
            guard let fallback = options.fallback else { throw error }
            return try await fallback(error)
        }
        let limit = options.timeLimit ?? settings.withLock { $0.judging.timeLimit }
        let result = await run(body, within: limit)
        let verdict: Verdict
        switch result {
        case .success(let value):
            let outcome = options.classifyResult?(value) ?? .success
            guard case .throw(let breakerError) = recordResult(admitted, value, outcome) else { return value }
            verdict = .throw(breakerError)
        case .failure(let error as TimeLimitReached):
            let timedOut = CircuitBreakerError(reason: .timedOut, retryAfter: .zero, underlying: error, breakerName: name)
            let trip = complete(admitted, outcome: .failure, error: timedOut, slow: true)
            verdict = trip.isThrow ? trip : .throw(timedOut)
        case .failure(let error):
            verdict = recordError(admitted, error)
            guard verdict.isThrow else { throw error }
        }
        guard case .throw(let breakerError) = verdict else { preconditionFailure("a verdict to throw") }
        guard let fallback = options.fallback else { throw breakerError }
        return try await fallback(breakerError)
    }

    /// Runs `body`, in a task of its own raced against `limit` on the breaker's clock when there is one.
    private func run<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value, within limit: Duration?) async -> Result<Value, any Error> {
        guard let limit else {
            do { return .success(try await body()) } catch { return .failure(error) }
        }
        let deadline = time.now().addingSaturating(max(0, limit.nanoseconds))
        let race = Race<Value>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.start(continuation) { [time] in
                    let work = Task {
                        do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
                    }
                    let timer = Task {
                        guard (try? await time.sleepUntil(deadline)) != nil else { return }
                        race.finish(.failure(TimeLimitReached(limit: limit)))
                    }
                    return [work, timer]
                }
            }
        } onCancel: {
            race.cancel()
        }
    }
}

/// The error underlying ``CircuitBreakerError/Reason/timedOut``: the limit the call ran past.
public struct TimeLimitReached: Error, Sendable, CustomStringConvertible {
    /// The time limit.
    public let limit: Duration
    /// `time limit of 2.0 seconds reached`.
    public var description: String { "time limit of \(limit) reached" }
}

extension CircuitBreaker.Verdict {
    var isThrow: Bool {
        if case .throw = self { return true }
        return false
    }
}

/// A call's body racing its time limit: the first to finish answers the caller, and both tasks are
/// cancelled then (the body's so that it stops, the timer's so that it does not linger).
private final class Race<Value: Sendable>: Sendable {
    private struct State: Sendable {
        var continuation: CheckedContinuation<Result<Value, any Error>, Never>?
        var tasks: [Task<Void, Never>] = []
        var cancelled = false
    }
    private let state = Locked(State())

    /// Starts the racers made by `makeTasks` unless the caller was already cancelled.
    func start(_ continuation: CheckedContinuation<Result<Value, any Error>, Never>, _ makeTasks: () -> [Task<Void, Never>]) {
        let cancelledAlready = state.withLock { state in
            state.continuation = continuation
            return state.cancelled
        }
        if cancelledAlready {
            finish(.failure(CancellationError()))
            return
        }
        let tasks = makeTasks()
        let finished = state.withLock { state in
            state.tasks = tasks
            return state.continuation == nil
        }
        if finished { tasks.forEach { $0.cancel() } }
    }

    /// The first result answers the caller; later ones are ignored.
    func finish(_ result: Result<Value, any Error>) {
        let (continuation, tasks) = state.withLock { state in (state.continuation.take(), state.tasks) }
        guard let continuation else { return }
        tasks.forEach { $0.cancel() }
        continuation.resume(returning: result)
    }

    /// The caller was cancelled: cancel the body (its error answers the caller) and the timer.
    func cancel() {
        let tasks = state.withLock { state in
            state.cancelled = true
            return state.tasks
        }
        tasks.forEach { $0.cancel() }
    }
}

extension Optional {
    /// Returns the value and leaves `nil`.
    fileprivate mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
