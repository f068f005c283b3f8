import Breaker
import BreakerTestKit
import Testing

@Suite("Listeners (aiobreaker §3.7)")
struct ListenerTests {
    @Test func eventOrderForEachKindOfCall() throws {
        let f = Fixture(failMax: 2)
        try f.succeed()
        #expect(f.recorder.events == [.beforeCall, .success])
        f.recorder.removeAll()
        f.fail(Boom(code: 1))
        #expect(f.recorder.events == [.beforeCall, .failure("Boom(1)")])
        f.recorder.removeAll()
        f.fail(Boom(code: 2))
        #expect(f.recorder.events == [.beforeCall, .failure("Boom(2)"), .stateChange(.closed, .open)])
    }

    @Test func anExcludedErrorInHalfOpenClosesAndReportsSuccess() {
        let f = Fixture(failMax: 1, exclude: [.type(Benign.self)])
        f.breaker.halfOpen()
        f.recorder.removeAll()
        #expect(f.fail(Benign()) is Benign, "the excluded error is rethrown unchanged")
        #expect(f.recorder.events == [.beforeCall, .stateChange(.halfOpen, .closed), .success])
        #expect(f.breaker.state == .closed)
    }

    @Test func manualTransitionsNotifyEvenWithoutAChange() {
        let f = Fixture()
        f.breaker.close()
        f.breaker.open()
        f.breaker.open()
        f.breaker.halfOpen()
        f.breaker.halfOpen()
        f.breaker.close()
        #expect(f.recorder.events == [
            .stateChange(.closed, .closed), .stateChange(.closed, .open), .stateChange(.open, .open),
            .stateChange(.open, .halfOpen), .stateChange(.halfOpen, .halfOpen), .stateChange(.halfOpen, .closed),
        ])
    }

    @Test func manualControlKeepsOrResetsTheCounterLikeAiobreaker() {
        let f = Fixture(failMax: 5)
        f.fail()
        f.fail()
        f.breaker.open()
        #expect(f.breaker.failureCount == 2, "open() keeps the counter")
        f.breaker.halfOpen()
        #expect(f.breaker.failureCount == 2, "halfOpen() keeps the counter")
        f.breaker.close()
        #expect(f.breaker.failureCount == 0, "close() resets it")
    }

    @Test func openRestartsTheWindowFromTheLatestOpen() {
        let f = Fixture(resetTimeout: .seconds(10))
        f.breaker.open()
        f.clock.advance(by: .seconds(8))
        f.breaker.open()
        f.clock.advance(by: .seconds(8))
        #expect(f.breaker.retryAfter == .seconds(2))
        #expect(f.fail().breakerError?.reason == .open)
    }

    @Test func listenersAreAddedAndRemovedAtRunTime() throws {
        let f = Fixture()
        let late = EventRecorder()
        f.breaker.addListener(late)
        #expect(f.breaker.listeners.count == 2)
        try f.succeed()
        #expect(late.events == [.beforeCall, .success])
        #expect(f.breaker.removeListener(late))
        #expect(!f.breaker.removeListener(late), "removing twice reports false")
        try f.succeed()
        #expect(late.events == [.beforeCall, .success])
        #expect(f.breaker.listeners.count == 1)
        #expect(f.breaker.listeners.first === f.recorder)
    }

    @Test func aListenerAddedAfterSilenceHearsOnlyWhatFollows() throws {
        let f = Fixture(failMax: 1)
        f.breaker.removeListener(f.recorder)
        f.fail()  // trips with nobody listening
        let late = EventRecorder()
        f.breaker.addListener(late)
        f.breaker.close()
        #expect(late.events == [.stateChange(.open, .closed)], "no stale catch-up of the trip nobody heard")
    }

    @Test func aListenerAddedTwiceHearsTwice() throws {
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(listeners: [recorder, recorder], clock: ManualClock())
        try breaker.call {}
        #expect(recorder.events == [.beforeCall, .beforeCall, .success, .success])
    }

    @Test func listenersHearInRegistrationOrder() throws {
        let log = OrderLog()
        let breaker = CircuitBreaker(listeners: [Tagged("a", log), Tagged("b", log)], clock: ManualClock())
        try breaker.call {}
        #expect(log.entries == ["a:beforeCall", "b:beforeCall", "a:success", "b:success"])
    }

    @Test func insideStateChangeTheBreakerAlreadyReportsTheNewState() {
        let probe = StateProbe()
        let breaker = CircuitBreaker(failMax: 1, listeners: [probe], clock: ManualClock())
        _ = try? breaker.call { throw Boom() }
        #expect(probe.seen == [.open])
    }

    @Test func aListenerMayReenterTheBreakerWithoutDeadlock() throws {
        let reopener = Reopener()
        let recorder = EventRecorder()
        let clock = ManualClock()
        let breaker = CircuitBreaker(failMax: 1, resetTimeout: .seconds(5), listeners: [reopener, recorder], clock: clock)
        breaker.halfOpen()
        try breaker.call {}
        // The listener reopened the breaker from inside the close notification. That change is delivered
        // right after the one being delivered, by the same thread, before the call's own success event.
        #expect(breaker.state == .open)
        #expect(recorder.events == [.stateChange(.closed, .halfOpen), .beforeCall, .stateChange(.halfOpen, .closed), .stateChange(.closed, .open), .success])
    }

    @Test func aListenerMayRemoveItselfAndAddAnother() throws {
        let recorder = EventRecorder()
        let breaker = CircuitBreaker(clock: ManualClock())
        let swapper = Swapper(replacement: recorder)
        breaker.addListener(swapper)
        try breaker.call {}  // beforeCall: swaps itself out for the recorder
        #expect(breaker.listeners.count == 1)
        #expect(breaker.listeners.first === recorder)
        #expect(recorder.events == [.success], "the new listener hears the rest of the call")
    }

    @Test func breakersSharingACircuitHearEachOthersChangesAtOnce() throws {
        let storage = InMemoryStorage()
        let clock = ManualClock()
        let heardByA = EventRecorder()
        let heardByB = EventRecorder()
        let a = CircuitBreaker(name: "a", failMax: 1, listeners: [heardByA], storage: storage, clock: clock)
        let b = CircuitBreaker(name: "b", failMax: 1, listeners: [heardByB], storage: storage, clock: clock)
        _ = try? a.call { throw Boom() }
        #expect(b.state == .open)
        #expect(heardByB.events == [.stateChange(.closed, .open)], "b hears the circuit's change at once, with no call of its own")
        #expect(heardByA.events == [.beforeCall, .failure("Boom(1)"), .stateChange(.closed, .open)])
        b.close()
        #expect(heardByA.events.last == .stateChange(.open, .closed), "and a hears b's")
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLockLike()
    private var storage: [String] = []
    func append(_ entry: String) { lock.run { storage.append(entry) } }
    var entries: [String] { lock.run { storage } }
}

final class Tagged: CircuitBreakerListener {
    let tag: String
    let log: OrderLog
    init(_ tag: String, _ log: OrderLog) {
        self.tag = tag
        self.log = log
    }
    func beforeCall(_ breaker: CircuitBreaker) { log.append("\(tag):beforeCall") }
    func success(_ breaker: CircuitBreaker) { log.append("\(tag):success") }
}

final class StateProbe: CircuitBreakerListener, @unchecked Sendable {
    private let lock = NSLockLike()
    private var states: [CircuitState] = []
    var seen: [CircuitState] { lock.run { states } }
    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        let now = breaker.state
        lock.run { states.append(now) }
    }
}

final class Reopener: CircuitBreakerListener {
    func stateChange(_ breaker: CircuitBreaker, from: CircuitState, to: CircuitState) {
        if to == .closed && from == .halfOpen { breaker.open() }
    }
}

final class Swapper: CircuitBreakerListener {
    let replacement: EventRecorder
    init(replacement: EventRecorder) { self.replacement = replacement }
    func beforeCall(_ breaker: CircuitBreaker) {
        breaker.removeListener(self)
        breaker.addListener(replacement)
    }
}
