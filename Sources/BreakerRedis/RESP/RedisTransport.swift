#if Redis
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
/// client other than the built-in one.
///
/// A client for a single server implements ``send(_:)`` and ``subscribe(pattern:)``; the rest have
/// defaults. A client for a Redis Cluster also routes each command by the key it touches
/// (``send(_:touching:)``), says so in ``usesShardedPubSub()``, and subscribes to each breaker's channel
/// on the shard that owns it (``subscribe(shardChannels:)``): the fleet then publishes with
/// `SPUBLISH`, so a change reaches only the nodes of its shard.
public protocol RedisTransport: Sendable {
    /// Sends one command (name first) and returns its reply; throws when there is no connection, on a
    /// timeout, or when the server answers with an error (``RedisError/Reason/server``).
    func send(_ command: [RESPValue]) async throws -> RESPValue
    /// Subscribes to the channels matching `pattern` (`PSUBSCRIBE`); the stream yields their messages
    /// and ends when the subscription is lost (the caller subscribes again, and catches up).
    func subscribe(pattern: String) async throws -> AsyncThrowingStream<RedisMessage, any Error>
    /// Sends a command that touches `key` (a script's first key): a cluster sends it to the node that
    /// owns the key's slot. By default, ``send(_:)``.
    func send(_ command: [RESPValue], touching key: String) async throws -> RESPValue
    /// Whether changes travel by sharded pub/sub (`SPUBLISH`, ``subscribe(shardChannels:)``), as in a
    /// Redis Cluster; may ask the server the first time. By default `false`: ``subscribe(pattern:)``.
    func usesShardedPubSub() async throws -> Bool
    /// Subscribes to the shard channels `channels` (`SSUBSCRIBE`, each on the node that owns its slot);
    /// returns once every subscription is confirmed. The stream ends when any of them is lost (a node
    /// failed, a slot moved). By default it throws: only a transport whose ``usesShardedPubSub()`` is
    /// `true` is asked.
    func subscribe(shardChannels channels: [String]) async throws -> AsyncThrowingStream<RedisMessage, any Error>
}

extension RedisTransport {
    /// ``send(_:)``: a single server owns every key.
    public func send(_ command: [RESPValue], touching key: String) async throws -> RESPValue { try await send(command) }

    /// `false`.
    public func usesShardedPubSub() async throws -> Bool { false }

    /// Throws: this transport does not subscribe to shard channels.
    public func subscribe(shardChannels channels: [String]) async throws -> AsyncThrowingStream<RedisMessage, any Error> {
        throw RedisError(.invalidConfiguration, "\(type(of: self)) has no sharded pub/sub")
    }
}
#endif
