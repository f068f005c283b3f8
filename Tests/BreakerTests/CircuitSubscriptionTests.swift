@testable import Breaker
import BreakerTestKit
import Testing

/// Which breakers hear a circuit's changes: each subscribed breaker once, however often it subscribed,
/// and no entry left behind by a breaker that is gone.
@Suite("Circuit subscriptions")
struct CircuitSubscriptionTests {
    @Test func aBreakerSubscribedTwiceHearsEachChangeOnce() {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        let recorder = EventRecorder()
        let listening = CircuitBreaker(failMax: 1, listeners: [recorder], storage: storage, clock: clock)
        let tripping = CircuitBreaker(failMax: 1, storage: storage, clock: clock)
        storage.circuit.subscribe(listening)
        storage.circuit.subscribe(listening)
        #expect(storage.circuit.subscriberCount == 1)
        _ = try? tripping.call { throw Boom() }
        #expect(recorder.stateChanges == [.stateChange(.closed, .open)], "one change, heard once")
    }

    @Test func listenersAddedRemovedAndAddedAgainHearEachChangeOnce() {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        let listening = CircuitBreaker(failMax: 1, storage: storage, clock: clock)
        let tripping = CircuitBreaker(failMax: 1, storage: storage, clock: clock)
        let recorder = EventRecorder()
        for _ in 0..<3 {
            listening.addListener(recorder)
            #expect(storage.circuit.subscriberCount == 1)
            _ = listening.removeListener(recorder)
            #expect(storage.circuit.subscriberCount == 0, "a breaker without listeners is not sent the circuit's changes")
        }
        listening.addListener(recorder)
        _ = try? tripping.call { throw Boom() }
        #expect(recorder.stateChanges == [.stateChange(.closed, .open)])
        #expect(storage.circuit.subscriberCount == 1)
    }

    @Test func breakersThatAreGoneLeaveNoSubscriptionBehind() {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        for _ in 0..<20 {
            // Dropped at once, without removing its listener: only its weak entry stays.
            _ = CircuitBreaker(failMax: 1, listeners: [EventRecorder()], storage: storage, clock: clock)
        }
        let recorder = EventRecorder()
        let survivor = CircuitBreaker(failMax: 1, listeners: [recorder], storage: storage, clock: clock)
        #expect(storage.circuit.subscriberCount == 1, "subscribing prunes the entries of breakers that are gone")
        _ = try? survivor.call { throw Boom() }
        #expect(recorder.stateChanges == [.stateChange(.closed, .open)])
    }

    /// Successes parked while a time window was quiet carry the tag of that window; once the window is
    /// replaced (another shape asked for), they must not be counted in the new one.
    @Test func successesParkedForAReplacedWindowAreNotCountedInTheNewOne() throws {
        var machine = CircuitMachine(localOrigin: 1)
        machine.adoptWindow(SlidingWindow.duration(.seconds(10)).kind)
        let oldTag = CircuitMachine.parkingTag(generation: machine.generation, windowEpoch: machine.windowEpoch)
        machine.absorbParkedSuccesses(3, bucket: 0, tag: oldTag)
        #expect(machine.window?.calls == 3, "parked for this window: counted")

        machine.adoptWindow(SlidingWindow.duration(.seconds(20)).kind)
        machine.absorbParkedSuccesses(5, bucket: 0, tag: oldTag)
        #expect(machine.window?.calls == 0, "parked for the replaced window: dropped")
        let newTag = CircuitMachine.parkingTag(generation: machine.generation, windowEpoch: machine.windowEpoch)
        #expect(newTag != oldTag)
        machine.absorbParkedSuccesses(2, bucket: 0, tag: newTag)
        #expect(machine.window?.calls == 2)
    }
}
