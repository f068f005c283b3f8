// Memory per idle breaker: the growth of the process's resident set over 100,000 breakers, each kept
// alive in an array after one successful call (so the structures a breaker allocates on first use are
// counted too). Run from the Benchmarks directory:
//
//     swift run -c release BreakerMemory              # every scenario, 3 fresh processes each, medians
//     swift run -c release BreakerMemory default      # one measurement of one scenario, in this process
//
// Scenarios: default, time-window-60, count-window-100. With no argument the program re-executes
// itself (/proc/self/exe) once per scenario and repetition, so that every measurement starts from a
// fresh heap and no scenario inherits pages another one freed.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BenchmarkWork
import Breaker

let breakerCount = 100_000
let repetitions = 3
let scenarios = ["default", "time-window-60", "count-window-100"]

/// Writes one line straight to a file descriptor, unbuffered, so that standard output and standard
/// error keep their order through a pipe (and the C `stderr` global is not concurrency-safe in Swift 6).
func writeLine(_ text: String, to descriptor: Int32) {
    var text = text + "\n"
    text.withUTF8 { bytes in _ = write(descriptor, bytes.baseAddress, bytes.count) }
}

func printError(_ text: String) { writeLine(text, to: 2) }

/// The resident set size in bytes: the second field of /proc/self/statm (pages) times the page size.
func residentBytes() -> Int {
    let descriptor = open("/proc/self/statm", O_RDONLY)
    guard descriptor >= 0 else { fatalError("cannot open /proc/self/statm") }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    guard count > 0 else { fatalError("cannot read /proc/self/statm") }
    // "size resident shared text lib data dt", in pages.
    let fields = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: " ")
    guard fields.count >= 2, let resident = Int(fields[1]) else { fatalError("cannot parse /proc/self/statm") }
    return resident * sysconf(Int32(_SC_PAGESIZE))
}

func makeBreaker(_ scenario: String, name: String) -> CircuitBreaker {
    switch scenario {
    case "default":
        return CircuitBreaker(name: name)
    case "time-window-60":
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 10)
        configuration.window = .duration(.seconds(60), bucket: .seconds(1))
        return CircuitBreaker(name: name, configuration: configuration)
    case "count-window-100":
        var configuration = CircuitBreaker.Configuration()
        configuration.trip = .failureRate(0.5, minimumCalls: 10)
        configuration.window = .lastCalls(100)
        return CircuitBreaker(name: name, configuration: configuration)
    default:
        printError("unknown scenario \(scenario); known: \(scenarios.joined(separator: ", "))")
        exit(2)
    }
}

/// Measures one scenario in this process and returns the RSS growth in bytes.
func measure(_ scenario: String) -> Int {
    // One breaker made and used before the first reading, so one-time costs (type metadata, the
    // runtime's first allocations, the clock) are not charged to the 100,000.
    var checksum = (try? makeBreaker(scenario, name: "warm-up").call { work(0) }) ?? 0
    var breakers: [CircuitBreaker] = []
    breakers.reserveCapacity(breakerCount)  // the array itself: 8 bytes per breaker, counted below
    let before = residentBytes()
    for i in 0..<breakerCount {
        let breaker = makeBreaker(scenario, name: "breaker-\(i)")
        checksum &+= (try? breaker.call { work(i) }) ?? 0
        breakers.append(breaker)
    }
    let after = residentBytes()
    if checksum == 0 { print("unreachable") }
    withExtendedLifetime(breakers) {}
    return after - before
}

func line(_ scenario: String, _ delta: Int) -> String {
    let perBreaker = Double(delta) / Double(breakerCount)
    let megabytes = Double(delta) / 1_000_000
    let roundedMB = (megabytes * 10).rounded() / 10
    return "memory \(scenario): \(Int(perBreaker.rounded())) bytes per idle breaker "
        + "(\(breakerCount) breakers, RSS +\(roundedMB) MB)"
}

/// Runs `/proc/self/exe --raw <scenario>` and returns the RSS growth it prints.
func measureInFreshProcess(_ scenario: String) -> Int {
    var pipeEnds: [Int32] = [0, 0]
    guard pipe(&pipeEnds) == 0 else { fatalError("pipe failed") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
    posix_spawn_file_actions_addclose(&actions, pipeEnds[1])

    let arguments = [CommandLine.arguments[0], "--raw", scenario]
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nil, &argv, environ)
    guard spawned == 0 else { fatalError("posix_spawn failed: \(spawned)") }
    close(pipeEnds[1])

    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
        if count <= 0 { break }
        output += buffer[0..<count]
    }
    close(pipeEnds[0])
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let text = String(decoding: output, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    guard status == 0, let delta = Int(text) else {
        fatalError("measurement of \(scenario) failed (status \(status), output \"\(text)\")")
    }
    return delta
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--raw", arguments.count == 2 {
    // Child mode: one measurement, printed as a bare number for the parent.
    print(measure(arguments[1]))
} else if let scenario = arguments.first {
    print(line(scenario, measure(scenario)))
} else {
    for scenario in scenarios {
        let deltas = (0..<repetitions).map { _ in measureInFreshProcess(scenario) }.sorted()
        let runs = deltas.map { String(Int((Double($0) / Double(breakerCount)).rounded())) }.joined(separator: ", ")
        // The median on standard output; every process's figure on standard error, to show the spread.
        writeLine(line(scenario, deltas[repetitions / 2]), to: 1)
        printError("  (\(scenario), bytes per breaker in each of \(repetitions) processes: \(runs))")
    }
}
