// The work the benchmark suite, the profiling loops and the memory probe run, written once so that
// every measurement calls the same functions and throws the same errors.

/// The trivial function every scenario calls, kept out of line so that the call is real.
@inline(never)
public func work(_ value: Int) -> Int { value &+ 1 }

/// The async twin of ``work(_:)``.
@inline(never)
public func workAsync(_ value: Int) async -> Int { value &+ 1 }

/// Keeps a value alive without a benchmark harness (the profiling loops have none).
@inline(never)
public func sink(_ value: Int) { if value == Int.min { print("unreachable") } }

/// A small local error for the throw-and-catch baseline.
public struct SmallError: Error {
    /// Anything: the error's one word.
    public let code: Int
}

/// Throws a ``SmallError``.
@inline(never)
public func failing(_ value: Int) throws -> Int { throw SmallError(code: value) }

/// An error laid out like `CircuitBreakerError`: a one-byte reason, a 64-bit time and a reference,
/// so that a rejection is compared with a throw of the same size (boxing and copying included).
public struct BreakerSizedError: Error {
    /// The shared part, as `CircuitBreakerError.Context`.
    public final class Context: Sendable {
        let name: String? = "open"
        /// A context like a breaker's.
        public init() {}
    }
    /// As the reason's byte.
    public let reason: UInt8
    /// As `retryAfter`'s nanoseconds.
    public let nanoseconds: Int64
    /// As the context reference.
    public let context: Context

    /// An error of these parts.
    public init(reason: UInt8, nanoseconds: Int64, context: Context) {
        self.reason = reason
        self.nanoseconds = nanoseconds
        self.context = context
    }
}

/// The one context every ``BreakerSizedError`` shares, as a breaker's rejections share theirs.
public let breakerSizedContext = BreakerSizedError.Context()

/// Throws a ``BreakerSizedError``.
@inline(never)
public func failingLikeABreaker(_ value: Int) throws -> Int {
    throw BreakerSizedError(reason: 2, nanoseconds: Int64(value), context: breakerSizedContext)
}
