import Breaker
import BreakerTestKit
import Testing

@Suite("Concurrency")
struct ConcurrencyTests {
    @Test func aThousandTasksOnAHalfOpenBreakerRunExactlyOneTrial() async throws {
        let clock = ManualClock()
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(1), listeners: [recorder], clock: clock)
        breaker.open()
        clock.advance(by: .seconds(1))
        let gate = AsyncGate()
        let trials = TrialCounter()
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<1_000 {
                group.addTask {
                    do {
                        try await breaker.call {
                            trials.increment()
                            await gate.wait()
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            var results: [Bool] = []
            // Let every task reach the breaker before the trial finishes.
            await gate.waitUntilWaiting()
            for _ in 0..<999 { if let result = await group.next() { results.append(result) } }
            await gate.open()
            for await result in group { results.append(result) }
            return results
        }
        #expect(trials.value == 1)
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(outcomes.filter { !$0 }.count == 999)
        #expect(breaker.state == .closed)
        #expect(recorder.stateChanges == [.stateChange(.closed, .open), .stateChange(.open, .halfOpen), .stateChange(.halfOpen, .closed)])
    }

    @Test func threadsHammeringAClosedBreakerLoseNoCount() async {
        let breaker = CircuitBreaker(failMax: 1_000_000, clock: ManualClock())
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in 0..<2_000 {
                        if (i + worker) % 2 == 0 {
                            _ = try? breaker.call { throw Boom() }
                        } else {
                            _ = try? breaker.call { i }
                        }
                    }
                }
            }
        }
        let metrics = breaker.metrics
        #expect(metrics.calls == 16_000)
        #expect(metrics.failures == 8_000)
        #expect(metrics.successes == 8_000)
    }
}

final class TrialCounter: @unchecked Sendable {
    private let lock = NSLockLike()
    private var count = 0
    func increment() { lock.run { count += 1 } }
    var value: Int { lock.run { count } }
}
