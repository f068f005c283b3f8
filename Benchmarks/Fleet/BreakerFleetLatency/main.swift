// How long a trip in one process takes to open the same breaker in another, through Redis on loopback.
//
//     swift run -c release BreakerFleetLatency [trips]      # default 500; needs redis-server on PATH
//
// The tool starts a throwaway redis-server on a free port and a second process (itself, as the
// listener). For each trip, the tripping process reads CLOCK_MONOTONIC (one clock for every process of
// the machine) just before the call that trips, and the listener reads it when its breaker hears the
// change; the tripping process then closes the breaker, waits for the listener to hear that too, and
// trips again. It prints the p50, p90, p99 and maximum of the trip-to-open latencies.
import Breaker
import BreakerRedis
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

func monotonicNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// Prints `open NANOSECONDS` or `closed NANOSECONDS` when the breaker hears a change.
final class Announcer: CircuitBreakerListener, Sendable {
    var interests: BreakerEvent.Kinds { .stateChanged }
    func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        guard let change = event.change, change.isTransition else { return }
        say("\(change.state) \(monotonicNanoseconds())")
    }
}

func breaker(on fleet: RedisFleet, name: String, listeners: [any CircuitBreakerListener] = []) -> CircuitBreaker {
    CircuitBreaker(name: name, failMax: 1, resetTimeout: .seconds(3_600), listeners: listeners, storage: fleet.storage(named: name))
}

let arguments = CommandLine.arguments
if arguments.count == 4 && arguments[1] == "--listen" {
    // The listener: announce every change of the breaker until standard input closes.
    let fleet = try RedisFleet(url: arguments[2])
    let listening = breaker(on: fleet, name: arguments[3], listeners: [Announcer()])
    let run = Task.detached { try await fleet.run() }
    try await Task.sleep(for: .milliseconds(500))
    say("ready")
    _ = readLine()
    withExtendedLifetime(listening) { run.cancel() }
    exit(0)
}

let trips = arguments.count > 1 ? Int(arguments[1]) ?? 500 : 500
let port = Int.random(in: 20_000...60_000)
let server = Process()
server.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
server.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
server.standardOutput = FileHandle.nullDevice
try server.run()
defer { kill(server.processIdentifier, SIGKILL) }
try await Task.sleep(for: .milliseconds(300))
let url = "redis://127.0.0.1:\(port)"
let name = "latency-\(UInt32.random(in: 0...UInt32.max))"

let listener = Process()
listener.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
listener.arguments = ["--listen", url, name]
let toListener = Pipe(), fromListener = Pipe()
listener.standardInput = toListener
listener.standardOutput = fromListener
try listener.run()

/// Lines from the listener, read on a thread of their own.
final class Lines: Sendable {
    let lines = Mutex<[String]>([])
    func next() async -> String {
        while true {
            if let line = lines.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return line }
            try? await Task.sleep(for: .microseconds(50))
        }
    }
}
let lines = Lines()
let descriptor = fromListener.fileHandleForReading.fileDescriptor
Thread.detachNewThread {
    var pending: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4_096)
    while case let count = read(descriptor, &chunk, chunk.count), count > 0 {
        pending += chunk[0..<count]
        while let newline = pending.firstIndex(of: 10) {
            lines.lines.withLock { $0.append(String(decoding: pending[..<newline], as: UTF8.self)) }
            pending.removeFirst(newline + 1)
        }
    }
}
guard await lines.next() == "ready" else { fatalError("the listener did not start") }

let fleet = try RedisFleet(url: url)
let tripping = breaker(on: fleet, name: name)
let run = Task.detached { try await fleet.run() }
try await Task.sleep(for: .milliseconds(500))

struct Failure: Error {}
var latencies: [Int64] = []
for _ in 0..<(trips + 20) {  // the first 20 warm up
    let start = monotonicNanoseconds()
    _ = try? tripping.call { throw Failure() }
    var line = await lines.next()
    while !line.hasPrefix("open ") { line = await lines.next() }
    latencies.append(Int64(line.dropFirst(5))! - start)
    tripping.close()
    while !(await lines.next()).hasPrefix("closed ") {}
}
latencies.removeFirst(20)
latencies.sort()
func percentile(_ p: Double, of sorted: [Int64]) -> String {
    String(format: "%.2f ms", Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6)
}
print("trip → open in another process through Redis on loopback, \(trips) trips:")
print("p50 \(percentile(0.5, of: latencies))  p90 \(percentile(0.9, of: latencies))  p99 \(percentile(0.99, of: latencies))  max \(percentile(1, of: latencies))")
toListener.fileHandleForWriting.closeFile()
run.cancel()
