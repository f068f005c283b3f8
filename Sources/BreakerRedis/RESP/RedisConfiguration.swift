#if Redis
import NIOSSL

/// Where a Redis server is and how to talk to it: one server, or the master that Redis Sentinel names
/// (``sentinel``).
///
/// ```swift
/// let configuration = try RedisConfiguration(url: "rediss://breakers:secret@redis.internal:6380/2")
/// let monitored = try RedisConfiguration(url: "redis-sentinel://:secret@sentinel-a:26379,sentinel-b:26379/payments-master")
/// ```
public struct RedisConfiguration: Sendable {
    /// The server's host name or address. With ``sentinel``, unused: each connection goes to the
    /// master the sentinels name at the time.
    public var host: String
    /// The server's port (default 6379). With ``sentinel``, unused, like ``host``.
    public var port: Int
    /// The sentinels to ask for the master, or `nil` to connect to ``host`` and ``port``. The other
    /// settings (credentials, database, TLS, timeouts) apply to the master; the sentinels' own
    /// credentials are in ``Sentinel``.
    public var sentinel: Sentinel?
    /// The ACL user to authenticate as (`AUTH user password`); `nil` with a password for `AUTH password`.
    public var username: String?
    /// The password, if the server requires one.
    public var password: String?
    /// The database to select (default 0).
    public var database: Int
    /// TLS settings, or `nil` for a plain connection. `rediss://` URLs get the system's trust roots.
    public var tls: TLSConfiguration?
    /// The name the server's certificate must carry, if not ``host``.
    public var tlsServerName: String?
    /// How long to wait for a connection (default 1 s).
    public var connectTimeout: Duration
    /// How long to wait for each reply (default 1 s).
    public var commandTimeout: Duration
    /// The first wait before reconnecting after a failure (default 100 ms); doubled after each failure
    /// in a row, up to ``maximumReconnectDelay``, and spread by ±20 % so a fleet does not reconnect in step.
    public var reconnectDelay: Duration
    /// The longest wait between reconnection attempts (default 10 s).
    public var maximumReconnectDelay: Duration
    /// Limits on replies (see ``RESPDecoder``).
    package var decoder: RESPDecoder

    /// A server at `host:port`, with the defaults above.
    public init(host: String = "127.0.0.1", port: Int = 6379) {
        self.host = host
        self.port = port
        username = nil
        password = nil
        database = 0
        tls = nil
        tlsServerName = nil
        connectTimeout = .seconds(1)
        commandTimeout = .seconds(1)
        reconnectDelay = .milliseconds(100)
        maximumReconnectDelay = .seconds(10)
        decoder = RESPDecoder()
    }

    /// Reads `redis://[[user]:password@]host[:port][/database]`, or `rediss://` for TLS; user and
    /// password may be %-encoded. Throws ``RedisError/Reason/invalidURL`` naming the part that is wrong
    /// (the scheme, the port, the database, a missing host), never quoting the password.
    ///
    /// For Redis Sentinel: `redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master-name[/database]`
    /// (`rediss-sentinel://` for TLS to the sentinels and the master), each host a sentinel (port
    /// 26379 unless given); the credentials and the database are the master's.
    public init(url: String) throws(RedisError) {
        let secure: Bool
        var rest: Substring
        var sentinels = false
        if url.hasPrefix("redis://") {
            secure = false
            rest = url.dropFirst("redis://".count)
        } else if url.hasPrefix("rediss://") {
            secure = true
            rest = url.dropFirst("rediss://".count)
        } else if url.hasPrefix("redis-sentinel://") || url.hasPrefix("rediss-sentinel://") {
            secure = url.hasPrefix("rediss")
            sentinels = true
            rest = url.dropFirst(secure ? "rediss-sentinel://".count : "redis-sentinel://".count)
        } else {
            let scheme = url.firstRange(of: "://").map { String(url[..<$0.lowerBound]) } ?? String(url.prefix(16)) + "…"
            throw RedisError(.invalidURL, "scheme '\(scheme)': expected redis://, rediss://, redis-sentinel:// or rediss-sentinel://")
        }
        self.init()
        var masterName: Substring?
        if sentinels {
            // The master's name comes first in the path, the database after it.
            guard let slash = rest.firstIndex(of: "/") else { throw RedisError(.invalidURL, "master name: missing (redis-sentinel://sentinels/master-name)") }
            var path = rest[rest.index(after: slash)...]
            let name = path.prefix { $0 != "/" }
            guard !name.isEmpty else { throw RedisError(.invalidURL, "master name: missing (redis-sentinel://sentinels/master-name)") }
            masterName = name
            path = path.dropFirst(name.count)
            rest = rest[..<slash] + path
        }
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let database = Int(path), database >= 0 else { throw RedisError(.invalidURL, "database '\(path)': a number, 0 or more") }
                self.database = database
            }
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : Self.decodePercent(user)
                password = Self.decodePercent(credentials[credentials.index(after: colon)...])
            } else {
                password = Self.decodePercent(credentials)
            }
        }
        if let masterName {
            var addresses: [Sentinel.Address] = []
            for address in rest.split(separator: ",", omittingEmptySubsequences: false) {
                let (host, port) = try Self.hostAndPort(address, defaultPort: 26_379)
                guard !host.isEmpty else { throw RedisError(.invalidURL, "sentinel host: missing (a list of host:port, comma-separated)") }
                addresses.append(Sentinel.Address(host: host, port: port))
            }
            sentinel = Sentinel(masterName: String(masterName), sentinels: addresses)
            (host, port) = (addresses[0].host, addresses[0].port)
        } else {
            (host, port) = try Self.hostAndPort(rest, defaultPort: 6379)
            guard !host.isEmpty else { throw RedisError(.invalidURL, "host: missing") }
        }
        if secure { tls = .makeClientConfiguration() }
    }

    /// `host`, `host:port` or `[IPv6]:port`.
    private static func hostAndPort(_ text: Substring, defaultPort: Int) throws(RedisError) -> (String, Int) {
        var rest = text
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {  // [IPv6]
            let host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if rest.hasPrefix(":") { rest = rest.dropFirst() } else { rest = "" }
            return (host, rest.isEmpty ? defaultPort : try port(rest))
        } else if let colon = rest.lastIndex(of: ":") {
            return (String(rest[..<colon]), try port(rest[rest.index(after: colon)...]))
        } else {
            return (String(rest), defaultPort)
        }
    }

    private static func port(_ text: Substring) throws(RedisError) -> Int {
        guard let port = Int(text), (1...65_535).contains(port) else { throw RedisError(.invalidURL, "port '\(text)': 1...65535") }
        return port
    }

    /// The server's URL without the password (`rediss://fleet:***@redis.internal:6380/2`, or with
    /// ``sentinel`` `redis-sentinel://:***@sentinel-a:26379,sentinel-b:26379/payments-master`), for logs
    /// and errors.
    public var redactedURL: String {
        var url = tls == nil ? "redis" : "rediss"
        url += sentinel == nil ? "://" : "-sentinel://"
        if password != nil { url += (username ?? "") + ":***@" }
        if let sentinel {
            url += sentinel.sentinels.map(\.description).joined(separator: ",") + "/" + sentinel.masterName
        } else {
            url += Sentinel.Address(host: host, port: port).description
        }
        if database != 0 { url += "/\(database)" }
        return url
    }

    private static func decodePercent(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), let end = utf8.index(index, offsetBy: 3, limitedBy: utf8.endIndex),
                let value = UInt8(String(decoding: utf8[utf8.index(after: index)..<end], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index = end
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
#endif
