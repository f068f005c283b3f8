import Breaker
import BreakerMetrics
import BreakerTestKit
import CoreMetrics
import MetricsTestKit
import Testing

/// A counted failure for the metrics tests.
private struct MetricsBoom: Error {}

/// A breaker on a manual clock with a ``BreakerMetricsListener`` reporting to its own `TestMetrics`
/// (the global metrics system is never bootstrapped).
private struct MetricsFixture {
    let clock = ManualClock()
    let metrics = TestMetrics()
    let breaker: CircuitBreaker
    let listener: BreakerMetricsListener

    init(configuration: CircuitBreaker.Configuration = MetricsFixture.consecutive(failMax: 3), options: BreakerMetricsListener.Options = .init(recordsDurations: true)) {
        listener = BreakerMetricsListener(name: "db", factory: metrics, options: options)
        breaker = CircuitBreaker(name: "db", configuration: configuration, listeners: [listener], clock: clock)
    }

    static func consecutive(failMax: Int, resetTimeout: Duration = .seconds(60)) -> CircuitBreaker.Configuration {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = failMax
        configuration.resetTimeout = resetTimeout
        return configuration
    }

    /// A call that succeeds after `duration` on the manual clock.
    func succeed(taking duration: Duration = .zero) throws {
        try breaker.call { clock.advance(by: duration) }
    }

    /// A call that fails after `duration` on the manual clock.
    func fail(taking duration: Duration = .zero) {
        do {
            try breaker.call { () throws -> Void in
                clock.advance(by: duration)
                throw MetricsBoom()
            }
            Issue.record("the call did not throw")
        } catch {}
    }

    /// A call that must be rejected.
    func rejected() {
        do {
            try breaker.call {}
            Issue.record("the call was not rejected")
        } catch {
            #expect((error as? CircuitBreakerError)?.reason == .open)
        }
    }

    func calls(_ outcome: String) throws -> TestCounter {
        try metrics.expectCounter("breaker_calls_total", [("breaker", "db"), ("outcome", outcome)])
    }

    func total(_ outcome: String) throws -> Int64 { try calls(outcome).totalValue }

    func transitions(to state: String, cause: String) throws -> Int64 {
        try metrics.expectCounter("breaker_transitions_total", [("breaker", "db"), ("to", state), ("cause", cause)]).totalValue
    }

    var gauge: TestRecorder {
        get throws { try metrics.expectGauge("breaker_state", [("breaker", "db")]) }
    }

    func timer(_ outcome: String) throws -> TestTimer {
        try metrics.expectTimer("breaker_call_duration", [("breaker", "db"), ("outcome", outcome)])
    }

    /// Every transition counter's total, keyed `to/cause`, leaving out zeros.
    func nonzeroTransitions() -> [String: Int64] {
        var result: [String: Int64] = [:]
        for counter in metrics.counters(label: "breaker_transitions_total") where counter.totalValue != 0 {
            let dimensions = Dictionary(uniqueKeysWithValues: counter.dimensions.map { ($0.0, $0.1) })
            result["\(dimensions["to"] ?? "?")/\(dimensions["cause"] ?? "?")"] = counter.totalValue
        }
        return result
    }
}

@Suite("BreakerMetricsListener")
struct MetricsTests {
    @Test("successes, failures and rejections show up exactly in breaker_calls_total")
    func callCounts() throws {
        let f = MetricsFixture()
        for _ in 0..<7 { try f.succeed() }
        f.fail()
        f.fail()
        try f.succeed()
        for _ in 0..<3 { f.fail() }  // the third trips
        #expect(f.breaker.state == .open)
        for _ in 0..<4 { f.rejected() }

        #expect(try f.total("success") == 8)
        #expect(try f.total("failure") == 5)
        #expect(try f.total("rejected") == 4)
        #expect(try f.total("ignored") == 0)
        #expect(try f.total("slow") == 0)
        // One increment of one per event: nothing batched, nothing doubled.
        #expect(try f.calls("success").values == Array(repeating: 1, count: 8))
        #expect(try f.calls("failure").values == Array(repeating: 1, count: 5))
        // The breaker's own metrics agree.
        let own = f.breaker.metrics
        #expect((own.successes, own.failures, own.rejected) == (8, 5, 4))
    }

    @Test("ignored and slow calls are counted; slow in addition to the outcome")
    func ignoredAndSlow() throws {
        var configuration = MetricsFixture.consecutive(failMax: 5)
        configuration.slowCalls = SlowCallPolicy(threshold: .milliseconds(100), rate: 1.0, minimumCalls: 10)
        let f = MetricsFixture(configuration: configuration)
        try f.succeed(taking: .milliseconds(150))
        try f.succeed(taking: .milliseconds(10))
        let value = try f.breaker.call(classifyingResult: { (_: Int) in .ignored }) {
            f.clock.advance(by: .milliseconds(20))
            return 7
        }
        #expect(value == 7)
        #expect(try f.total("success") == 2)
        #expect(try f.total("slow") == 1)
        #expect(try f.total("ignored") == 1)
        #expect(try f.total("failure") == 0)
        #expect(try f.timer("success").values == [150_000_000, 10_000_000])
        #expect(try f.timer("ignored").values == [20_000_000])
    }

    @Test("the rate gauges follow the window, and the seconds until a trial the open period")
    func rateAndTrialGauges() throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 4)
        configuration.window = .lastCalls(4)
        configuration.resetTimeout = .seconds(30)
        configuration.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 1, minimumCalls: 100)
        let f = MetricsFixture(configuration: configuration)
        func gauge(_ label: String) throws -> Double? { try f.metrics.expectGauge(label, [("breaker", "db")]).lastValue }
        #expect(try gauge("breaker_failure_rate") == 0 && gauge("breaker_seconds_until_trial") == 0)
        try f.succeed(taking: .seconds(2))  // slow
        f.fail()
        #expect(try gauge("breaker_failure_rate") == 0.5 && gauge("breaker_slow_call_rate") == 0.5)
        try f.succeed()
        f.fail()  // 2 of 4: opens for 30 s
        #expect(f.breaker.state == .open)
        #expect(try gauge("breaker_seconds_until_trial") == 30)
        f.clock.advance(by: .seconds(10))
        f.rejected()
        #expect(try gauge("breaker_seconds_until_trial") == 20, "each rejection tells the time left")
        f.clock.advance(by: .seconds(20))
        try f.succeed()  // the trial closes the circuit
        #expect(try gauge("breaker_seconds_until_trial") == 0)
    }

    @Test("every metric has a line of help")
    func everyMetricHasHelp() {
        for label in ["breaker_calls_total", "breaker_state", "breaker_call_duration", "breaker_transitions_total",
                      "breaker_failure_rate", "breaker_slow_call_rate", "breaker_seconds_until_trial", "breaker_rejections_total",
                      "breaker_admitted_fraction", "breaker_concurrency_limit"] {
            #expect(BreakerMetricsListener.help[label]?.isEmpty == false, "\(label)")
        }
        #expect(BreakerMetricsListener.help.count == 10)
    }

    @Test("a breaker's concurrency limit shows as a gauge, and its rejections as limited")
    func concurrencyLimitAndLimitedRejections() throws {
        var configuration = MetricsFixture.consecutive(failMax: 3)
        var limit = ConcurrencyLimiter.Configuration()
        limit.algorithm = .fixed(1)
        configuration.concurrencyLimit = limit
        let f = MetricsFixture(configuration: configuration)
        let gauge = try f.metrics.expectGauge("breaker_concurrency_limit", [("breaker", "db")])
        #expect(gauge.lastValue == 0, "set at creation, before any call")
        let held = try f.breaker.acquirePermit()
        #expect(throws: CircuitBreakerError.self) { try f.breaker.call {} }
        _ = held.succeeded()
        let limited = try f.metrics.expectCounter("breaker_rejections_total", [("breaker", "db"), ("reason", "limited")])
        #expect(limited.totalValue == 1 && gauge.lastValue == 1)
    }

    @Test("rejections are counted by reason, and the admitted fraction follows the ramp and the throttle")
    func rejectionsByReasonAndAdmittedFraction() throws {
        var configuration = MetricsFixture.consecutive(failMax: 1, resetTimeout: .seconds(10))
        configuration.recoveryRamp = .linear(over: .seconds(10), from: 0.5)
        let f = MetricsFixture(configuration: configuration)
        func rejections(_ reason: String) throws -> Int64 {
            try f.metrics.expectCounter("breaker_rejections_total", [("breaker", "db"), ("reason", reason)]).totalValue
        }
        let fraction = try f.metrics.expectGauge("breaker_admitted_fraction", [("breaker", "db")])
        #expect(fraction.lastValue == 1)
        f.fail()
        #expect(fraction.lastValue == 0, "open")
        f.rejected()
        f.clock.advance(by: .seconds(10))
        try f.succeed()  // the trial closes the circuit; the ramp starts at 50 %
        #expect(fraction.lastValue == 0.5)
        var ramped = 0
        for _ in 0..<200 {
            do { try f.breaker.call {} } catch { ramped += 1 }
        }
        #expect(ramped > 60 && ramped < 140)
        #expect(try rejections("open") == 1 && rejections("ramping_up") == Int64(ramped) && rejections("throttled") == 0)
        #expect(try f.total("rejected") == Int64(ramped) + 1, "the outcome counter still counts every rejection")
        f.clock.advance(by: .seconds(5))
        var more = 0
        while more < 32 {  // one in 32 rejections of the ramp reads the fraction
            do { try f.breaker.call {} } catch { more += 1 }
        }
        #expect(fraction.lastValue == 0.75)
    }

    @Test("the state gauge and the transition counters follow every transition")
    func gaugeFollowsTransitions() throws {
        let f = MetricsFixture(configuration: MetricsFixture.consecutive(failMax: 1, resetTimeout: .seconds(30)))
        #expect(try f.gauge.values == [0])  // set at creation

        f.fail()  // closed -> open
        #expect(try f.gauge.lastValue == 2)
        f.clock.advance(by: .seconds(30))
        f.fail()  // open -> half-open -> open (trial failed)
        f.clock.advance(by: .seconds(30))
        try f.succeed()  // open -> half-open -> closed
        #expect(try f.gauge.values == [0, 2, 1, 2, 1, 0])

        f.breaker.setMode(.forcedOpen)
        #expect(try f.gauge.lastValue == 2)
        f.breaker.setMode(.normal)
        f.breaker.halfOpen()
        #expect(try f.gauge.values == [0, 2, 1, 2, 1, 0, 2, 1])

        #expect(
            f.nonzeroTransitions() == [
                "open/consecutive_failures": 1, "half_open/open_period_elapsed": 2, "open/trial_failed": 1,
                "closed/trial_succeeded": 1, "open/mode_changed": 1, "half_open/manual": 1,
            ])
        #expect(try f.transitions(to: "open", cause: "failure_rate") == 0)
    }

    @Test("a failure-rate trip is counted under its cause")
    func failureRateCause() throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 4)
        configuration.window = .lastCalls(4)
        let f = MetricsFixture(configuration: configuration)
        try f.succeed()
        try f.succeed()
        f.fail()
        f.fail()
        #expect(f.breaker.state == .open)
        #expect(f.nonzeroTransitions() == ["open/failure_rate": 1])
    }

    @Test("the timer records each call's simulated duration under its outcome; rejections record none")
    func timerRecordsDurations() throws {
        let f = MetricsFixture(configuration: MetricsFixture.consecutive(failMax: 2))
        try f.succeed(taking: .milliseconds(5))
        try f.succeed(taking: .microseconds(1_500))
        f.fail(taking: .milliseconds(7))
        try f.succeed(taking: .zero)
        f.fail(taking: .seconds(2))
        f.fail(taking: .nanoseconds(3))  // trips
        f.rejected()

        #expect(try f.timer("success").values == [5_000_000, 1_500_000, 0])
        #expect(try f.timer("failure").values == [7_000_000, 2_000_000_000, 3])
        #expect(try f.timer("ignored").values == [])
        #expect(f.listener.interests.contains(.durations))
    }

    @Test("without the timer, no timer is created, calls are not timed, and counting goes on")
    func withoutTimer() throws {
        let f = MetricsFixture(options: .init(recordsDurations: false))
        try f.succeed(taking: .milliseconds(5))
        f.fail(taking: .milliseconds(5))
        #expect(f.metrics.timers.isEmpty)
        #expect(!f.listener.interests.contains(.durations))
        #expect(f.listener.interests == [.succeeded, .failed, .ignored, .slow, .rejected, .stateChanged])
        #expect(try f.total("success") == 1)
        #expect(try f.total("failure") == 1)
    }

    @Test("the metrics and dimensions are exactly the documented bounded set, created up front")
    func boundedDimensions() throws {
        let f = MetricsFixture()
        func render(_ label: String, _ dimensions: [(String, String)]) -> String {
            label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.sorted().joined(separator: ",") + "}"
        }
        let expectedCounters: Set<String> = Set(
            ["success", "failure", "ignored", "slow", "rejected"].map { render("breaker_calls_total", [("breaker", "db"), ("outcome", $0)]) }
                + [
                    ("closed", "trial_succeeded"), ("closed", "manual"), ("closed", "mode_changed"), ("closed", "remote"), ("closed", "other"),
                    ("half_open", "open_period_elapsed"), ("half_open", "manual"), ("half_open", "remote"), ("half_open", "other"),
                    ("open", "consecutive_failures"), ("open", "failure_rate"), ("open", "slow_call_rate"), ("open", "custom_rule"),
                    ("open", "trial_failed"), ("open", "trial_timed_out"), ("open", "manual"), ("open", "mode_changed"), ("open", "remote"),
                    ("open", "other"),
                ].map { render("breaker_transitions_total", [("breaker", "db"), ("to", $0.0), ("cause", $0.1)]) }
                + ["open", "ramping_up", "throttled", "limited", "other"].map { render("breaker_rejections_total", [("breaker", "db"), ("reason", $0)]) })
        let expectedTimers: Set<String> = Set(["success", "failure", "ignored"].map { render("breaker_call_duration", [("breaker", "db"), ("outcome", $0)]) })
        let expectedRecorders: Set<String> = Set(
            ["breaker_state", "breaker_failure_rate", "breaker_slow_call_rate", "breaker_seconds_until_trial", "breaker_admitted_fraction", "breaker_concurrency_limit"].map {
                render($0, [("breaker", "db")])
            })

        func check() {
            #expect(Set(f.metrics.counters.map { render($0.label, $0.dimensions) }) == expectedCounters)
            #expect(f.metrics.counters.count == 29)
            #expect(Set(f.metrics.timers.map { render($0.label, $0.dimensions) }) == expectedTimers)
            #expect(f.metrics.timers.count == 3)
            #expect(Set(f.metrics.recorders.map { render($0.label, $0.dimensions) }) == expectedRecorders)
            #expect(f.metrics.recorders.count == 6)
            #expect(f.metrics.recorders.allSatisfy { !$0.aggregate })  // a gauge
            #expect(f.metrics.meters.isEmpty)
        }
        check()  // everything exists before the first call

        // Exercise every path; no new series appear.
        try f.succeed()
        for _ in 0..<3 { f.fail() }
        f.rejected()
        f.breaker.setMode(.forcedOpen)
        f.breaker.setMode(.disabled)
        f.breaker.setMode(.normal)
        f.breaker.halfOpen()
        f.breaker.open()
        f.breaker.close()
        check()

        let documented = BreakerMetricsListener.transitionDimensions.map { render("breaker_transitions_total", [("breaker", "db"), ("to", $0.to), ("cause", $0.cause)]) }
        #expect(Set(documented) == expectedCounters.filter { $0.hasPrefix("breaker_transitions_total") })
        #expect(BreakerMetricsListener.callOutcomes == ["success", "failure", "ignored", "slow", "rejected"])
    }

    @Test("without transition causes, transitions are counted by target state only")
    func transitionsWithoutCauses() throws {
        let f = MetricsFixture(configuration: MetricsFixture.consecutive(failMax: 1, resetTimeout: .seconds(10)), options: .init(transitionCauses: false))
        f.fail()
        f.clock.advance(by: .seconds(10))
        try f.succeed()
        let transitions = f.metrics.counters(label: "breaker_transitions_total")
        #expect(transitions.count == 3)
        func total(_ state: String) throws -> Int64 {
            try f.metrics.expectCounter("breaker_transitions_total", [("breaker", "db"), ("to", state)]).totalValue
        }
        #expect(try total("open") == 1)
        #expect(try total("half_open") == 1)
        #expect(try total("closed") == 1)
    }

    @Test("a listener made for a breaker takes its name and starts the gauge at its state")
    func madeForBreaker() throws {
        let metrics = TestMetrics()
        let breaker = CircuitBreaker(name: "payments", failMax: 1, clock: ManualClock())
        breaker.open()
        let listener = BreakerMetricsListener(for: breaker, factory: metrics)
        breaker.addListener(listener)
        #expect(listener.name == "payments")
        #expect(try metrics.expectGauge("breaker_state", [("breaker", "payments")]).values == [2])
        breaker.close()
        #expect(try metrics.expectGauge("breaker_state", [("breaker", "payments")]).values == [2, 0])
        #expect(BreakerMetricsListener.gaugeValue(of: .halfOpen) == 1)
        #expect(BreakerMetricsListener.dimensionValue(of: .halfOpen) == "half_open")
    }

    @Test("calls from many tasks at once are all counted and timed")
    func concurrentCalls() async throws {
        let f = MetricsFixture(configuration: MetricsFixture.consecutive(failMax: 1_000_000))
        let breaker = f.breaker
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for call in 0..<250 {
                        if (task + call) % 5 == 0 {
                            _ = try? breaker.call { () throws -> Void in throw MetricsBoom() }
                        } else {
                            _ = try? breaker.call {}
                        }
                    }
                }
            }
        }
        #expect(try f.total("success") == 1_600)
        #expect(try f.total("failure") == 400)
        #expect(try f.timer("success").values.count == 1_600)
        #expect(try f.timer("failure").values.count == 400)
        #expect(try f.gauge.values == [0])
    }
}
