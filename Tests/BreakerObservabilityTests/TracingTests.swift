import Breaker
import BreakerTestKit
import BreakerTracing
import InMemoryTracing
import Testing
import Tracing

@Suite("BreakerTracing")
struct TracingTests {
    struct Down: Error {}

    @Test func aRejectedCallMarksTheActiveSpan() throws {
        let tracer = InMemoryTracer()
        let breaker = CircuitBreaker(name: "inventory", resetTimeout: .seconds(30), listeners: [BreakerTracer(tracer: tracer)], clock: ManualClock())
        breaker.open()
        tracer.withSpan("GET /cart") { _ in
            _ = #expect(throws: CircuitBreakerError.self) { try breaker.call { 1 } }
        }
        let span = try #require(tracer.finishedSpans.first)
        #expect(span.events.map(\.name) == ["circuit_breaker.rejected"])
        let event = try #require(span.events.first)
        #expect(event.attributes["circuit_breaker.name"]?.toSpanAttribute() == .string("inventory"))
        #expect(event.attributes["circuit_breaker.state"]?.toSpanAttribute() == .string("open"))
        #expect(event.attributes["circuit_breaker.retry_after_ms"]?.toSpanAttribute() == .int64(30_000))
        #expect(span.attributes["circuit_breaker.state"]?.toSpanAttribute() == .string("open"), "the span itself says why it failed fast")
    }

    @Test func theCallThatTripsTheBreakerMarksItsSpanWithTheCause() throws {
        let tracer = InMemoryTracer()
        let breaker = CircuitBreaker(name: "payments", failMax: 1, resetTimeout: .seconds(5), listeners: [BreakerTracer(tracer: tracer)], clock: ManualClock())
        tracer.withSpan("POST /pay") { _ in
            _ = try? breaker.call { throw Down() }
        }
        let span = try #require(tracer.finishedSpans.first)
        #expect(span.events.map(\.name) == ["circuit_breaker.state_changed"])
        let attributes = try #require(span.events.first?.attributes)
        #expect(attributes["circuit_breaker.previous_state"]?.toSpanAttribute() == .string("closed"))
        #expect(attributes["circuit_breaker.state"]?.toSpanAttribute() == .string("open"))
        #expect(attributes["circuit_breaker.cause"]?.toSpanAttribute() == .string("1 consecutive failure"))
        #expect(attributes["circuit_breaker.retry_after_ms"]?.toSpanAttribute() == .int64(5_000))
    }

    @Test func healthyCallsAndCallsOutsideASpanRecordNothing() throws {
        let tracer = InMemoryTracer()
        let breaker = CircuitBreaker(name: "search", listeners: [BreakerTracer(tracer: tracer)], clock: ManualClock())
        tracer.withSpan("GET /search") { _ in
            for _ in 0..<10 { _ = try? breaker.call { 1 } }
        }
        breaker.open()
        #expect(throws: CircuitBreakerError.self) { try breaker.call { 1 } }  // no span: nothing to mark
        #expect(tracer.finishedSpans.count == 1)
        #expect(tracer.finishedSpans.first?.events.isEmpty == true)
    }
}
