import NIOCore
import NIOConcurrencyHelpers

/// A message published on a channel the subscriber listens to.
public struct RedisMessage: Sendable, Hashable {
    /// The channel it was published on.
    public var channel: String
    /// Its payload.
    public var payload: [UInt8]

    /// Creates a message.
    public init(channel: String, payload: [UInt8]) {
        self.channel = channel
        self.payload = payload
    }
}

/// What a fleet needs of a Redis client: commands, and a subscription. The seam for plugging in a
/// client other than ``RedisClient``.
public protocol RedisTransport: Sendable {
    /// Sends one command (name first) and returns its reply; throws when there is no connection, on a
    /// timeout, or when the server answers with an error (``RedisError/Reason/server``).
    func send(_ command: [RESPValue]) async throws -> RESPValue
    /// Subscribes to the channels matching `pattern` (`PSUBSCRIBE`); the stream yields their messages
    /// and ends when the subscription is lost (the caller subscribes again, and catches up).
    func subscribe(pattern: String) async throws -> AsyncThrowingStream<RedisMessage, any Error>
}

/// A small Redis client on SwiftNIO: one pipelined connection for commands, made when first needed
/// and made again after it drops (waiting between failed attempts with backoff and jitter, during
/// which commands fail at once with ``RedisError/Reason/notConnected`` rather than wait), plus one
/// connection per subscription. Replies have a timeout each; `AUTH` (password or ACL user) and TLS
/// (`rediss://`) as ``RedisConfiguration`` says.
public final class RedisClient: RedisTransport {
    private enum State {
        case idle(failures: Int)
        case connecting(Task<RedisConnection, any Error>)
        case connected(RedisConnection)
        case waiting(until: ContinuousClock.Instant, failures: Int)
    }

    /// Where and how to connect.
    public let configuration: RedisConfiguration
    private let state = NIOLockedValueBox<State>(.idle(failures: 0))

    /// A client for the server `configuration` describes; it connects on the first command.
    public init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    /// Sends `command` on the command connection, connecting first if needed.
    /// With ``RedisConfiguration/sentinel``, a `READONLY` reply (the master was demoted to a replica)
    /// drops the connection, so that the next command finds the master again.
    public func send(_ command: [RESPValue]) async throws -> RESPValue {
        let connection = try await connection()
        do {
            return try await connection.send(command, timeout: configuration.commandTimeout)
        } catch let error as RedisError where configuration.sentinel != nil && error.reason == .server && error.message.contains("READONLY") {
            drop(connection)
            throw error
        }
    }

    /// Opens a subscriber connection listening to `pattern`; returns once the server has confirmed the
    /// subscription, so that nothing published after the call returns is missed.
    public func subscribe(pattern: String) async throws -> AsyncThrowingStream<RedisMessage, any Error> {
        let (stream, continuation) = AsyncThrowingStream<RedisMessage, any Error>.makeStream()
        let (confirmations, confirm) = AsyncStream<Void>.makeStream()
        let connection = try await RedisConnection.connect(configuration) { reply in
            // ["pmessage", pattern, channel, payload], or the confirmation ["psubscribe", pattern, count].
            guard let parts = reply.elements, let kind = parts.first?.string else { return }
            if kind == "psubscribe" {
                confirm.yield()
                return
            }
            guard kind == "pmessage", parts.count == 4, let channel = parts[2].string, case .bulkString(let payload?) = parts[3] else { return }
            continuation.yield(RedisMessage(channel: channel, payload: payload))
        }
        connection.channel.closeFuture.whenComplete { _ in continuation.finish(throwing: RedisError(.connectionClosed, "subscription lost")) }
        continuation.onTermination = { _ in connection.close() }
        try await connection.sendWithoutReply([.bulk("PSUBSCRIBE"), .bulk(pattern)])
        let timeout = configuration.commandTimeout
        let confirmed = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in confirmations { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard confirmed else {
            connection.close()
            throw RedisError(.timedOut, "the subscription to \(pattern) was not confirmed")
        }
        return stream
    }

    /// Closes the command connection (a later command opens a new one).
    public func close() {
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

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).overflow ? .max : product + attoseconds / 1_000_000_000
    }
}
