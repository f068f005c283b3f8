#if Redis
import Breaker

/// The storage of one breaker of a fleet: the circuit stays in memory, where calls decide with no
/// network round trip; its changes go to Redis in the background, and the fleet's come back from it.
/// Made by ``RedisFleet/storage(named:mode:)``.
///
/// ```swift
/// let payments = CircuitBreaker(name: "payments", failMax: 5, storage: fleet.storage(named: "payments"))
/// ```
public final class RedisCircuitStorage: CircuitBreakerStorage {
    /// The circuit the breakers decide from.
    public let local: InMemoryStorage
    /// The breaker's name in the fleet.
    public let name: String
    /// How it shares its circuit.
    public let mode: FleetMode
    let keys: FleetKeys
    private weak let fleet: RedisFleet?

    init(name: String, mode: FleetMode, keys: FleetKeys, fleet: RedisFleet) {
        local = InMemoryStorage()
        self.name = name
        self.mode = mode
        self.keys = keys
        self.fleet = fleet
    }

    /// Queues the change for the fleet (never waits on Redis).
    public func circuitDidChange(_ change: CircuitChange) {
        fleet?.circuit(self, didChange: change)
    }
}
#endif
