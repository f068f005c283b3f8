/// Where a breaker keeps its state: the seam for sharing it between breakers, processes or restarts.
///
/// Every storage keeps the state that the call path reads *in memory*, as an ``InMemoryStorage`` (its
/// ``local`` storage): deciding a call never waits for a network. A storage that shares or persists
/// state does so around that local copy: it hears of every committed change through
/// ``stateDidChange(_:)``, and brings in changes from elsewhere with ``InMemoryStorage/apply(_:)``.
///
/// ```swift
/// /// Saves the circuit to a file on every transition, so a restart does not forget an open circuit.
/// final class FileBackedStorage: CircuitBreakerStorage {
///     let local: InMemoryStorage
///     let url: URL
///     init(url: URL) throws {
///         self.url = url
///         let saved = try? JSONDecoder().decode(CircuitSnapshot.self, from: Data(contentsOf: url))
///         local = saved.map(InMemoryStorage.init(restoring:)) ?? InMemoryStorage()
///     }
///     func stateDidChange(_ snapshot: CircuitSnapshot) {
///         try? JSONEncoder().encode(snapshot).write(to: url)
///     }
/// }
/// ```
public protocol CircuitBreakerStorage: AnyObject, Sendable {
    /// The in-memory state every breaker on this storage decides from.
    var local: InMemoryStorage { get }

    /// Called after a breaker on this storage changed state, outside any lock, with the state as it
    /// was right after the change. Calls may arrive from several threads; order them by
    /// ``CircuitSnapshot/generation`` if it matters. The default does nothing.
    func stateDidChange(_ snapshot: CircuitSnapshot)
}

extension CircuitBreakerStorage {
    /// Does nothing.
    public func stateDidChange(_ snapshot: CircuitSnapshot) {}
}

/// A circuit's state at one moment: what ``CircuitBreakerStorage`` implementations share and what
/// ``CircuitBreaker/snapshot()`` returns, to restore with ``InMemoryStorage/init(restoring:)``.
///
/// Times are kept as durations *remaining* at capture, not as clock instants, so a snapshot
/// survives a restart (monotonic clocks start again) and crossing to another host.
public struct CircuitSnapshot: Sendable, Hashable, Codable {
    /// The state.
    public var state: CircuitState
    /// The operating mode.
    public var mode: OperatingMode
    /// Counted failures in a row.
    public var failureCount: Int
    /// Trips since the circuit last closed.
    public var consecutiveTrips: Int
    /// For an open circuit, the time left before a trial is allowed; `nil` otherwise.
    public var openRemaining: Duration?
    /// Increases with every change of this storage; orders snapshots of the same storage.
    public var generation: UInt64

    /// Creates a snapshot, for example to restore a circuit that was open when the process stopped.
    public init(state: CircuitState, mode: OperatingMode = .normal, failureCount: Int = 0, consecutiveTrips: Int = 0, openRemaining: Duration? = nil, generation: UInt64 = 0) {
        self.state = state
        self.mode = mode
        self.failureCount = failureCount
        self.consecutiveTrips = consecutiveTrips
        self.openRemaining = openRemaining
        self.generation = generation
    }
}
