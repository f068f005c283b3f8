/// Where a breaker's circuit lives: the seam for sharing it between breakers, processes or restarts.
///
/// Every storage keeps the circuit that the call path reads *in memory*, as an ``InMemoryStorage``
/// (its ``local`` circuit): deciding a call never waits for a network. A storage that shares or
/// persists the circuit does so around that local copy:
/// - it hears of every committed change, numbered and in order, through ``circuitDidChange(_:)``;
/// - it brings in changes made elsewhere with ``InMemoryStorage/apply(_:)``, which takes only a
///   change newer than the circuit's latest (by epoch, then origin; see ``CircuitSnapshot``);
/// - it decides which instance may run half-open trials with ``InMemoryStorage/setTrialGate(_:)``.
///
/// ```swift
/// /// Saves the circuit to a file on every change, so a restart does not forget an open circuit.
/// final class FileBackedStorage: CircuitBreakerStorage {
///     let local: InMemoryStorage
///     let url: URL
///     init(url: URL) throws {
///         self.url = url
///         let saved = try? JSONDecoder().decode(CircuitSnapshot.self, from: Data(contentsOf: url))
///         local = saved.map(InMemoryStorage.init(restoring:)) ?? InMemoryStorage()
///     }
///     func circuitDidChange(_ change: CircuitChange) {
///         try? JSONEncoder().encode(change.snapshot).write(to: url)
///     }
/// }
/// ```
public protocol CircuitBreakerStorage: AnyObject, Sendable {
    /// The in-memory circuit every breaker on this storage decides from.
    var local: InMemoryStorage { get }

    /// Called once for each committed change of the circuit, in ``CircuitChange/sequence`` order,
    /// after the circuit's lock is released and before the breakers' listeners hear of it. Changes
    /// applied from elsewhere come here too (``CircuitChange/isRemote``), so that a storage does not
    /// publish them back. Never called concurrently for one circuit. The default does nothing.
    func circuitDidChange(_ change: CircuitChange)
}

extension CircuitBreakerStorage {
    /// Does nothing.
    public func circuitDidChange(_ change: CircuitChange) {}
}
