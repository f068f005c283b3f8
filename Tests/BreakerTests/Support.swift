import Breaker
import BreakerTestKit

/// A counted failure.
struct Boom: Error, Equatable, CustomStringConvertible {
    var code = 1
    var description: String { "Boom(\(code))" }
}

/// An error the tests exclude.
struct Benign: Error, Equatable {}

/// A class error hierarchy, to check that `.type` matches subclasses.
class DatabaseError: Error, @unchecked Sendable {}
final class LockedDatabase: DatabaseError, @unchecked Sendable {}

/// An HTTP-like error for predicate exclusions.
struct HTTPError: Error, Equatable { var status: Int }

/// A breaker on a manual clock with a recorder, the common fixture.
struct Fixture {
    let clock = ManualClock()
    let recorder = EventRecorder()
    let breaker: CircuitBreaker

    init(name: String? = "test", failMax: Int = 3, resetTimeout: Duration = .seconds(10), exclude: [ErrorFilter] = [], storage: any CircuitBreakerStorage = InMemoryStorage(), throwOriginalErrorOnTrip: Bool = false) {
        breaker = CircuitBreaker(
            name: name, failMax: failMax, resetTimeout: resetTimeout, exclude: exclude, listeners: [recorder],
            storage: storage, throwOriginalErrorOnTrip: throwOriginalErrorOnTrip, clock: clock)
    }

    /// Makes one failing call and returns what it threw.
    @discardableResult
    func fail(_ error: any Error = Boom()) -> any Error {
        do {
            try breaker.call { () throws -> Void in throw error }
        } catch {
            return error
        }
        fatalError("the call did not throw")
    }

    /// Makes one succeeding call.
    func succeed() throws {
        try breaker.call {}
    }
}

extension Error {
    /// The error as a ``CircuitBreakerError``, if it is one.
    var breakerError: CircuitBreakerError? { self as? CircuitBreakerError }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal lock for test helpers.
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    func run<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

/// A value behind ``NSLockLike``, for test doubles shared between threads.
/// `@unchecked Sendable`: every access goes through the lock.
final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLockLike()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.run { body(&value) } }
}

/// Runs `body` in a task that is cancelled before `body` starts (so `Task.isCancelled` holds inside).
func inCancelledTask<R: Sendable>(_ body: @escaping @Sendable () -> R) async -> R {
    await Task {
        withUnsafeCurrentTask { $0?.cancel() }
        return body()
    }.value
}

/// The classifier the model-based and stress tests use to keep "cancelled" bodies ignored: they throw
/// `CancellationError` from tasks that were not cancelled, which the breaker would count as failures.
let ignoreCancellationErrors: @Sendable (any Error) -> CallOutcome? = { $0 is CancellationError ? .ignored : nil }
