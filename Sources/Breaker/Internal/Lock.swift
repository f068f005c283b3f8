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
/// One allocation holds the value and the mutex (a `ManagedBuffer` whose header is the value and
/// whose one element is the mutex): a breaker has two of these, and a process may have 100,000
/// breakers. The value is reached through a pointer, so locked sections pay no dynamic exclusivity
/// checks (the mutex already guarantees exclusive access).
///
/// `@unchecked Sendable`: the value is reached only through ``withLock(_:)``, which holds the mutex, and
/// the value is itself `Sendable`, so handing it out of the lock is safe.
@usableFromInline
struct Locked<Value: Sendable>: @unchecked Sendable {
    private let storage: Storage

    private final class Storage: ManagedBuffer<Value, pthread_mutex_t> {
        deinit {
            // The header (the value) is destroyed by `ManagedBuffer` itself; the element is ours.
            withUnsafeMutablePointerToElements { mutex in
                pthread_mutex_destroy(mutex)
                _ = mutex.deinitialize(count: 1)
            }
        }
    }

    @usableFromInline
    init(_ value: Value) {
        let buffer = Storage.create(minimumCapacity: 1) { _ in value }
        buffer.withUnsafeMutablePointerToElements { mutex in
            mutex.initialize(to: pthread_mutex_t())
            let rc = pthread_mutex_init(mutex, nil)
            precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
        }
        storage = unsafeDowncast(buffer, to: Storage.self)
    }

    /// Runs `body` with exclusive access to the value.
    @usableFromInline
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try storage.withUnsafeMutablePointers { (value, mutex) throws(E) -> R in
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value.pointee)
        }
    }
}
