#if Redis
/// A value of the Redis serialization protocol (RESP2): what a command is sent as and a reply decodes to.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`
    case simpleString(String)
    /// `-ERR ...`: the server refused the command.
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$5\r\nhello`; `nil` for the null bulk string (`$-1`).
    case bulkString([UInt8]?)
    /// `*2\r\n...`; `nil` for the null array (`*-1`).
    case array([RESPValue]?)

    /// A bulk string holding `text`'s UTF-8 bytes.
    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    /// The text of a simple or bulk string, or `nil`.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The value of an integer reply, or `nil`.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements of an array reply, or `nil`.
    public var elements: [RESPValue]? {
        if case .array(let elements?) = self { return elements }
        return nil
    }

    /// Whether this is a null bulk string or null array.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): true
        default: false
        }
    }
}

/// Why a reply could not be read, or a command could not be answered.
public struct RedisError: Error, Hashable, CustomStringConvertible {
    /// What went wrong.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The bytes received are not RESP (or break one of the decoder's limits); the connection is closed.
        public static let malformedReply = Reason(name: "malformed reply")
        /// The reply did not come within the request's timeout.
        public static let timedOut = Reason(name: "timed out")
        /// There is no connection to the server right now (connecting, reconnecting, or stopped).
        public static let notConnected = Reason(name: "not connected")
        /// The connection closed before the reply came.
        public static let connectionClosed = Reason(name: "connection closed")
        /// The server refused the credentials (`AUTH`: a wrong password, an unknown or disabled user); the
        /// message has the server's words and the URL without its secret.
        public static let authenticationFailed = Reason(name: "authentication failed")
        /// No sentinel named a master that answers as one (the sentinels are unreachable, do not know the
        /// name, or a failover is under way); the message has what each sentinel said.
        public static let masterNotFound = Reason(name: "master not found")
        /// The server answered with an error reply (`-ERR ...`).
        public static let server = Reason(name: "server error")
        /// The reply was valid RESP but not what the command answers.
        public static let unexpectedReply = Reason(name: "unexpected reply")
        /// The URL could not be read.
        public static let invalidURL = Reason(name: "invalid URL")
        /// A fleet setting is out of its range; the message names it.
        public static let invalidConfiguration = Reason(name: "invalid configuration")
        /// The name of the reason.
        public var description: String { name }
    }

    /// What went wrong.
    public var reason: Reason
    /// Details: the server's message, the offending bytes' position, the URL.
    public var message: String

    /// Creates an error.
    public init(_ reason: Reason, _ message: String = "") {
        self.reason = reason
        self.message = message
    }

    /// `reason: message`.
    public var description: String { message.isEmpty ? "Redis: \(reason)" : "Redis: \(reason): \(message)" }
}
#endif
