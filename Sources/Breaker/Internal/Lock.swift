#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `Sendable` value guarded by a POSIX mutex.
///
/// The breaker uses a pthread mutex rather than `Synchronization.Mutex`: the two cost the same here
/// (about 25 ns per lock/unlock pair in a tight loop), and the thread sanitizer understands pthread
/// mutexes, while it reports false races inside `Synchronization.Mutex` on Linux. Critical sections
/// are a few field updates; no user code and no listener ever runs while a `Locked` is held.
///
/// `@unchecked Sendable`: the value is reached only through ``withLock(_:)``, which holds the mutex, and
/// the value is itself `Sendable`, so handing it out of the lock is safe.
@usableFromInline
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The value lives behind a pointer: the mutex already guarantees exclusive access, and a class's
    /// `var` would add the runtime's dynamic exclusivity checks to every locked section.
    private let value: UnsafeMutablePointer<Value>

    @usableFromInline
    init(_ value: Value) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @usableFromInline
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
