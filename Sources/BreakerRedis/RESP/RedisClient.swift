#if Redis
import NIOCore
import NIOConcurrencyHelpers
import Synchronization

/// A small Redis client on SwiftNIO: one pipelined connection for commands, made when first needed
/// and made again after it drops (waiting between failed attempts with backoff and jitter, during
/// which commands fail at once with ``RedisError/Reason/notConnected`` rather than wait), plus one
/// connection per subscription. Replies have a timeout each; `AUTH` (password or ACL user) and TLS
/// (`rediss://`) as ``RedisConfiguration`` says.
package final class RedisClient: RedisTransport {
    private enum State {
        case idle(failures: Int)
        /// One caller connects, in its own task; the others wait for its connection (`nil`: try again).
        case connecting(failures: Int, waiters: [Int: CheckedContinuation<RedisConnection?, any Error>])
        case connected(RedisConnection)
        case waiting(until: ContinuousClock.Instant, failures: Int)
    }

    /// Where and how to connect.
    package let configuration: RedisConfiguration
    private let state = NIOLockedValueBox<State>(.idle(failures: 0))
    private let waiterIDs = Atomic<Int>(0)

    /// A client for the server `configuration` describes; it connects on the first command.
    package init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    /// Sends `command` on the command connection, connecting first if needed.
    /// With ``RedisConfiguration/sentinel``, a `READONLY` reply (the master was demoted to a replica)
    /// drops the connection, so that the next command finds the master again.
    package func send(_ command: [RESPValue]) async throws -> RESPValue {
        let connection = try await connection()
        do {
            return try await connection.send(command, timeout: configuration.commandTimeout)
        } catch let error as RedisError where configuration.sentinel != nil && error.reason == .server && error.message.contains("READONLY") {
            drop(connection)
            throw error
        }
    }

    /// Sends `ASKING` and then `command`, with nothing between them on the connection (a cluster's
    /// `ASK` redirection to a slot being imported).
    func send(afterAsking command: [RESPValue]) async throws -> RESPValue {
        let connection = try await connection()
        return try await connection.send(afterAsking: command, timeout: configuration.commandTimeout)
    }

    /// Opens a subscriber connection listening to `pattern`; returns once the server has confirmed the
    /// subscription, so that nothing published after the call returns is missed.
    package func subscribe(pattern: String) async throws -> AsyncThrowingStream<RedisMessage, any Error> {
        try await subscriptionStream([[.bulk("PSUBSCRIBE"), .bulk(pattern)]], confirmations: 1)
    }

    /// Opens a subscriber connection listening to the shard channels `channels` (`SSUBSCRIBE`, Redis 7
    /// or later); returns once the server has confirmed every one. All of them must belong to this
    /// server (in a cluster: to slots it owns).
    package func subscribe(shardChannels channels: [String]) async throws -> AsyncThrowingStream<RedisMessage, any Error> {
        try await subscriptionStream(Self.shardSubscriptions(channels), confirmations: channels.count)
    }

    /// `SSUBSCRIBE` commands for `channels`, one per cluster slot (a command's channels must share one).
    static func shardSubscriptions(_ channels: [String]) -> [[RESPValue]] {
        Dictionary(grouping: channels, by: FleetKeys.slot(of:)).values.map { [.bulk("SSUBSCRIBE")] + $0.map(RESPValue.bulk) }
    }

    private func subscriptionStream(_ commands: [[RESPValue]], confirmations: Int) async throws -> AsyncThrowingStream<RedisMessage, any Error> {
        let (stream, continuation) = AsyncThrowingStream<RedisMessage, any Error>.makeStream()
        let connection = try await openSubscription(commands, confirmations: confirmations) { continuation.yield($0) } lost: {
            continuation.finish(throwing: $0)
        }
        continuation.onTermination = { _ in connection.close() }
        return stream
    }

    /// Opens a subscriber connection, sends `commands` (`PSUBSCRIBE` or `SSUBSCRIBE`) and waits, at most
    /// the command timeout, until `confirmations` channels are confirmed. Then each message goes to `deliver`, and
    /// `lost` is told once when the subscription ends: the connection closed, or the server dropped a
    /// shard channel (its slot moved to another node) or refused the command.
    func openSubscription(
        _ commands: [[RESPValue]], confirmations expected: Int, deliver: @escaping @Sendable (RedisMessage) -> Void,
        lost: @escaping @Sendable (any Error) -> Void
    ) async throws -> RedisConnection {
        let (confirmations, confirm) = AsyncStream<Result<Int, RedisError>>.makeStream()
        let connection = try await RedisConnection.connect(configuration) { reply in
            if case .error(let message) = reply {
                let error = RedisError(.server, message)
                confirm.yield(.failure(error))
                lost(error)
                return
            }
            guard let parts = reply.elements, let kind = parts.first?.string else { return }
            switch (kind, parts.count) {
            case ("pmessage", 4):
                if let channel = parts[2].string, case .bulkString(let payload?) = parts[3] { deliver(RedisMessage(channel: channel, payload: payload)) }
            case ("smessage", 3), ("message", 3):
                if let channel = parts[1].string, case .bulkString(let payload?) = parts[2] { deliver(RedisMessage(channel: channel, payload: payload)) }
            case ("psubscribe", 3), ("ssubscribe", 3):
                confirm.yield(.success(Int(parts[2].integer ?? 0)))
            case ("sunsubscribe", 3):
                lost(RedisError(.connectionClosed, "the server dropped the shard channel \(parts[1].string ?? "?") (its slot moved)"))
            default:
                break
            }
        }
        connection.channel.closeFuture.whenComplete { _ in lost(RedisError(.connectionClosed, "subscription lost")) }
        do {
            for command in commands { try await connection.sendWithoutReply(command) }
            let timeout = configuration.commandTimeout
            let confirmed = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await confirmation in confirmations where try confirmation.get() >= expected { return true }
                    return false
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return false
                }
                defer { group.cancelAll() }
                return try await group.next() ?? false
            }
            guard confirmed else { throw RedisError(.timedOut, "\(commands.first?.first?.string ?? "subscription") was not confirmed within \(timeout)") }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Closes the command connection (a later command opens a new one; an attempt under way goes on,
    /// for the callers waiting for it).
    package func close() {
        let current = state.withLockedValue { state -> RedisConnection? in
            switch state {
            case .connected(let connection):
                state = .idle(failures: 0)
                return connection
            case .waiting:
                state = .idle(failures: 0)
                return nil
            case .idle, .connecting:
                return nil
            }
        }
        current?.close()
    }

    /// Forgets `connection` if it is the command connection, and closes it: the next command connects
    /// anew (at once, not after the close completes on its event loop).
    private func drop(_ connection: RedisConnection) {
        let current = state.withLockedValue { state -> Bool in
            guard case .connected(let current) = state, current === connection else { return false }
            state = .idle(failures: 0)
            return true
        }
        if current { connection.close() }
    }

    /// The command connection: the current one, or a new one. Concurrent callers share one attempt,
    /// made by the first of them in its own task (the client starts none): the others wait for it,
    /// and if it is cancelled, one of them makes the next. A cancelled waiter stops waiting at once.
    private func connection() async throws -> RedisConnection {
        while true {
            enum Next {
                case ready(RedisConnection)
                case connect(failures: Int)
                case wait(id: Int)
            }
            let now = ContinuousClock.now
            let next = try state.withLockedValue { state throws(RedisError) -> Next in
                switch state {
                case .connected(let connection) where connection.isActive:
                    return .ready(connection)
                case .connecting:
                    return .wait(id: waiterIDs.add(1, ordering: .relaxed).newValue)
                case .waiting(let until, _) where now < until:
                    throw RedisError(.notConnected, "reconnecting in \(now.duration(to: until))")
                case .idle(let failures), .waiting(_, let failures):
                    state = .connecting(failures: failures, waiters: [:])
                    return .connect(failures: failures)
                case .connected:
                    state = .connecting(failures: 0, waiters: [:])
                    return .connect(failures: 0)
                }
            }
            switch next {
            case .ready(let connection):
                return connection
            case .connect(let failures):
                return try await connect(failures: failures)
            case .wait(let id):
                if let connection = try await waitForAttempt(id: id) { return connection }
            }
        }
    }

    /// Waits for the attempt under way; `nil` when it ended without a connection for its waiters
    /// (cancelled, or already over), so the caller looks again.
    private func waitForAttempt(id: Int) async throws -> RedisConnection? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RedisConnection?, any Error>) in
                let outcome = state.withLockedValue { state -> Result<RedisConnection?, any Error>? in
                    // Cancelled before registering: the handler below found nothing to resume.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    guard case .connecting(let failures, var waiters) = state else { return .success(nil) }
                    waiters[id] = continuation
                    state = .connecting(failures: failures, waiters: waiters)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<RedisConnection?, any Error>? in
                guard case .connecting(let failures, var waiters) = state, let waiter = waiters.removeValue(forKey: id) else { return nil }
                state = .connecting(failures: failures, waiters: waiters)
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Connects in the calling task, then hands the outcome to the callers waiting for it: the
    /// connection, the failure (and the backoff after it), or, when this caller was cancelled, a turn
    /// to try again.
    private func connect(failures: Int) async throws -> RedisConnection {
        let outcome: Result<RedisConnection, any Error>
        let next: State
        do {
            let connection = try await RedisConnection.connect(configuration)
            connection.channel.closeFuture.whenComplete { [weak self] _ in
                self?.state.withLockedValue { state in
                    if case .connected(let current) = state, current === connection { state = .idle(failures: 0) }
                }
            }
            (outcome, next) = (.success(connection), .connected(connection))
        } catch where error is CancellationError || Task.isCancelled {
            // Whatever failed, it failed because this caller stopped: the attempt says nothing of the server.
            (outcome, next) = (.failure(CancellationError()), .idle(failures: failures))
        } catch {
            (outcome, next) = (.failure(error), .waiting(until: .now + reconnectDelay(afterFailures: failures + 1), failures: failures + 1))
        }
        let waiters = state.withLockedValue { state -> [CheckedContinuation<RedisConnection?, any Error>] in
            defer { state = next }
            guard case .connecting(_, let waiters) = state else { return [] }
            return Array(waiters.values)
        }
        for waiter in waiters {
            switch outcome {
            case .success(let connection): waiter.resume(returning: connection)
            case .failure(let error) where error is CancellationError: waiter.resume(returning: nil)
            case .failure(let error): waiter.resume(throwing: error)
            }
        }
        return try outcome.get()
    }

    /// The wait after `failures` failed attempts in a row (see ``Backoff``).
    func reconnectDelay(afterFailures failures: Int) -> Duration {
        Backoff(first: configuration.reconnectDelay, maximum: configuration.maximumReconnectDelay).delay(afterFailures: failures)
    }
}
#endif
