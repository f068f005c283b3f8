import Breaker
import BreakerTestKit
import Foundation

/// What the dependency saw in the first second after it recovered, with one protection.
public struct RecoveryHerdOutcome: Sendable, Hashable {
    /// The protection each instance calls through.
    public var protection: Protection
    /// How many instances share the traffic, each with a breaker of its own.
    public var instances: Int
    /// The calls that reached the dependency in the first second after the first instance closed (or
    /// after the dependency recovered, without a breaker), as a share of the normal load.
    public var loadShare: Double
    /// The most the recovery ramp lets through over that second, on average, plus 10 %: the target;
    /// `nil` without a ramp.
    public var rampTarget: Double?
    /// The largest number of calls that reached the dependency in any 100 ms of that second, as a share
    /// of the normal load's 100 ms.
    public var peakShare: Double
}

/// Clients of several instances call a dependency that goes down and comes back; every call that is
/// rejected or fails is retried (up to three attempts in all): after a rejection at its `retryAfter`,
/// after a failure 100 ms later. Each instance has its own breaker (no shared state). The question is
/// what reaches the dependency in the first second after it is back: the herd of waiting retries
/// and every client at once, or what the recovery ramp lets through.
public enum RecoveryHerdSimulation {
    /// The normal load, in calls a second across all instances.
    public static let normalRate = 100.0
    /// When the dependency goes down, and when it comes back, in simulated seconds.
    public static let outage = (start: 10.0, end: 30.0)

    /// The classic breaker and the ramp, with `instances` instances each.
    public static func compare(instances: [Int] = [1, 3], seed: UInt64 = DemoOptions.defaultSeed) -> [RecoveryHerdOutcome] {
        instances.flatMap { count in [Protection.none, .classic, .ramp].map { run($0, instances: count, seed: seed) } }
    }

    /// One protection with `instances` instances.
    public static func run(_ protection: Protection, instances: Int, seed: UInt64 = DemoOptions.defaultSeed) -> RecoveryHerdOutcome {
        let clock = ManualClock()
        let breakers = (0..<instances).map { index in
            protection.breaker.map { CircuitBreaker(name: "instance-\(index)", configuration: $0, clock: clock) }
        }
        var random = SeededRandom(seed: seed)
        var events = EventQueue<Event>()
        let ratePerInstance = normalRate / Double(instances)
        for instance in 0..<instances { events.push(.arrival(instance), at: OverloadSimulation.exponential(ratePerInstance, &random)) }
        var arrivals: [Double] = []  // when each call reached the dependency
        var recovery: Double?  // the first close after the outage (its end, without a breaker)
        if protection.breaker == nil { recovery = outage.end }
        let end = outage.end + 30
        while let (time, event) = events.pop(), time < end {
            clock.advance(toSeconds: time)
            switch event {
            case .arrival(let instance):
                events.push(.arrival(instance), at: time + OverloadSimulation.exponential(ratePerInstance, &random))
                events.push(.attempt(instance, number: 1), at: time)
            case .attempt(let instance, let number):
                let permit: CallPermit?
                do {
                    permit = try breakers[instance]?.acquirePermit()
                } catch {
                    if number < 3 { events.push(.attempt(instance, number: number + 1), at: time + max(0.01, error.retryAfter.inSeconds)) }
                    continue
                }
                arrivals.append(time)
                let down = time >= outage.start && time < outage.end
                events.push(.answer(instance, permit, fails: down, number: number), at: time + 0.05)
            case .answer(let instance, let permit, let fails, let number):
                let wasClosed = breakers[instance]?.state == .closed
                if fails {
                    _ = permit?.failed(OverloadSimulation.TimedOut())
                    if number < 3 { events.push(.attempt(instance, number: number + 1), at: time + 0.1) }
                } else {
                    _ = permit?.succeeded()
                }
                if recovery == nil, time >= outage.end, !wasClosed, breakers[instance]?.state == .closed { recovery = time }
            }
        }
        guard let start = recovery else {
            return RecoveryHerdOutcome(protection: protection, instances: instances, loadShare: 0, rampTarget: nil, peakShare: 0)
        }
        let firstSecond = arrivals.filter { $0 >= start && $0 < start + 1 }
        var bins = [Int](repeating: 0, count: 10)
        for arrival in firstSecond { bins[min(9, Int((arrival - start) * 10))] += 1 }
        let rampTarget = protection.breaker?.recoveryRamp.map { ramp in
            (ramp.admittedFraction(after: .zero) + ramp.admittedFraction(after: .seconds(1))) / 2 + 0.1
        }
        return RecoveryHerdOutcome(
            protection: protection, instances: instances, loadShare: Double(firstSecond.count) / normalRate, rampTarget: rampTarget,
            peakShare: Double(bins.max() ?? 0) / (normalRate / 10))
    }

    /// What happens in a recovery run.
    enum Event {
        /// A client of `instance` makes a call.
        case arrival(Int)
        /// An attempt of that call, the first or a retry.
        case attempt(Int, number: Int)
        /// The dependency answers an attempt.
        case answer(Int, CallPermit?, fails: Bool, number: Int)
    }
}
