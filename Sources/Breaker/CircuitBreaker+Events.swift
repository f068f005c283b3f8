import Synchronization

/// Delivering events to a breaker's listeners.
extension CircuitBreaker {
    /// The listeners of a breaker with what each wants, replaced whole on every change so that a
    /// delivery can keep the list it started with.
    @usableFromInline
    final class ListenerList: Sendable {
        struct Registration: Sendable {
            let listener: any CircuitBreakerListener
            var interests: BreakerEvent.Kinds
        }

        let registrations: [Registration]
        /// Everything any listener wants.
        let interests: BreakerEvent.Kinds
        /// Which list this is: every change of a breaker's listeners makes a list with a new version.
        @usableFromInline let version: UInt64

        init(_ registrations: [Registration], version: UInt64 = 0) {
            self.registrations = registrations
            self.version = version
            interests = registrations.reduce(into: []) { $0.formUnion($1.interests) }
        }

        var isEmpty: Bool { registrations.isEmpty }

        /// The list of a breaker created without listeners, shared by all of them.
        static let none = ListenerList([])

        /// The ``Flags`` these listeners need.
        var flags: UInt32 {
            var flags: UInt32 = 0
            if !interests.isDisjoint(with: [.admitted, .succeeded]) { flags |= Flags.callEvents }
            if !interests.isDisjoint(with: [.failed, .ignored, .slow]) { flags |= Flags.outcomeEvents }
            if interests.contains(.rejected) { flags |= Flags.rejectionEvents }
            return flags
        }

        /// Delivers `event` to every listener that wants it, in the order they were added.
        func deliver(_ event: BreakerEvent, from breaker: CircuitBreaker) {
            for registration in registrations where registration.interests.contains(event.kind) {
                registration.listener.handle(event, from: breaker)
            }
        }
    }

    /// The current listener list.
    @usableFromInline
    var listenerList: ListenerList { settings.withLock { $0.listeners } }

    /// The listeners that hear the outcome of a call admitted with `list`: that list if it is still
    /// current (one atomic load), else the current one, so that a listener added or removed during a
    /// call hears, or stops hearing, the rest of it.
    func outcomeListeners(_ list: ListenerList?) -> ListenerList? {
        if let list, list.version == listenersVersion.load(ordering: .acquiring) { return list }
        return flags.load(ordering: .relaxed) & (Flags.callEvents | Flags.outcomeEvents) != 0 ? listenerList : nil
    }

    /// Delivers a per-call event on the calling thread, if a listener wants its kind.
    @usableFromInline
    func emit(_ kind: BreakerEvent.Kinds, to list: ListenerList?, error: (any Error)? = nil, duration: Nanoseconds? = nil) {
        guard let list, list.interests.contains(kind) else { return }
        list.deliver(BreakerEvent(kind: kind, error: error, duration: duration.map { Duration(nanoseconds: $0) }), from: self)
    }

    /// Delivers a change of the circuit (from the circuit's change stream) to the listeners that want it.
    func circuitDidChange(_ change: CircuitChange) {
        let list = listenerList
        if change.isTransition && list.interests.contains(.stateChanged) {
            list.deliver(BreakerEvent(kind: .stateChanged, change: change), from: self)
        }
        if change.isModeChange && list.interests.contains(.modeChanged) {
            list.deliver(BreakerEvent(kind: .modeChanged, change: change), from: self)
        }
    }

    /// Called by a listener's default hook: `listener` does not handle `kind`, so stop delivering it.
    func listener(_ listener: any CircuitBreakerListener, skips kind: BreakerEvent.Kinds) {
        updateListeners { registrations in
            for index in registrations.indices where registrations[index].listener === listener {
                registrations[index].interests.remove(kind)
            }
        }
    }

    /// Changes the listener list and everything derived from it (flags, the circuit subscription).
    /// Lock order: the settings lock, then the circuit's; the circuit never takes a breaker's lock.
    func updateListeners<R>(_ change: (inout [ListenerList.Registration]) -> R) -> R {
        settings.withLock { settings in
            var registrations = settings.listeners.registrations
            let result = change(&registrations)
            let list = ListenerList(registrations, version: settings.listeners.version &+ 1)
            listenersVersion.store(list.version, ordering: .releasing)
            let wasEmpty = settings.listeners.isEmpty
            settings.listeners = list
            // One atomic exchange, so that no call sees the bits half-updated, keeping hasWrappers, which
            // `wrap` may set at any time.
            var current = flags.load(ordering: .relaxed)
            while true {
                let desired = current & Flags.hasWrappers | list.flags
                let (exchanged, original) = flags.compareExchange(expected: current, desired: desired, ordering: .releasing)
                if exchanged { break }
                current = original
            }
            if wasEmpty && !list.isEmpty { cell.subscribe(self) }
            if !wasEmpty && list.isEmpty { cell.unsubscribe(self) }
            return result
        }
    }
}
