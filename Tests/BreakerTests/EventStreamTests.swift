@testable import Breaker
import BreakerTestKit
import Synchronization
import Testing

@Suite("Events as an AsyncSequence")
struct EventStreamTests {
    @Test func eventsArriveInOrderWithTheirCauses() async throws {
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(5), clock: ManualClock())
        let events = breaker.events([.stateChanged, .rejected])
        _ = try? breaker.call { throw Boom() }
        _ = try? breaker.call {}
        breaker.close()
        var iterator = events.makeAsyncIterator()
        let trip = try #require(await iterator.next())
        #expect(trip.kind == .stateChanged && trip.change?.cause.kind == .consecutiveFailures)
        #expect(await iterator.next()?.kind == .rejected)
        let close = try #require(await iterator.next())
        #expect(close.change?.state == .closed && close.change?.cause.kind == .manual)
        #expect(events.dropped == 0)
    }

    @Test func aSlowConsumerLosesTheOldestAndTheLossIsCounted() async throws {
        let breaker = CircuitBreaker(clock: ManualClock())
        let events = breaker.events(.stateChanged, bufferingNewest: 3)
        for index in 0..<10 { index % 2 == 0 ? breaker.open() : breaker.close() }
        #expect(events.dropped == 7)
        var iterator = events.makeAsyncIterator()
        var kept: [UInt64] = []
        for _ in 0..<3 { kept.append(try #require(await iterator.next()?.change?.sequence)) }
        #expect(kept == [8, 9, 10], "the newest three, in order")
    }

    @Test func aStreamOfStateChangesLeavesHealthyCallsOnTheFastPath() {
        let breaker = CircuitBreaker(clock: ManualClock())
        let events = breaker.events([.stateChanged, .rejected])
        #expect(breaker.flags.load(ordering: .relaxed) & CircuitBreaker.Flags.generalPath == 0)
        _ = events
    }

    @Test func cancellingTheConsumerStopsListening() async throws {
        let breaker = CircuitBreaker(clock: ManualClock())
        let started = Flag()
        let consumer = Task {
            started.set()
            for await _ in breaker.events(.stateChanged) {}
        }
        await yieldUntil { started.isSet && breaker.listeners.count == 1 }
        consumer.cancel()
        await consumer.value
        #expect(breaker.listeners.isEmpty, "the stream's listener is gone: it costs nothing again")
    }

    @Test func releasingAnUnusedStreamStopsListening() {
        let breaker = CircuitBreaker(clock: ManualClock())
        do {
            let events = breaker.events()
            #expect(breaker.listeners.count == 1)
            _ = events
        }
        #expect(breaker.listeners.isEmpty)
    }
}
