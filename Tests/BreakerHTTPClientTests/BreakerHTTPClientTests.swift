import AsyncHTTPClient
import Breaker
import BreakerHTTPClient
import NIOHTTP1
import Synchronization
import Testing

@Suite("BreakerHTTPClient: naming, statuses and retries")
struct BreakerHTTPClientTests {
    @Test(arguments: [
        ("http://Example.com/a/b?c", "http://example.com:80"),
        ("https://api.example.com", "https://api.example.com:443"),
        ("https://user:secret@api.example.com:8443/x", "https://api.example.com:8443"),
        ("http://[::1]/x", "http://[::1]:80"),
        ("http://[::1]:8080/x", "http://[::1]:8080"),
        ("not a url", "not a url"),
    ])
    func eachHostHasABreakerOfItsOwn(_ url: String, _ name: String) {
        #expect(BreakerHTTPClient.Configuration.hostName(HTTPClientRequest(url: url)) == name)
    }

    @Test func serverErrorsAndTooManyRequestsFailOtherStatusesSucceed() {
        let judge = BreakerHTTPClient.Configuration.failsOnServerErrorsAndTooManyRequests
        #expect(judge(.internalServerError) == .failure && judge(.serviceUnavailable) == .failure && judge(.tooManyRequests) == .failure)
        #expect(judge(.ok) == .success && judge(.notFound) == .success && judge(.badRequest) == .success)
    }

    /// A retried GET waits out the `Retry-After` the tripping response asked for, then gets through.
    @Test func aRetryNeverGoesBackBeforeTheServersRetryAfter() async throws {
        let server = try await FlakyServer.start()
        server.set(.unavailable)
        var configuration = BreakerHTTPClient.Configuration()
        configuration.breaker.failMax = 2
        let http = try BreakerHTTPClient(client: .shared, configuration: configuration)
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/")
        let start = ContinuousClock.now
        async let response = http.execute(request, retrying: RetryPolicy(maxAttempts: 4, initialDelay: .milliseconds(10), jitter: 0))
        // Two 503s trip the breaker for 2 s; the server recovers meanwhile.
        while server.answered.withLock({ $0[503] ?? 0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        server.set(.healthy)
        #expect(try await response.status == .ok)
        #expect(start.duration(to: .now) >= .milliseconds(1_950), "the third attempt waited for the open period")
        #expect(server.answered.withLock { $0 } == [503: 2, 200: 1])
        try await server.stop()
    }

    @Test func aPostIsSentOnceAndItsFailureThrownWithTheServersWait() async throws {
        let server = try await FlakyServer.start()
        server.set(.unavailable)
        let http = try BreakerHTTPClient(client: .shared)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/orders")
        request.method = .POST
        let error = await #expect(throws: HTTPResponseFailure.self) {
            try await http.execute(request, retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10)))
        }
        #expect(error?.status == .serviceUnavailable && error?.retryAfter == .seconds(2))
        #expect(server.answered.withLock { $0 } == [503: 1])
        try await server.stop()
    }
}
