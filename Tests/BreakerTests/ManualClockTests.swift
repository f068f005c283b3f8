import Breaker
import BreakerTestKit
import Testing

@Suite("ManualClock and waiting for a retry")
struct ManualClockTests {
    @Test func nowMovesOnlyWhenAdvanced() {
        let clock = ManualClock()
        let start = clock.now
        #expect(clock.now == start)
        clock.advance(by: .seconds(3))
        #expect(start.duration(to: clock.now) == .seconds(3))
    }

    @Test func sleepersWakeWhenTheirDeadlinePasses() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(5)) }
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(clock.sleeperCount == 0)
    }

    @Test func aCancelledSleeperThrows() async {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(5)) }
        while clock.sleeperCount == 0 { await Task.yield() }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test func waitUntilRetrySleepsOnTheBreakersClock() async throws {
        let f = Fixture(failMax: 1, resetTimeout: .seconds(10))
        try await f.breaker.waitUntilRetry()  // closed: returns at once
        f.breaker.open()
        f.clock.advance(by: .seconds(4))
        let waiter = Task { try await f.breaker.waitUntilRetry() }
        while f.clock.sleeperCount == 0 { await Task.yield() }
        f.clock.advance(by: .seconds(5))
        #expect(f.clock.sleeperCount == 1, "one second is still to go")
        f.clock.advance(by: .seconds(1))
        try await waiter.value
        try f.succeed()
        #expect(f.breaker.state == .closed)
    }

    @Test func retryAfterIsNilUnlessOpen() {
        let f = Fixture(resetTimeout: .seconds(10))
        #expect(f.breaker.retryAfter == nil)
        f.breaker.halfOpen()
        #expect(f.breaker.retryAfter == nil)
        f.breaker.open()
        f.clock.advance(by: .seconds(12))
        #expect(f.breaker.retryAfter == .zero)
    }
}
