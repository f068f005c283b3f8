import BreakerTestKit

/// Simulated events by time (ties in the order they were pushed): a binary min-heap, since a run pushes
/// and pops hundreds of thousands.
struct EventQueue<Event> {
    private var heap: [(time: Double, sequence: Int, event: Event)] = []
    private var pushed = 0

    mutating func push(_ event: Event, at time: Double) {
        pushed += 1
        heap.append((time, pushed, event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest event and its time, removed.
    mutating func pop() -> (time: Double, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && precedes(left, smallest) { smallest = left }
            if right < heap.count && precedes(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (first.time, first.event)
    }

    private func precedes(_ a: Int, _ b: Int) -> Bool {
        heap[a].time < heap[b].time || (heap[a].time == heap[b].time && heap[a].sequence < heap[b].sequence)
    }
}

extension ManualClock {
    /// Moves the clock forward to `seconds` after its start (never back).
    func advance(toSeconds seconds: Double) {
        let target = ManualClock.Instant(offset: .nanoseconds(Int64((seconds * 1e9).rounded())))
        if target > now { advance(by: now.duration(to: target)) }
    }
}
