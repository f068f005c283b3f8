#if HTTPClient
import AsyncHTTPClient
import Breaker
import BreakerMetrics
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An AsyncHTTPClient that sends each request through the circuit breaker of its host.
///
/// ```swift
/// let http = try BreakerHTTPClient()
/// let response = try await http.execute(HTTPClientRequest(url: "https://inventory.internal/items/42"))
/// try await http.shutdown()
/// ```
///
/// What it decides, and how to change it (``Configuration``):
/// - **Its own HTTP client**, unless given one: made with ``Configuration/httpClientConfiguration``
///   (no connection retries behind the breaker's back, a 1 s connect timeout, a pool sized per host)
///   and shut down by ``shutdown()``. A client of your own should have the same settings.
/// - **One breaker per host** (`host:port`), from a ``CircuitBreakerRegistry`` built on
///   ``Configuration/breaker`` (``Configuration/httpBreakerDefaults``); ``breaker(for:)`` and ``breakers``
///   reach them.
/// - **Statuses**: 5xx and 429 count as failures, everything else (4xx included) as successes. A
///   failing response is still returned: only a rejection throws (``CircuitBreakerError``), and the
///   request's own errors are rethrown unchanged.
/// - **`Retry-After`** (seconds or an HTTP date) on a response that trips the breaker sets the open
///   period, capped at ``Configuration/retryAfterLimit``.
/// - **Transport errors** (connection refused, connect timeout, deadline exceeded, TLS) are failures;
///   whatever a cancelled task throws is ignored.
/// - **A deadline per request**: ``Configuration/timeout`` (10 s), or the `timeout` given to `execute`.
/// - **Hangs**: requests count as slow while they run past the slow-call threshold, so a host that stops
///   answering opens its breaker within about a second; the requests that hang are then cancelled
///   (``Configuration/cancelsHungRequestsOnOpen``), freeing their connections for the trial.
/// - **Metrics per host**: each host's breaker reports to ``Configuration/metricsFactory`` through a
///   `BreakerMetricsListener` labelled with its name (`host:port`, as in logs and traces).
/// - **Bodies are never read**: the response is handed back with its body unread, whatever its status.
public final class BreakerHTTPClient: Sendable {
    /// The client requests are sent with.
    public let client: HTTPClient
    /// The breakers, one per ``Configuration/breakerName``.
    public let breakers: CircuitBreakerRegistry
    /// How responses are judged.
    public let configuration: Configuration
    /// Whether ``client`` was made here, and so is shut down by ``shutdown()``.
    private let ownsClient: Bool
    private let hosts = Mutex<[String: HostRequests]>([:])
    /// The hosts by the `scheme://authority` of the URLs that reached them, while breakers are named by
    /// ``Configuration/hostName(_:)``: a request finds its host without building its name.
    private let hostsByOrigin = Mutex<[Substring: HostRequests]>([:])

    /// A client with an HTTP client of its own (``Configuration/httpClientConfiguration``), whose hosts
    /// get breakers built on `configuration` (validated now), each with `listeners`. Call ``shutdown()``
    /// when done.
    public convenience init(configuration: Configuration = .init(), listeners: [any CircuitBreakerListener] = []) throws(ConfigurationError) {
        try self.init(client: nil, configuration: configuration, listeners: listeners, clock: ContinuousClock())
    }

    /// A client that sends requests with `client` (give it ``Configuration/httpClientConfiguration``'s
    /// settings; it is yours to shut down), whose hosts get breakers built on `configuration`.
    public convenience init(
        client: HTTPClient, configuration: Configuration = .init(), listeners: [any CircuitBreakerListener] = []
    ) throws(ConfigurationError) {
        try self.init(client: client, configuration: configuration, listeners: listeners, clock: ContinuousClock())
    }

    /// A client whose breakers run on `clock` (a `ManualClock` in tests); with an HTTP client of its own
    /// when `client` is `nil`.
    public convenience init<C: Clock>(
        client: HTTPClient?, configuration: Configuration, listeners: [any CircuitBreakerListener] = [], clock: C
    ) throws(ConfigurationError) where C.Duration == Duration {
        try configuration.validate()
        let breakers = try CircuitBreakerRegistry(defaultConfiguration: configuration.hostBreaker, listeners: listeners, clock: clock)
        self.init(client: client, breakers: breakers, configuration: configuration)
    }

    /// A client whose breakers come from `breakers` (their configurations are the registry's: to honour
    /// `Retry-After`, give them ``OpenDurationPolicy/honoringRetryAfter(maximum:otherwise:)``); with an
    /// HTTP client of its own when `client` is `nil`.
    public init(client: HTTPClient?, breakers: CircuitBreakerRegistry, configuration: Configuration = .init()) {
        self.client = client ?? HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration.httpClientConfiguration)
        self.ownsClient = client == nil
        self.breakers = breakers
        self.configuration = configuration
    }

    /// Shuts down the HTTP client this integration made (a client given to it is left to its owner).
    /// Requests still running fail; call it once, when done.
    public func shutdown() async throws {
        if ownsClient { try await client.shutdown() }
    }

    /// The breaker `request` goes through.
    public func breaker(for request: HTTPClientRequest) -> CircuitBreaker {
        host(for: request).breaker
    }

    /// The host `request` goes to, made on first use.
    func host(for request: HTTPClientRequest) -> HostRequests {
        guard configuration.customBreakerName == nil, let origin = Configuration.origin(of: request.url) else {
            return host(named: configuration.breakerName(request))
        }
        if let host = hostsByOrigin.withLock({ $0[origin] }) { return host }
        let host = host(named: Configuration.hostName(url: request.url))
        hostsByOrigin.withLock { $0[Substring(String(origin))] = host }  // a copy: the key keeps no request's URL alive
        return host
    }

    /// The host named `name`, made on first use.
    private func host(named name: String) -> HostRequests {
        if let host = hosts.withLock({ $0[name] }) { return host }
        let breaker = breakers.breaker(named: name)
        let made = HostRequests(breaker: breaker, retryBudget: configuration.retryBudget?())
        let (host, isNew) = hosts.withLock { hosts in
            if let existing = hosts[name] { return (existing, false) }
            hosts[name] = made
            return (made, true)
        }
        if isNew && configuration.cancelsHungRequestsOnOpen { breaker.addListener(host) }
        if isNew, let factory = configuration.metricsFactory {
            breaker.addListener(BreakerMetricsListener(for: breaker, factory: factory, options: configuration.metricsOptions))
        }
        return host
    }

    /// Sends `request` through its host's breaker and returns the response, whatever its status.
    ///
    /// ```swift
    /// let stock = try await http.execute(request, fallback: { _ in cachedStock })
    /// ```
    ///
    /// - Parameters:
    ///   - timeout: The deadline for the response head, instead of ``Configuration/timeout``.
    ///   - logger: Passed to AsyncHTTPClient.
    ///   - fallback: Answers instead when the request is rejected (``CircuitBreakerError``, with its
    ///     `retryAfter`), fails (AsyncHTTPClient's error), or gets a failing status
    ///     (``HTTPResponseFailure``); what it returns or throws is the result.
    /// - Throws: Without a fallback: ``CircuitBreakerError`` (reason `open`) when the breaker rejects the
    ///   request, without sending it, or (reason `timedOut`) when it was cancelled as hung when the breaker
    ///   opened; otherwise whatever AsyncHTTPClient throws (`HTTPClientError.deadlineExceeded`, connection
    ///   errors), unchanged.
    public func execute(
        _ request: HTTPClientRequest, timeout: Duration? = nil, logger: Logger? = nil,
        fallback: (@Sendable (any Error) async throws -> HTTPClientResponse)? = nil
    ) async throws -> HTTPClientResponse {
        let host = host(for: request)
        let permit: CallPermit
        do {
            permit = try host.breaker.acquirePermit()
        } catch {
            guard let fallback else { throw error }
            return try await fallback(error)
        }
        do {
            let response = try await send(request, to: host, permit: permit, deadline: deadline(timeout), logger: logger)
            if let fallback, configuration.classifyStatus(response.status) == .failure { return try await fallback(failure(of: response)) }
            return response
        } catch {
            guard let fallback else { throw error }
            return try await fallback(error)
        }
    }

    /// Sends `request` on an admitted `permit` and reports its outcome; a request that the host
    /// cancelled as hung throws ``CircuitBreakerError`` with reason `timedOut`.
    func send(_ request: HTTPClientRequest, to host: HostRequests, permit: CallPermit, deadline: NIODeadline, logger: Logger?) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        if configuration.cancelsHungRequestsOnOpen {
            let (result, cancelledByBreaker) = await host.run { [client] in try await client.execute(request, deadline: deadline, logger: logger) }
            switch result {
            case .success(let value):
                response = value
            case .failure(let error) where cancelledByBreaker:
                permit.ignored()  // counted as slow while it ran
                throw CircuitBreakerError(
                    reason: .timedOut, retryAfter: host.breaker.retryAfter ?? .zero, underlying: error, breakerName: host.breaker.name)
            case .failure(let error):
                permit.failed(error)
                throw error
            }
        } else {
            do {
                response = try await client.execute(request, deadline: deadline, logger: logger)
            } catch {
                permit.failed(error)
                throw error
            }
        }
        switch configuration.classifyStatus(response.status) {
        case .failure: permit.failed(failure(of: response))
        case .ignored: permit.ignored()
        default: permit.succeeded()
        }
        return response
    }

    /// The methods RFC 9110 §9.2.2 defines as idempotent.
    static let idempotentMethods: [HTTPMethod] = [.GET, .HEAD, .PUT, .DELETE, .OPTIONS, .TRACE]

    func deadline(_ timeout: Duration?) -> NIODeadline {
        guard let timeout = timeout ?? configuration.timeout else { return .distantFuture }
        return .now() + .nanoseconds(timeout.nanoseconds)
    }

    func failure(of response: HTTPClientResponse) -> HTTPResponseFailure {
        let retryAfter = response.headers.first(name: "retry-after").flatMap { value in
            let serverDate = response.headers.first(name: "date").flatMap(RetryAfter.httpDate)
            return RetryAfter.wait(value, reference: serverDate ?? Date().timeIntervalSince1970)
        }
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        return HTTPResponseFailure(status: response.status, headers: headers, retryAfter: retryAfter)
    }
}
#endif
