import AsyncHTTPClient
import Breaker
import Logging
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An AsyncHTTPClient that sends each request through the circuit breaker of its host.
///
/// ```swift
/// let http = try BreakerHTTPClient(client: .shared)
/// let response = try await http.execute(HTTPClientRequest(url: "https://inventory.internal/items/42"))
/// ```
///
/// What it decides, and how to change it (``Configuration``):
/// - **One breaker per host** (scheme, host and port), from a ``CircuitBreakerRegistry`` built on
///   ``Configuration/breaker``; ``breaker(for:)`` and ``breakers`` reach them.
/// - **Statuses**: 5xx and 429 count as failures, everything else (4xx included) as successes. A
///   failing response is still returned: only a rejection throws (``CircuitBreakerError``), and the
///   request's own errors are rethrown unchanged.
/// - **`Retry-After`** (seconds or an HTTP date) on a response that trips the breaker sets the open
///   period, capped at ``Configuration/retryAfterLimit``.
/// - **Transport errors** (connection refused, connect timeout, deadline exceeded, TLS) are failures;
///   whatever a cancelled task throws is ignored.
/// - **A deadline per request**: ``Configuration/timeout``, or the `timeout` given to `execute`.
/// - **Bodies are never read**: the response is handed back with its body unread, whatever its status.
///
/// Calls that hang count as slow while they hang when ``Configuration/breaker`` has slow-call
/// detection (``SlowCallPolicy/countsRunningCalls``), so a host that stops answering opens its breaker
/// before the first deadline passes.
public struct BreakerHTTPClient: Sendable {
    /// The client requests are sent with.
    public let client: HTTPClient
    /// The breakers, one per ``Configuration/breakerName``.
    public let breakers: CircuitBreakerRegistry
    /// How responses are judged.
    public let configuration: Configuration

    /// A client whose hosts get breakers built on `configuration` (validated now), each with `listeners`.
    public init(
        client: HTTPClient = .shared, configuration: Configuration = .init(), listeners: [any CircuitBreakerListener] = []
    ) throws(ConfigurationError) {
        try self.init(client: client, configuration: configuration, listeners: listeners, clock: ContinuousClock())
    }

    /// A client whose breakers run on `clock` (a `ManualClock` in tests).
    public init<C: Clock>(
        client: HTTPClient, configuration: Configuration, listeners: [any CircuitBreakerListener] = [], clock: C
    ) throws(ConfigurationError) where C.Duration == Duration {
        let breakers = try CircuitBreakerRegistry(defaultConfiguration: configuration.hostBreaker, listeners: listeners, clock: clock)
        self.init(client: client, breakers: breakers, configuration: configuration)
    }

    /// A client whose breakers come from `breakers` (their configurations are the registry's: to honour
    /// `Retry-After`, give them ``OpenDurationPolicy/honoringRetryAfter(maximum:otherwise:)``).
    public init(client: HTTPClient, breakers: CircuitBreakerRegistry, configuration: Configuration = .init()) {
        self.client = client
        self.breakers = breakers
        self.configuration = configuration
    }

    /// The breaker `request` goes through.
    public func breaker(for request: HTTPClientRequest) -> CircuitBreaker {
        breakers.breaker(named: configuration.breakerName(request))
    }

    /// Sends `request` through its host's breaker and returns the response, whatever its status.
    ///
    /// - Parameters:
    ///   - timeout: The deadline for the response head, instead of ``Configuration/timeout``.
    ///   - logger: Passed to AsyncHTTPClient.
    /// - Throws: ``CircuitBreakerError`` (reason `open`) when the breaker rejects the request, without
    ///   sending it; otherwise whatever AsyncHTTPClient throws (`HTTPClientError.deadlineExceeded`,
    ///   connection errors), unchanged.
    public func execute(_ request: HTTPClientRequest, timeout: Duration? = nil, logger: Logger? = nil) async throws -> HTTPClientResponse {
        let permit = try breaker(for: request).acquirePermit()
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline(timeout), logger: logger)
        } catch {
            permit.failed(error)
            throw error
        }
        switch configuration.classifyStatus(response.status) {
        case .failure: permit.failed(failure(of: response))
        case .ignored: permit.ignored()
        default: permit.succeeded()
        }
        return response
    }

    /// Sends `request` through its host's breaker, retrying as `retry` says (see
    /// ``CircuitBreaker/call(retrying:_:)``): with backoff and jitter, within its budget, never into an
    /// open breaker sooner than it reopens (after a `Retry-After` trip, not before the server asked),
    /// and not once the task is cancelled. Each attempt has its own deadline.
    ///
    /// A request whose method is not idempotent is sent once, unless
    /// ``Configuration/retriesNonIdempotentRequests`` is set. A retried request must have a body that
    /// can be sent again (none, or bytes; not a one-shot stream).
    ///
    /// ```swift
    /// let response = try await http.execute(request, retrying: RetryPolicy(maxAttempts: 3))
    /// ```
    ///
    /// - Returns: The first response whose status is not a failure (a status judged ignored is
    ///   returned at once and counts as a success here).
    /// - Throws: ``HTTPResponseFailure`` when the last attempt got a failing status (its body unread and
    ///   discarded), or the last attempt's error.
    public func execute(
        _ request: HTTPClientRequest, retrying retry: RetryPolicy, timeout: Duration? = nil, logger: Logger? = nil
    ) async throws -> HTTPClientResponse {
        var retry = retry
        if !configuration.retriesNonIdempotentRequests && !Self.idempotentMethods.contains(request.method) { retry.maxAttempts = 1 }
        return try await breaker(for: request).call(retrying: retry) {
            let response = try await client.execute(request, deadline: deadline(timeout), logger: logger)
            if configuration.classifyStatus(response.status) == .failure { throw failure(of: response) }
            return response
        }
    }

    /// The methods RFC 9110 §9.2.2 defines as idempotent.
    private static let idempotentMethods: [HTTPMethod] = [.GET, .HEAD, .PUT, .DELETE, .OPTIONS, .TRACE]

    private func deadline(_ timeout: Duration?) -> NIODeadline {
        guard let timeout = timeout ?? configuration.timeout else { return .distantFuture }
        return .now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
    }

    private func failure(of response: HTTPClientResponse) -> HTTPResponseFailure {
        let retryAfter = response.headers.first(name: "retry-after").flatMap { value in
            let serverDate = response.headers.first(name: "date").flatMap(RetryAfter.httpDate)
            return RetryAfter.wait(value, reference: serverDate ?? Date().timeIntervalSince1970)
        }
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        return HTTPResponseFailure(status: response.status, headers: headers, retryAfter: retryAfter)
    }
}
