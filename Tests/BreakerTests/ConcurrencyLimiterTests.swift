// The concurrency limiter (issue 18, item 3): its algorithms as tables of samples, admission and
// rejection, sync and async calls, the two-step permit, the bounded wait on a ManualClock, and a stress
// run of threads and tasks (cancelled ones included) that checks the limit is never exceeded and no
// slot leaks. No test sleeps or waits for time: time moves only when a test advances its clock.
import Breaker
import BreakerTestKit
import Dispatch
import Foundation
import Synchronization
import Testing

/// A limiter on a manual clock with `algorithm`, bounds `minLimit ... maxLimit` from `initialLimit`.
private func makeLimiter(
    _ algorithm: LimitAlgorithm, initial: Int = 20, min: Int = 1, max: Int = 200, maxWait: Duration? = nil,
    drops: ConcurrencyLimiter.DropPolicy = .init(), clock: ManualClock = ManualClock()
) -> ConcurrencyLimiter {
    var configuration = ConcurrencyLimiter.Configuration()
    configuration.algorithm = algorithm
    configuration.initialLimit = initial
    configuration.minLimit = min
    configuration.maxLimit = max
    configuration.maxWait = maxWait
    configuration.drops = drops
    return ConcurrencyLimiter(name: "limiter", configuration: configuration, clock: clock)
}

/// The reason of the `CircuitBreakerError` that `body` threw, if it threw one.
private func reasonOf(_ body: () throws -> Void) -> CircuitBreakerError.Reason? {
    breakerErrorOf(body)?.reason
}

// MARK: - The algorithms, as tables

@Suite("Concurrency limiter: AIMD as a table")
struct ConcurrencyLimiterAIMDTests {
    static func aimd(initial: Int = 10, min: Int = 1, max: Int = 100) -> AIMDLimit {
        AIMDLimit(initialLimit: initial, minLimit: min, maxLimit: max, backoffRatio: 0.9)
    }

    static let ok = LimitSample(rtt: .milliseconds(10), inFlight: 10)
    static let drop = LimitSample(rtt: .milliseconds(10), inFlight: 10, dropped: true)

    @Test func growsByOneForEachLimitsWorthOfCallsWithoutADrop() {
        var limit = Self.aimd(initial: 10)
        let limits = (1...21).map { _ in limit.update(Self.ok) }
        // Nine calls earn nothing visible, the tenth raises the limit to 11; eleven more raise it to 12.
        #expect(limits == Array(repeating: 10, count: 9) + Array(repeating: 11, count: 11) + [12])
    }

    @Test func backsOffByTheRatioOncePerWindowRoundingDown() {
        var limit = Self.aimd(initial: 20)
        // 20 in flight: the first drop backs off; the other 19 of that window do not back off again.
        let window = (1...20).map { _ in limit.update(Self.drop) }
        #expect(window == Array(repeating: 18, count: 20))
        // A drop of the next window (18 calls) backs off once more, and so on.
        let next = (1...19).map { _ in limit.update(Self.drop) }
        #expect(next == Array(repeating: 16, count: 18) + [14])
        var fresh = Self.aimd(initial: 10)
        #expect(fresh.update(Self.drop) == 9)
        for _ in 0..<9 { fresh.update(LimitSample(rtt: .milliseconds(10), inFlight: 1)) }
        #expect(fresh.update(Self.drop) == 8, "a drop after the window backs off again")
    }

    @Test func aDropForfeitsTheGrowthEarnedSoFar() {
        var limit = Self.aimd(initial: 10)
        for _ in 0..<9 { limit.update(Self.ok) }
        #expect(limit.update(Self.drop) == 9)
        let limits = (1...9).map { _ in limit.update(LimitSample(rtt: .milliseconds(10), inFlight: 9)) }
        #expect(limits == Array(repeating: 9, count: 8) + [10], "nine fresh calls for a limit of 9, not one")
    }

    @Test func staysWithinItsBounds() {
        var shrinking = Self.aimd(initial: 10, min: 7)
        for _ in 0..<20 { shrinking.update(Self.drop) }
        #expect(shrinking.limit == 7)

        var growing = Self.aimd(initial: 10, max: 12)
        for _ in 0..<1_000 { growing.update(LimitSample(rtt: .milliseconds(1), inFlight: 12)) }
        #expect(growing.limit == 12)

        let clamped = Self.aimd(initial: 500, max: 50)
        #expect(clamped.limit == 50, "an initial limit outside the bounds starts at the nearest bound")
    }

    @Test func callsAdmittedWithLessThanHalfTheLimitInUseDoNotGrowIt() {
        var limit = Self.aimd(initial: 10)
        for _ in 0..<100 { limit.update(LimitSample(rtt: .milliseconds(1), inFlight: 4)) }
        #expect(limit.limit == 10)
        for _ in 0..<10 { limit.update(LimitSample(rtt: .milliseconds(1), inFlight: 5)) }
        #expect(limit.limit == 11, "half the limit in use is enough")
    }
}

@Suite("Concurrency limiter: Gradient2 as a table")
struct ConcurrencyLimiterGradient2Tests {
    /// Netflix's defaults (tolerance 1.5, smoothing 0.2, long window 600, queue size 4).
    static func gradient2(initial: Int = 20, min: Int = 1, max: Int = 200) -> Gradient2Limit {
        Gradient2Limit(initialLimit: initial, minLimit: min, maxLimit: max, tolerance: 1.5, smoothing: 0.2, longWindow: 600, queueSize: 4)
    }

    static func sample(_ milliseconds: Int, inFlight: Int = 1_000) -> LimitSample {
        LimitSample(rtt: .milliseconds(milliseconds), inFlight: inFlight)
    }

    @Test func growsBySmoothingTimesQueueSizeWhileCallsKeepTheirPace() {
        var limit = Self.gradient2()
        var estimates: [Double] = []
        for _ in 0..<5 {
            limit.update(Self.sample(10))
            estimates.append(limit.estimatedLimit)
        }
        // gradient 1: estimate = limit + 4, smoothed 0.8 × limit + 0.2 × (limit + 4) = limit + 0.8
        for (estimate, expected) in zip(estimates, [20.8, 21.6, 22.4, 23.2, 24.0]) {
            #expect(abs(estimate - expected) < 1e-9, "\(estimates)")
        }
        #expect(limit.limit == 24)
    }

    @Test func callsWithinTheToleranceStillGrowIt() {
        var limit = Self.gradient2()
        for _ in 0..<10 { limit.update(Self.sample(10)) }
        let before = limit.estimatedLimit
        limit.update(Self.sample(14))  // 1.4 × the long RTT: within 1.5
        #expect(abs(limit.estimatedLimit - (before + 0.8)) < 1e-9)
    }

    @Test func shrinksWhenTheShortRttRisesOverTheLongRtt() {
        var limit = Self.gradient2()
        for _ in 0..<10 { limit.update(Self.sample(10)) }  // long RTT 10 ms; limit 28
        #expect(abs(limit.estimatedLimit - 28) < 1e-9)
        limit.update(Self.sample(100))
        // long ≈ 10.3 ms; gradient = max(0.5, 1.5 × 10.3 / 100) = 0.5; estimate 28 × 0.5 + 4 = 18;
        // smoothed 0.8 × 28 + 0.2 × 18 = 26.
        #expect(abs(limit.estimatedLimit - 26) < 1e-9)
        var limits = [limit.limit]
        for _ in 0..<20 {
            limit.update(Self.sample(100))
            limits.append(limit.limit)
        }
        #expect(limits == limits.sorted(by: >), "falls monotonically while calls stay slow: \(limits)")
        #expect(limits.last! < 14)
    }

    @Test func growsBackWhenCallsAreFastAgain() {
        var limit = Self.gradient2(max: 40)
        for _ in 0..<30 { limit.update(Self.sample(10)) }
        #expect(limit.limit == 40)
        for _ in 0..<200 { limit.update(Self.sample(80)) }
        let low = limit.limit
        #expect(low < 20, "slow calls brought it down: \(low)")
        for _ in 0..<100 { limit.update(Self.sample(10)) }
        #expect(limit.limit == 40, "fast calls bring it back to the maximum")
    }

    @Test func samplesAdmittedWithLessThanHalfTheLimitInUseLeaveItAlone() {
        var limit = Self.gradient2()
        for _ in 0..<50 { limit.update(Self.sample(10, inFlight: 9)) }
        #expect(limit.estimatedLimit == 20)
        for _ in 0..<50 { limit.update(Self.sample(500, inFlight: 9)) }
        #expect(limit.estimatedLimit == 20, "slow, but the caller limited them, not the dependency")
    }

    @Test func staysWithinItsBounds() {
        var limit = Self.gradient2(initial: 10, min: 8, max: 12)
        for _ in 0..<100 { limit.update(Self.sample(1)) }
        #expect(limit.limit == 12)
        for _ in 0..<100 { limit.update(Self.sample(1_000)) }
        #expect(limit.limit == 8)
    }

    @Test func theLongRttAveragesItsFirstTenSamplesThenDecaysExponentially() {
        var average = Gradient2Limit.ExponentialAverage(window: 600)
        for milliseconds in 1...10 { _ = average.add(Double(milliseconds)) }
        #expect(abs(average.value - 5.5) < 1e-12, "the plain mean of the warm-up")
        let next = average.add(605.5)
        #expect(abs(next - (5.5 * (1 - 2.0 / 601) + 605.5 * 2.0 / 601)) < 1e-9, "factor 2 / (window + 1)")
    }

    @Test func aLongRttTwiceTheShortOneIsCutByFivePercent() {
        var limit = Self.gradient2()
        for _ in 0..<10 { limit.update(Self.sample(100)) }
        limit.update(Self.sample(10))
        let decayed = (100e6 * (1 - 2.0 / 601) + 10e6 * 2.0 / 601) * 0.95
        #expect(abs(limit.longRtt.value - decayed) < 1)
    }

    @Test func aCallTimedAtZeroCountsAsOneNanosecond() {
        var limit = Self.gradient2()
        limit.update(LimitSample(rtt: 0, inFlight: 20))
        #expect(limit.estimatedLimit.isFinite && limit.estimatedLimit > 20)
    }
}

// MARK: - The limiter

@Suite("Concurrency limiter: admission, calls and permits", .timeLimit(.minutes(1)))
struct ConcurrencyLimiterTests {
    @Test func admitsUpToTheLimitThenRejectsWithLimited() throws {
        let limiter = makeLimiter(.fixed(3))
        #expect(limiter.limit == 3)
        let permits = try (0..<3).map { _ in try limiter.acquire() }
        #expect(limiter.inFlight == 3)
        let rejection = breakerErrorOf { _ = try limiter.acquire() }
        #expect(rejection?.reason == .limited)
        #expect(rejection?.retryAfter == .zero)
        #expect(rejection?.breakerName == "limiter")
        #expect(rejection?.underlying == nil)
        #expect(rejection.map { "\($0)" } == "circuit breaker 'limiter': Concurrency limit reached, call rejected. (retry after 0 s)")
        #expect(limiter.inFlight == 3, "a rejection takes no slot")
        permits[0].release(.success)
        #expect(limiter.inFlight == 2)
        let again = try limiter.acquire()
        #expect(limiter.inFlight == 3)
        for permit in permits.dropFirst() + [again] { permit.release(.success) }
        #expect(limiter.inFlight == 0)
    }

    @Test func aSyncCallRunsHoldsASlotAndFreesIt() throws {
        let limiter = makeLimiter(.fixed(2))
        let seen = try limiter.call { limiter.inFlight }
        #expect(seen == 1)
        #expect(limiter.inFlight == 0)
        #expect(throws: Boom(code: 7)) { try limiter.call { () throws -> Int in throw Boom(code: 7) } }
        #expect(limiter.inFlight == 0, "a failed call frees its slot")
    }

    @Test func aSyncCallWithNoFreeSlotIsRejectedWithoutRunning() throws {
        let limiter = makeLimiter(.fixed(1), maxWait: .seconds(1))
        let held = try limiter.acquire()
        let ran = Flag()
        #expect(reasonOf { try limiter.call { ran.set() } } == .limited, "sync calls never wait, even with maxWait")
        #expect(!ran.isSet)
        held.release(.success)
        try limiter.call { ran.set() }
        #expect(ran.isSet)
    }

    @Test func asyncCallsRunTogetherUpToTheLimit() async throws {
        let limiter = makeLimiter(.fixed(2))
        let gate = CallGate()
        let first = Task { try await limiter.call { await gate.wait() } }
        let second = Task { try await limiter.call { await gate.wait() } }
        await yieldUntil { gate.waiting == 2 }
        #expect(limiter.inFlight == 2)
        let ran = Flag()
        await #expect(throws: CircuitBreakerError.self) {
            try await limiter.call { () async in ran.set() }
        }
        #expect(!ran.isSet, "no maxWait: rejected at once, without running")
        gate.open()
        try await first.value
        try await second.value
        #expect(limiter.inFlight == 0)
        #expect(try await limiter.call { () async in 5 } == 5)
    }

    @Test func aCancelledCallFreesItsSlotAndTeachesTheAlgorithmNothing() async throws {
        let limiter = makeLimiter(.aimd(), initial: 10)
        let gate = CallGate()
        let call = Task {
            try await limiter.call {
                await gate.wait()
                try Task.checkCancellation()
            }
        }
        await yieldUntil { gate.waiting == 1 }
        call.cancel()
        gate.open()
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(limiter.inFlight == 0)
        #expect(limiter.limit == 10, "a cancelled call is not a drop")
    }

    @Test func aPermitDroppedWithoutAReleaseFreesItsSlot() throws {
        let limiter = makeLimiter(.fixed(1))
        do {
            let permit = try limiter.acquire()
            #expect(!permit.isReleased)
            #expect(limiter.inFlight == 1)
        }
        #expect(limiter.inFlight == 0)
        _ = try limiter.acquire()  // and dropped at once
        #expect(limiter.inFlight == 0)
    }

    @Test func onlyAPermitsFirstReleaseCounts() throws {
        let limiter = makeLimiter(.aimd(), initial: 10)
        let permit = try limiter.acquire()
        let other = try limiter.acquire()
        permit.release(.failure)
        permit.release(.failure)
        permit.release(.success)
        #expect(permit.isReleased)
        #expect(limiter.inFlight == 1, "one slot freed, not three")
        #expect(limiter.limit == 9, "one drop, not two")
        other.release(.ignored)
        #expect(limiter.inFlight == 0)
        #expect(limiter.limit == 9)
    }

    @Test func aimdBacksOffOnFailuresAndOnCallsPastTheTimeout() throws {
        let clock = ManualClock()
        let limiter = makeLimiter(.aimd(), initial: 10, drops: .init(failures: true, timeout: .seconds(2)), clock: clock)
        _ = try? limiter.call { () throws in throw Boom() }
        #expect(limiter.limit == 9, "a failure is a drop")
        try limiter.call { clock.advance(by: .milliseconds(1_999)) }
        #expect(limiter.limit == 9, "just inside the timeout: no drop")
        try limiter.call { clock.advance(by: .seconds(2)) }
        #expect(limiter.limit == 9, "a call of the timeout or longer is a drop, even if it succeeds; one back-off per window")
        for _ in 0..<9 { try limiter.call {} }
        try limiter.call { clock.advance(by: .seconds(2)) }
        #expect(limiter.limit == 8, "the next window's drop backs off")
        try limiter.acquire().release(.ignored)
        #expect(limiter.limit == 8)
    }

    @Test func failuresAreNotDropsWhenThePolicySaysSo() throws {
        let limiter = makeLimiter(.aimd(), initial: 10, drops: .init(failures: false, timeout: nil))
        for _ in 0..<5 { _ = try? limiter.call { () throws in throw Boom() } }
        #expect(limiter.limit == 10)
        try limiter.acquire().release(.failure)
        #expect(limiter.limit == 10)
    }

    @Test func aimdGrowsUnderFullLoad() throws {
        let limiter = makeLimiter(.aimd(), initial: 4, max: 6, drops: .init(timeout: nil))
        var limits: [Int] = []
        for _ in 0..<10 {
            let permits = try (0..<limiter.limit).map { _ in try limiter.acquire() }
            for permit in permits { permit.release(.success) }
            limits.append(limiter.limit)
        }
        #expect(limits.first! < 6 && limits.last == 6, "grows to the maximum: \(limits)")
        #expect(limits == limits.sorted(), "never falls without a drop: \(limits)")
    }

    @Test func gradient2ShrinksTheLimitWhenCallsSlowDownAndRestoresIt() throws {
        let clock = ManualClock()
        let limiter = makeLimiter(.gradient2(), initial: 20, max: 40, clock: clock)
        /// Fills every slot, lets `rtt` pass, and releases them all.
        func round(_ rtt: Duration) throws {
            let permits = try (0..<limiter.limit).map { _ in try limiter.acquire() }
            #expect(reasonOf { _ = try limiter.acquire() } == .limited)
            clock.advance(by: rtt)
            for permit in permits { permit.release(.success) }
        }
        for _ in 0..<10 { try round(.milliseconds(10)) }
        #expect(limiter.limit == 40)
        for _ in 0..<5 { try round(.milliseconds(60)) }
        let low = limiter.limit
        #expect(low < 20, "calls six times slower brought the limit down: \(low)")
        for _ in 0..<30 { try round(.milliseconds(10)) }
        #expect(limiter.limit == 40)
        #expect(limiter.inFlight == 0)
    }

    @Test func aFixedLimitNeverMoves() throws {
        let clock = ManualClock()
        let limiter = makeLimiter(.fixed(5), clock: clock)
        for _ in 0..<20 { _ = try? limiter.call { () throws in throw Boom() } }
        try limiter.call { clock.advance(by: .seconds(60)) }
        #expect(limiter.limit == 5)
    }

    @Test func theDefaultsAreTheDocumentedOnes() throws {
        let configuration = ConcurrencyLimiter.Configuration()
        #expect(configuration.algorithm == .gradient2(tolerance: 1.5, smoothing: 0.2, longWindow: 600, queueSize: 4))
        #expect(configuration.initialLimit == 20 && configuration.minLimit == 1 && configuration.maxLimit == 200)
        #expect(configuration.maxWait == nil)
        #expect(configuration.drops == ConcurrencyLimiter.DropPolicy(failures: true, timeout: .seconds(5)))
        #expect(LimitAlgorithm.aimd() == .aimd(backoffRatio: 0.9))
        #expect(LimitAlgorithm.aimd().description == "aimd(backoffRatio: 0.9)")
        #expect(LimitAlgorithm.fixed(3).description == "fixed(3)")
        try configuration.validate()
        let limiter = ConcurrencyLimiter()
        #expect(limiter.limit == 20 && limiter.inFlight == 0 && limiter.waiting == 0 && limiter.name == nil)
    }

    @Test(arguments: [
        ("maxLimit", { @Sendable (c: inout ConcurrencyLimiter.Configuration) in c.maxLimit = 0 }),
        ("maxLimit", { @Sendable c in c.maxLimit = 1_000_001 }),
        ("minLimit", { @Sendable c in c.minLimit = 0 }),
        ("minLimit", { @Sendable c in c.minLimit = 201 }),
        ("initialLimit", { @Sendable c in c.initialLimit = 201 }),
        ("initialLimit", { @Sendable c in c.minLimit = 30 }),
        ("maxWait", { @Sendable c in c.maxWait = .zero }),
        ("drops.timeout", { @Sendable c in c.drops.timeout = .milliseconds(-1) }),
        ("algorithm.fixed", { @Sendable c in c.algorithm = .fixed(0) }),
        ("algorithm.backoffRatio", { @Sendable c in c.algorithm = .aimd(backoffRatio: 1) }),
        ("algorithm.backoffRatio", { @Sendable c in c.algorithm = .aimd(backoffRatio: 0.4) }),
        ("algorithm.tolerance", { @Sendable c in c.algorithm = .gradient2(tolerance: 0.9) }),
        ("algorithm.smoothing", { @Sendable c in c.algorithm = .gradient2(smoothing: 0) }),
        ("algorithm.longWindow", { @Sendable c in c.algorithm = .gradient2(longWindow: 0) }),
        ("algorithm.queueSize", { @Sendable c in c.algorithm = .gradient2(queueSize: -1) }),
    ] as [(String, @Sendable (inout ConcurrencyLimiter.Configuration) -> Void)])
    func anInvalidValueIsNamedWithItsRange(field: String, change: @Sendable (inout ConcurrencyLimiter.Configuration) -> Void) {
        var configuration = ConcurrencyLimiter.Configuration()
        change(&configuration)
        let error = #expect(throws: ConfigurationError.self) { try ConcurrencyLimiter(validating: configuration, clock: ManualClock()) }
        #expect(error?.field == field)
        #expect(error?.allowed.isEmpty == false)
        #expect(error.map { "\($0)" }?.contains(field) == true)
        if let error { #expect(throws: error) { try configuration.validate() } }
    }
}

// MARK: - The bounded wait

@Suite("Concurrency limiter: the bounded wait", .timeLimit(.minutes(1)))
struct ConcurrencyLimiterWaitTests {
    @Test func aWaitingCallIsAdmittedWhenASlotFrees() async throws {
        let clock = ManualClock()
        let limiter = makeLimiter(.fixed(1), maxWait: .seconds(1), clock: clock)
        let held = try await limiter.acquire()
        let call = Task { try await limiter.call { () async in limiter.inFlight } }
        await yieldUntil { limiter.waiting == 1 }
        #expect(limiter.inFlight == 1)
        held.release(.success)
        #expect(try await call.value == 1, "it ran holding the freed slot")
        #expect(limiter.inFlight == 0 && limiter.waiting == 0)
        await yieldUntil { clock.sleeperCount == 0 }  // its deadline timer is gone
    }

    /// A limiter of one slot with a 1-second wait, its slot held, and one async call waiting for it.
    struct OneWaiting {
        let clock = ManualClock()
        let limiter: ConcurrencyLimiter
        let held: ConcurrencyLimiter.Permit
        let ran = Flag()
        let call: Task<Void, any Error>

        init() async throws {
            let limiter = makeLimiter(.fixed(1), maxWait: .seconds(1), clock: clock)
            held = try await limiter.acquire()
            call = Task { [ran] in try await limiter.call { () async in ran.set() } }
            await yieldUntil { limiter.waiting == 1 }
            self.limiter = limiter
        }
    }

    @Test func aWaitingCallIsRejectedAtItsDeadline() async throws {
        let f = try await OneWaiting()
        let (clock, limiter, held, ran, call) = (f.clock, f.limiter, f.held, f.ran, f.call)
        await yieldUntil { clock.sleeperCount == 1 }
        clock.advance(by: .milliseconds(999))
        for _ in 0..<100 { await Task.yield() }
        #expect(limiter.waiting == 1, "still waiting 1 ms before its deadline")
        clock.advance(by: .milliseconds(1))
        let error = await #expect(throws: CircuitBreakerError.self) { try await call.value }
        #expect(error?.reason == .limited)
        #expect(!ran.isSet)
        #expect(limiter.waiting == 0)
        #expect(limiter.inFlight == 1, "the held permit only")
        held.release(.success)
        #expect(limiter.inFlight == 0)
    }

    @Test func waitingCallsAreServedInArrivalOrder() async throws {
        let limiter = makeLimiter(.fixed(1), maxWait: .seconds(10))
        let held = try await limiter.acquire()
        let order = Guarded<[Int]>([])
        var calls: [Task<Void, any Error>] = []
        for index in 1...4 {
            calls.append(Task { try await limiter.call { () async in order.withLock { $0.append(index) } } })
            await yieldUntil { limiter.waiting == index }
        }
        held.release(.success)
        for call in calls { try await call.value }
        #expect(order.withLock { $0 } == [1, 2, 3, 4])
        #expect(limiter.inFlight == 0 && limiter.waiting == 0)
    }

    @Test func whileCallsWaitANewCallQueuesBehindThem() async throws {
        let limiter = makeLimiter(.fixed(1), maxWait: .seconds(10))
        let held = try await limiter.acquire()
        let first = Task { try await limiter.call { () async in 1 } }
        await yieldUntil { limiter.waiting == 1 }
        #expect(reasonOf { try limiter.call {} } == .limited, "a call that cannot wait does not jump the queue")
        let second = Task { try await limiter.call { () async in 2 } }
        await yieldUntil { limiter.waiting == 2 }
        held.release(.success)
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
    }

    @Test func aRisingLimitAdmitsMoreWaitingCalls() async throws {
        let limiter = makeLimiter(.aimd(), initial: 1, max: 10, maxWait: .seconds(10), drops: .init(timeout: nil))
        let held = try await limiter.acquire()
        let gate = CallGate()
        let first = Task { try await limiter.call { await gate.wait() } }
        await yieldUntil { limiter.waiting == 1 }
        let second = Task { try await limiter.call { await gate.wait() } }
        await yieldUntil { limiter.waiting == 2 }
        held.release(.success)  // one limit's worth of calls at full load: the limit becomes 2
        await yieldUntil { gate.waiting == 2 }
        #expect(limiter.limit == 2)
        #expect(limiter.inFlight == 2 && limiter.waiting == 0, "the freed slot and the new one both went to waiters")
        gate.open()
        try await first.value
        try await second.value
    }

    @Test func cancellingAWaitingCallRemovesItAndLeaksNoSlot() async throws {
        let f = try await OneWaiting()
        let (clock, limiter, held, ran, call) = (f.clock, f.limiter, f.held, f.ran, f.call)
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(!ran.isSet)
        #expect(limiter.waiting == 0 && limiter.inFlight == 1)
        await yieldUntil { clock.sleeperCount == 0 }
        held.release(.success)
        #expect(limiter.inFlight == 0)
        #expect(try await limiter.call { () async in 3 } == 3)
    }

    @Test func aCallCancelledBeforeItWaitsNeverQueues() async throws {
        let limiter = makeLimiter(.fixed(1), maxWait: .seconds(1))
        let held = try await limiter.acquire()
        let outcome = await Task { () -> String in
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                _ = try await limiter.call { () async in 1 }
                return "ran"
            } catch is CancellationError {
                return "cancelled"
            } catch {
                return "\(error)"
            }
        }.value
        #expect(outcome == "cancelled")
        #expect(limiter.waiting == 0 && limiter.inFlight == 1)
        held.release(.success)
    }

    @Test func anAsyncAcquireWaitsTooAndItsPermitFreesTheSlot() async throws {
        let limiter = makeLimiter(.fixed(1), maxWait: .seconds(1))
        let held = try await limiter.acquire()
        let waiter = Task { try await limiter.acquire() }
        await yieldUntil { limiter.waiting == 1 }
        held.release(.success)
        let permit = try await waiter.value
        #expect(limiter.inFlight == 1)
        permit.release(.success)
        #expect(limiter.inFlight == 0)
    }
}

// MARK: - Stress

@Suite("Concurrency limiter: stress", .timeLimit(.minutes(1)))
struct ConcurrencyLimiterStressTests {
    /// What the callers saw; every attempt ends in exactly one of these.
    final class Seen: Sendable {
        let admitted = Atomic<Int>(0)
        let rejected = Atomic<Int>(0)
        let cancelled = Atomic<Int>(0)
        let attempts = Atomic<Int>(0)

        func record(_ body: () async throws -> Void) async {
            attempts.add(1, ordering: .relaxed)
            do {
                try await body()
                admitted.add(1, ordering: .relaxed)
            } catch let error as CircuitBreakerError {
                #expect(error.reason == .limited)
                rejected.add(1, ordering: .relaxed)
            } catch is CancellationError {
                cancelled.add(1, ordering: .relaxed)
            } catch is Boom {
                admitted.add(1, ordering: .relaxed)
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }

        func total() -> Int {
            admitted.load(ordering: .relaxed) + rejected.load(ordering: .relaxed) + cancelled.load(ordering: .relaxed)
        }
    }

    @Test(arguments: [LimitAlgorithm.fixed(8), .aimd(), .gradient2()])
    func neverMoreInFlightThanTheLimitAndNoSlotLeaks(algorithm: LimitAlgorithm) async throws {
        let clock = ManualClock()
        let bound = 8
        let limiter = makeLimiter(algorithm, initial: bound, min: 2, max: bound, maxWait: .milliseconds(50), clock: clock)
        let counters = StressCounters()  // bodies in flight, and the most seen at once
        let seen = Seen()
        let threads = 3, callsPerThread = 1_500, tasks = 600, callsPerTask = 3

        // Time moves, so some waits run out while others are granted and others cancelled.
        async let controller: Void = Stress.onThreads(1) { _ in
            var rng = SplitMix64(seed: 7)
            var steps = 0
            while steps < 300 || !counters.stop.load(ordering: .acquiring) {
                steps += 1
                clock.advance(by: .milliseconds(rng.int(1...3)))
                let limit = limiter.limit
                if limit < 2 || limit > bound { Issue.record("limit \(limit) outside 2...\(bound)") }
                for _ in 0..<20 { sched_yield() }
            }
        }
        async let threadWorkers: Void = Stress.onThreads(threads) { index in
            var rng = SplitMix64(seed: UInt64(index))
            for _ in 0..<callsPerThread {
                seen.attempts.add(1, ordering: .relaxed)
                do {
                    if rng.chance(30) {
                        let permit = try limiter.acquire()
                        counters.enterBody()
                        sched_yield()
                        counters.leaveBody()
                        if rng.chance(80) { permit.release([.success, .failure, .ignored][rng.int(0...2)]) }  // else dropped
                    } else {
                        let fails = rng.chance(20)
                        try limiter.call {
                            counters.enterBody()
                            defer { counters.leaveBody() }
                            for _ in 0..<2 { sched_yield() }
                            if fails { throw Boom() }
                        }
                    }
                    seen.admitted.add(1, ordering: .relaxed)
                } catch is Boom {
                    seen.admitted.add(1, ordering: .relaxed)
                } catch {
                    seen.rejected.add(1, ordering: .relaxed)
                }
            }
        }
        var rng = SplitMix64(seed: 99)
        var work: [Task<Void, Never>] = []
        for index in 0..<tasks {
            let yields = rng.int(0...4)
            let fails = rng.chance(15)
            work.append(
                Task {
                    for _ in 0..<callsPerTask {
                        await seen.record {
                            try await limiter.call {
                                counters.enterBody()
                                defer { counters.leaveBody() }
                                for _ in 0..<yields { await Task.yield() }
                                try Task.checkCancellation()
                                if fails { throw Boom() }
                            }
                        }
                    }
                })
            // Cancel a third of the tasks at some point: before they start, while they wait, mid-call.
            if index % 3 == 0 { work[rng.int(0...index)].cancel() }
            if index % 5 == 0 { await Task.yield() }
        }
        for task in work { await task.value }
        await threadWorkers
        counters.stop.store(true, ordering: .releasing)
        await controller

        let made = threads * callsPerThread + tasks * callsPerTask
        #expect(seen.attempts.load(ordering: .relaxed) == made)
        #expect(seen.total() == made, "every attempt ended once: admitted, rejected or cancelled")
        #expect(counters.maxInBody.load(ordering: .relaxed) <= bound, "never more in flight than the limit")
        #expect(counters.maxInBody.load(ordering: .relaxed) >= 2, "calls did overlap")
        // Cancellation is certain (a third of the tasks are cancelled); how many calls found the limit full
        // depends on the machine's timing (none under the address sanitizer on two cores), so the
        // rejection path is checked deterministically below, with every slot taken.
        #expect(seen.cancelled.load(ordering: .relaxed) > 0)
        #expect(limiter.inFlight == 0, "no leaked slot")
        #expect(limiter.waiting == 0, "no one left in the queue")
        await yieldUntil { clock.sleeperCount == 0 }  // every deadline timer ended

        // Every slot can still be taken, and no more.
        let limit = limiter.limit
        let permits = try (0..<limit).map { _ in try limiter.acquire() }
        #expect(reasonOf { _ = try limiter.acquire() } == .limited)
        for permit in permits { permit.release(.ignored) }
        #expect(limiter.inFlight == 0)
    }
}
