#if Redis
extension RedisConfiguration {
    /// The sentinels that monitor a master, and the master's name: the client asks them where the master
    /// is at each connection, and follows it on failover.
    ///
    /// ```swift
    /// var configuration = RedisConfiguration()
    /// configuration.sentinel = .init(masterName: "payments-master", sentinels: [.init(host: "sentinel-a"), .init(host: "sentinel-b")])
    /// configuration.password = "the master's password"
    /// ```
    public struct Sentinel: Sendable, Hashable {
        /// Where a sentinel listens.
        public struct Address: Sendable, Hashable, CustomStringConvertible {
            /// The sentinel's host name or address.
            public var host: String
            /// The sentinel's port (default 26379).
            public var port: Int

            /// A sentinel at `host:port`.
            public init(host: String, port: Int = 26_379) {
                self.host = host
                self.port = port
            }

            /// `host:port`, or `[IPv6]:port`.
            public var description: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }
        }

        /// The name the sentinels monitor the master under (`sentinel monitor NAME ...`).
        public var masterName: String
        /// The sentinels, asked in this order.
        public var sentinels: [Address]
        /// The ACL user to authenticate to the sentinels as, if they require one.
        public var username: String?
        /// The sentinels' password (their `requirepass`), if they require one; the master's is
        /// ``RedisConfiguration/password``.
        public var password: String?

        /// The master named `masterName`, as `sentinels` know it.
        public init(masterName: String, sentinels: [Address], username: String? = nil, password: String? = nil) {
            self.masterName = masterName
            self.sentinels = sentinels
            self.username = username
            self.password = password
        }
    }
}
#endif
