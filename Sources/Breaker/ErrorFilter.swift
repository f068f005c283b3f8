/// Matches errors that a breaker should not count as failures (aiobreaker's `exclude` entries).
///
/// An error matched by a filter counts as a *success*, exactly as in aiobreaker: it resets the
/// consecutive-failure counter and closes a half-open circuit. The error itself is rethrown unchanged.
///
/// ```swift
/// let breaker = CircuitBreaker(exclude: [
///     .type(ValidationError.self),                              // this type and, for classes, subclasses
///     .matching { ($0 as? HTTPError)?.status ?? 500 < 500 },     // any predicate
/// ])
/// ```
///
/// Two `.type` filters are equal when they name the same type; a `.matching` filter is equal only to
/// itself, so keep the value to remove it later.
public struct ErrorFilter: Hashable, Sendable {
    private enum Identity: Hashable, Sendable {
        case type(ObjectIdentifier)
        case predicate(ObjectIdentifier)
    }

    private final class Predicate: Sendable {
        let matches: @Sendable (any Error) -> Bool
        init(_ matches: @escaping @Sendable (any Error) -> Bool) { self.matches = matches }
    }

    private let identity: Identity
    private let predicate: Predicate

    /// Matches errors of type `type`; for a class, also its subclasses.
    public static func type<E: Error>(_ type: E.Type) -> ErrorFilter {
        ErrorFilter(identity: .type(ObjectIdentifier(type)), predicate: Predicate { $0 is E })
    }

    /// Matches errors for which `predicate` returns `true`.
    public static func matching(_ predicate: @escaping @Sendable (any Error) -> Bool) -> ErrorFilter {
        let box = Predicate(predicate)
        return ErrorFilter(identity: .predicate(ObjectIdentifier(box)), predicate: box)
    }

    /// Whether this filter matches `error`.
    public func matches(_ error: any Error) -> Bool { predicate.matches(error) }

    /// Equal when both name the same type, or both are the same `.matching` filter.
    public static func == (lhs: ErrorFilter, rhs: ErrorFilter) -> Bool { lhs.identity == rhs.identity }

    /// Hashes the filter's identity.
    public func hash(into hasher: inout Hasher) { hasher.combine(identity) }
}
