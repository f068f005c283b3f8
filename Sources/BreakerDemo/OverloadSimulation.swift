import Breaker
import BreakerTestKit
import Foundation

/// A dependency under overload, in simulated time: it serves `capacity` calls a second at its base
/// latency, and each call it takes on while more than `capacity × baseLatency` are in flight takes
/// proportionally longer (a queue). Callers give up at `timeout`, but the dependency keeps working on
/// a call it took until it is done: past capacity, time-outs waste what capacity is left, and an
/// unprotected dependency's goodput collapses.
public struct OverloadSettings: Sendable, Hashable {
    /// Calls a second the dependency serves at its base latency.
    public var capacity: Double = 200
    /// How long a call takes with the dependency under capacity.
    public var baseLatency: Duration = .milliseconds(50)
    /// How long a caller waits before giving up: the call fails (and counts as a failure).
    public var timeout: Duration = .seconds(1)
    /// The simulated length of each run.
    public var duration: Duration = .seconds(60)
    /// The first part of each run, left out of the figures while the protection settles.
    public var warmUp: Duration = .seconds(10)
    /// The seed of the arrivals.
    public var seed: UInt64 = DemoOptions.defaultSeed

    /// The defaults: 200 calls a second at 50 ms (10 in flight at capacity), a 1 s time-out, 60 s runs.
    public init() {}

    /// Calls in flight that the dependency serves at its base latency.
    var concurrency: Double { capacity * baseLatency.inSeconds }
}

/// One way of protecting a dependency, as the comparison runs it.
public struct Protection: Sendable, Hashable, CustomStringConvertible {
    /// The name in tables and charts.
    public let name: String
    /// The breaker calls go through, if any.
    public let breaker: CircuitBreaker.Configuration?
    /// The concurrency limiter calls go through first, if any.
    public let limiter: ConcurrencyLimiter.Configuration?

    init(name: String, breaker: CircuitBreaker.Configuration?, limiter: ConcurrencyLimiter.Configuration? = nil) {
        self.name = name
        self.breaker = breaker
        self.limiter = limiter
    }

    /// `classic`, `ramp`, ...
    public var description: String { name }

    /// Calls go straight to the dependency.
    public static let none = Protection(name: "none", breaker: nil)
    /// A breaker that opens on a failure rate of 50 % over the last 50 calls, for 5 s, and closes at
    /// once after a successful trial.
    public static let classic = Protection(name: "classic", breaker: classicConfiguration)
    /// The classic breaker, recovering over a 10 s ramp from 10 %.
    public static let ramp = Protection(name: "ramp", breaker: with { $0.recoveryRamp = .linear(over: .seconds(10)) })
    /// The classic breaker with the adaptive throttle (k = 2, over 10 s).
    public static let throttle = Protection(name: "throttle", breaker: with { $0.throttle = AdaptiveThrottle(window: .seconds(10)) })
    /// The classic breaker with the ramp and the throttle.
    public static let rampAndThrottle = Protection(
        name: "ramp+throttle",
        breaker: with {
            $0.recoveryRamp = .linear(over: .seconds(10))
            $0.throttle = AdaptiveThrottle(window: .seconds(10))
        })
    /// An adaptive concurrency limiter with a latency budget, no breaker: AIMD, a call taking 100 ms or
    /// more (twice the dependency's base latency) or failing is a drop.
    public static let limiter = Protection(name: "limiter", breaker: nil, limiter: aimdWithBudget)
    /// The concurrency limiter with its defaults (Gradient2), no breaker.
    public static let gradient2 = Protection(name: "gradient2", breaker: nil, limiter: ConcurrencyLimiter.Configuration())
    /// The limiter with a latency budget in front of the breaker with the ramp and the throttle.
    public static let everything = Protection(name: "all", breaker: rampAndThrottle.breaker, limiter: aimdWithBudget)
    /// The protections the overload comparison runs, in its order.
    public static let all: [Protection] = [.none, .classic, .ramp, .throttle, .rampAndThrottle, .gradient2, .limiter, .everything]

    private static var aimdWithBudget: ConcurrencyLimiter.Configuration {
        var configuration = ConcurrencyLimiter.Configuration()
        configuration.algorithm = .aimd()
        configuration.drops = ConcurrencyLimiter.DropPolicy(failures: true, timeout: .milliseconds(100))
        return configuration
    }

    private static var classicConfiguration: CircuitBreaker.Configuration {
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 20)
        configuration.window = .lastCalls(50)
        configuration.resetTimeout = .seconds(5)
        return configuration
    }

    private static func with(_ change: (inout CircuitBreaker.Configuration) -> Void) -> CircuitBreaker.Configuration {
        var configuration = classicConfiguration
        change(&configuration)
        return configuration
    }
}

/// What one protection achieved at one offered load.
public struct OverloadOutcome: Sendable, Hashable {
    /// The protection.
    public var protection: Protection
    /// The offered load, as a multiple of the dependency's capacity.
    public var load: Double
    /// Successful calls a second, after the warm-up.
    public var goodput: Double
    /// ``goodput`` as a share of the dependency's capacity.
    public var goodputShare: Double
    /// The 99th percentile of the latency callers saw on the calls that reached the dependency (a
    /// time-out counts at the time-out); zero if none did.
    public var p99: Duration
    /// The share of offered calls rejected without reaching the dependency.
    public var rejectedShare: Double
}

/// Runs the overload comparison: each protection at each offered load, on a ``ManualClock``.
public enum OverloadSimulation {
    /// The offered loads of the comparison, as multiples of capacity.
    public static let loads: [Double] = [0.5, 1, 2, 4]

    /// Every protection in ``Protection/all`` at every load in ``loads``.
    public static func compare(_ settings: OverloadSettings = OverloadSettings()) -> [OverloadOutcome] {
        Protection.all.flatMap { protection in loads.map { run(protection, load: $0, settings) } }
    }

    /// One protection at `load` × capacity.
    public static func run(_ protection: Protection, load: Double, _ settings: OverloadSettings = OverloadSettings()) -> OverloadOutcome {
        let clock = ManualClock()
        let breaker = protection.breaker.map { CircuitBreaker(name: "dependency", configuration: $0, clock: clock) }
        let limiter = protection.limiter.map { ConcurrencyLimiter(name: "dependency", configuration: $0, clock: clock) }
        var random = SeededRandom(seed: settings.seed)
        var events = EventQueue<Event>()
        let rate = load * settings.capacity
        let duration = settings.duration.inSeconds
        let warmUp = settings.warmUp.inSeconds
        let timeout = settings.timeout.inSeconds
        var dependencyInFlight = 0
        var offered = 0
        var rejected = 0
        var successes = 0
        var latencies: [Double] = []
        events.push(.arrival, at: exponential(rate, &random))
        while let (time, event) = events.pop(), time < duration {
            clock.advance(toSeconds: time)
            let measured = time >= warmUp
            switch event {
            case .arrival:
                events.push(.arrival, at: time + exponential(rate, &random))
                if measured { offered += 1 }
                let permit: CallPermit?
                let slot: ConcurrencyLimiter.Permit?
                do {
                    slot = try limiter?.acquire()
                    do {
                        permit = try breaker?.acquirePermit()
                    } catch {
                        slot?.release(.ignored)
                        throw error
                    }
                } catch {
                    if measured { rejected += 1 }
                    continue
                }
                dependencyInFlight += 1
                let latency = settings.baseLatency.inSeconds * max(1, Double(dependencyInFlight) / settings.concurrency)
                events.push(.departure, at: time + latency)
                events.push(
                    .answer(permit, slot, latency: min(latency, timeout), timedOut: latency > timeout, measured: measured), at: time + min(latency, timeout))
            case .departure:
                dependencyInFlight -= 1
            case .answer(let permit, let slot, let latency, let timedOut, let wasMeasured):
                if timedOut { _ = permit?.failed(TimedOut()) } else { _ = permit?.succeeded() }
                slot?.release(timedOut ? .failure : .success)
                guard wasMeasured else { continue }
                latencies.append(latency)
                if !timedOut { successes += 1 }
            }
        }
        let seconds = duration - warmUp
        latencies.sort()
        let p99 = latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((Double(latencies.count) * 0.99).rounded(.down)))]
        return OverloadOutcome(
            protection: protection, load: load, goodput: Double(successes) / seconds,
            goodputShare: Double(successes) / seconds / settings.capacity, p99: .nanoseconds(Int64((p99 * 1e9).rounded())),
            rejectedShare: offered == 0 ? 0 : Double(rejected) / Double(offered))
    }

    /// The wait until the next arrival: exponentially distributed, `rate` a second on average.
    static func exponential(_ rate: Double, _ random: inout SeededRandom) -> Double {
        -log(1 - random.unit()) / rate
    }

    /// A caller gave up waiting.
    struct TimedOut: Error {}

    /// What happens in an overload run.
    enum Event {
        case arrival
        /// The dependency is done with a call.
        case departure
        /// The caller hears back, `latency` after the call started: the answer, or its own time-out.
        case answer(CallPermit?, ConcurrencyLimiter.Permit?, latency: Double, timedOut: Bool, measured: Bool)
    }
}
