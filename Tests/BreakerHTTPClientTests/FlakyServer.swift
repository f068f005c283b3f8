#if HTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 server on a free loopback port whose behaviour a test switches: healthy (200),
/// unavailable (503 with `Retry-After: 2`), hanging (reads requests, never answers), slow (200 after
/// ``slowDelay``), or stopped (the port refuses connections) and started again on the same port.
final class FlakyServer: Sendable {
    enum Behaviour: UInt8 {
        case healthy, unavailable, hanging, slow
    }

    /// How long a slow server takes to answer.
    static let slowDelay = TimeAmount.milliseconds(1_500)

    let port: Int
    private let behaviour = Atomic<UInt8>(Behaviour.healthy.rawValue)
    private let listener: Mutex<(any Channel)?>
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    /// Requests answered, by status code.
    let answered = Mutex<[UInt: Int]>([:])
    /// When each request arrived.
    let arrivals = Mutex<[ContinuousClock.Instant]>([])

    private init(port: Int, listener: any Channel) {
        self.port = port
        self.listener = Mutex(listener)
    }

    /// Starts a server on a free loopback port.
    static func start() async throws -> FlakyServer {
        let box = Mutex<FlakyServer?>(nil)
        let channel = try await bind(port: 0, server: { box.withLock { $0 } })
        let server = FlakyServer(port: channel.localAddress!.port!, listener: channel)
        box.withLock { $0 = server }
        return server
    }

    var current: Behaviour { Behaviour(rawValue: behaviour.load(ordering: .acquiring))! }

    func set(_ behaviour: Behaviour) { self.behaviour.store(behaviour.rawValue, ordering: .releasing) }

    /// Closes the listening socket and every connection: new connections are refused.
    func stop() async throws {
        let channel = listener.withLock { listener in
            defer { listener = nil }
            return listener
        }
        try await channel?.close()
        let open = connections.withLock { connections in
            defer { connections = [:] }
            return Array(connections.values)
        }
        for connection in open { try? await connection.close() }
    }

    /// Listens again on the same port.
    func restart() async throws {
        let channel = try await Self.bind(port: port, server: { self })
        listener.withLock { $0 = channel }
    }

    private static func bind(port: Int, server: @escaping @Sendable () -> FlakyServer?) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
    }

    fileprivate func opened(_ channel: any Channel) { connections.withLock { $0[ObjectIdentifier(channel)] = channel } }
    fileprivate func closed(_ channel: any Channel) { _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }
    fileprivate func arrived() { arrivals.withLock { $0.append(.now) } }
    fileprivate func count(_ status: HTTPResponseStatus) { answered.withLock { $0[status.code, default: 0] += 1 } }
}

/// Answers each request as the server's behaviour says when it arrives.
private final class Responder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: @Sendable () -> FlakyServer?

    init(server: @escaping @Sendable () -> FlakyServer?) { self.server = server }

    func channelActive(context: ChannelHandlerContext) {
        server()?.opened(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        server()?.closed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data), let server = server() else { return }
        server.arrived()
        switch server.current {
        case .hanging: return
        case .slow:
            let bound = NIOLoopBound((responder: self, context: context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: FlakyServer.slowDelay) {
                guard bound.value.context.channel.isActive else { return }
                bound.value.responder.respond(bound.value.context, .ok, headers: ["content-length": "2"], body: "ok", server)
            }
        case .healthy: respond(context, .ok, headers: ["content-length": "2"], body: "ok", server)
        case .unavailable: respond(context, .serviceUnavailable, headers: ["content-length": "0", "retry-after": "2"], body: nil, server)
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, headers: HTTPHeaders, body: String?, _ server: FlakyServer) {
        server.count(status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
#endif
