import Breaker
import BreakerTestKit
import Foundation
import Synchronization

/// What to simulate: the scenario, the policy, how long, how busy, and the seed.
public struct SimulationSettings: Sendable, Hashable {
    /// The story the dependency acts out.
    public var scenario: Scenario
    /// The breaker's policy.
    public var policy: DemoPolicy
    /// The simulated length of the run.
    public var duration: Duration
    /// The seed of every random draw: the same seed tells the same story.
    public var seed: UInt64
    /// How many calls the clients make per simulated second, on average.
    public var callsPerSecond: Double
    /// The length of one recorded slice; `nil` picks one second, or longer for runs of over 4 minutes
    /// so that a run has at most about 240 slices.
    public var slice: Duration?

    /// Settings with the demo's defaults: an outage, the failure-rate policy, two minutes, 20 calls a second.
    public init(
        scenario: Scenario = .outage, policy: DemoPolicy = PolicyChoice.failureRate.settings, duration: Duration = .seconds(120),
        seed: UInt64 = DemoOptions.defaultSeed, callsPerSecond: Double = 20, slice: Duration? = nil
    ) {
        self.scenario = scenario
        self.policy = policy
        self.duration = duration
        self.seed = seed
        self.callsPerSecond = callsPerSecond
        self.slice = slice
    }

    /// The slice length in seconds that the run uses.
    public var sliceSeconds: Double {
        if let slice { return max(slice.inSeconds, 0.001) }
        let seconds = duration.inSeconds
        return seconds <= 240 ? 1 : (seconds / 240).rounded(.up)
    }
}

/// Simulated clients calling a simulated dependency through one ``CircuitBreaker`` on a
/// ``ManualClock``. Simulated time moves only by the clock; the run takes milliseconds of real time
/// and, for one set of settings, always records the same result.
public enum Simulation {
    /// Runs the simulation described by `settings`.
    public static func run(_ settings: SimulationSettings) -> SimulationResult {
        let duration = settings.duration.inSeconds
        let dependency = settings.scenario.dependency(duration: duration)
        let clock = ManualClock()
        let recorder = TransitionRecorder(clock: clock)
        let breaker = CircuitBreaker(name: "dependency", configuration: settings.policy.configuration, listeners: [recorder], clock: clock)
        var random = SeededRandom(seed: settings.seed)
        let sliceSeconds = settings.sliceSeconds
        let sliceCount = max(1, Int((duration / sliceSeconds).rounded(.up)))
        var slices = (0..<sliceCount).map { TimeSlice(start: Double($0) * sliceSeconds, end: min(duration, Double($0 + 1) * sliceSeconds)) }
        let slowMark = settings.policy.slowMark
        let end = ManualClock.Instant(offset: settings.duration)

        var inFlight: [InFlight] = []  // sorted by completion time, then by start
        var nextArrival = ManualClock.Instant(offset: gap(settings.callsPerSecond, &random))
        var closedSlices = 0

        while true {
            let nextCompletion = inFlight.first?.completes
            let next = min(nextArrival, nextCompletion ?? nextArrival)
            guard next < end else { break }
            // Slices that end before this event are over: note the state they ended in.
            while closedSlices < sliceCount - 1 && slices[closedSlices].end <= next.offset.inSeconds {
                clock.advance(by: clock.now.duration(to: ManualClock.Instant(offset: .seconds(slices[closedSlices].end))))
                note(breaker, settings.policy, in: &slices[closedSlices])
                closedSlices += 1
            }
            clock.advance(by: clock.now.duration(to: next))
            if let nextCompletion, nextCompletion <= nextArrival {
                let call = inFlight.removeFirst()
                if call.fails { call.permit.failed(DependencyFailure()) } else { call.permit.succeeded() }
                continue
            }
            let seconds = next.offset.inSeconds
            let index = min(sliceCount - 1, Int(seconds / sliceSeconds))
            let response = dependency.respond(at: seconds, random: &random)
            let troubled = dependency.condition(at: seconds).isTroubled
            slices[index].calls += 1
            if troubled { slices[index].callsWhileTroubled += 1 }
            do {
                let permit = try breaker.acquirePermit()
                slices[index].letThrough += 1
                if troubled { slices[index].letThroughWhileTroubled += 1 }
                if response.fails { slices[index].failures += 1 }
                if response.latency >= slowMark { slices[index].slowCalls += 1 }
                let call = InFlight(completes: next.advanced(by: response.latency), permit: permit, fails: response.fails)
                let position = inFlight.firstIndex { $0.completes > call.completes } ?? inFlight.endIndex
                inFlight.insert(call, at: position)
            } catch {
                slices[index].rejected += 1
                slices[index].waitSaved += response.latency.inSeconds
                if response.fails { slices[index].failuresAvoided += 1 }
            }
            nextArrival = next.advanced(by: gap(settings.callsPerSecond, &random))
        }
        clock.advance(by: clock.now.duration(to: end))
        for index in closedSlices..<sliceCount { note(breaker, settings.policy, in: &slices[index]) }
        // Calls still running at the end are reported as ignored: they change nothing after the run.
        for call in inFlight { call.permit.ignored() }

        return SimulationResult(
            settings: settings, dependency: dependency, configuration: breaker.configuration, slices: slices,
            transitions: recorder.transitions.filter { $0.time < duration })
    }

    /// Notes the breaker's state, and the rates its rule reads, at the end of `slice`.
    private static func note(_ breaker: CircuitBreaker, _ policy: DemoPolicy, in slice: inout TimeSlice) {
        let metrics = breaker.metrics
        slice.stateAtEnd = metrics.state
        guard metrics.state == .closed, let minimumCalls = policy.minimumCalls, metrics.window.calls >= minimumCalls else { return }
        switch policy.rule {
        case .consecutiveFailures: break
        case .failureRate: slice.windowFailureRate = metrics.failureRate
        case .slowCalls: slice.windowSlowRate = metrics.slowCallRate
        }
    }

    /// The wait until the next call: exponentially distributed, `rate` calls a second on average.
    private static func gap(_ rate: Double, _ random: inout SeededRandom) -> Duration {
        let seconds = -log(1 - random.unit()) / rate
        return .nanoseconds(max(1, Int64((seconds * 1e9).rounded())))
    }

    /// A call the dependency is working on.
    private struct InFlight {
        var completes: ManualClock.Instant
        var permit: CallPermit
        var fails: Bool
    }

    /// The error a failed call reports to the breaker.
    struct DependencyFailure: Error, CustomStringConvertible {
        var description: String { "the dependency failed or timed out" }
    }
}

/// Notes every change of the circuit's state with the simulated time at which it happened.
final class TransitionRecorder: CircuitBreakerListener {
    private let clock: ManualClock
    private let recorded = Mutex<[Transition]>([])

    init(clock: ManualClock) { self.clock = clock }

    var interests: BreakerEvent.Kinds { [.stateChanged] }

    func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        guard let change = event.change, change.isTransition else { return }
        let transition = Transition(time: clock.now.offset.inSeconds, from: change.previousState, to: change.state, cause: change.cause)
        recorded.withLock { $0.append(transition) }
    }

    var transitions: [Transition] { recorded.withLock { $0 } }
}
