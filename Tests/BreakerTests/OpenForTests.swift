import Breaker
import BreakerTestKit
import Testing

@Suite("Open for a given time")
struct OpenForTests {
    /// A dependency's answer that says when to come back.
    struct RateLimited: Error { var retryAfter: Duration }

    @Test func openForIgnoresTheResetTimeout() throws {
        let f = Fixture(failMax: 3, resetTimeout: .seconds(60))
        f.breaker.open(for: .seconds(2))
        #expect(f.breaker.state == .open)
        #expect(f.breaker.retryAfter == .seconds(2))
        #expect(f.recorder.stateChanges == [.stateChange(.closed, .open)])
        f.clock.advance(by: .seconds(2))
        try f.succeed()
        #expect(f.breaker.state == .closed, "the trial went through after 2 s, not 60")
    }

    @Test func aCustomOpenDurationReadsTheFailureThatTripped() {
        let f = PolicyFixture {
            $0.failMax = 1
            $0.resetTimeout = .seconds(10)
            $0.openDuration = .custom { trip in
                guard let limited = trip.error as? RateLimited else { return trip.resetTimeout }
                return min(limited.retryAfter, .seconds(300))
            }
        }
        let tripped = catching { try f.breaker.call { throw RateLimited(retryAfter: .seconds(30)) } }
        #expect(tripped?.retryAfter == .seconds(30), "the server's Retry-After sized the open period")
        #expect(f.breaker.retryAfter == .seconds(30))
        f.clock.advance(by: .seconds(30))
        _ = catching { try f.breaker.call { throw RateLimited(retryAfter: .seconds(3_600)) } }
        #expect(f.breaker.retryAfter == .seconds(300), "capped by the policy")
        f.clock.advance(by: .seconds(300))
        _ = catching { try f.breaker.call { throw Boom() } }
        #expect(f.breaker.retryAfter == .seconds(10), "no Retry-After: the reset timeout")
    }

    @Test func aFailedResultIsTheTripsErrorForAClassifiedValue() {
        let seen = Guarded<[String]>([])
        let f = PolicyFixture {
            $0.failMax = 1
            $0.openDuration = .custom { trip in
                seen.withLock { $0.append(String(describing: trip.error.map { $0 as? FailedResult }??.description)) }
                return .seconds(7)
            }
        }
        _ = try? f.breaker.call(classifyingResult: { (status: Int) in status >= 500 ? .failure : .success }) { 503 }
        #expect(seen.withLock { $0 } == ["Optional(\"503\")"])
        #expect(f.breaker.retryAfter == .seconds(7))
    }

    struct Throttled: RetryAfterProviding {
        var retryAfter: Duration?
    }

    @Test func honoringRetryAfterOpensForTheAskedWaitCappedAndOtherwiseAsTheFallbackPolicySays() {
        let f = PolicyFixture {
            $0.failMax = 1
            $0.resetTimeout = .seconds(5)
            $0.openDuration = .honoringRetryAfter(maximum: .seconds(30), otherwise: .exponential(multiplier: 2, maximum: .seconds(60)))
        }
        let cases: [(any Error, Duration, String)] = [
            (Throttled(retryAfter: .seconds(12)), .seconds(12), "the asked wait"),
            (Throttled(retryAfter: .seconds(100)), .seconds(30), "capped at the maximum"),
            (Throttled(retryAfter: nil), .seconds(5), "no wait given: the fallback policy, first trip"),
            (Throttled(retryAfter: .zero), .seconds(5), "a zero wait is no wait"),
            (Boom(), .seconds(5), "an error without a wait"),
        ]
        for (error, expected, why) in cases {
            f.breaker.close()
            _ = catching { try f.breaker.call { throw error } }
            #expect(f.breaker.retryAfter == expected, "\(why)")
        }
        // A failed trial reopens: the fallback's exponential growth applies to the second trip in a row.
        f.clock.advance(by: .seconds(5))
        _ = catching { try f.breaker.call { throw Boom() } }
        #expect(f.breaker.retryAfter == .seconds(10))
    }

    @Test func anOpenDurationPolicyCanBeAskedForAPeriod() {
        let trip = TripContext(consecutiveTrips: 3, failureRate: 1, resetTimeout: .seconds(2))
        #expect(OpenDurationPolicy.fixed.duration(for: trip) == .seconds(2))
        #expect(OpenDurationPolicy.exponential(multiplier: 2, maximum: .seconds(60)).duration(for: trip) == .seconds(8))
        #expect(OpenDurationPolicy.exponential(multiplier: 2, maximum: .seconds(5)).duration(for: trip) == .seconds(5))
        #expect(OpenDurationPolicy.custom { _ in .zero }.duration(for: trip) == .seconds(2), "not positive: the reset timeout")
    }
}
