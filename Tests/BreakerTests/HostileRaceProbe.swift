import Breaker
import BreakerTestKit
import Synchronization
import Testing

/// Regression (was intermittent): `refreshFlags()` (CircuitBreaker+Control.swift) computed the flags
/// under the settings lock but stored them after releasing it, so two threads adding/removing listeners
/// could store out of order: a remover that read "no listeners" stored last, after an adder stored
/// "has listeners", and the registered listener heard nothing. Seen under TSan (1 of 5,000 breakers).
/// The flags are now stored under the settings lock.
@Suite("Hostile: listener flag race probe")
struct HostileRaceProbe {
    @Test func concurrentAddAndRemoveNeverLoseARegisteredListener() async {
        let n = 5_000
        let clock = ManualClock()
        let breakers = (0..<n).map { _ in CircuitBreaker(clock: clock) }
        let stayers = (0..<n).map { _ in EventRecorder() }
        let arrived = Atomic<Int>(0)
        await Stress.onThreads(2) { thread in
            for i in 0..<n {
                arrived.wrappingAdd(1, ordering: .acquiringAndReleasing)
                spin { arrived.load(ordering: .acquiring) >= 2 * (i + 1) }
                if thread == 0 {
                    let passer = EventRecorder()
                    breakers[i].addListener(passer)
                    breakers[i].removeListener(passer)
                } else {
                    breakers[i].addListener(stayers[i])
                }
            }
        }
        var lost = 0
        for i in 0..<n {
            try? breakers[i].call {}
            if stayers[i].events.isEmpty { lost += 1 }
        }
        #expect(lost == 0, "\(lost) of \(n) registered listeners heard nothing")
    }
}
