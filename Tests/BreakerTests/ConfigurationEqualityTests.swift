// `CircuitBreaker.Configuration` is Hashable: equal when every field is, with closures (custom trip and
// open-duration policies, `classifyError`, `.matching` filters) compared by identity, so a copy is equal
// and a newly given closure is not, whatever its text.
import Breaker
import Testing

/// One way to change a default configuration, named for the test's output.
typealias ConfigurationChange = @Sendable (inout CircuitBreaker.Configuration) -> Void

@Suite("Configuration equality")
struct ConfigurationEqualityTests {
    static let changes: [(String, ConfigurationChange)] = [
        ("failMax", { $0.failMax = 6 }),
        ("resetTimeout", { $0.resetTimeout = .seconds(61) }),
        ("trip: failure rate", { $0.trip = .failureRate(0.5, minimumCalls: 20) }),
        ("trip: custom", { $0.trip = .custom { _ in false } }),
        ("window: other count", { $0.window = .lastCalls(99) }),
        ("window: duration", { $0.window = .duration(.seconds(10)) }),
        ("slowCalls", { $0.slowCalls = SlowCallPolicy(threshold: .seconds(1)) }),
        ("openDuration: exponential", { $0.openDuration = .exponential(maximum: .seconds(600)) }),
        ("openDuration: custom", { $0.openDuration = .custom { $0.resetTimeout } }),
        ("halfOpen.permittedCalls", { $0.halfOpen.permittedCalls = 2 }),
        ("halfOpen.successesToClose", { $0.halfOpen.successesToClose = 2 }),
        ("halfOpen.maxTrialDuration", { $0.halfOpen.maxTrialDuration = nil }),
        ("exclude: type", { $0.exclude = [.type(Benign.self)] }),
        ("exclude: matching", { $0.exclude = [.matching { _ in true }] }),
        ("classifyError", { $0.classifyError = { _ in nil } }),
        ("throwOriginalErrorOnTrip", { $0.throwOriginalErrorOnTrip = true }),
    ]

    @Test func defaultsAreEqual() {
        let a = CircuitBreaker.Configuration(), b = CircuitBreaker.Configuration()
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
    }

    @Test(arguments: changes)
    func changingAFieldMakesThemUnequal(field: String, change: ConfigurationChange) {
        let defaults = CircuitBreaker.Configuration()
        var changed = defaults
        change(&changed)
        #expect(changed != defaults, "changing \(field)")
        let copy = changed
        #expect(copy == changed, "a copy after changing \(field)")
        #expect(copy.hashValue == changed.hashValue)
        #expect(Set([defaults, changed, copy]).count == 2)
    }

    @Test func eachFieldIsCompared() {
        // Every change against every other: only a configuration and its own copies are equal.
        var configurations: [CircuitBreaker.Configuration] = []
        for (_, change) in Self.changes {
            var configuration = CircuitBreaker.Configuration()
            change(&configuration)
            configurations.append(configuration)
        }
        for (i, a) in configurations.enumerated() {
            for (j, b) in configurations.enumerated() {
                #expect((a == b) == (i == j), "\(Self.changes[i].0) against \(Self.changes[j].0)")
            }
        }
        #expect(Set(configurations + configurations).count == configurations.count)
    }

    @Test func aClassifierIsEqualOnlyToCopiesOfItsConfiguration() {
        var a = CircuitBreaker.Configuration()
        a.classifyError = { _ in .ignored }
        #expect(a.classifyError?(Boom()) == .ignored, "the classifier reads back and still works")

        var b = a
        #expect(b == a)
        b.failMax = 7
        b.failMax = 5
        #expect(b == a, "changing other fields back leaves the classifier's identity")

        var sameText = a
        sameText.classifyError = { _ in .ignored }
        #expect(sameText != a, "another closure, even with the same text")

        var reassigned = a
        reassigned.classifyError = a.classifyError
        #expect(reassigned != a, "every assignment is a new classifier")

        var cleared = a
        cleared.classifyError = nil
        #expect(cleared.classifyError == nil)
        #expect(cleared == CircuitBreaker.Configuration())

        #expect(Set([a, b, sameText, reassigned, cleared, CircuitBreaker.Configuration()]).count == 4)
    }

    @Test func customPoliciesAreEqualOnlyToThemselves() {
        let rule: @Sendable (WindowSnapshot) -> Bool = { $0.failures > 3 }
        let trip = TripPolicy.custom(rule)
        let tripCopy = trip
        #expect(trip == tripCopy)
        #expect(trip.hashValue == tripCopy.hashValue)
        #expect(TripPolicy.custom(rule) != trip, "a second policy from the same closure")
        #expect(trip != .consecutiveFailures)
        #expect(TripPolicy.failureRate(0.5, minimumCalls: 10) == .failureRate(0.5, minimumCalls: 10))
        #expect(TripPolicy.failureRate(0.5, minimumCalls: 10) != .failureRate(0.5, minimumCalls: 11))
        #expect(TripPolicy.failureRate(0.5, minimumCalls: 10) != .failureRate(0.6, minimumCalls: 10))
        #expect(Set([trip, tripCopy, .custom(rule), .consecutiveFailures, .consecutiveFailures]).count == 3)

        let size: @Sendable (TripContext) -> Duration = { $0.resetTimeout * 2 }
        let open = OpenDurationPolicy.custom(size)
        let openCopy = open
        #expect(open == openCopy)
        #expect(open.hashValue == openCopy.hashValue)
        #expect(OpenDurationPolicy.custom(size) != open, "a second policy from the same closure")
        #expect(open != .fixed)
        #expect(OpenDurationPolicy.exponential(maximum: .seconds(60)) == .exponential(multiplier: 2, maximum: .seconds(60), jitter: 0))
        #expect(OpenDurationPolicy.exponential(maximum: .seconds(60)) != .exponential(multiplier: 3, maximum: .seconds(60)))
        #expect(OpenDurationPolicy.exponential(maximum: .seconds(60)) != .exponential(maximum: .seconds(61)))
        #expect(OpenDurationPolicy.exponential(maximum: .seconds(60)) != .exponential(maximum: .seconds(60), jitter: 0.1))
        #expect(Set([open, openCopy, .custom(size), .fixed, .fixed]).count == 3)

        // In a configuration: the same policy value makes equal configurations, a new one does not.
        var a = CircuitBreaker.Configuration(), b = CircuitBreaker.Configuration()
        a.trip = trip
        b.trip = tripCopy
        a.openDuration = open
        b.openDuration = openCopy
        #expect(a == b)
        b.trip = .custom(rule)
        #expect(a != b)
    }

    @Test func filtersCompareAsErrorFilterDoes() {
        let matching = ErrorFilter.matching { $0 is Benign }
        var a = CircuitBreaker.Configuration(), b = CircuitBreaker.Configuration()
        a.exclude = [.type(Benign.self), matching]
        b.exclude = [.type(Benign.self), matching]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        b.exclude = [.type(Benign.self), .matching { $0 is Benign }]
        #expect(a != b)
        b.exclude = [matching, .type(Benign.self)]
        #expect(a != b, "order counts: the filters are a list")
    }
}
