import Breaker
import BreakerTestKit
import Foundation
import Testing

@Suite("Late results (issue 3, capability 6)")
struct LateResultTests {
    @Test func aFailureFromBeforeATransitionIsDropped() throws {
        let f = PolicyFixture { $0.failMax = 1 }
        let early = try f.breaker.acquirePermit()
        f.breaker.open()
        f.breaker.close()
        #expect(early.failed(Boom()) == nil, "a dropped failure trips nothing: the caller rethrows its own error")
        #expect(f.breaker.state == .closed)
        #expect(f.breaker.failureCount == 0)
    }

    @Test func aSuccessFromBeforeATripDoesNotResetTheNewCount() throws {
        let f = PolicyFixture { $0.failMax = 2 }
        let early = try f.breaker.acquirePermit()
        f.run("FF")
        f.clock.advance(by: .seconds(60))
        f.breaker.halfOpen()
        early.succeeded()
        #expect(f.breaker.state == .halfOpen, "the old call does not count as a trial")
    }

    @Test func inFlightFailuresAfterATripDoNotReopenOrExtend() async throws {
        let f = PolicyFixture {
            $0.failMax = 1
            $0.resetTimeout = .seconds(10)
        }
        let lateCall = try f.breaker.acquirePermit()
        f.run("F")
        f.clock.advance(by: .seconds(4))
        lateCall.failed(Boom())
        #expect(f.breaker.retryAfter == .seconds(6), "aiobreaker re-opened here and restarted the timeout (bug B6)")
        #expect(f.recorder.stateChanges == [.stateChange(.closed, .open)])
    }
}

@Suite("Special states (issue 3, capability 7)")
struct ModeTests {
    @Test func disabledLetsEverythingThroughAndRecordsNothing() throws {
        let f = PolicyFixture { $0.failMax = 1 }
        f.breaker.setMode(.disabled)
        f.run("FFFF")
        #expect(f.breaker.state == .closed)
        #expect(f.breaker.failureCount == 0)
        #expect(f.breaker.mode == .disabled)
        f.breaker.setMode(.normal)
        f.run("F")
        #expect(f.breaker.state == .open)
    }

    @Test func disabledCountsNothingInMetricsAndIsNotHeard() throws {
        let f = PolicyFixture { $0.failMax = 1 }
        f.breaker.setMode(.disabled)
        f.recorder.removeAll()
        f.run("FSF")
        try f.breaker.call {}
        let metrics = f.breaker.metrics
        #expect(metrics.calls == 0 && metrics.successes == 0 && metrics.failures == 0, "nothing is recorded, metrics included")
        #expect(metrics.window.calls == 0)
        #expect(f.recorder.events.isEmpty, "no per-call events while disabled")
        f.breaker.setMode(.normal)
        try f.breaker.call {}
        #expect(f.breaker.metrics.successes == 1, "counting resumes with the normal mode")
    }

    @Test func forcedOpenIgnoresTheTimer() {
        let f = PolicyFixture { $0.resetTimeout = .seconds(1) }
        f.breaker.setMode(.forcedOpen)
        f.clock.advance(by: .seconds(3_600))
        #expect(catching { try f.breaker.call {} }?.reason == .open)
        #expect(f.breaker.state == .open)
        f.breaker.close()
        #expect(f.breaker.mode == .normal)
        #expect(catching { try f.breaker.call {} } == nil)
    }

    @Test func releasedFromForcedOpenTheTimerStartsThen() {
        let f = PolicyFixture { $0.resetTimeout = .seconds(10) }
        f.breaker.setMode(.forcedOpen)
        f.clock.advance(by: .seconds(100))
        f.breaker.setMode(.normal)
        #expect(f.breaker.state == .open)
        #expect(f.breaker.retryAfter == .seconds(10))
        f.clock.advance(by: .seconds(10))
        #expect(catching { try f.breaker.call {} } == nil)
        #expect(f.breaker.state == .closed)
    }

    @Test func metricsOnlyRecordsButNeverRejects() {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.5, minimumCalls: 2)
            $0.window = .lastCalls(10)
        }
        f.breaker.setMode(.metricsOnly)
        f.run("FFFFF")
        #expect(f.breaker.state == .closed)
        let metrics = f.breaker.metrics
        #expect(metrics.failures == 5)
        #expect(metrics.failureRate == 1)
        #expect(metrics.rejected == 0)
    }
}

@Suite("Two-step use (issue 3, capability 8)")
struct PermitTests {
    @Test func aPermitReportsItsOutcome() throws {
        let f = PolicyFixture { $0.failMax = 2 }
        try f.breaker.acquirePermit().succeeded()
        try f.breaker.acquirePermit().failed(Boom())
        #expect(f.breaker.failureCount == 1)
        let tripped = try f.breaker.acquirePermit().failed(Boom())
        #expect(tripped?.reason == .tripped)
        #expect(throws: CircuitBreakerError.self) { _ = try f.breaker.acquirePermit() }
        #expect(f.recorder.events.prefix(2) == [.beforeCall, .success])
    }

    @Test func aDroppedPermitCountsAsIgnoredAndFreesItsSlot() throws {
        let f = PolicyFixture { $0.failMax = 1 }
        f.breaker.halfOpen()
        do {
            _ = try f.breaker.acquirePermit()  // dropped at once
        }
        #expect(f.breaker.state == .halfOpen)
        #expect(f.breaker.metrics.ignored == 1)
        try f.breaker.acquirePermit().succeeded()
        #expect(f.breaker.state == .closed)
    }

    @Test func aFailureIsJudgedLikeAThrownError() throws {
        let f = PolicyFixture {
            $0.failMax = 1
            $0.exclude = [.type(Benign.self)]
        }
        #expect(try f.breaker.acquirePermit().failed(Benign()) == nil, "an excluded error counts as a success")
        #expect(f.breaker.state == .closed)
        #expect(try f.breaker.acquirePermit().failed(Boom())?.reason == .tripped)
    }

    @Test func onlyTheFirstReportCounts() throws {
        let f = PolicyFixture { $0.failMax = 1 }
        let permit = try f.breaker.acquirePermit()
        #expect(permit.succeeded() == nil)
        #expect(permit.isReported)
        #expect(permit.failed(Boom()) == nil, "a second report is ignored")
        #expect(f.breaker.state == .closed)
        #expect(f.breaker.metrics.successes == 1 && f.breaker.metrics.failures == 0)
    }

    @Test func aPermitCanBeReportedFromAnEscapingCallback() async throws {
        let f = PolicyFixture { $0.failMax = 1 }
        /// A callback API of the kind the two-step API is for: the completion escapes.
        func send(_ completion: @escaping @Sendable (Result<Int, Boom>) -> Void) {
            Task { completion(.failure(Boom())) }
        }
        let permit = try f.breaker.acquirePermit()
        let tripped: CircuitBreakerError? = await withCheckedContinuation { continuation in
            send { result in
                switch result {
                case .success: continuation.resume(returning: permit.succeeded())
                case .failure(let error): continuation.resume(returning: permit.failed(error))
                }
            }
        }
        #expect(tripped?.reason == .tripped)
        #expect(f.breaker.state == .open)
        #expect(f.breaker.metrics.failures == 1)
    }

    @Test func aPermitCanCrossTasks() async throws {
        let f = PolicyFixture { $0.failMax = 1 }
        let permit = try f.breaker.acquirePermit()
        await reportOnAnotherExecutor(permit)
        #expect(f.breaker.metrics.successes == 1)
    }

    @concurrent
    private func reportOnAnotherExecutor(_ permit: consuming CallPermit) async {
        permit.succeeded()
    }
}

@Suite("Fallback (issue 3, capability 9)")
struct FallbackTests {
    @Test func aRejectedCallReturnsTheFallback() async throws {
        let f = PolicyFixture { $0.failMax = 1 }
        f.breaker.open()
        var ran = false
        let value = try f.breaker.call(fallback: { error in error.reason == .open ? "cached" : "?" }) {
            ran = true
            return "live"
        }
        #expect(value == "cached")
        #expect(!ran)
        let asyncValue = try await f.breaker.call(fallback: { _ in await Task.yield(); return 1 }) { () async throws -> Int in 2 }
        #expect(asyncValue == 1)
    }

    @Test func theTrippingCallFallsBackTooButOrdinaryFailuresThrow() throws {
        let f = PolicyFixture { $0.failMax = 2 }
        #expect(throws: Boom.self) { try f.breaker.call(fallback: { _ in 0 }) { throw Boom() } }
        let value = try f.breaker.call(fallback: { $0.reason == .tripped ? -1 : 0 }) { () throws -> Int in throw Boom() }
        #expect(value == -1)
    }

    @Test func aHealthyCallIgnoresTheFallback() throws {
        let f = PolicyFixture { _ in }
        #expect(try f.breaker.call(fallback: { _ in 0 }) { 5 } == 5)
    }
}

@Suite("Metrics, snapshots, registry (issue 3, capabilities 10-12)")
struct ObservabilityTests {
    @Test func metricsCountEveryKindOfCall() throws {
        let f = PolicyFixture {
            $0.failMax = 2
            $0.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 1, minimumCalls: 100)
        }
        f.run("S")
        f.run("S", taking: .seconds(2))
        f.run("F")
        _ = try? f.breaker.reconfigure { $0.classifyError = ignoreCancellationErrors }
        _ = try? f.breaker.call { throw CancellationError() }
        f.run("F")  // trips
        f.run("SS")  // rejected
        f.clock.advance(by: .seconds(3))
        let metrics = f.breaker.metrics
        #expect(metrics.successes == 2)
        #expect(metrics.failures == 2)
        #expect(metrics.ignored == 1)
        #expect(metrics.rejected == 2)
        #expect(metrics.slowCalls == 1)
        #expect(metrics.calls == 7)
        #expect(metrics.state == .open)
        #expect(metrics.timeInState == .seconds(3))
    }

    @Test func aSnapshotSurvivesARestart() throws {
        let f = PolicyFixture {
            $0.failMax = 1
            $0.resetTimeout = .seconds(60)
        }
        f.run("F")
        f.clock.advance(by: .seconds(15))
        let saved = try JSONEncoder().encode(f.breaker.snapshot())
        // A new process: a new clock, a new breaker restored from what was saved.
        let snapshot = try JSONDecoder().decode(CircuitSnapshot.self, from: saved)
        #expect(snapshot.state == .open)
        #expect(snapshot.openRemaining == .seconds(45))
        let clock = ManualClock()
        let restored = CircuitBreaker(failMax: 1, resetTimeout: .seconds(60), storage: InMemoryStorage(restoring: snapshot), clock: clock)
        #expect(restored.state == .open)
        #expect(restored.failureCount == 1)
        clock.advance(by: .seconds(44))
        #expect(catching { try restored.call {} }?.reason == .open)
        clock.advance(by: .seconds(1))
        #expect(catching { try restored.call {} } == nil)
        #expect(restored.state == .closed)
    }

    @Test func theRegistryCreatesEachBreakerOnce() async throws {
        var strict = CircuitBreaker.Configuration()
        strict.failMax = 1
        let registry = try CircuitBreakerRegistry(configurations: ["strict": strict], clock: ManualClock())
        let a = registry.breaker(named: "hostA")
        #expect(registry.breaker(named: "hostA") === a)
        #expect(a.failMax == 5)
        let b = try registry.breaker(named: "hostB", configuration: "strict")
        #expect(b.failMax == 1)
        #expect(b.name == "hostB")
        #expect(throws: CircuitBreakerRegistry.UnknownConfiguration(name: "lenient")) {
            try registry.breaker(named: "hostC", configuration: "lenient")
        }
        let many = await withTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<100 { group.addTask { ObjectIdentifier(registry.breaker(named: "contended")) } }
            return await Set(group.reduce(into: []) { $0.append($1) })
        }
        #expect(many.count == 1)
        #expect(Set(registry.breakers.keys) == ["hostA", "hostB", "contended"])
        #expect(registry.removeBreaker(named: "hostA") === a)
        #expect(registry.breaker(named: "hostA") !== a)
    }

    @Test func theRegistryValidatesItsConfigurations() {
        var bad = CircuitBreaker.Configuration()
        bad.resetTimeout = .zero
        #expect(throws: ConfigurationError.self) { _ = try CircuitBreakerRegistry(configurations: ["bad": bad]) }
    }
}
