import Breaker
import BreakerTestKit
import Synchronization
import Testing

/// Successes of a quiet time window are parked per thread and folded into the window by whoever next
/// takes the lock. Under many threads, with failures switching parking off and on and metrics reads
/// folding at random moments, no success may be lost or counted twice.
@Suite("Stress: parked successes of a time window")
struct ParkingStressTests {
    @Test func noParkedSuccessIsLostOrCountedTwice() async {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(1.0, minimumCalls: 1_000_000)  // never trips
        configuration.window = .duration(.seconds(3_600), bucket: .seconds(1))
        let clock = ManualClock()
        let breaker = CircuitBreaker(name: "parking", configuration: configuration, clock: clock)
        let threads = 6, callsPerThread = 20_000
        await Stress.onThreads(threads) { index in
            var rng = SplitMix64(seed: UInt64(7 + index))
            for call in 0..<callsPerThread {
                _ = try? breaker.call { call }
                if rng.int(0...999) == 0 { _ = breaker.metrics }  // a fold at a random moment
                if index == 1 && call % 1_000 == 0 { clock.advance(by: .milliseconds(700)) }  // new buckets, new tags
            }
        }
        // The last failure folds whatever is still parked, and must be judged against every success.
        _ = try? breaker.call { throw Boom() }
        let window = breaker.metrics.window
        #expect(window.calls == threads * callsPerThread + 1, "every call is in the window exactly once")
        #expect(window.failures == 1)
        #expect(breaker.metrics.successes == threads * callsPerThread)
    }
}
