#if HTTPClient
import AsyncHTTPClient
import Breaker
import BreakerHTTPClient
import BreakerTestKit
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@Suite("BreakerHTTPClient: naming, configuration, statuses, retries and fallbacks")
struct BreakerHTTPClientTests {
    @Test(arguments: [
        ("http://Example.com/a/b?c", "example.com:80"),
        ("https://api.example.com", "api.example.com:443"),
        ("HTTPS://api.example.com/", "api.example.com:443"),
        ("https://user:secret@api.example.com:8443/x", "api.example.com:8443"),
        ("http://[::1]/x", "[::1]:80"),
        ("http://[::1]:8080/x", "[::1]:8080"),
        ("not a url", "not a url"),
    ])
    func eachHostHasABreakerOfItsOwnNamedByHostAndPort(_ url: String, _ name: String) {
        #expect(BreakerHTTPClient.Configuration.hostName(HTTPClientRequest(url: url)) == name)
    }

    @Test func serverErrorsAndTooManyRequestsFailOtherStatusesSucceed() {
        let judge = BreakerHTTPClient.Configuration.failsOnServerErrorsAndTooManyRequests
        #expect(judge(.internalServerError) == .failure && judge(.serviceUnavailable) == .failure && judge(.tooManyRequests) == .failure)
        #expect(judge(.ok) == .success && judge(.notFound) == .success && judge(.badRequest) == .success)
    }

    @Test func invalidConfigurationNamesTheField() {
        func field(_ change: (inout BreakerHTTPClient.Configuration) -> Void) -> String? {
            var configuration = BreakerHTTPClient.Configuration()
            change(&configuration)
            do { try configuration.validate() } catch { return error.field }
            return nil
        }
        #expect(field { $0.connectionsPerHost = 0 } == "connectionsPerHost")
        #expect(field { $0.connectTimeout = .zero } == "connectTimeout")
        #expect(field { $0.timeout = .zero } == "timeout")
        #expect(field { $0.breaker.slowCalls?.rate = 2 } == "breaker.slowCalls.rate")
        #expect(field { _ in } == nil)
    }

    /// The breaker's `timeLimit` is the client's deadline: one value under two names.
    @Test func theBreakersTimeLimitIsTheRequestsDeadline() async throws {
        let server = try await FlakyServer.start()
        server.set(.hanging)
        var configuration = BreakerHTTPClient.Configuration()
        configuration.breaker.timeLimit = .milliseconds(300)
        #expect(configuration.timeout == .milliseconds(300))
        let http = try BreakerHTTPClient(configuration: configuration)
        let start = ContinuousClock.now
        await #expect(throws: HTTPClientError.deadlineExceeded) {
            try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/"))
        }
        // The alternative is the 10 s default: anything well under it shows the time limit was the deadline,
        // however busy the machine (a bound near 300 ms failed under a parallel build).
        let elapsed = start.duration(to: .now)
        #expect(elapsed < .seconds(9), "the deadline was the time limit, not the 10 s default: \(elapsed)")
        try await http.shutdown()
        try await server.stop()
    }

    /// A retried GET waits out the `Retry-After` the tripping response asked for, then gets through.
    @Test func aRetryNeverGoesBackBeforeTheServersRetryAfter() async throws {
        let server = try await FlakyServer.start()
        server.set(.unavailable)
        var configuration = BreakerHTTPClient.Configuration()
        configuration.breaker.trip = .consecutiveFailures
        configuration.breaker.failMax = 2
        let http = try BreakerHTTPClient(configuration: configuration)
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/")
        let start = ContinuousClock.now
        async let response = http.execute(request, retrying: RetryPolicy(maxAttempts: 4, initialDelay: .milliseconds(10), jitter: 0))
        // Two 503s trip the breaker for 2 s; the server recovers meanwhile.
        while server.answered.withLock({ $0[503] ?? 0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        server.set(.healthy)
        #expect(try await response.status == .ok)
        #expect(start.duration(to: .now) >= .milliseconds(1_950), "the third attempt waited for the open period")
        #expect(server.answered.withLock { $0 } == [503: 2, 200: 1])
        try await http.shutdown()
        try await server.stop()
    }

    @Test func aPostIsSentOnceAndItsFailureThrownWithTheServersWait() async throws {
        let server = try await FlakyServer.start()
        server.set(.unavailable)
        let http = try BreakerHTTPClient()
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/orders")
        request.method = .POST
        let error = await #expect(throws: HTTPResponseFailure.self) {
            try await http.execute(request, retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10)))
        }
        #expect(error?.status == .serviceUnavailable && error?.retryAfter == .seconds(2))
        #expect(server.answered.withLock { $0 } == [503: 1])
        try await http.shutdown()
        try await server.stop()
    }

    /// One deadline covers every attempt: a hung first attempt uses it up, and no retry follows.
    @Test func retriesShareOneDeadline() async throws {
        let server = try await FlakyServer.start()
        server.set(.hanging)
        let http = try BreakerHTTPClient()
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/")
        let start = ContinuousClock.now
        await #expect(throws: HTTPClientError.deadlineExceeded) {
            try await http.execute(request, retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10)), timeout: .milliseconds(500))
        }
        let elapsed = start.duration(to: .now)
        #expect(elapsed >= .milliseconds(450), "the deadline was waited for: \(elapsed)")
        // With a deadline per attempt, the hung first attempt would be retried (two more arrivals).
        #expect(server.arrivals.withLock { $0.count } == 1, "no retry after the one deadline passed")
        try await http.shutdown()
        try await server.stop()
    }

    /// Hears the waits of rejected calls.
    final class Rejections: CircuitBreakerListener, Sendable {
        let waits = Mutex<[Duration]>([])
        func rejected(_ breaker: CircuitBreaker, retryAfter: Duration) { waits.withLock { $0.append(retryAfter) } }
    }

    /// A retry rejected by the recovery ramp waits for the instant its lot comes up, and gets through.
    /// The breaker runs on a `ManualClock`, so the ramp stands at 0 % until the test moves it: a machine
    /// kept busy for seconds cannot let the ramp run out before the rejections are seen.
    @Test func aRetryTurnedAwayByTheRampWaitsForItsLotAndGetsThrough() async throws {
        let server = try await FlakyServer.start()
        let clock = ManualClock()
        let rejections = Rejections()
        var configuration = BreakerHTTPClient.Configuration()
        configuration.breaker.recoveryRamp = .linear(over: .seconds(2), from: 0)
        configuration.breaker.resetTimeout = .milliseconds(100)
        configuration.breaker.openDuration = .fixed
        let http = try BreakerHTTPClient(client: nil, configuration: configuration, listeners: [rejections], clock: clock)
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/")
        let breaker = http.breaker(for: request)
        breaker.open()
        clock.advance(by: .milliseconds(100))
        #expect(try await http.execute(request).status == .ok)  // the trial closes the circuit: the ramp starts at 0 %
        let rejected = await #expect(throws: CircuitBreakerError.self) { try await http.execute(request) }
        #expect(rejected?.reason == .rampingUp && rejected.map { $0.retryAfter > .zero && $0.retryAfter <= .seconds(2) } == true)
        // A retried request is turned away too, and waits for its lot (on the real clock) while the ramp ends.
        let start = ContinuousClock.now
        let retry = Task {
            try await http.execute(request, retrying: RetryPolicy(maxAttempts: 20, initialDelay: .milliseconds(1), jitter: 0), timeout: .seconds(5))
        }
        let giveUp = ContinuousClock.now + .seconds(30)
        while rejections.waits.withLock({ $0.count }) < 2 && ContinuousClock.now < giveUp { await Task.yield() }
        try #require(rejections.waits.withLock { $0.count } >= 2, "the retried request was turned away first")
        clock.advance(by: .seconds(2))
        let response = try await retry.value
        #expect(response.status == .ok)
        let waited = rejections.waits.withLock { $0[1] }
        #expect(start.duration(to: .now) >= waited, "the retry waited for its lot (\(waited)), not at once")
        #expect(server.arrivals.withLock { $0.count } == 2, "the trial and the retried request: rejections never reached the server")
        try await http.shutdown()
        try await server.stop()
    }

    /// A retry whose breaker reopens after the deadline is not waited for.
    @Test func aRetryThatCouldOnlyStartAfterTheDeadlineIsNotWaitedFor() async throws {
        let server = try await FlakyServer.start()
        server.set(.unavailable)  // Retry-After: 2
        var configuration = BreakerHTTPClient.Configuration()
        configuration.breaker.trip = .consecutiveFailures
        configuration.breaker.failMax = 1
        let http = try BreakerHTTPClient(configuration: configuration)
        let error = await #expect(throws: (any Error).self) {
            try await http.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/"), retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10)),
                timeout: .seconds(1))
        }
        // Waiting for the reopening (2 s, the Retry-After) would end in `deadlineExceeded` at the 1 s
        // deadline. Giving up at once rethrows what stopped the retries: the 503, whose Retry-After
        // is past the deadline, or the breaker's rejection, whose reopening is.
        let gaveUp = error is HTTPResponseFailure || (error as? CircuitBreakerError)?.reason == .open
        #expect(gaveUp, "gave up at once, not at the deadline: \(String(describing: error))")
        #expect(server.answered.withLock { $0 } == [503: 1])
        try await http.shutdown()
        try await server.stop()
    }

    /// A fallback answers for a rejection (and sees when the breaker reopens) and for a failing status.
    @Test func aFallbackAnswersForRejectionsAndFailures() async throws {
        let server = try await FlakyServer.start()
        server.set(.unavailable)
        var configuration = BreakerHTTPClient.Configuration()
        configuration.breaker.trip = .consecutiveFailures
        configuration.breaker.failMax = 1
        let http = try BreakerHTTPClient(configuration: configuration)
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/")
        let seen = Mutex<[String]>([])
        let fallback: @Sendable (any Error) async throws -> HTTPClientResponse = { error in
            switch error {
            case let failure as HTTPResponseFailure: seen.withLock { $0.append("failure \(failure.status.code)") }
            case let rejection as CircuitBreakerError:
                seen.withLock { $0.append("\(rejection.reason) \(rejection.retryAfter > .seconds(1) && rejection.retryAfter <= .milliseconds(2_100))") }
            default: seen.withLock { $0.append("other \(error)") }
            }
            return HTTPClientResponse(status: .ok, body: .bytes(ByteBuffer(string: "cached")))
        }
        #expect(try await http.execute(request, fallback: fallback).status == .ok)
        #expect(try await http.execute(request, fallback: fallback).status == .ok)
        #expect(try await http.execute(request, retrying: RetryPolicy(maxAttempts: 1), fallback: fallback).status == .ok)
        #expect(seen.withLock { $0 } == ["failure 503", "open true", "open true"])
        #expect(server.answered.withLock { $0 } == [503: 1], "the rejected requests were not sent")
        try await http.shutdown()
        try await server.stop()
    }
}
#endif
