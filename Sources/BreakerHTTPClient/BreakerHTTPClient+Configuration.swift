#if HTTPClient
import AsyncHTTPClient
import Breaker
import BreakerMetrics
import CoreMetrics
import NIOCore
import NIOHTTP1

extension BreakerHTTPClient {
    /// How a ``BreakerHTTPClient`` judges responses and sizes its breakers; every field has a default
    /// made for HTTP dependencies (see ``httpBreakerDefaults``).
    ///
    /// ```swift
    /// var configuration = BreakerHTTPClient.Configuration()
    /// configuration.breaker.trip = .failureRate(0.5, minimumCalls: 20)
    /// configuration.breaker.slowCalls = SlowCallPolicy(threshold: .seconds(2), rate: 0.5)
    /// configuration.timeout = .seconds(5)
    /// ```
    public struct Configuration: Sendable {
        /// The policy of each host's breaker. Default: ``httpBreakerDefaults``.
        public var breaker: CircuitBreaker.Configuration
        /// How a response's status counts. Default: 5xx and 429 (Too Many Requests) are failures,
        /// everything else (4xx included: the server answered) a success.
        public var classifyStatus: @Sendable (HTTPResponseStatus) -> CallOutcome
        /// The deadline of each request, until its response head arrives; `nil` for none. The same
        /// value as `breaker.timeLimit`: one deadline, whichever name sets it. The `timeout` given to
        /// `execute` overrides it per request. Default: 10 s.
        public var timeout: Duration? {
            get { breaker.timeLimit }
            set { breaker.timeLimit = newValue }
        }
        /// Whether a trip caused by a response with `Retry-After` opens the breaker for that long
        /// (capped at ``retryAfterLimit``) instead of as ``breaker``'s `openDuration` says. Default: `true`.
        public var honorsRetryAfter: Bool
        /// The longest open period a `Retry-After` can ask for. Default: 5 minutes.
        public var retryAfterLimit: Duration
        /// Whether ``BreakerHTTPClient/execute(_:retrying:timeout:logger:fallback:)`` retries requests whose
        /// method is not idempotent (POST, PATCH, ...). Default: `false`, since the server may have acted
        /// on the first attempt.
        public var retriesNonIdempotentRequests: Bool
        /// Whether the requests to a host that have run past the slow-call threshold are cancelled when
        /// its breaker opens (they were counted as slow already), so that their connections are free for
        /// the trial. Their callers get ``CircuitBreakerError`` with reason `timedOut`. Default: `true`.
        public var cancelsHungRequestsOnOpen: Bool
        /// The retry budget of each host for the retrying `execute` when its ``RetryPolicy`` has none:
        /// retries waiting for a breaker to close are bounded by it, so a close is not met by a flood.
        /// `nil` for none. Default: `RetryBudget(ratio: 0.1, minimumTokens: 10)`, a new one per host.
        public var retryBudget: (@Sendable () -> RetryBudget)?
        /// Where each host's breaker reports its metrics (``BreakerMetricsListener``, labelled with the
        /// breaker's name, one listener per host); `nil` for no metrics. Default: `MetricsSystem.factory`
        /// as it is when the configuration is made (bootstrap swift-metrics first).
        public var metricsFactory: (any MetricsFactory)?
        /// What each host's metrics listener reports. Default: `BreakerMetricsListener.Options()`.
        public var metricsOptions: BreakerMetricsListener.Options
        /// The TCP connect timeout of the client the integration makes. Default: 1 s.
        public var connectTimeout: Duration
        /// The connections the client the integration makes keeps per host (AsyncHTTPClient's soft limit
        /// of HTTP/1 connections per host). Default: 32.
        public var connectionsPerHost: Int
        /// The name of the breaker a request goes through. Default: ``hostName(_:)``, `host:port` of the
        /// request's URL, so each host has a breaker of its own.
        public var breakerName: @Sendable (HTTPClientRequest) -> String {
            get { customBreakerName ?? Self.hostName }
            set { customBreakerName = newValue }
        }
        /// ``breakerName`` when one was set; `nil` for ``hostName(_:)``, which the client looks up without
        /// building the name for each request.
        var customBreakerName: (@Sendable (HTTPClientRequest) -> String)?

        /// The defaults.
        public init() {
            breaker = Self.httpBreakerDefaults
            classifyStatus = Self.failsOnServerErrorsAndTooManyRequests
            honorsRetryAfter = true
            retryAfterLimit = .seconds(300)
            retriesNonIdempotentRequests = false
            cancelsHungRequestsOnOpen = true
            retryBudget = { RetryBudget(ratio: 0.1, minimumTokens: 10) }
            connectTimeout = .seconds(1)
            metricsFactory = MetricsSystem.factory
            metricsOptions = BreakerMetricsListener.Options()
            connectionsPerHost = 32
        }

        /// The breaker policy an HTTP dependency gets by default, chosen so that a hang is noticed within
        /// about a second and recovery is noticed as fast:
        ///
        /// - **Slow calls**: a request taking 1 s or more is slow, counted while it runs
        ///   (``SlowCallPolicy/countsRunningCalls``); half of the last 20 calls slow (10 at least) opens.
        ///   A hang opens the breaker once 10 hung requests have run 1 s: at 10 requests a second or
        ///   more, within 2.25 s of its start (1.2–1.45 s at 50 a second); slower traffic takes longer.
        /// - **Failures**: half of the last 20 calls failing (10 at least) opens.
        /// - **A deadline** (`timeLimit`, the client's ``timeout``) of 10 s.
        /// - **Open period**: 1 s, doubled after each failed trial up to 30 s, ±10 % jitter. A trial is one
        ///   request, cheap for an HTTP service, so the first comes soon: a short outage ends within a
        ///   second of the dependency's return. While trials keep failing, the backoff keeps a long outage
        ///   down to one probe in 30 s. A close starts again at 1 s.
        /// - **Trials**: one at a time; a trial still running after 1 s (the slow threshold) is given up,
        ///   and a slow trial counts as a failed one.
        public static var httpBreakerDefaults: CircuitBreaker.Configuration {
            var breaker = CircuitBreaker.Configuration()
            breaker.trip = .failureRate(0.5, minimumCalls: 10)
            breaker.window = .lastCalls(20)
            breaker.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 0.5, minimumCalls: 10, countsRunningCalls: true)
            breaker.resetTimeout = .seconds(1)
            breaker.openDuration = .exponential(multiplier: 2, maximum: .seconds(30), jitter: 0.1)
            breaker.halfOpen.maxTrialDuration = .seconds(1)
            breaker.timeLimit = .seconds(10)
            return breaker
        }

        /// The default status rule: 5xx and 429 are failures, everything else a success.
        @Sendable
        public static func failsOnServerErrorsAndTooManyRequests(_ status: HTTPResponseStatus) -> CallOutcome {
            status.code >= 500 || status.code == 429 ? .failure : .success
        }

        /// The default breaker name: `host:port` of the request's URL (the port the scheme implies when
        /// it has none; the URL itself if it cannot be read), the name a human recognises, the same in
        /// logs, metrics and traces.
        @Sendable
        public static func hostName(_ request: HTTPClientRequest) -> String {
            hostName(url: request.url)
        }

        /// `scheme://authority` of `url` as written (a slice: nothing copied), the part its host's name
        /// is made of; `nil` for a URL without one.
        static func origin(of url: String) -> Substring? {
            let utf8 = url.utf8
            guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            let rest = utf8[colon...]
            guard rest.starts(with: "://".utf8) else { return nil }
            let authorityStart = utf8.index(colon, offsetBy: 3)
            let end = utf8[authorityStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? utf8.endIndex
            return url[url.startIndex..<end]
        }

        static func hostName(url: String) -> String {
            let url = Substring(url)
            guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return String(url) }
            let scheme = url[..<colon]
            var authority = url[url.index(colon, offsetBy: 3)...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }  // no credentials
            let host = authority.contains(where: \.isUppercase) ? authority.lowercased() : String(authority)
            // A port follows the last colon, unless that colon is inside an IPv6 literal ("[::1]").
            if let last = host.lastIndex(of: ":"), !host[last...].contains("]") { return host }
            let https = scheme.count == 5 && scheme.lowercased() == "https"
            let http = scheme.count == 4 && scheme.lowercased() == "http"
            return https ? host + ":443" : http ? host + ":80" : host
        }

        /// Checks every value and throws an error naming the first field out of range.
        public func validate() throws(ConfigurationError) {
            if let timeout {  // breaker.timeLimit by another name: named as the client's users set it
                guard timeout > .zero else { throw ConfigurationError(field: "timeout", value: "\(timeout)", allowed: "at least one nanosecond, or nil") }
            }
            do { try breaker.validate() } catch {
                throw ConfigurationError(field: "breaker.\(error.field)", value: error.value, allowed: error.allowed)
            }
            guard retryAfterLimit > .zero else {
                throw ConfigurationError(field: "retryAfterLimit", value: "\(retryAfterLimit)", allowed: "at least one nanosecond")
            }
            guard connectTimeout >= .milliseconds(1) else {
                throw ConfigurationError(field: "connectTimeout", value: "\(connectTimeout)", allowed: "at least 1 ms")
            }
            guard connectionsPerHost >= 1 else {
                throw ConfigurationError(field: "connectionsPerHost", value: "\(connectionsPerHost)", allowed: "1...\(Int.max)")
            }
        }

        /// The AsyncHTTPClient settings a client behind breakers needs, for a client of your own:
        /// connection attempts are not retried behind the breaker's back (a refused connection fails at
        /// once instead of at the deadline, and a trial hears it), the connect timeout is
        /// ``connectTimeout``, and the pool holds ``connectionsPerHost`` connections per host.
        public var httpClientConfiguration: HTTPClient.Configuration {
            var client = HTTPClient.Configuration()
            client.connectionPool.retryConnectionEstablishment = false
            client.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
            client.timeout.connect = .nanoseconds(connectTimeout.nanoseconds)
            return client
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
#endif
