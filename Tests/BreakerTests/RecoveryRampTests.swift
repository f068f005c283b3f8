import Breaker
import BreakerTestKit
import Testing

@Suite("Recovery ramp (issue 18, item 1)")
struct RecoveryRampTests {
    /// A breaker that trips on one failure (unless `change` says otherwise), stays open 10 s, and ramps
    /// over 10 s from 10 %: opened, then recovered by a successful trial.
    static func recovered(ramp: RecoveryRamp? = .linear(over: .seconds(10)), change: (inout CircuitBreaker.Configuration) -> Void = { _ in }) -> PolicyFixture {
        let f = PolicyFixture {
            $0.failMax = 1
            $0.resetTimeout = .seconds(10)
            $0.recoveryRamp = ramp
            change(&$0)
        }
        f.breaker.open()
        f.clock.advance(by: .seconds(10))
        f.run("S")  // the trial succeeds and closes the circuit
        return f
    }

    /// Offers `count` calls at the current instant and returns the admitted ones and the rejections.
    static func offer(_ count: Int, to breaker: CircuitBreaker) -> (admitted: Int, rejections: [CircuitBreakerError]) {
        var admitted = 0
        var rejections: [CircuitBreakerError] = []
        for _ in 0..<count {
            do {
                try breaker.call { admitted += 1 }
            } catch let error as CircuitBreakerError {
                rejections.append(error)
            } catch {}
        }
        return (admitted, rejections)
    }

    @Test func afterASuccessfulTrialTheAdmittedFractionRisesAlongTheRamp() {
        let f = Self.recovered()
        #expect(f.breaker.state == .closed)
        for (second, expected) in [(0, 0.10), (5, 0.55), (9, 0.91)] {
            if second > 0 { f.clock.advance(by: .seconds(second) - .seconds(second == 9 ? 5 : 0)) }
            let (admitted, rejections) = Self.offer(10_000, to: f.breaker)
            let fraction = Double(admitted) / 10_000
            #expect(abs(fraction - expected) < 0.02, "at \(second) s: \(fraction), expected \(expected)")
            #expect(abs(f.breaker.metrics.admittedFraction - expected) < 1e-9)
            #expect(rejections.allSatisfy { $0.reason == .rampingUp })
        }
        f.clock.advance(by: .seconds(1))  // the ramp's end
        let after = Self.offer(1_000, to: f.breaker)
        #expect(after.admitted == 1_000 && after.rejections.isEmpty)
        #expect(f.breaker.metrics.admittedFraction == 1)
    }

    @Test func aRejectionSaysWhenItsLotWouldBeLetInAndRetriesSpreadOverTheRamp() {
        let f = Self.recovered()
        f.clock.advance(by: .seconds(2))  // 28 % admitted
        let (_, rejections) = Self.offer(2_000, to: f.breaker)
        let waits = rejections.map(\.retryAfter).sorted()
        #expect(!waits.isEmpty)
        #expect(waits.allSatisfy { $0 > .zero && $0 <= .seconds(8) }, "within the rest of the ramp")
        // Spread, not a herd at one instant: the lots are uniform over the part of the ramp still ahead.
        let median = waits[waits.count / 2]
        #expect(median > .seconds(3) && median < .seconds(5), "median wait \(median)")
        #expect(waits[waits.count / 10] < .seconds(1) && waits[waits.count * 9 / 10] > .seconds(7))
        // A caller that waits its retryAfter finds the ramp at the fraction its lot needed.
        let wait = waits[waits.count / 2]
        f.clock.advance(by: wait)
        let expected = 0.28 + 0.72 * 0.5  // about the median lot
        #expect(abs(f.breaker.metrics.admittedFraction - expected) < 0.05)
    }

    @Test func listenersHearTheRampsRejectionsWithTheirReason() {
        let f = Self.recovered()
        let listener = EventModelTests.Declared([.rejected])
        f.breaker.addListener(listener)
        _ = Self.offer(100, to: f.breaker)
        let rejected = listener.heard.withLock { $0 }
        #expect(!rejected.isEmpty)
        #expect(rejected.allSatisfy { $0.kind == .rejected && $0.rejectionReason == .rampingUp && $0.retryAfter != nil })
        #expect(f.breaker.metrics.rejected == rejected.count)
    }

    @Test func aFailureDuringTheRampReopensByTheTripPolicy() {
        let f = Self.recovered()
        f.clock.advance(by: .seconds(9))  // 91 %: the next calls mostly get in
        var tripped = false
        for _ in 0..<20 where !tripped {
            do { try f.breaker.call { throw Boom() } } catch let error as CircuitBreakerError where error.reason == .tripped { tripped = true } catch {}
        }
        #expect(tripped)
        #expect(f.breaker.state == .open)
        #expect(f.breaker.metrics.admittedFraction == 0)
    }

    @Test func aFailureRateJudgesOnlyTheCallsAdmitted() {
        let f = Self.recovered { $0.trip = .failureRate(0.5, minimumCalls: 10); $0.window = .lastCalls(10) }
        // 1,000 calls offered at 10 %: about 100 run, all succeed; rejected calls are not failures.
        let (admitted, rejections) = Self.offer(1_000, to: f.breaker)
        #expect(admitted > 50 && rejections.count > 800)
        #expect(f.breaker.state == .closed)
        #expect(f.breaker.metrics.window.failureRate == 0)
    }

    @Test func aCircuitClosedByHandDoesNotRamp() {
        let f = PolicyFixture {
            $0.failMax = 1
            $0.recoveryRamp = .linear(over: .seconds(10))
        }
        f.run("F")
        f.breaker.close()
        #expect(Self.offer(100, to: f.breaker).admitted == 100)
    }

    @Test func withoutARampEveryCallGoesAtOnce() {
        let f = Self.recovered(ramp: nil)
        #expect(Self.offer(100, to: f.breaker).admitted == 100)
        #expect(f.breaker.metrics.admittedFraction == 1)
    }

    @Test func asyncCallsRampToo() async {
        let f = Self.recovered(ramp: .linear(over: .seconds(10), from: 0.5))
        var admitted = 0
        for _ in 0..<2_000 {
            do {
                try await f.breaker.call { () async throws in admitted += 1 }
            } catch {}
        }
        #expect(abs(Double(admitted) / 2_000 - 0.5) < 0.04)
    }

    @Test func theFractionIsLinearFromTheInitialFraction() {
        let ramp = RecoveryRamp.linear(over: .seconds(20), from: 0.25)
        #expect(ramp.admittedFraction(after: .zero) == 0.25)
        #expect(ramp.admittedFraction(after: .seconds(10)) == 0.625)
        #expect(ramp.admittedFraction(after: .seconds(20)) == 1)
        #expect(ramp.admittedFraction(after: .seconds(-1)) == 0.25)
        #expect("\(ramp)" == "linear over 20.0 seconds from 25 %")
    }

    // MARK: One ramp for every circuit that shares the recovery

    /// A circuit on `storage` that ramps over 10 s from 10 % and has been open since `clock`'s start.
    static func waiting(on storage: some CircuitBreakerStorage, clock: ManualClock) -> CircuitBreaker {
        var configuration = CircuitBreaker.Configuration()
        configuration.resetTimeout = .seconds(60)
        configuration.recoveryRamp = .linear(over: .seconds(10))
        let breaker = CircuitBreaker(name: "elsewhere", configuration: configuration, storage: storage, clock: clock)
        breaker.open()
        return breaker
    }

    @Test func theCloseAfterATrialCarriesTheRampAndASnapshotWhatIsLeftOfIt() {
        let journal = Journal()
        let clock = ManualClock()
        let breaker = Self.waiting(on: journal, clock: clock)
        clock.advance(by: .seconds(60))
        _ = try? breaker.call {}  // the trial closes the circuit
        let close = journal.changes.last?.snapshot
        #expect(close?.state == .closed && close?.rampRemaining == .seconds(10), "\(String(describing: close))")
        clock.advance(by: .seconds(4))
        #expect(breaker.snapshot().rampRemaining == .seconds(6))
        clock.advance(by: .seconds(6))
        #expect(breaker.snapshot().rampRemaining == nil, "the ramp is over")
        breaker.open()
        breaker.close()
        #expect(journal.changes.last?.snapshot.rampRemaining == nil, "closed by hand: no ramp")
    }

    @Test func aCloseWithARampAppliedFromElsewhereRampsHereToTheSameEnd() {
        let clock = ManualClock()
        let storage = InMemoryStorage()
        let breaker = Self.waiting(on: storage, clock: clock)
        clock.advance(by: .seconds(1))
        // Another instance ran the trial 4 s ago: 6 s of its ramp are left.
        #expect(storage.apply(CircuitSnapshot(state: .closed, rampRemaining: .seconds(6), epoch: 10, origin: 1)))
        #expect(breaker.state == .closed)
        #expect(abs(breaker.metrics.admittedFraction - 0.46) < 1e-9, "where the other instance is: 10 % + 90 % × 4/10")
        let (admitted, rejections) = Self.offer(10_000, to: breaker)
        #expect(abs(Double(admitted) / 10_000 - 0.46) < 0.02)
        #expect(rejections.allSatisfy { $0.reason == .rampingUp && $0.retryAfter <= .seconds(6) })
        clock.advance(by: .seconds(6))
        #expect(Self.offer(1_000, to: breaker).admitted == 1_000, "both ramps end together")
    }

    @Test func aRemoteRampIsCappedByTheLocalOneAndARemoteCloseWithoutOneEndsIt() {
        let clock = ManualClock()
        let storage = InMemoryStorage()
        let breaker = Self.waiting(on: storage, clock: clock)
        #expect(storage.apply(CircuitSnapshot(state: .closed, rampRemaining: .seconds(300), epoch: 10, origin: 1)))
        #expect(breaker.metrics.admittedFraction == 0.1, "a longer ramp elsewhere: this circuit's own, from its start")
        #expect(storage.apply(CircuitSnapshot(state: .closed, epoch: 11, origin: 1)))
        #expect(breaker.metrics.admittedFraction == 1, "closed elsewhere by hand: every call goes")
        #expect(Self.offer(100, to: breaker).admitted == 100)
    }

    @Test func aCircuitWithoutARampTakesNoneFromElsewhere() {
        let clock = ManualClock()
        let storage = InMemoryStorage()
        let breaker = CircuitBreaker(name: "no-ramp", resetTimeout: .seconds(60), storage: storage, clock: clock)
        breaker.open()
        #expect(storage.apply(CircuitSnapshot(state: .closed, rampRemaining: .seconds(6), epoch: 10, origin: 1)))
        #expect(Self.offer(100, to: breaker).admitted == 100)
        #expect(breaker.snapshot().rampRemaining == nil)
    }

    @Test func aSnapshotRestoredMidRampRampsOnFromTheFirstLook() {
        let clock = ManualClock()
        var configuration = CircuitBreaker.Configuration()
        configuration.recoveryRamp = .linear(over: .seconds(10))
        let restored = InMemoryStorage(restoring: CircuitSnapshot(state: .closed, rampRemaining: .seconds(5)))
        let breaker = CircuitBreaker(name: "restarted", configuration: configuration, storage: restored, clock: clock)
        #expect(abs(breaker.metrics.admittedFraction - 0.55) < 1e-9)
        clock.advance(by: .seconds(5))
        #expect(breaker.metrics.admittedFraction == 1)
    }

    @Test func invalidRampsNameTheField() {
        func field(_ ramp: RecoveryRamp) -> String? {
            var configuration = CircuitBreaker.Configuration()
            configuration.recoveryRamp = ramp
            do { try configuration.validate() } catch { return error.field }
            return nil
        }
        #expect(field(.linear(over: .zero)) == "recoveryRamp.duration")
        #expect(field(.linear(over: .seconds(1), from: 1)) == "recoveryRamp.initialFraction")
        #expect(field(.linear(over: .seconds(1), from: -0.1)) == "recoveryRamp.initialFraction")
        #expect(field(.linear(over: .seconds(1), from: 0)) == nil)
    }
}
