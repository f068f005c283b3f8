import AsyncHTTPClient
import Breaker
import NIOHTTP1

extension BreakerHTTPClient {
    /// How a ``BreakerHTTPClient`` judges responses and sizes its breakers; every field has a default.
    ///
    /// ```swift
    /// var configuration = BreakerHTTPClient.Configuration()
    /// configuration.breaker.trip = .failureRate(0.5, minimumCalls: 20)
    /// configuration.breaker.window = .duration(.seconds(10))
    /// configuration.breaker.slowCalls = SlowCallPolicy(threshold: .seconds(2), rate: 0.5)
    /// configuration.timeout = .seconds(5)
    /// ```
    public struct Configuration: Sendable {
        /// The policy of each host's breaker. Default: `CircuitBreaker.Configuration()`.
        public var breaker: CircuitBreaker.Configuration
        /// How a response's status counts. Default: 5xx and 429 (Too Many Requests) are failures,
        /// everything else (4xx included: the server answered) a success.
        public var classifyStatus: @Sendable (HTTPResponseStatus) -> CallOutcome
        /// The longest a request may take until its response head arrives (AsyncHTTPClient's deadline);
        /// `nil` for none. A request's own `timeout` overrides it. Default: 30 s.
        public var timeout: Duration?
        /// Whether a trip caused by a response with `Retry-After` opens the breaker for that long
        /// (capped at ``retryAfterLimit``) instead of as ``breaker``'s `openDuration` says. Default: `true`.
        public var honorsRetryAfter: Bool
        /// The longest open period a `Retry-After` can ask for. Default: 5 minutes.
        public var retryAfterLimit: Duration
        /// Whether ``BreakerHTTPClient/execute(_:retrying:timeout:logger:)`` retries requests whose method
        /// is not idempotent (POST, PATCH, ...). Default: `false`, since the server may have acted on
        /// the first attempt.
        public var retriesNonIdempotentRequests: Bool
        /// The name of the breaker a request goes through. Default: its scheme, host and port
        /// (`https://api.example.com:443`), so each host has a breaker of its own.
        public var breakerName: @Sendable (HTTPClientRequest) -> String

        /// The defaults.
        public init() {
            breaker = CircuitBreaker.Configuration()
            classifyStatus = Self.failsOnServerErrorsAndTooManyRequests
            timeout = .seconds(30)
            honorsRetryAfter = true
            retryAfterLimit = .seconds(300)
            retriesNonIdempotentRequests = false
            breakerName = Self.hostName
        }

        /// The default status rule: 5xx and 429 are failures, everything else a success.
        @Sendable
        public static func failsOnServerErrorsAndTooManyRequests(_ status: HTTPResponseStatus) -> CallOutcome {
            status.code >= 500 || status.code == 429 ? .failure : .success
        }

        /// The default breaker name: `scheme://host:port` of the request's URL (the URL itself if it
        /// cannot be read).
        @Sendable
        public static func hostName(_ request: HTTPClientRequest) -> String {
            let url = Substring(request.url)
            guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return request.url }
            let scheme = url[..<colon].lowercased()
            var authority = url[url.index(colon, offsetBy: 3)...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }  // no credentials
            let host = authority.lowercased()
            // A port follows the last colon, unless that colon is inside an IPv6 literal ("[::1]").
            if let last = host.lastIndex(of: ":"), !host[last...].contains("]") { return "\(scheme)://\(host)" }
            let port = scheme == "https" ? ":443" : scheme == "http" ? ":80" : ""
            return "\(scheme)://\(host)\(port)"
        }

        /// ``breaker`` as each host's breaker gets it: its open duration honours `Retry-After` if
        /// ``honorsRetryAfter`` is set.
        var hostBreaker: CircuitBreaker.Configuration {
            var configuration = breaker
            if honorsRetryAfter {
                configuration.openDuration = .honoringRetryAfter(maximum: retryAfterLimit, otherwise: breaker.openDuration)
            }
            return configuration
        }
    }
}
