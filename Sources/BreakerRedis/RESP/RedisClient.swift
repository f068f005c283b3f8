#if Redis
import NIOCore
import NIOConcurrencyHelpers

/// A small Redis client on SwiftNIO: one pipelined connection for commands, made when first needed
/// and made again after it drops (waiting between failed attempts with backoff and jitter, during
/// which commands fail at once with ``RedisError/Reason/notConnected`` rather than wait), plus one
/// connection per subscription. Replies have a timeout each; `AUTH` (password or ACL user) and TLS
/// (`rediss://`) as ``RedisConfiguration`` says.
package final class RedisClient: RedisTransport {
    private enum State {
        case idle(failures: Int)
        case connecting(Task<RedisConnection, any Error>)
        case connected(RedisConnection)
        case waiting(until: ContinuousClock.Instant, failures: Int)
    }

    /// Where and how to connect.
    package let configuration: RedisConfiguration
    private let state = NIOLockedValueBox<State>(.idle(failures: 0))

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

    /// Closes the command connection (a later command opens a new one).
    package func close() {
        let current = state.withLockedValue { state -> RedisConnection? in
            defer { state = .idle(failures: 0) }
            if case .connected(let connection) = state { return connection }
            return nil
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

    private func connection() async throws -> RedisConnection {
        enum Next {
            case ready(RedisConnection)
            case attempt(Task<RedisConnection, any Error>)
        }
        let now = ContinuousClock.now
        let next = state.withLockedValue { state -> Result<Next, RedisError> in
            switch state {
            case .connected(let connection) where connection.isActive:
                return .success(.ready(connection))
            case .connecting(let task):
                return .success(.attempt(task))
            case .waiting(let until, _) where now < until:
                return .failure(RedisError(.notConnected, "reconnecting in \(now.duration(to: until))"))
            case .connected, .idle, .waiting:
                let failures: Int
                switch state {
                case .idle(let count), .waiting(_, let count): failures = count
                default: failures = 0
                }
                let task = Task { try await self.connect(failures: failures) }
                state = .connecting(task)
                return .success(.attempt(task))
            }
        }
        switch try next.get() {
        case .ready(let connection):
            return connection
        case .attempt(let attempt):
            // A cancelled caller stops waiting now: the attempt it shares is cancelled with it (its
            // steps all stop on cancellation), and the next caller starts another.
            return try await withTaskCancellationHandler { try await attempt.value } onCancel: { attempt.cancel() }
        }
    }

    private func connect(failures: Int) async throws -> RedisConnection {
        do {
            let connection = try await RedisConnection.connect(configuration)
            state.withLockedValue { $0 = .connected(connection) }
            connection.channel.closeFuture.whenComplete { [weak self] _ in
                self?.state.withLockedValue { state in
                    if case .connected(let current) = state, current === connection { state = .idle(failures: 0) }
                }
            }
            return connection
        } catch is CancellationError {
            state.withLockedValue { $0 = .idle(failures: failures) }
            throw CancellationError()
        } catch {
            let delay = reconnectDelay(afterFailures: failures + 1)
            state.withLockedValue { $0 = .waiting(until: .now + delay, failures: failures + 1) }
            throw error
        }
    }

    /// The wait after `failures` failed attempts in a row (see ``Backoff``).
    func reconnectDelay(afterFailures failures: Int) -> Duration {
        Backoff(first: configuration.reconnectDelay, maximum: configuration.maximumReconnectDelay).delay(afterFailures: failures)
    }
}
#endif
