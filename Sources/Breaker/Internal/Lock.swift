#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `Sendable` value guarded by a POSIX mutex: the package's one lock (the integrations and the test
/// kit use it too).
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
package struct Locked<Value: Sendable>: @unchecked Sendable {
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
    package init(_ value: Value) {
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
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try storage.withUnsafeMutablePointers { (value, mutex) throws(E) -> R in
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value.pointee)
        }
    }

    /// Runs `body` with exclusive access to the value until it returns a result: while it returns
    /// `nil`, waits on `condition` (releasing the mutex) and runs it again once the condition is
    /// broadcast. For the one place that waits for another thread (the registry's once-only build).
    package func withLock<R>(waitingOn condition: Condition, _ body: (inout Value) -> R?) -> R {
        storage.withUnsafeMutablePointers { value, mutex in
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            while true {
                if let result = body(&value.pointee) { return result }
                pthread_cond_wait(condition.variable, mutex)
            }
        }
    }

    /// A condition variable to wait on with a `Locked`'s mutex (``withLock(waitingOn:_:)``). Kept apart
    /// from `Locked` so that the locks that never wait (two per breaker) carry none.
    ///
    /// `@unchecked Sendable`: the variable lives behind a pointer that is only passed to pthread calls.
    package final class Condition: @unchecked Sendable {
        fileprivate let variable: UnsafeMutablePointer<pthread_cond_t>

        package init() {
            variable = .allocate(capacity: 1)
            variable.initialize(to: pthread_cond_t())
            let rc = pthread_cond_init(variable, nil)
            precondition(rc == 0, "pthread_cond_init failed: \(rc)")
        }

        deinit {
            pthread_cond_destroy(variable)
            variable.deinitialize(count: 1)
            variable.deallocate()
        }

        /// Wakes every thread waiting on the condition; they run their body again under the lock.
        package func broadcast() { pthread_cond_broadcast(variable) }
    }
}
