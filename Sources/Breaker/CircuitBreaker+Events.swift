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

        /// A registration as delivery reads it: a class, so that a delivery borrows it through an
        /// unmanaged reference and calls its listener (a `let` of it) with no reference counting per
        /// event. The list's ``boxes`` keep them alive.
        final class Box: Sendable {
            let listener: any CircuitBreakerListener
            let interests: BreakerEvent.Kinds
            init(_ registration: Registration) {
                listener = registration.listener
                interests = registration.interests
            }
        }

        private let boxes: [Box]
        private let unmanagedBoxes: [Unmanaged<Box>]
        /// Everything any listener wants.
        let interests: BreakerEvent.Kinds

        init(_ registrations: [Registration]) {
            boxes = registrations.map(Box.init)
            unmanagedBoxes = boxes.map { Unmanaged.passUnretained($0) }
            interests = registrations.reduce(into: []) { $0.formUnion($1.interests) }
        }

        /// The registrations, in delivery order: what a change of listeners starts from.
        var registrations: [Registration] { boxes.map { Registration(listener: $0.listener, interests: $0.interests) } }

        var isEmpty: Bool { boxes.isEmpty }

        /// The list of a breaker created without listeners, shared by all of them.
        static let none = ListenerList([])

        /// The ``Flags`` these listeners need.
        var flags: UInt32 {
            var flags: UInt32 = 0
            if !interests.isDisjoint(with: [.admitted, .succeeded]) { flags |= Flags.callEvents }
            if !interests.isDisjoint(with: [.failed, .ignored, .slow]) { flags |= Flags.outcomeEvents }
            if interests.contains(.rejected) { flags |= Flags.rejectionEvents }
            if interests.contains(.durations) { flags |= Flags.timesAllCalls }
            return flags
        }

        /// Delivers `event` to every listener that wants it, in the order they were added.
        func deliver(_ event: BreakerEvent, from breaker: CircuitBreaker) {
            for box in unmanagedBoxes {
                box._withUnsafeGuaranteedRef { box in
                    if box.interests.contains(event.kind) { box.listener.handle(event, from: breaker) }
                }
            }
        }
    }

    /// The current listener list.
    @usableFromInline
    var listenerList: ListenerList { settings.withLock { $0.listeners } }

    /// Starts reading the current listener list without the lock and without a reference: counts the
    /// caller as a reader, so that the list, if replaced meanwhile, stays alive until ``endReading()``.
    /// See `Circuit/README.md`, "The listener list".
    func beginReading() -> Unmanaged<ListenerList> {
        listenerReaders.wrappingAdd(1, ordering: .sequentiallyConsistent)
        return Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: currentListeners.load(ordering: .sequentiallyConsistent)).unsafelyUnwrapped)
    }

    /// Ends a ``beginReading()``; the last reader out frees the lists replaced while it read.
    func endReading() {
        guard listenerReaders.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue == 0,
            hasRetiredListeners.load(ordering: .relaxed)
        else { return }
        let freed = settings.withLock { settings -> [ListenerList] in
            guard listenerReaders.load(ordering: .sequentiallyConsistent) == 0 else { return [] }
            hasRetiredListeners.store(false, ordering: .relaxed)
            return settings.retired.take()
        }
        _ = freed  // released here, after the lock: a listener's deinit is user code
    }

    /// The listeners that hear the outcome of a call: the current list, so that a listener added or
    /// removed during a call hears, or stops hearing, the rest of it. A call that is still reading
    /// (admitted with a list by ``beginReading()``) may use it without a reference; a call admitted
    /// without one (on the fast path) gets a reference, and `retained` says the caller must release it.
    func outcomeListeners(isReading: Bool) -> (list: Unmanaged<ListenerList>?, retained: Bool) {
        if isReading {
            let current = currentListeners.load(ordering: .sequentiallyConsistent)
            return (Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: current).unsafelyUnwrapped), false)  // still reading: safe
        }
        guard flags.load(ordering: .relaxed) & (Flags.callEvents | Flags.outcomeEvents) != 0 else { return (nil, false) }
        return (settings.withLock { Unmanaged.passRetained($0.listeners) }, true)
    }

    /// Delivers a per-call event on the calling thread, if a listener wants its kind. The list is
    /// borrowed, not retained: the caller keeps it alive.
    func emit(_ kind: BreakerEvent.Kinds, to list: Unmanaged<ListenerList>?, error: (any Error)? = nil, duration: Nanoseconds? = nil) {
        list?._withUnsafeGuaranteedRef { list in
            guard list.interests.contains(kind) else { return }
            list.deliver(BreakerEvent(kind: kind, error: error, durationNanoseconds: duration ?? -1, retryAfterNanoseconds: -1, change: nil), from: self)
        }
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
        var retiredToFree: [ListenerList] = []
        defer { _ = retiredToFree }  // released after the lock: a listener's deinit is user code
        return settings.withLock { settings in
            var registrations = settings.listeners.registrations
            let result = change(&registrations)
            let list = ListenerList(registrations)
            let wasEmpty = settings.listeners.isEmpty
            // Publish the new list, then keep the old one while any call may still be reading it.
            settings.retired.append(settings.listeners)
            settings.listeners = list
            currentListeners.store(UInt(bitPattern: Unmanaged.passUnretained(list).toOpaque()), ordering: .sequentiallyConsistent)
            if listenerReaders.load(ordering: .sequentiallyConsistent) == 0 {
                retiredToFree = settings.retired.take()
            } else {
                hasRetiredListeners.store(true, ordering: .relaxed)
            }
            // One atomic exchange, so that no call sees the bits half-updated, keeping hasWrappers, which
            // `wrap` may set at any time, and limitsConcurrency, which the configuration sets.
            var current = flags.load(ordering: .relaxed)
            while true {
                let desired = current & (Flags.hasWrappers | Flags.limitsConcurrency) | list.flags
                let (exchanged, original) = flags.compareExchange(expected: current, desired: desired, ordering: .releasing)
                if exchanged { break }
                current = original
            }
            if wasEmpty && !list.isEmpty { circuit.subscribe(self) }
            if !wasEmpty && list.isEmpty { circuit.unsubscribe(self) }
            return result
        }
    }
}
