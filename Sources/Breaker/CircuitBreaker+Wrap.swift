import Synchronization

/// Wrapping functions (aiobreaker's decorator).
extension CircuitBreaker {
    /// Returns `function` protected by this breaker, with the same signature.
    ///
    /// ```swift
    /// func fetchUser(_ id: Int) throws -> User { ... }
    /// let protectedFetch = breaker.wrap(fetchUser)
    /// let user = try protectedFetch(42)
    /// ```
    ///
    /// With `ignoreOnCall` (the default), calling the wrapped function inside this breaker's own
    /// `call(_:)` counts once, not twice: `try breaker.call { try protectedFetch(42) }` is one
    /// call to the breaker. Another breaker's call does not switch off this one. Pass `false` to count
    /// nested uses separately.
    public func wrap<each Argument, Result>(
        _ function: @escaping (repeat each Argument) throws -> Result,
        ignoreOnCall: Bool = true
    ) -> (repeat each Argument) throws -> Result {
        if ignoreOnCall { enableWrapperMarking() }
        return { (arguments: repeat each Argument) throws -> Result in
            if ignoreOnCall && ActiveCalls.breakers.contains(ObjectIdentifier(self)) {
                return try function(repeat each arguments)
            }
            return try self.call { try function(repeat each arguments) }
        }
    }

    /// Returns the async `function` protected by this breaker, with the same signature.
    ///
    /// ```swift
    /// let protectedGet = breaker.wrap(client.get)
    /// let page = try await protectedGet(url)
    /// ```
    ///
    /// `ignoreOnCall` works as for synchronous functions. The arguments and result must be `Sendable`,
    /// since the wrapper may run in any isolation.
    @_disfavoredOverload
    public func wrap<each Argument: Sendable, Result: Sendable>(
        _ function: @escaping @Sendable (repeat each Argument) async throws -> Result,
        ignoreOnCall: Bool = true
    ) -> @Sendable (repeat each Argument) async throws -> Result {
        if ignoreOnCall { enableWrapperMarking() }
        return { (arguments: repeat each Argument) async throws -> Result in
            if ignoreOnCall && ActiveCalls.breakers.contains(ObjectIdentifier(self)) {
                return try await function(repeat each arguments)
            }
            return try await self.call { try await function(repeat each arguments) }
        }
    }

    private func enableWrapperMarking() {
        flags.bitwiseOr(Flags.hasWrappers, ordering: .relaxed)
    }
}
