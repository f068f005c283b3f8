// The registry under contention: each name's storage factory and breaker are built exactly once however
// many threads ask for the new name at once, and a slow build for one name never holds up another.
// No sleeps: threads start together on a barrier, and a slow factory blocks on a semaphore the test
// releases; timeouts only bound a wait that a regression would turn into a hang.
import Breaker
import BreakerTestKit
import Dispatch
import Foundation
import Testing

/// Counts storage-factory calls per name, and can hold the factory of chosen names until released.
private final class FactoryProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [String: Int] = [:]
    /// Names whose factory blocks, with the semaphores it signals on entry and waits on.
    private let held: [String: (started: DispatchSemaphore, release: DispatchSemaphore)]

    init(holding names: [String] = []) {
        held = Dictionary(uniqueKeysWithValues: names.map { ($0, (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))) })
    }

    /// The storage factory: counts the call, then blocks if `name` is held.
    func makeStorage(_ name: String) -> any CircuitBreakerStorage {
        lock.withLock { calls[name, default: 0] += 1 }
        if let hold = held[name] {
            hold.started.signal()
            hold.release.wait()
        } else {
            for _ in 0..<3 { sched_yield() }  // widen the window in which requests for one name overlap
        }
        return InMemoryStorage()
    }

    /// How many times the factory ran for each name.
    var callsByName: [String: Int] { lock.withLock { calls } }

    /// Waits (at most 10 s) until the held factory for `name` has started.
    func waitUntilStarted(_ name: String) -> Bool { held[name]!.started.wait(timeout: .now() + 10) == .success }

    /// Lets the held factory for `name` return.
    func release(_ name: String) { held[name]!.release.signal() }
}

/// Releases all of `count` threads at once, when the last of them arrives.
private final class StartLine: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: Int

    init(_ count: Int) { waiting = count }

    func arriveAndWait() {
        condition.lock()
        defer { condition.unlock() }
        waiting -= 1
        if waiting == 0 {
            condition.broadcast()
        } else {
            while waiting > 0 { condition.wait() }
        }
    }
}

/// Runs `work` on a new thread; the returned semaphore is signalled when it has finished.
private func onThread(_ work: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        work()
        done.signal()
    }
    thread.start()
    return done
}

/// A value one thread writes and another reads after a semaphore has ordered the two.
private final class Slot<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    var value: Value? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    /// Changes the value in one locked step.
    func update(_ body: (inout Value?) -> Void) { lock.withLock { body(&stored) } }
}

@Suite("Registry: one build per name")
struct RegistryTests {
    @Test func concurrentFirstRequestsBuildEachNameExactlyOnce() async throws {
        let threads = 8
        let names = (0..<200).map { "host-\($0)" }
        let probe = FactoryProbe()
        let registry = try CircuitBreakerRegistry(storage: { probe.makeStorage($0) }, clock: ManualClock())
        let start = StartLine(threads)
        let results = Slot<[Int: [CircuitBreaker]]>()
        results.value = [:]
        await Stress.onThreads(threads) { thread in
            start.arriveAndWait()
            let got = names.map { registry.breaker(named: $0) }
            results.update { $0![thread] = got }
        }
        let byThread = try #require(results.value)
        #expect(byThread.count == threads)
        let calls = probe.callsByName
        #expect(calls.count == names.count)
        let notOnce = calls.filter { $0.value != 1 }
        #expect(notOnce.isEmpty, "\(notOnce.count) names did not get exactly one storage factory call, e.g. \(notOnce.first.map { "\($0.key): \($0.value)" } ?? "")")
        let registered = registry.breakers
        #expect(registered.count == names.count)
        for (index, name) in names.enumerated() {
            let first = try #require(byThread[0]?[index])
            #expect(first.name == name)
            #expect(registered[name] === first)
            for thread in 1..<threads {
                #expect(byThread[thread]?[index] === first, "thread \(thread) got another breaker for \(name)")
            }
        }
    }

    @Test func aSlowBuildForOneNameDoesNotBlockAnother() throws {
        let probe = FactoryProbe(holding: ["A"])
        let registry = try CircuitBreakerRegistry(storage: { probe.makeStorage($0) }, clock: ManualClock())
        let gotA = Slot<CircuitBreaker>(), gotAAgain = Slot<CircuitBreaker>(), gotB = Slot<CircuitBreaker>()
        let listedWhileABuilds = Slot<[String]>()

        let aDone = onThread { gotA.value = registry.breaker(named: "A") }
        #expect(probe.waitUntilStarted("A"), "A's storage factory never started")
        let aAgainDone = onThread { gotAAgain.value = registry.breaker(named: "A") }

        // A's factory is blocked now; B, and the list of breakers, must not wait for it.
        let bDone = onThread {
            gotB.value = registry.breaker(named: "B")
            listedWhileABuilds.value = registry.breakers.keys.sorted()
        }
        #expect(bDone.wait(timeout: .now() + 10) == .success, "the request for B waited for A's build")
        #expect(gotB.value?.name == "B")
        #expect(listedWhileABuilds.value == ["B"], "a breaker still being built is not listed")
        #expect(gotA.value == nil, "A's build is still held")

        probe.release("A")
        #expect(aDone.wait(timeout: .now() + 10) == .success)
        #expect(aAgainDone.wait(timeout: .now() + 10) == .success)
        let a = try #require(gotA.value)
        #expect(a.name == "A")
        #expect(gotAAgain.value === a, "a request made during the build gets the same breaker")
        #expect(registry.breaker(named: "A") === a)
        #expect(probe.callsByName == ["A": 1, "B": 1])
    }

    @Test func removingABreakerWhileItIsBuiltForgetsIt() throws {
        let probe = FactoryProbe(holding: ["A"])
        let registry = try CircuitBreakerRegistry(storage: { probe.makeStorage($0) }, clock: ManualClock())
        let gotA = Slot<CircuitBreaker>()
        let aDone = onThread { gotA.value = registry.breaker(named: "A") }
        #expect(probe.waitUntilStarted("A"))
        #expect(registry.removeBreaker(named: "A") == nil, "remove does not wait for the build")
        probe.release("A")
        #expect(aDone.wait(timeout: .now() + 10) == .success)
        let first = try #require(gotA.value)
        #expect(registry.breakers.isEmpty, "the breaker built after its removal is not registered")
        // The next request builds anew (and this time A's factory is not held: its semaphore is spent).
        probe.release("A")
        let second = registry.breaker(named: "A")
        #expect(second !== first)
        #expect(registry.breaker(named: "A") === second)
        #expect(probe.callsByName == ["A": 2])
    }

    @Test func namesConfigurationsListingAndRemoval() throws {
        var strict = CircuitBreaker.Configuration()
        strict.failMax = 1
        var lenient = CircuitBreaker.Configuration()
        lenient.failMax = 50
        let probe = FactoryProbe()
        let registry = try CircuitBreakerRegistry(
            configurations: ["strict": strict], storage: { probe.makeStorage($0) }, clock: ManualClock())
        #expect(registry.defaultConfiguration.failMax == 5)

        // An unknown configuration name throws and registers nothing.
        #expect(throws: CircuitBreakerRegistry.UnknownConfiguration(name: "lenient")) {
            try registry.breaker(named: "api", configuration: "lenient")
        }
        #expect(CircuitBreakerRegistry.UnknownConfiguration(name: "lenient").description == "no circuit breaker configuration named 'lenient'")
        #expect(registry.breakers.isEmpty)
        #expect(probe.callsByName.isEmpty)

        // Named and default configurations, and configurations added later.
        let strictOne = try registry.breaker(named: "db", configuration: "strict")
        #expect(strictOne.failMax == 1)
        try registry.setConfiguration(lenient, named: "lenient")
        #expect(try registry.breaker(named: "api", configuration: "lenient").failMax == 50)
        let plain = registry.breaker(named: "cache")
        #expect(plain.failMax == 5)

        // An existing breaker is returned as it is, whatever configuration name is given, known or not.
        #expect(registry.breaker(named: "db") === strictOne)
        #expect(try registry.breaker(named: "db", configuration: "lenient") === strictOne)
        #expect(try registry.breaker(named: "db", configuration: "nonexistent") === strictOne)

        #expect(Set(registry.breakers.keys) == ["db", "api", "cache"])
        #expect(registry.breakers["db"] === strictOne)
        #expect(probe.callsByName == ["db": 1, "api": 1, "cache": 1])

        // Removal forgets one breaker; the next request builds a new one, with the factory once more.
        #expect(registry.removeBreaker(named: "nowhere") == nil)
        #expect(registry.removeBreaker(named: "db") === strictOne)
        #expect(Set(registry.breakers.keys) == ["api", "cache"])
        let again = registry.breaker(named: "db")
        #expect(again !== strictOne)
        #expect(again.failMax == 5, "the new breaker takes the configuration of the request that builds it")
        #expect(probe.callsByName["db"] == 2)

        // A bad configuration is refused and does not replace the good one.
        var bad = strict
        bad.failMax = 0
        #expect(throws: ConfigurationError.self) { try registry.setConfiguration(bad, named: "strict") }
        #expect(try registry.breaker(named: "queue", configuration: "strict").failMax == 1)
    }
}
