@testable import Breaker
import BreakerTestKit
import Synchronization
import Testing

@Suite("Adaptive throttling (issue 18, item 2)")
struct AdaptiveThrottleTests {
    /// A throttled breaker whose trip policy only trips on a failure rate of `tripRate` over 100 calls.
    static func throttled(_ throttle: AdaptiveThrottle = AdaptiveThrottle(), tripRate: Double = 1) -> PolicyFixture {
        PolicyFixture {
            $0.trip = .failureRate(tripRate, minimumCalls: 100)
            $0.window = .lastCalls(100)
            $0.throttle = throttle
        }
    }

    /// Offers `calls` calls over one simulated second, each failing when `fails(i)`; returns how many ran,
    /// and the reasons of the rejections.
    static func second(of calls: Int, on f: PolicyFixture, fails: (Int) -> Bool) -> (ran: Int, rejections: [CircuitBreakerError.Reason]) {
        var ran = 0
        var rejections: [CircuitBreakerError.Reason] = []
        for i in 0..<calls {
            f.clock.advance(by: .seconds(1) / calls)
            do {
                try f.breaker.call {
                    ran += 1
                    if fails(i) { throw Boom() }
                }
            } catch let error as CircuitBreakerError {
                rejections.append(error.reason)
            } catch {}
        }
        return (ran, rejections)
    }

    @Test(arguments: [
        (100, 100, 0.0), (100, 50, 0.0), (100, 25, 50.0 / 101), (1_000, 0, 0.9), (19, 0, 0.0), (20, 0, 0.9),
    ])
    func theSREFormulaWithItsGateAndCap(requests: Int, accepts: Int, expected: Double) {
        #expect(abs(AdaptiveThrottle().rejectionProbability(requests: requests, accepts: accepts) - expected) < 1e-12)
    }

    @Test func aHealthyCircuitKeepsTheLockFreePathAndIsNeverThrottled() throws {
        let f = Self.throttled()
        let (ran, rejections) = Self.second(of: 1_000, on: f) { _ in false }
        #expect(ran == 1_000 && rejections.isEmpty)
        #expect(f.breaker.circuit.word.load(ordering: .relaxed) & PublishedWord.admitsFreely != 0, "no failure, no throttle on the path")
    }

    @Test func aDependencyFailingMostCallsIsShedLocallyUpToTheCap() {
        let f = Self.throttled()
        var shed = 0
        var ran = 0
        for _ in 0..<5 {
            let s = Self.second(of: 200, on: f) { $0 % 5 != 0 }  // 80 % fail
            shed += s.rejections.count
            ran += s.ran
            #expect(s.rejections.allSatisfy { $0 == .throttled })
        }
        #expect(f.breaker.state == .closed, "the trip policy (100 %) did not open it: the throttle alone acted")
        #expect(Double(shed) / 1_000 > 0.7, "most of the load shed: \(shed) of 1000")
        #expect(ran > 100, "some calls still go through to see the dependency: \(ran)")
        #expect(f.breaker.metrics.admittedFraction < 0.2 && f.breaker.metrics.admittedFraction >= 0.1 - 1e-9)
    }

    @Test func failuresBelowOneInKAreNotThrottled() {
        let f = Self.throttled()
        let s = Self.second(of: 1_000, on: f) { $0 % 10 < 3 }  // 30 % fail: accepts × 2 > requests
        #expect(s.rejections.isEmpty && s.ran == 1_000)
    }

    @Test func theThrottleLetsGoAWindowAfterTheDependencyHeals() {
        let f = Self.throttled(AdaptiveThrottle(window: .seconds(10)))
        _ = Self.second(of: 200, on: f) { _ in true }
        let healed = (0..<11).map { _ in Self.second(of: 100, on: f) { _ in false } }
        #expect(healed.first!.rejections.count > 10, "still shedding just after healing")
        #expect(healed.last!.rejections.isEmpty && healed.last!.ran == 100)
        #expect(f.breaker.circuit.word.load(ordering: .relaxed) & PublishedWord.admitsFreely != 0, "back on the lock-free path")
        #expect(f.breaker.metrics.admittedFraction == 1)
    }

    @Test func quietSuccessesWhileThrottlingCountTheirAcceptsOnTheFastPath() async {
        // No listener and a trip policy a success cannot move: once one success has reset the failures in
        // a row, the throttle's own fast path decides each call (no lock, no admission record), sync or
        // async, and must still count every request and every accept.
        let clock = ManualClock()
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 100_000
        configuration.throttle = AdaptiveThrottle(window: .seconds(10))
        let breaker = CircuitBreaker(name: "quiet", configuration: configuration, clock: clock)
        for _ in 0..<30 {
            clock.advance(by: .milliseconds(10))
            _ = try? breaker.call { throw Boom() }
        }
        var ran = 0
        var rejected = 0
        for i in 0..<300 {
            clock.advance(by: .milliseconds(10))
            do {
                if i.isMultiple(of: 2) { try breaker.call { ran += 1 } } else { try await breaker.call { () async in ran += 1 } }
            } catch {
                rejected += 1
            }
        }
        let word = breaker.circuit.word.load(ordering: .relaxed)
        #expect(Circuit.onlyThrottles(word) && breaker.circuit.successIsQuiet, "the throttle's fast path decided")
        #expect(rejected > 20 && ran > 20, "shed, and some calls let through: \(ran) ran, \(rejected) shed")
        // The window holds every request (330, shed ones included) and every accept (each success).
        let shed = configuration.throttle!.rejectionProbability(requests: 330, accepts: ran)
        #expect(shed < 0.9, "below the cap, so the accepts show: \(shed)")
        #expect(abs(breaker.metrics.admittedFraction - (1 - shed)) < 1e-12, "\(breaker.metrics.admittedFraction) against \(1 - shed)")
        #expect(breaker.metrics.successes == ran && breaker.metrics.rejected == rejected)
    }

    @Test func theTripPolicyStillOpensOnASustainedRateOfTheCallsAdmitted() {
        let f = Self.throttled(tripRate: 0.5)
        var reasons: Set<CircuitBreakerError.Reason> = []
        for _ in 0..<10 { reasons.formUnion(Self.second(of: 100, on: f) { _ in true }.rejections) }
        #expect(f.breaker.state == .open)
        #expect(reasons.contains(.throttled) && reasons.contains(.open), "throttled first, then open")
    }

    @Test func theFirstMinimumRequestsAreNeverShed() {
        let f = Self.throttled(AdaptiveThrottle(minimumRequests: 50))
        let s = Self.second(of: 50, on: f) { _ in true }
        #expect(s.ran == 50)
    }

    @Test func invalidThrottlesNameTheField() {
        func field(_ throttle: AdaptiveThrottle) -> String? {
            var configuration = CircuitBreaker.Configuration()
            configuration.throttle = throttle
            do { try configuration.validate() } catch { return error.field }
            return nil
        }
        #expect(field(AdaptiveThrottle(k: 0.5)) == "throttle.k")
        #expect(field(AdaptiveThrottle(window: .nanoseconds(5))) == "throttle.window")
        #expect(field(AdaptiveThrottle(minimumRequests: -1)) == "throttle.minimumRequests")
        #expect(field(AdaptiveThrottle(maxRejectionProbability: 0)) == "throttle.maxRejectionProbability")
        #expect(field(AdaptiveThrottle()) == nil)
    }
}
