#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands out named breakers, each created once, from a default configuration or a named one: one
/// breaker per downstream host, say.
///
/// ```swift
/// var strict = CircuitBreaker.Configuration()
/// strict.failMax = 2
/// let registry = try CircuitBreakerRegistry(configurations: ["strict": strict])
/// let inventory = registry.breaker(named: "inventory.internal:8080")         // default configuration
/// let payments = try registry.breaker(named: "payments", configuration: "strict")
/// ```
///
/// Safe to use from any thread. The storage factory and the breaker's construction run exactly once
/// per name, even when many threads ask for the same new name at once: one of them builds the breaker,
/// the others wait for that build and get the same breaker. Requests for other names do not wait
/// meanwhile, and the storage factory never runs while the registry's own lock is held. (After
/// ``removeBreaker(named:)`` the next request for the name builds a new breaker, once again.)
public final class CircuitBreakerRegistry: Sendable {
    /// A configuration name the registry does not know.
    public struct UnknownConfiguration: Error, Hashable, CustomStringConvertible {
        /// The name asked for.
        public let name: String
        /// An error for the configuration `name`.
        public init(name: String) { self.name = name }
        /// `no circuit breaker configuration named '<name>'`.
        public var description: String { "no circuit breaker configuration named '\(name)'" }
    }

    private struct State: Sendable {
        var configurations: [String: CircuitBreaker.Configuration]
        /// One entry per name asked for, from the first request on, whether or not its breaker is built yet.
        var entries: [String: Entry] = [:]

        /// Registers a new, not yet built, entry for `name`; cheap, so it runs under the registry's lock.
        mutating func insertEntry(named name: String, configuration: CircuitBreaker.Configuration) -> Entry {
            let entry = Entry(name: name, configuration: configuration)
            entries[name] = entry
            return entry
        }
    }

    /// The configuration of breakers created without a configuration name.
    public let defaultConfiguration: CircuitBreaker.Configuration
    private let state: Locked<State>
    private let listeners: [any CircuitBreakerListener]
    private let makeStorage: @Sendable (String) -> any CircuitBreakerStorage
    private let makeBreaker: @Sendable (String, CircuitBreaker.Configuration, [any CircuitBreakerListener], any CircuitBreakerStorage) -> CircuitBreaker

    /// Creates a registry; every configuration is validated now.
    ///
    /// - Parameters:
    ///   - defaultConfiguration: For breakers asked for without a configuration name.
    ///   - configurations: Named configurations.
    ///   - listeners: Listeners every breaker of the registry starts with.
    ///   - storage: Makes the storage of the breaker with the given name; a new `InMemoryStorage` by
    ///     default. Called exactly once per name (once more after ``removeBreaker(named:)``), never
    ///     while the registry's lock is held; it must not ask the registry for the name it is building.
    ///   - clock: The clock of every breaker.
    public init<C: Clock>(
        defaultConfiguration: CircuitBreaker.Configuration = .init(),
        configurations: [String: CircuitBreaker.Configuration] = [:],
        listeners: [any CircuitBreakerListener] = [],
        storage: @escaping @Sendable (String) -> any CircuitBreakerStorage = { _ in InMemoryStorage() },
        clock: C
    ) throws(ConfigurationError) where C.Duration == Duration {
        try defaultConfiguration.validate()
        for (_, configuration) in configurations { try configuration.validate() }
        self.defaultConfiguration = defaultConfiguration
        self.listeners = listeners
        self.makeStorage = storage
        self.makeBreaker = { name, configuration, listeners, storage in
            CircuitBreaker(name: name, configuration: configuration, listeners: listeners, storage: storage, clock: clock)
        }
        state = Locked(State(configurations: configurations))
    }

    /// Creates a registry on the continuous clock; every configuration is validated now.
    ///
    /// The storage factory is called exactly once per name, as with ``init(defaultConfiguration:configurations:listeners:storage:clock:)``.
    public convenience init(
        defaultConfiguration: CircuitBreaker.Configuration = .init(),
        configurations: [String: CircuitBreaker.Configuration] = [:],
        listeners: [any CircuitBreakerListener] = [],
        storage: @escaping @Sendable (String) -> any CircuitBreakerStorage = { _ in InMemoryStorage() }
    ) throws(ConfigurationError) {
        try self.init(
            defaultConfiguration: defaultConfiguration, configurations: configurations, listeners: listeners,
            storage: storage, clock: ContinuousClock())
    }

    /// The breaker named `name`, created with the default configuration the first time it is asked for.
    ///
    /// The breaker is built once: a caller that asks while another is building it waits for that
    /// build and gets the same breaker.
    public func breaker(named name: String) -> CircuitBreaker {
        let entry = state.withLock { state in
            state.entries[name] ?? state.insertEntry(named: name, configuration: defaultConfiguration)
        }
        return breaker(of: entry)
    }

    /// The breaker named `name`, created with the configuration named `configuration` the first time
    /// it is asked for. A breaker that exists already (or is being created) is returned as it is.
    ///
    /// The breaker is built once: a caller that asks while another is building it waits for that
    /// build and gets the same breaker.
    public func breaker(named name: String, configuration: String) throws(UnknownConfiguration) -> CircuitBreaker {
        let entry = state.withLock { state -> Entry? in
            if let existing = state.entries[name] { return existing }
            guard let found = state.configurations[configuration] else { return nil }
            return state.insertEntry(named: name, configuration: found)
        }
        guard let entry else { throw UnknownConfiguration(name: configuration) }
        return breaker(of: entry)
    }

    /// The entry's breaker, built by this caller if no one has started to (outside the registry's lock).
    private func breaker(of entry: Entry) -> CircuitBreaker {
        entry.breaker { makeBreaker(entry.name, entry.configuration, listeners, makeStorage(entry.name)) }
    }

    /// Adds or replaces the configuration `name`, for breakers created from now on.
    public func setConfiguration(_ configuration: CircuitBreaker.Configuration, named name: String) throws(ConfigurationError) {
        try configuration.validate()
        state.withLock { $0.configurations[name] = configuration }
    }

    /// Every breaker created so far, by name. A breaker still being built is not listed yet.
    public var breakers: [String: CircuitBreaker] {
        state.withLock { $0.entries }.compactMapValues { $0.builtBreaker }
    }

    /// Forgets the breaker `name`; the next request creates a new one. Returns the forgotten breaker.
    ///
    /// Never waits for a build: if the breaker is still being built, it is forgotten all the same
    /// (the callers already waiting for it get it) and the result is `nil`.
    @discardableResult
    public func removeBreaker(named name: String) -> CircuitBreaker? {
        state.withLock { $0.entries.removeValue(forKey: name) }?.builtBreaker
    }
}

extension CircuitBreakerRegistry {
    /// One name's slot: the configuration it is built with, and a once-guard around the build.
    ///
    /// The first caller of `breaker(build:)` claims the build and runs it with no lock held; callers
    /// that come while it runs wait on the entry's condition (this entry only, never the registry) and
    /// get the built breaker. The entry's lock guards only the phase, a few instructions at a time.
    fileprivate final class Entry: Sendable {
        private enum Phase: Sendable {
            case unclaimed
            case building(by: pthread_t)
            case built(CircuitBreaker)
        }

        /// What a caller of `breaker(build:)` does once it has looked at the phase.
        private enum Next {
            case use(CircuitBreaker)
            case build
        }

        let name: String
        let configuration: CircuitBreaker.Configuration
        private let phase = Locked(Phase.unclaimed)
        private let built = Locked<Phase>.Condition()

        init(name: String, configuration: CircuitBreaker.Configuration) {
            self.name = name
            self.configuration = configuration
        }

        /// The breaker, if built.
        var builtBreaker: CircuitBreaker? {
            phase.withLock { phase in
                if case .built(let breaker) = phase { return breaker }
                return nil
            }
        }

        /// The breaker: built by `build` if no caller has claimed the build yet, otherwise the one the
        /// claiming caller builds (waiting for it if need be). `build` runs at most once per entry.
        func breaker(build: () -> CircuitBreaker) -> CircuitBreaker {
            let next = phase.withLock(waitingOn: built) { phase -> Next? in
                switch phase {
                case .built(let breaker):
                    return .use(breaker)
                case .building(let builder):
                    precondition(
                        pthread_equal(builder, pthread_self()) == 0,
                        "the storage factory of CircuitBreakerRegistry asked the registry for '\(name)', the breaker it is building")
                    return nil
                case .unclaimed:
                    phase = .building(by: pthread_self())
                    return .build
                }
            }
            switch next {
            case .use(let breaker):
                return breaker
            case .build:
                let breaker = build()
                phase.withLock { $0 = .built(breaker) }
                built.broadcast()
                return breaker
            }
        }
    }
}
