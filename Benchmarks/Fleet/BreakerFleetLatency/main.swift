// How long a trip in one process takes to open the same breaker in the other processes of a fleet,
// through Redis on loopback: a single node, or a Redis Cluster of three masters.
//
//     swift run -c release BreakerFleetLatency [trips] [--cluster]   # default 500; needs redis-server and redis-cli
//
// The tool starts throwaway redis-server(s) on free ports and two listener processes (itself, with
// --listen). For each trip, the tripping process reads CLOCK_MONOTONIC (one clock for every process of
// the machine) just before the call that trips, and each listener reads it when its breaker hears the
// change; the tripping process then closes the breaker, waits for the listeners to hear that too, and
// trips again. It prints the p50, p90, p99 and maximum of the trip-to-open latencies over both
// listeners, and the breakdown: the script's round trip as the publisher sees it
// (breaker_fleet_publish_duration), and raw Redis pub/sub between two processes with the same client.
import Breaker
import BreakerRedis
import CoreMetrics
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

func waitUntilSharing(_ fleet: RedisFleet) async throws {
    while !fleet.status.isSharing { try await Task.sleep(for: .milliseconds(5)) }
}

let arguments = CommandLine.arguments
if arguments.count == 4 && arguments[1] == "--listen" {
    // A listener: announce every change of the breaker until standard input closes.
    let fleet = try RedisFleet(url: arguments[2])
    let listening = breaker(on: fleet, name: arguments[3], listeners: [Announcer()])
    let run = Task.detached { try await fleet.run() }
    try await waitUntilSharing(fleet)
    say("ready")
    _ = readLine()
    withExtendedLifetime(listening) { run.cancel() }
    exit(0)
}
if arguments.count == 3 && arguments[1] == "--raw-subscriber" {
    // Raw pub/sub with the same client: announce each message's arrival.
    let client = try RedisFleet(url: arguments[2]).transport  // the built-in client, through the public seam; the fleet is not run
    let messages = try await client.subscribe(pattern: "raw")
    say("ready")
    do {
        for try await _ in messages { say("message \(monotonicNanoseconds())") }
    } catch {}  // the server is stopped at the end
    exit(0)
}

let trips = Int(arguments.dropFirst().first { Int($0) != nil } ?? "") ?? 500
let clustered = arguments.contains("--cluster")

// MARK: Redis

var servers: [Process] = []
@MainActor func startRedis(port: Int, extra: [String] = []) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-latency-\(port)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    server.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path] + extra
    server.standardOutput = FileHandle.nullDevice
    try server.run()
    servers.append(server)
}
defer { for server in servers { kill(server.processIdentifier, SIGKILL) } }
let base = Int.random(in: 20_000...29_000)
if clustered {
    for index in 0..<3 { try startRedis(port: base + index, extra: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes-\(base + index).conf"]) }
    try await Task.sleep(for: .milliseconds(300))
    let create = Process()
    create.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
    create.arguments = ["--cluster", "create"] + (0..<3).map { "127.0.0.1:\(base + $0)" } + ["--cluster-replicas", "0", "--cluster-yes"]
    create.standardOutput = FileHandle.nullDevice
    try create.run()
    create.waitUntilExit()
    try await Task.sleep(for: .seconds(2))  // cluster_state:ok
} else {
    try startRedis(port: base)
    try await Task.sleep(for: .milliseconds(300))
}
let url = "redis://127.0.0.1:\(base)"
let name = "latency-\(UInt32.random(in: 0...UInt32.max))"

// MARK: Processes

/// Lines from a child process, read on a thread of their own.
final class Lines: Sendable {
    let lines = Mutex<[String]>([])
    func next() async -> String {
        while true {
            if let line = lines.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return line }
            try? await Task.sleep(for: .microseconds(50))
        }
    }
}

func spawn(_ arguments: [String]) throws -> (Process, Pipe, Lines) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    process.arguments = arguments
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    let lines = Lines()
    let descriptor = output.fileHandleForReading.fileDescriptor
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
    return (process, input, lines)
}

func percentiles(_ values: [Int64]) -> String {
    let sorted = values.sorted()
    func at(_ p: Double) -> String { String(format: "%.3f ms", Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6) }
    return "p50 \(at(0.5))  p90 \(at(0.9))  p99 \(at(0.99))  max \(at(1))"
}

/// Captures the publisher's `breaker_fleet_publish_duration` (the script's round trip).
final class PublishTimes: MetricsFactory, TimerHandler, CounterHandler, RecorderHandler, Sendable {
    let values = Mutex<[Int64]>([])
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { self }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { self }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { self }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
    func recordNanoseconds(_ duration: Int64) { values.withLock { $0.append(duration) } }
    func increment(by: Int64) {}
    func reset() {}
    func record(_ value: Int64) {}
    func record(_ value: Double) {}
}

let listeners = try (0..<2).map { _ in try spawn(["--listen", url, name]) }
for (_, _, lines) in listeners { guard await lines.next() == "ready" else { fatalError("a listener did not start") } }

let publishTimes = PublishTimes()
var configuration = FleetConfiguration()
configuration.metricsFactory = publishTimes
let fleet = try RedisFleet(url: url, configuration: configuration)
let tripping = breaker(on: fleet, name: name)
let run = Task.detached { try await fleet.run() }
try await waitUntilSharing(fleet)

struct Failure: Error {}
var latencies: [Int64] = []
for round in 0..<(trips + 20) {  // the first 20 warm up
    let start = monotonicNanoseconds()
    _ = try? tripping.call { throw Failure() }
    for (_, _, lines) in listeners {
        var line = await lines.next()
        while !line.hasPrefix("open ") { line = await lines.next() }
        if round >= 20 { latencies.append(Int64(line.dropFirst(5))! - start) }
    }
    tripping.close()
    for (_, _, lines) in listeners { while !(await lines.next()).hasPrefix("closed ") {} }
}
print("trip → open in 2 other processes through \(clustered ? "a 3-master Redis Cluster" : "one Redis node") on loopback, \(trips) trips:")
print("  trip → open        \(percentiles(latencies))")
print("  script round trip  \(percentiles(Array(publishTimes.values.withLock { $0 }.dropFirst(40))))   (publisher: EVALSHA sent → reply)")

// Raw pub/sub between two processes with the same client, as a floor.
let (_, _, rawLines) = try spawn(["--raw-subscriber", url])
guard await rawLines.next() == "ready" else { fatalError("the raw subscriber did not start") }
let publisher = try RedisFleet(url: url).transport
var raw: [Int64] = []
for round in 0..<(trips + 20) {
    let start = monotonicNanoseconds()
    _ = try await publisher.send([.bulk("PUBLISH"), .bulk("raw"), .bulk("x")])
    let line = await rawLines.next()
    if round >= 20 { raw.append(Int64(line.dropFirst(8))! - start) }
}
print("  raw PUBLISH → message  \(percentiles(raw))   (the same client, no fleet)")
for (_, input, _) in listeners { input.fileHandleForWriting.closeFile() }
run.cancel()
