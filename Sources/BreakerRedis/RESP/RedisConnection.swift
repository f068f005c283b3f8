#if Redis
import Breaker
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to a Redis server. Commands are pipelined: each is written at once and its reply
/// matched in order, with a timeout of its own. A connection made for pub/sub hands every reply that no
/// command waits for to its `push` function (its handshake's `AUTH` and `SELECT` are answered first).
final class RedisConnection: Sendable {
    let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    /// Connects, then authenticates and selects the database as `configuration` says. Every step has a
    /// deadline (the connect timeout, then the command timeout for each reply, which covers a TLS
    /// handshake too), so that a server that accepts connections but never answers fails the attempt
    /// rather than hold it. Refused credentials (a wrong password, an unknown user, `NOAUTH`) throw
    /// ``RedisError/Reason/authenticationFailed`` with the server's words. With
    /// ``RedisConfiguration/sentinel``, connects to the master the sentinels name (see ``RedisSentinel``).
    static func connect(_ configuration: RedisConfiguration, push: (@Sendable (RESPValue) -> Void)? = nil) async throws -> RedisConnection {
        if configuration.sentinel != nil { return try await RedisSentinel.connectToMaster(configuration, push: push) }
        let decoder = configuration.decoder
        let tls = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        let serverName = configuration.tlsServerName ?? configuration.host
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let hostname = serverName.first?.isNumber == true || serverName.contains(":") ? nil : serverName  // no SNI for an IP address
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: hostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(RESPChannelHandler(decoder: decoder, push: push))
                }
            }
        // A cancelled task stops waiting at once; a connection made after that is closed.
        // An address is connected to as it is; only a name goes through the resolver.
        let connecting =
            if let address = try? SocketAddress(ipAddress: configuration.host, port: configuration.port) {
                bootstrap.connect(to: address)
            } else {
                bootstrap.connect(host: configuration.host, port: configuration.port)
            }
        let connected = loop.makePromise(of: (any Channel).self)
        connecting.cascade(to: connected)
        let channel = try await withTaskCancellationHandler {
            try await connected.futureResult.get()
        } onCancel: {
            connected.fail(CancellationError())
            connecting.whenSuccess { $0.close(promise: nil) }
        }
        let connection = RedisConnection(channel: channel)
        do {
            try await connection.handshake(configuration)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// `AUTH` and `SELECT` as configured, or a `PING` when neither is: every connection learns at once
    /// whether the server takes it (a TLS handshake, a password it requires) rather than at its
    /// first command or, on a subscriber connection, never.
    private func handshake(_ configuration: RedisConfiguration) async throws {
        var steps: [[RESPValue]] = []
        if let password = configuration.password {
            steps.append([.bulk("AUTH")] + (configuration.username.map { [.bulk($0), .bulk(password)] } ?? [.bulk(password)]))
        }
        if configuration.database != 0 { steps.append([.bulk("SELECT"), .bulk(String(configuration.database))]) }
        if steps.isEmpty { steps.append([.bulk("PING")]) }
        for step in steps {
            do {
                _ = try await send(step, timeout: configuration.commandTimeout)
            } catch let error as RedisError where error.reason == .server && (step.first == .bulk("AUTH") || error.message.hasPrefix("NOAUTH")) {
                throw RedisError(.authenticationFailed, "\(error.message) (\(configuration.redactedURL))")
            }
        }
    }

    var isActive: Bool { channel.isActive }

    /// Sends `command` and waits for its reply, at most `timeout`; a cancelled task stops waiting at
    /// once (the reply, when it comes, completes nothing). A server error reply throws
    /// ``RedisError/Reason/server``.
    func send(_ command: [RESPValue], timeout: Duration) async throws -> RESPValue {
        let reply = channel.eventLoop.makePromise(of: RESPValue.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in reply.fail(RedisError(.connectionClosed, "the command could not be written")) }
        channel.writeAndFlush(RedisRequest(command: command, reply: reply, timeout: .nanoseconds(timeout.nanoseconds)), promise: written)
        return try await withTaskCancellationHandler {
            try await reply.futureResult.get()
        } onCancel: {
            reply.fail(CancellationError())
        }
    }

    /// Sends `ASKING` and `command` in one go on the event loop, so that no other command comes between
    /// them; returns `command`'s reply.
    func send(afterAsking command: [RESPValue], timeout: Duration) async throws -> RESPValue {
        let asking = channel.eventLoop.makePromise(of: RESPValue.self)
        let reply = channel.eventLoop.makePromise(of: RESPValue.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in reply.fail(RedisError(.connectionClosed, "the command could not be written")) }
        asking.futureResult.whenFailure { reply.fail($0) }
        let amount = TimeAmount.nanoseconds(timeout.nanoseconds)
        channel.eventLoop.execute { [channel] in
            channel.write(RedisRequest(command: [.bulk("ASKING")], reply: asking, timeout: amount), promise: nil)
            channel.writeAndFlush(RedisRequest(command: command, reply: reply, timeout: amount), promise: written)
        }
        return try await withTaskCancellationHandler {
            try await reply.futureResult.get()
        } onCancel: {
            reply.fail(CancellationError())
        }
    }

    /// Writes `command` without waiting for a reply (a subscriber connection's SUBSCRIBE).
    func sendWithoutReply(_ command: [RESPValue]) async throws {
        try await channel.writeAndFlush(RedisRequest(command: command, reply: nil, timeout: nil)).get()
    }

    func close() { channel.close(promise: nil) }
}

/// A command on its way to the handler.
struct RedisRequest: Sendable {
    var command: [RESPValue]
    var reply: EventLoopPromise<RESPValue>?
    var timeout: TimeAmount?
}

/// Encodes requests, decodes replies and matches them in order; fails every waiting request, and
/// closes the connection, on a malformed reply (the stream cannot be trusted after one). On a pub/sub
/// connection, a reply that no request waits for (a message, a subscription's confirmation) goes to
/// `push`; requests sent there without a reply promise (`PSUBSCRIBE`) wait for none.
final class RESPChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var reply: EventLoopPromise<RESPValue>?
        var timer: Scheduled<Void>?
    }

    private let decoder: RESPDecoder
    private let push: (@Sendable (RESPValue) -> Void)?
    private var received: ByteBuffer?
    private var waiting = CircularBuffer<Waiting>()

    init(decoder: RESPDecoder, push: (@Sendable (RESPValue) -> Void)?) {
        self.decoder = decoder
        self.push = push
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        var bytes = context.channel.allocator.buffer(capacity: 64)
        RESPEncoder.encode(request.command, into: &bytes)
        if request.reply != nil || push == nil {
            var entry = Waiting(reply: request.reply)
            if let timeout = request.timeout, let reply = request.reply {
                // A late reply still arrives, and completes nothing: a promise completes once.
                entry.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                    reply.fail(RedisError(.timedOut, "no reply within \(timeout.nanoseconds / 1_000_000) ms"))
                }
            }
            waiting.append(entry)
        }
        context.write(wrapOutboundOut(bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received == nil { received = incoming } else { received!.writeBuffer(&incoming) }
        do {
            while let value = try decoder.decode(&received!) {
                guard let entry = waiting.popFirst() else {
                    guard let push else { throw RedisError(.unexpectedReply, "a reply that no command asked for") }
                    push(value)
                    continue
                }
                entry.timer?.cancel()
                if case .error(let message) = value {
                    entry.reply?.fail(RedisError(.server, message))
                } else {
                    entry.reply?.succeed(value)
                }
            }
            if received!.readableBytes == 0 { received = nil } else if received!.readerIndex > 4096 { received!.discardReadBytes() }
        } catch {
            failAll(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        while let entry = waiting.popFirst() {
            entry.timer?.cancel()
            entry.reply?.fail(error)
        }
    }
}
#endif
