import Breaker
import BreakerTestKit
import Testing

private func add(_ a: Int, _ b: Int) throws -> Int { a + b }
private func fail(_ code: Int) throws -> Int { throw Boom(code: code) }
private func asyncDouble(_ x: Int) async throws -> Int { x * 2 }
private func asyncFail() async throws -> Int { throw Boom() }
private func noArguments() -> String { "none" }

@Suite("Wrapping functions (aiobreaker's decorator, §3.12)")
struct WrapTests {
    @Test func aWrappedFunctionKeepsItsSignature() async throws {
        let f = Fixture()
        let protectedAdd = f.breaker.wrap(add)
        let protectedNone = f.breaker.wrap(noArguments)
        let protectedDouble = f.breaker.wrap(asyncDouble)
        #expect(try protectedAdd(2, 3) == 5)
        #expect(try protectedNone() == "none")
        #expect(try await protectedDouble(21) == 42)
        #expect(f.recorder.events == [.beforeCall, .success, .beforeCall, .success, .beforeCall, .success])
    }

    @Test func aWrappedFunctionCountsFailuresAndTrips() async throws {
        let f = Fixture(failMax: 2)
        let protectedFail = f.breaker.wrap(fail)
        #expect(throws: Boom(code: 1)) { try protectedFail(1) }
        #expect(throws: CircuitBreakerError.self) { try protectedFail(2) }
        #expect(f.breaker.state == .open)
        let protectedAsync = f.breaker.wrap(asyncFail)
        await #expect(throws: CircuitBreakerError.self) { try await protectedAsync() }
    }

    @Test func callingAWrappedFunctionInsideCallCountsOnce() async throws {
        let f = Fixture(failMax: 2)
        let protectedFail = f.breaker.wrap(fail)
        #expect(throws: Boom.self) { try f.breaker.call { try protectedFail(1) } }
        #expect(f.breaker.failureCount == 1)
        #expect(f.recorder.events == [.beforeCall, .failure("Boom(1)")])
        let protectedAsync = f.breaker.wrap(asyncFail)
        await #expect(throws: CircuitBreakerError.self) { try await f.breaker.call { try await protectedAsync() } }
        #expect(f.breaker.failureCount == 2)
    }

    @Test func ignoreOnCallFalseCountsTwice() throws {
        let f = Fixture(failMax: 5)
        let protectedFail = f.breaker.wrap(fail, ignoreOnCall: false)
        #expect(throws: Boom.self) { try f.breaker.call { try protectedFail(1) } }
        #expect(f.breaker.failureCount == 2)
    }

    @Test func anotherBreakersCallDoesNotSilenceThisOne() throws {
        let clock = ManualClock()
        let inner = CircuitBreaker(name: "inner", failMax: 5, clock: clock)
        let outer = CircuitBreaker(name: "outer", failMax: 5, clock: clock)
        let protectedFail = inner.wrap(fail)
        #expect(throws: Boom.self) { try outer.call { try protectedFail(1) } }
        #expect(inner.failureCount == 1, "aiobreaker bug B19: only the decorating breaker's own call skips it")
        #expect(outer.failureCount == 1)
    }

    @Test(arguments: [2, 3, 4])
    func aWrappedFunctionOfAnyNestedBreakerCountsOnce(depth: Int) throws {
        // Breakers nested `depth` deep, each calling through the next; the innermost calls a function
        // wrapped by each of them in turn. Every breaker is active, so each wrapped function counts once.
        let clock = ManualClock()
        let breakers = (0..<depth).map { CircuitBreaker(name: "b\($0)", failMax: 10, clock: clock) }
        let wrapped = breakers.map { $0.wrap(fail) }
        func nest(_ level: Int) throws {
            if level == depth {
                for function in wrapped { _ = try? function(1) }
                return
            }
            try breakers[level].call { try nest(level + 1) }
        }
        try nest(0)
        for breaker in breakers {
            #expect(breaker.metrics.successes == 1, "\(breaker.name ?? ""): its own call, once; its wrapped function inside it is not counted again")
            #expect(breaker.metrics.failures == 0)
        }
    }

    @Test func theGuardHoldsAcrossSuspensionPoints() async throws {
        let f = Fixture(failMax: 5)
        let protectedDouble = f.breaker.wrap(asyncDouble)
        let value = try await f.breaker.call { () async throws -> Int in
            await Task.yield()
            return try await protectedDouble(4)
        }
        #expect(value == 8)
        #expect(f.recorder.events == [.beforeCall, .success])
    }
}
