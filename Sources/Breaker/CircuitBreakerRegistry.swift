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
/// Safe to use from any thread; concurrent requests for one name get the same breaker.
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
        var breakers: [String: CircuitBreaker] = [:]
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
    ///   - storage: Makes the storage of the breaker with the given name; a new `InMemoryStorage` by default.
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
    public func breaker(named name: String) -> CircuitBreaker {
        existingOrNew(name, configuration: defaultConfiguration)
    }

    /// The breaker named `name`, created with the configuration named `configuration` the first time
    /// it is asked for. A breaker that exists already is returned as it is.
    public func breaker(named name: String, configuration: String) throws(UnknownConfiguration) -> CircuitBreaker {
        if let existing = state.withLock({ $0.breakers[name] }) { return existing }
        guard let found = state.withLock({ $0.configurations[configuration] }) else {
            throw UnknownConfiguration(name: configuration)
        }
        return existingOrNew(name, configuration: found)
    }

    private func existingOrNew(_ name: String, configuration: CircuitBreaker.Configuration) -> CircuitBreaker {
        if let existing = state.withLock({ $0.breakers[name] }) { return existing }
        // Build outside the lock (a storage factory is user code), then keep whichever came first.
        let candidate = makeBreaker(name, configuration, listeners, makeStorage(name))
        return state.withLock { state in
            if let winner = state.breakers[name] { return winner }
            state.breakers[name] = candidate
            return candidate
        }
    }

    /// Adds or replaces the configuration `name`, for breakers created from now on.
    public func setConfiguration(_ configuration: CircuitBreaker.Configuration, named name: String) throws(ConfigurationError) {
        try configuration.validate()
        state.withLock { $0.configurations[name] = configuration }
    }

    /// Every breaker created so far, by name.
    public var breakers: [String: CircuitBreaker] { state.withLock { $0.breakers } }

    /// Forgets the breaker `name`; the next request creates a new one. Returns the forgotten breaker.
    @discardableResult
    public func removeBreaker(named name: String) -> CircuitBreaker? {
        state.withLock { $0.breakers.removeValue(forKey: name) }
    }
}
