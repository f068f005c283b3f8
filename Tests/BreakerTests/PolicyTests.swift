import Breaker
import BreakerTestKit
import Testing

/// A breaker with `configuration` on a manual clock, and helpers to drive it.
struct PolicyFixture {
    let clock = ManualClock()
    let recorder = EventRecorder()
    let breaker: CircuitBreaker

    init(_ change: (inout CircuitBreaker.Configuration) -> Void) {
        var configuration = CircuitBreaker.Configuration()
        change(&configuration)
        breaker = CircuitBreaker(name: "policy", configuration: configuration, listeners: [recorder], clock: clock)
    }

    /// Runs the outcomes in order ("S" success, "F" failure), each call taking `duration`.
    func run(_ outcomes: String, taking duration: Duration = .zero) {
        for outcome in outcomes {
            _ = try? breaker.call {
                clock.advance(by: duration)
                if outcome == "F" { throw Boom() }
            }
        }
    }
}

@Suite("Trip policies (issue 3, capability 1)")
struct TripPolicyTests {
    @Test func aRateExactlyAtTheThresholdTrips() {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.5, minimumCalls: 4)
            $0.window = .lastCalls(4)
        }
        f.run("SFS")
        #expect(f.breaker.state == .closed)
        f.run("F")  // 2 of 4 = 0.5
        #expect(f.breaker.state == .open)
    }

    @Test func aRateJustBelowTheThresholdDoesNot() {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.5, minimumCalls: 4)
            $0.window = .lastCalls(5)
        }
        f.run("SSSFSF")  // the window holds SSFSF: 2 of 5 = 0.4
        #expect(f.breaker.state == .closed)
        #expect(f.breaker.metrics.window == WindowSnapshot(calls: 5, failures: 2, consecutiveFailures: 1))
    }

    @Test func oneCallShortOfTheMinimumNeverTrips() throws {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.5, minimumCalls: 4)
            $0.window = .lastCalls(10)
        }
        f.run("FFF")
        #expect(f.breaker.state == .closed, "3 failures out of 3 is 100 %, but the minimum is 4 calls")
        let value = try f.breaker.call { 7 }
        #expect(value == 7, "the success that completes the minimum is returned normally")
        #expect(f.breaker.state == .open, "3 of 4 failed: the window is judged once it holds 4 calls")
    }

    @Test func aSuccessThatTripsStartsTheOpenPeriodNow() throws {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.5, minimumCalls: 2)
            $0.window = .lastCalls(10)
            $0.resetTimeout = .seconds(1)
        }
        f.clock.advance(by: .seconds(100))
        f.run("F")
        f.clock.advance(by: .milliseconds(1))
        try f.breaker.call {}
        #expect(f.breaker.state == .open)
        #expect(f.breaker.retryAfter == .seconds(1), "timed from the tripping success, not from the clock's origin")
    }

    @Test func anExcludedErrorThatCompletesATrippingWindowIsRethrownAsItIs() {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.5, minimumCalls: 3)
            $0.window = .lastCalls(10)
            $0.exclude = [.type(Benign.self)]
        }
        f.run("FF")
        #expect(throws: Benign.self) { try f.breaker.call { throw Benign() } }
        #expect(f.breaker.state == .open)
    }

    @Test func theCountWindowForgetsTheOldestCall() {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.6, minimumCalls: 3)
            $0.window = .lastCalls(3)
        }
        f.run("FSS")
        f.run("F")  // FSS -> SSF: still 1 of 3
        #expect(f.breaker.metrics.window.failures == 1)
        f.run("F")  // SFF: 2 of 3 = 0.67
        #expect(f.breaker.state == .open)
    }

    @Test func ignoredCallsAreLeftOutOfTheWindow() {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.5, minimumCalls: 2)
            $0.window = .lastCalls(10)
        }
        f.run("S")
        try? f.breaker.reconfigure { $0.classifyError = ignoreCancellationErrors }
        _ = try? f.breaker.call { throw CancellationError() }
        #expect(f.breaker.metrics.window.calls == 1)
    }

    @Test func aTimeWindowDropsABucketOnceItIsSpanOld() {
        let f = PolicyFixture {
            $0.trip = .failureRate(1.0, minimumCalls: 2)
            $0.window = .duration(.seconds(10), bucket: .seconds(1))
        }
        f.clock.advance(by: .milliseconds(500))
        f.run("F")  // in bucket [0 s, 1 s)
        f.clock.advance(by: .milliseconds(9_900))  // t = 10.4 s: bucket [0, 1) has left the window
        f.run("F")
        #expect(f.breaker.state == .closed)
        #expect(f.breaker.metrics.window.calls == 1)
    }

    @Test func aTimeWindowKeepsABucketUntilThen() {
        let f = PolicyFixture {
            $0.trip = .failureRate(1.0, minimumCalls: 2)
            $0.window = .duration(.seconds(10), bucket: .seconds(1))
        }
        f.clock.advance(by: .milliseconds(500))
        f.run("F")
        f.clock.advance(by: .milliseconds(9_400))  // t = 9.9 s: still inside
        f.run("F")
        #expect(f.breaker.state == .open)
    }

    @Test func bucketsNarrowerThanASecond() {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.5, minimumCalls: 1)
            $0.window = .duration(.milliseconds(100), bucket: .milliseconds(10))
        }
        f.run("S")
        f.clock.advance(by: .milliseconds(95))
        #expect(f.breaker.metrics.window.calls == 1)
        f.clock.advance(by: .milliseconds(10))
        #expect(f.breaker.metrics.window.calls == 0, "105 ms later, the 10 ms bucket has rolled out")
    }

    @Test func aLongIdleGapEmptiesTheWindowAtOnce() {
        let f = PolicyFixture {
            $0.trip = .failureRate(0.9, minimumCalls: 5)
            $0.window = .duration(.seconds(1_000), bucket: .milliseconds(1))  // a million buckets
        }
        f.run("SSSS")
        f.clock.advance(by: .seconds(5_000))
        f.run("F")
        #expect(f.breaker.metrics.window == WindowSnapshot(calls: 1, failures: 1, consecutiveFailures: 1))
    }

    /// A breaker with no listener (so that successes of a quiet window are parked) on a 10 s window of
    /// 1 s buckets, tripping at a failure rate of 0.5.
    private func quietWindowBreaker(minimumCalls: Int) -> (CircuitBreaker, ManualClock) {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: minimumCalls)
        configuration.window = .duration(.seconds(10), bucket: .seconds(1))
        let clock = ManualClock()
        return (CircuitBreaker(configuration: configuration, clock: clock), clock)
    }

    /// Without listeners, successes of a time window with nothing else in it are parked per thread
    /// and counted at the next locked section: the counts must come out the same.
    @Test func parkedSuccessesOfAQuietTimeWindowCountWhenAFailureIsJudged() throws {
        let (breaker, _) = quietWindowBreaker(minimumCalls: 4)
        for _ in 0..<3 { try breaker.call {} }
        _ = try? breaker.call { throw Boom() }
        #expect(breaker.state == .closed, "1 failure in 4 calls")
        #expect(breaker.metrics.window == WindowSnapshot(calls: 4, failures: 1, consecutiveFailures: 1))
        _ = try? breaker.call { throw Boom() }
        _ = try? breaker.call { throw Boom() }
        #expect(breaker.state == .open, "3 failures in 6 calls")
    }

    @Test func parkedSuccessesLeaveTheWindowWithTheirBucket() throws {
        let (breaker, clock) = quietWindowBreaker(minimumCalls: 2)
        for _ in 0..<5 { try breaker.call {} }
        clock.advance(by: .seconds(10))
        _ = try? breaker.call { throw Boom() }
        #expect(breaker.metrics.window == WindowSnapshot(calls: 1, failures: 1, consecutiveFailures: 1))
        _ = try? breaker.call { throw Boom() }
        #expect(breaker.state == .open, "the five old successes no longer dilute the rate")
    }

    @Test func parkedSuccessesDoNotSurviveATrip() throws {
        let (breaker, _) = quietWindowBreaker(minimumCalls: 2)
        let late = try breaker.acquirePermit()  // admitted now, finishes after the circuit trips and closes
        breaker.open()
        breaker.close()
        late.succeeded()
        #expect(breaker.metrics.window.calls == 0, "a success from before the close is not counted")
    }

    @Test func aCustomRuleSeesTheWindow() {
        let f = PolicyFixture {
            $0.trip = .custom { window in window.failures >= 2 && window.calls <= 3 }
            $0.window = .lastCalls(3)
        }
        f.run("FSS")
        f.run("F")  // window SSF
        #expect(f.breaker.state == .closed)
        f.run("F")  // window SFF
        #expect(f.breaker.state == .open)
        #expect(f.recorder.stateChanges == [.stateChange(.closed, .open)])
    }

    @Test func aCustomRuleMayReadTheBreaker() {
        let holder = BreakerHolder()
        let f = PolicyFixture {
            $0.trip = .custom { window in
                // Reading the breaker from the rule must not deadlock: the rule runs outside the lock.
                _ = holder.breaker?.state
                return window.failures >= 1
            }
        }
        holder.breaker = f.breaker
        f.run("F")
        #expect(f.breaker.state == .open)
    }

    @Test func theConsecutivePolicyIgnoresTheWindow() {
        let f = PolicyFixture { $0.failMax = 3 }
        f.run("FFSFF")
        #expect(f.breaker.state == .closed)
        f.run("F")
        #expect(f.breaker.state == .open)
    }
}

final class BreakerHolder: @unchecked Sendable {
    weak var breaker: CircuitBreaker?  // weak: the breaker's rule holds this holder
}

@Suite("Slow calls (issue 3, capability 2)")
struct SlowCallTests {
    @Test func slowSuccessesAndSlowFailuresBothCount() {
        let f = PolicyFixture {
            $0.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 0.5, minimumCalls: 4)
            $0.window = .lastCalls(4)
            $0.failMax = 100
        }
        f.run("S", taking: .seconds(1))  // exactly the threshold: slow
        f.run("S", taking: .milliseconds(999))
        f.run("F", taking: .seconds(2))
        #expect(f.breaker.state == .closed, "three calls, below the minimum")
        #expect(f.breaker.metrics.window.slowCalls == 2)
        #expect(f.breaker.metrics.window.slowFailures == 1)
        f.run("S")
        #expect(f.breaker.state == .open, "2 of 4 slow = 50 %")
        #expect(f.breaker.metrics.slowCalls == 2)
    }

    @Test func fastCallsNeverTripOnSlowness() {
        let f = PolicyFixture {
            $0.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 0.1, minimumCalls: 1)
        }
        f.run("SSSS", taking: .milliseconds(500))
        #expect(f.breaker.state == .closed)
    }
}

@Suite("Outcome classification (issue 3, capability 3)")
struct ClassificationTests {
    struct Response { var status: Int }

    @Test func aReturnedValueCanCountAsAFailure() throws {
        let f = PolicyFixture { $0.failMax = 2 }
        let judge: (Response) -> CallOutcome = { $0.status >= 500 ? .failure : .success }
        let first = try f.breaker.call(classifyingResult: judge) { Response(status: 503) }
        #expect(first.status == 503, "a failed value is still returned")
        #expect(f.breaker.failureCount == 1)
        #expect(f.recorder.events.contains(.failure("Response(status: 503)")))
        #expect {
            try f.breaker.call(classifyingResult: judge) { Response(status: 500) }
        } throws: { error in
            let breakerError = error as? CircuitBreakerError
            return breakerError?.reason == .tripped && breakerError?.underlying is FailedResult
        }
        #expect(f.breaker.state == .open)
    }

    @Test func aReturnedValueCanBeIgnored() async throws {
        let f = PolicyFixture { $0.failMax = 1 }
        f.breaker.halfOpen()
        let value = try await f.breaker.call(classifyingResult: { (_: Int) in .ignored }) { () async throws -> Int in 304 }
        #expect(value == 304)
        #expect(f.breaker.state == .halfOpen, "an ignored trial decides nothing")
        try f.breaker.call {}
        #expect(f.breaker.state == .closed, "and it freed the slot")
    }

    @Test func theErrorClassifierComesFirst() {
        let f = PolicyFixture {
            $0.failMax = 1
            $0.exclude = [.type(Boom.self)]
            $0.classifyError = { error in (error as? Boom)?.code == 2 ? .failure : nil }
        }
        _ = try? f.breaker.call { throw Boom(code: 1) }
        #expect(f.breaker.state == .closed, "nil from the classifier falls back to the exclusions")
        _ = try? f.breaker.call { throw Boom(code: 2) }
        #expect(f.breaker.state == .open)
    }
}
