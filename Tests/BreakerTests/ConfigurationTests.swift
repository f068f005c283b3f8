import Breaker
import BreakerTestKit
import Testing

@Suite("Configuration and validation")
struct ConfigurationTests {
    @Test func defaultsAreAiobreakers() {
        let breaker = CircuitBreaker()
        #expect(breaker.name == nil)
        #expect(breaker.failMax == 5)
        #expect(breaker.resetTimeout == .seconds(60))
        #expect(breaker.state == .closed)
        #expect(breaker.failureCount == 0)
        #expect(breaker.retryAfter == nil)
        #expect(breaker.listeners.isEmpty)
        #expect(breaker.excluded.isEmpty)
    }

    @Test func failMaxAndResetTimeoutChangeAtRunTime() {
        let f = Fixture(failMax: 5, resetTimeout: .seconds(10))
        f.breaker.failMax = 1
        #expect(f.breaker.failMax == 1)
        #expect(f.fail().breakerError?.reason == .tripped)
        f.clock.advance(by: .seconds(5))
        f.breaker.resetTimeout = .seconds(6)
        #expect(f.breaker.resetTimeout == .seconds(6))
        #expect(f.breaker.retryAfter == .seconds(1), "a new timeout applies to the current open period")
    }

    @Test(arguments: [
        ("failMax", { @Sendable (c: inout CircuitBreaker.Configuration) in c.failMax = 0 }),
        ("resetTimeout", { @Sendable c in c.resetTimeout = .zero }),
        ("halfOpen.permittedCalls", { @Sendable c in c.halfOpen.permittedCalls = 0 }),
        ("halfOpen.successesToClose", { @Sendable c in c.halfOpen.successesToClose = 0 }),
        ("halfOpen.maxTrialDuration", { @Sendable c in c.halfOpen.maxTrialDuration = .seconds(-1) }),
        ("trip.failureRate threshold", { @Sendable c in c.trip = .failureRate(1.5, minimumCalls: 10) }),
        ("trip.failureRate minimumCalls", { @Sendable c in c.trip = .failureRate(0.5, minimumCalls: 0) }),
        ("window.lastCalls", { @Sendable c in c.window = .lastCalls(0) }),
        ("window.duration span", { @Sendable c in c.window = .duration(.seconds(10), bucket: .seconds(3)) }),
        ("window.duration bucket", { @Sendable c in c.window = .duration(.seconds(10), bucket: .zero) }),
        ("slowCalls.threshold", { @Sendable c in c.slowCalls = SlowCallPolicy(threshold: .zero) }),
        ("slowCalls.rate", { @Sendable c in c.slowCalls = SlowCallPolicy(threshold: .seconds(1), rate: 0) }),
        ("openDuration.multiplier", { @Sendable c in c.openDuration = .exponential(multiplier: 0.5, maximum: .seconds(600)) }),
        ("openDuration.maximum", { @Sendable c in c.openDuration = .exponential(maximum: .seconds(1)) }),
        ("openDuration.jitter", { @Sendable c in c.openDuration = .exponential(maximum: .seconds(600), jitter: 1) }),
    ] as [(String, @Sendable (inout CircuitBreaker.Configuration) -> Void)])
    func anInvalidValueIsNamedWithItsRange(field: String, change: @Sendable (inout CircuitBreaker.Configuration) -> Void) {
        var configuration = CircuitBreaker.Configuration()
        change(&configuration)
        #expect {
            try configuration.validate()
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.field == field && !error.allowed.isEmpty && error.description.contains(field)
        }
        #expect(throws: ConfigurationError.self) {
            _ = try CircuitBreaker(validating: configuration, clock: ManualClock())
        }
    }

    @Test func theMessageNamesFieldValueAndRange() {
        var configuration = CircuitBreaker.Configuration()
        configuration.failMax = 0
        #expect(throws: ConfigurationError(field: "failMax", value: "0", allowed: "1...\(Int.max)")) {
            try configuration.validate()
        }
    }

    @Test func reconfigureRejectsInvalidValuesAndKeepsTheOldOnes() {
        let f = Fixture(failMax: 3)
        #expect(throws: ConfigurationError.self) { try f.breaker.reconfigure { $0.failMax = -1 } }
        #expect(f.breaker.failMax == 3)
    }

    @Test func invalidLiteralsStopTheProgramAtConstruction() async {
        await #expect(processExitsWith: .failure) {
            _ = CircuitBreaker(failMax: 0)
        }
        await #expect(processExitsWith: .failure) {
            _ = CircuitBreaker(resetTimeout: .seconds(-1))
        }
    }
}
