import Synchronization

/// A breaker's events as an `AsyncSequence`.
extension CircuitBreaker {
    /// The breaker's events of the kinds in `interests`, in the order they are delivered (see
    /// ``CircuitBreakerListener``), as an `AsyncSequence` that any task may iterate.
    ///
    /// ```swift
    /// for await event in breaker.events([.stateChanged, .rejected]) {
    ///     if let change = event.change { print("\(change.previousState) -> \(change.state): \(change.cause)") }
    /// }
    /// ```
    ///
    /// The stream starts listening when it is created, and stops (and costs nothing again) when its
    /// iterating task is cancelled or the stream is released. A consumer slower than the breaker does
    /// not slow calls down: at most `limit` events wait in the buffer, and when it is full the oldest is
    /// dropped, and counted in ``BreakerEventStream/dropped``. Only the kinds asked for are delivered, so
    /// a stream of state changes and rejections leaves healthy calls on the lock-free path.
    public func events(_ interests: BreakerEvent.Kinds = .all, bufferingNewest limit: Int = 256) -> BreakerEventStream {
        let dropped = BreakerEventStream.DropCount()
        let (stream, continuation) = AsyncStream.makeStream(of: BreakerEvent.self, bufferingPolicy: .bufferingNewest(max(1, limit)))
        let forwarder = BreakerEventStream.Forwarder(interests: interests, continuation: continuation, dropped: dropped)
        continuation.onTermination = { [weak self] _ in self?.removeListener(forwarder) }
        addListener(forwarder)
        return BreakerEventStream(stream: stream, dropCount: dropped)
    }
}

/// A breaker's events, from ``CircuitBreaker/events(_:bufferingNewest:)``.
public struct BreakerEventStream: AsyncSequence, Sendable {
    /// One event.
    public typealias Element = BreakerEvent

    private let stream: AsyncStream<BreakerEvent>
    private let dropCount: DropCount

    fileprivate init(stream: AsyncStream<BreakerEvent>, dropCount: DropCount) {
        self.stream = stream
        self.dropCount = dropCount
    }

    /// How many events were dropped so far because the buffer was full (the oldest go first).
    public var dropped: Int { dropCount.value }

    /// The iterator: yields events until the stream is cancelled.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var base: AsyncStream<BreakerEvent>.AsyncIterator

        /// The next event, or `nil` once the iterating task is cancelled.
        public mutating func next() async -> BreakerEvent? {
            await base.next()
        }

        /// The next event, in the caller's isolation.
        public mutating func next(isolation actor: isolated (any Actor)?) async -> BreakerEvent? {
            await base.next(isolation: actor)
        }
    }

    /// An iterator over the events.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator())
    }

    /// The count of dropped events, shared by the stream and its listener.
    final class DropCount: Sendable {
        private let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
        func add() { count.add(1, ordering: .relaxed) }
    }

    /// The listener that feeds the stream.
    final class Forwarder: CircuitBreakerListener {
        let interests: BreakerEvent.Kinds
        private let continuation: AsyncStream<BreakerEvent>.Continuation
        private let dropped: DropCount

        init(interests: BreakerEvent.Kinds, continuation: AsyncStream<BreakerEvent>.Continuation, dropped: DropCount) {
            self.interests = interests
            self.continuation = continuation
            self.dropped = dropped
        }

        func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
            if case .dropped = continuation.yield(event) { dropped.add() }
        }
    }
}
