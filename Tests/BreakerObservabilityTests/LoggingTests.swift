import Breaker
import BreakerLogging
import BreakerTestKit
import InMemoryLogging
import Logging
import Testing

/// A counted failure for the logging tests.
private struct LoggingBoom: Error {}

/// A breaker on a manual clock with a ``BreakerLogger`` writing to an in-memory handler.
private struct LoggingFixture {
    let clock = ManualClock()
    let handler = InMemoryLogHandler()
    let breaker: CircuitBreaker
    let listener: BreakerLogger

    init(
        name: String? = "db", configuration: CircuitBreaker.Configuration = LoggingFixture.consecutive(failMax: 1),
        loggerLevel: Logger.Level = .trace, options: BreakerLogger.Options = BreakerLogger.Options()
    ) {
        let handler = handler
        var logger = Logger(label: "breaker-tests", factory: { _ in handler })
        logger.logLevel = loggerLevel
        listener = BreakerLogger(logger: logger, options: options, clock: clock)
        breaker = CircuitBreaker(name: name, configuration: configuration, listeners: [listener], clock: clock)
    }

    static func consecutive(failMax: Int, resetTimeout: Duration = .seconds(30)) -> CircuitBreaker.Configuration {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = failMax
        configuration.resetTimeout = resetTimeout
        return configuration
    }

    var entries: [InMemoryLogHandler.Entry] { handler.entries }

    func fail() { _ = try? breaker.call { () throws -> Void in throw LoggingBoom() } }
    func succeed() throws { try breaker.call {} }
    /// Makes a call that must be rejected.
    func rejected() {
        do {
            try breaker.call {}
            Issue.record("the call was not rejected")
        } catch {
            #expect((error as? CircuitBreakerError)?.reason == .open)
        }
    }
}

@Suite("BreakerLogger")
struct LoggingTests {
    @Test("a trip logs one warning with the cause, the retry time and the metadata; healthy calls log nothing")
    func tripLogsOneWarning() throws {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 8)
        configuration.window = .lastCalls(8)
        configuration.resetTimeout = .milliseconds(12_500)
        let f = LoggingFixture(configuration: configuration)
        for _ in 0..<3 { try f.succeed() }
        for _ in 0..<4 { f.fail() }
        #expect(f.entries.isEmpty)
        f.fail()  // 5 of 8: 62.5 %
        #expect(f.breaker.state == .open)

        let entries = f.entries
        try #require(entries.count == 1)
        #expect(entries[0].level == .warning)
        #expect(entries[0].message == "circuit breaker 'db' opened: failure rate 62.5 % ≥ 50 %")
        #expect(
            entries[0].metadata == [
                "breaker": "db",
                "breaker.state": "open",
                "breaker.previous_state": "closed",
                "breaker.cause": "failure rate 62.5 % ≥ 50 %",
                "retry_after": "12.5",
            ])
    }

    @Test("healthy calls and failures below the threshold log nothing")
    func healthyCallsLogNothing() throws {
        let f = LoggingFixture(configuration: LoggingFixture.consecutive(failMax: 3))
        for round in 0..<50 {
            try f.succeed()
            if round % 10 == 0 {
                f.fail()
                f.fail()
            }
        }
        #expect(f.breaker.state == .closed)
        #expect(f.entries.isEmpty)
        #expect(f.listener.interests == [.stateChanged, .modeChanged, .rejected])
    }

    @Test("half-open and closing log at notice, with the previous state and the cause")
    func closingLogsAtNotice() throws {
        let f = LoggingFixture()
        f.fail()
        f.clock.advance(by: .seconds(30))
        try f.succeed()  // the trial: half-open, then closed
        #expect(f.breaker.state == .closed)

        let entries = f.entries
        try #require(entries.count == 3)
        #expect(entries.map(\.level) == [.warning, .notice, .notice])
        #expect(
            entries.map(\.message) == [
                "circuit breaker 'db' opened: 1 consecutive failure",
                "circuit breaker 'db' went half-open: open period elapsed",
                "circuit breaker 'db' closed: trial succeeded",
            ])
        #expect(entries[0].metadata["retry_after"] == "30")
        #expect(
            entries[1].metadata == [
                "breaker": "db", "breaker.state": "half-open", "breaker.previous_state": "open", "breaker.cause": "open period elapsed",
            ])
        #expect(
            entries[2].metadata == [
                "breaker": "db", "breaker.state": "closed", "breaker.previous_state": "half-open", "breaker.cause": "trial succeeded",
            ])
    }

    @Test("a failed trial logs a reopening at warning")
    func failedTrialLogsReopening() throws {
        let f = LoggingFixture()
        f.fail()
        f.clock.advance(by: .seconds(30))
        f.fail()
        let entries = f.entries
        try #require(entries.count == 3)
        #expect(entries[2].level == .warning)
        #expect(entries[2].message == "circuit breaker 'db' reopened: trial failed")
        #expect(
            entries[2].metadata == [
                "breaker": "db", "breaker.state": "open", "breaker.previous_state": "half-open", "breaker.cause": "trial failed",
                "retry_after": "30",
            ])
    }

    @Test("a rejection by the recovery ramp names its reason in the message and the metadata")
    func rampRejectionsNameTheirReason() throws {
        var configuration = LoggingFixture.consecutive(failMax: 1, resetTimeout: .seconds(10))
        configuration.recoveryRamp = .linear(over: .seconds(10), from: 0)
        let f = LoggingFixture(configuration: configuration)
        f.fail()
        f.clock.advance(by: .seconds(10))
        try f.succeed()  // the trial closes the circuit; the ramp starts at 0 %
        f.handler.clear()
        #expect(throws: CircuitBreakerError.self) { try f.breaker.call {} }
        let entries = f.entries
        try #require(entries.count == 1)
        #expect(entries[0].message == "circuit breaker 'db' rejected a call (rampingUp)")
        #expect(entries[0].metadata["breaker.reason"] == "rampingUp" && entries[0].metadata["breaker.state"] == "closed")
    }

    @Test("rejections log at debug, one line a second, and the next line counts the ones left out")
    func rejectionsAreRateLimited() throws {
        let f = LoggingFixture(configuration: LoggingFixture.consecutive(failMax: 1, resetTimeout: .seconds(60)))
        f.fail()
        f.handler.clear()

        for _ in 0..<100 { f.rejected() }
        var entries = f.entries
        try #require(entries.count == 1)
        #expect(entries[0].level == .debug)
        #expect(entries[0].message == "circuit breaker 'db' rejected a call")
        #expect(entries[0].metadata == ["breaker": "db", "breaker.state": "open", "retry_after": "60", "breaker.reason": "open"])

        f.clock.advance(by: .milliseconds(999))
        f.rejected()
        #expect(f.entries.count == 1)

        f.clock.advance(by: .milliseconds(1))
        f.rejected()
        f.rejected()
        entries = f.entries
        try #require(entries.count == 2)
        #expect(entries[1].level == .debug)
        #expect(entries[1].message == "circuit breaker 'db' rejected a call (100 earlier rejections not logged)")
        #expect(entries[1].metadata == ["breaker": "db", "breaker.state": "open", "retry_after": "59", "suppressed": "100", "breaker.reason": "open"])
    }

    @Test("after a second, the next rejection logs with a suppressed count of 99")
    func suppressedCountOf99() throws {
        let f = LoggingFixture(configuration: LoggingFixture.consecutive(failMax: 1, resetTimeout: .seconds(60)))
        f.fail()
        f.handler.clear()
        for _ in 0..<100 { f.rejected() }
        #expect(f.entries.count == 1)
        f.clock.advance(by: .seconds(1))
        f.rejected()
        let entries = f.entries
        try #require(entries.count == 2)
        #expect(entries[1].metadata["suppressed"] == "99")
        #expect(entries[1].metadata["retry_after"] == "59")
    }

    @Test("a zero interval logs every rejection")
    func zeroIntervalLogsEveryRejection() {
        let f = LoggingFixture(options: BreakerLogger.Options(rejectionInterval: .zero))
        f.fail()
        f.handler.clear()
        for _ in 0..<5 { f.rejected() }
        #expect(f.entries.count == 5)
        #expect(f.entries.allSatisfy { $0.metadata["suppressed"] == nil })
    }

    @Test("one logger on two breakers keeps a rejection limit for each")
    func limitPerBreaker() throws {
        let clock = ManualClock()
        let handler = InMemoryLogHandler()
        var logger = Logger(label: "breaker-tests", factory: { _ in handler })
        logger.logLevel = .debug
        let listener = BreakerLogger(logger: logger, clock: clock)
        let a = CircuitBreaker(name: "a", failMax: 1, resetTimeout: .seconds(60), listeners: [listener], clock: clock)
        let b = CircuitBreaker(name: "b", failMax: 1, resetTimeout: .seconds(60), listeners: [listener], clock: clock)
        a.open()
        b.open()
        handler.clear()
        for _ in 0..<3 {
            _ = try? a.call {}
            _ = try? b.call {}
        }
        #expect(handler.entries.map { $0.metadata["breaker"] } == ["a", "b"])
        clock.advance(by: .seconds(1))
        _ = try? b.call {}
        let last = try #require(handler.entries.last)
        #expect(last.metadata["breaker"] == "b")
        #expect(last.metadata["suppressed"] == "2")
    }

    @Test("forcing open logs the transition and the mode change; its rejections carry no retry time")
    func forcedOpen() throws {
        let f = LoggingFixture()
        f.breaker.setMode(.forcedOpen)
        var entries = f.entries
        try #require(entries.count == 2)
        #expect(entries[0].level == .warning)
        #expect(entries[0].message == "circuit breaker 'db' opened: mode changed")
        #expect(entries[0].metadata["retry_after"] == nil)
        #expect(entries[1].level == .notice)
        #expect(entries[1].message == "circuit breaker 'db' mode forcedOpen (was normal)")
        #expect(
            entries[1].metadata == [
                "breaker": "db", "breaker.state": "open", "breaker.previous_state": "closed", "breaker.cause": "mode changed",
                "breaker.mode": "forcedOpen", "breaker.previous_mode": "normal",
            ])

        f.rejected()
        entries = f.entries
        try #require(entries.count == 3)
        #expect(entries[2].metadata == ["breaker": "db", "breaker.state": "open", "breaker.reason": "open"])
    }

    @Test("the logger's level filters lines: at info, rejections are dropped and transitions kept")
    func loggerLevelFilters() throws {
        let f = LoggingFixture(loggerLevel: .info)
        f.fail()
        for _ in 0..<10 { f.rejected() }
        #expect(f.entries.map(\.level) == [.warning])
    }

    @Test("configured levels are used")
    func configuredLevels() throws {
        let options = BreakerLogger.Options(openLevel: .critical, transitionLevel: .info, rejectionLevel: .error)
        let f = LoggingFixture(options: options)
        f.fail()
        f.rejected()
        f.clock.advance(by: .seconds(30))
        try f.succeed()
        #expect(f.entries.map(\.level) == [.critical, .error, .info, .info])
        #expect(options.level(entering: .open) == .critical)
        #expect(options.level(entering: .halfOpen) == .info)
        #expect(BreakerLogger.Options().level(entering: .closed) == .notice)
    }

    @Test("a breaker without a name logs without the name and without the breaker key")
    func unnamedBreaker() throws {
        let f = LoggingFixture(name: nil)
        f.breaker.open()
        let entry = try #require(f.entries.first)
        #expect(f.entries.count == 1)
        #expect(entry.message == "circuit breaker opened: manual")
        #expect(entry.metadata == ["breaker.state": "open", "breaker.previous_state": "closed", "breaker.cause": "manual", "retry_after": "30"])
    }

    @Test("rejections from many tasks at once: one line, and the next line counts every other one")
    func concurrentRejections() async throws {
        let f = LoggingFixture(configuration: LoggingFixture.consecutive(failMax: 1, resetTimeout: .seconds(60)))
        f.fail()
        f.handler.clear()
        let breaker = f.breaker
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<250 { _ = try? breaker.call {} }
                }
            }
        }
        #expect(f.entries.count == 1)
        f.clock.advance(by: .seconds(1))
        f.rejected()
        let entries = f.entries
        try #require(entries.count == 2)
        #expect(entries[1].metadata["suppressed"] == "1999")
    }
}
