#if Redis
import ArgumentParser
import Breaker
import BreakerRedis
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `breaker-demo --redis URL`: several processes share one breaker through Redis, in real time.
///
/// The parent starts the instances (this executable again, with `--fleet-instance`) and prints their
/// lines as they come. Each instance calls the same dependency, which is down from 1 s to 4 s; instance
/// 0 calls it every 50 ms, the others every 250 ms, so instance 0 trips first and the others open with
/// it. Open periods are 1.5 s, and one instance at a time probes.
enum FleetDemo {
    static let outage: ClosedRange<Double> = 1.0...4.0
    static let length = 7.0

    static func run(instances: Int, redis: String) async throws {
        let name = "breaker-demo-\(UInt32.random(in: 0...UInt32.max))"
        let server = try RedisConfiguration(url: redis).redactedURL  // a URL that cannot work stops here
        print("\(instances) instances share the breaker '\(name)' through \(server)")
        print("the dependency is down from \(outage.lowerBound) s to \(outage.upperBound) s; instance 0 calls it every 50 ms, the others every 250 ms\n")
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let printer = Mutex<Void>(())
        var children: [Process] = []
        var readers: [Thread] = []
        for index in 0..<instances {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["--redis", redis, "--instances", String(instances), "--fleet-instance", String(index), "--fleet-breaker", name]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            children.append(process)
            let descriptor = output.fileHandleForReading.fileDescriptor
            let reader = Thread {
                var pending: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4_096)
                while case let count = read(descriptor, &chunk, chunk.count), count > 0 {
                    pending += chunk[0..<count]
                    while let newline = pending.firstIndex(of: 10) {
                        let line = String(decoding: pending[..<newline], as: UTF8.self)
                        pending.removeFirst(newline + 1)
                        printer.withLock { _ in print("  instance \(index)  \(line)") }
                    }
                }
            }
            reader.start()
            readers.append(reader)
        }
        for child in children {
            while child.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        }
        try await Task.sleep(for: .milliseconds(100))  // the last lines
        let failed = children.filter { $0.terminationStatus != 0 }.count
        print(failed == 0 ? "\nevery instance opened with the first trip, and closed after one shared trial" : "\n\(failed) instance(s) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    static func runInstance(_ index: Int, of instances: Int, redis: String, breaker name: String) async throws {
        let fleet = try RedisFleet(url: redis)
        var policy = CircuitBreaker.Configuration()
        policy.failMax = 3
        policy.resetTimeout = .milliseconds(1_500)
        policy.halfOpen.maxTrialDuration = .seconds(2)
        let start = ContinuousClock.now
        func elapsed() -> Double {
            let (seconds, attoseconds) = start.duration(to: .now).components
            return Double(seconds) + Double(attoseconds) / 1e18
        }
        let log = Transitions(start: start)
        let breaker = try CircuitBreaker(name: name, validating: policy, listeners: [log], storage: fleet.storage(named: name))
        let background = Task { try await fleet.run() }
        // Every instance sharing before the dependency fails; a Redis that refuses or never answers
        // ends the demo with the reason rather than a demo of instances that each decide alone.
        let deadline = ContinuousClock.now + .seconds(5)
        while !fleet.status.isSharing && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard fleet.status.isSharing else {
            say("the fleet could not share through Redis: \(fleet.status)")
            background.cancel()
            throw ExitCode(1)
        }
        try await Task.sleep(for: .milliseconds(200))  // the other instances subscribed too

        struct Unavailable: Error {}
        var counts = (ran: 0, failed: 0, rejected: 0)
        let interval: Duration = index == 0 ? .milliseconds(50) : .milliseconds(250)
        while elapsed() < length {
            let down = outage.contains(elapsed())
            do {
                try breaker.call { if down { throw Unavailable() } }
                counts.ran += 1
            } catch let error as CircuitBreakerError where error.reason == .open {
                counts.rejected += 1
            } catch {
                counts.ran += 1
                counts.failed += 1
            }
            try await Task.sleep(for: interval)
        }
        say("calls that reached the dependency: \(counts.ran) (\(counts.failed) failed); rejected without calling it: \(counts.rejected)")
        background.cancel()
        _ = try? await background.value
    }

    /// Writes a line at once (an instance's standard output is a pipe, which `print` would buffer).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Prints each state change with its time and cause.
    final class Transitions: CircuitBreakerListener, Sendable {
        let start: ContinuousClock.Instant
        init(start: ContinuousClock.Instant) { self.start = start }
        var interests: BreakerEvent.Kinds { .stateChanged }
        func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
            guard let change = event.change, change.isTransition else { return }
            let (seconds, attoseconds) = start.duration(to: .now).components
            let time = String(format: "%5.2f s", Double(seconds) + Double(attoseconds) / 1e18)
            let cause = change.isRemote ? "changed by another instance" : change.cause.description
            FleetDemo.say("\(time)  \(change.previousState) → \(change.state)  (\(cause))")
        }
    }
}
#endif
