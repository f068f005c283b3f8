#if HTTPClient
import AsyncHTTPClient
import Breaker
import BreakerHTTPClient
import MetricsTestKit
import Synchronization
import Testing

@Suite("BreakerHTTPClient: metrics per host")
struct PerHostMetricsTests {
    /// Each host reports under its own breaker name, and calls counted slow while they hung are in the
    /// slow counter (they were missing while the breaker opened on the slow-call rate).
    @Test func eachHostReportsUnderItsNameAndHungCallsCountAsSlow() async throws {
        let hanging = try await FlakyServer.start()
        hanging.set(.hanging)
        let healthy = try await FlakyServer.start()
        let metrics = TestMetrics()
        var configuration = BreakerHTTPClient.Configuration()
        configuration.metricsFactory = metrics
        configuration.timeout = .seconds(3)  // the hung requests still run when the third is admitted, even on a busy machine
        let http = try BreakerHTTPClient(configuration: configuration)
        let hung = HTTPClientRequest(url: "http://127.0.0.1:\(hanging.port)/")

        // Two requests hang; a third, admitted 1.2 s after both reached the server, counts them as slow
        // while they run.
        async let first: Void = { _ = try? await http.execute(hung) }()
        async let second: Void = { _ = try? await http.execute(hung) }()
        while hanging.arrivals.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(1_200))
        #expect(http.breaker(for: hung).metrics.window.slowCalls == 0)
        async let third: Void = { _ = try? await http.execute(hung) }()
        let admitted = ContinuousClock.now
        while http.breaker(for: hung).metrics.window.slowCalls < 2 && admitted.duration(to: .now) < .seconds(1) {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(http.breaker(for: hung).metrics.window.slowCalls == 2, "counted while they run")
        _ = await (first, second, third)
        _ = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(healthy.port)/"))

        func calls(_ port: Int, _ outcome: String) throws -> Int64 {
            try metrics.expectCounter("breaker_calls_total", [("breaker", "127.0.0.1:\(port)"), ("outcome", outcome)]).totalValue
        }
        #expect(try calls(hanging.port, "slow") == 3, "the two counted while running, and the third at its end")
        #expect(try calls(hanging.port, "failure") == 3, "deadline exceeded")
        #expect(try calls(healthy.port, "success") == 1 && calls(healthy.port, "slow") == 0)
        #expect(try calls(hanging.port, "success") == 0)
        try await http.shutdown()
        try await hanging.stop()
        try await healthy.stop()
    }
}
#endif
