#if Redis
// One instance of a fleet, driven line by line on standard input, for the tests that run a fleet as
// separate processes (Tests/BreakerRedisTests/FleetProcessTests.swift). Not a product.
//
//     breaker-fleet-probe URL NAME MODE FAIL_MAX RESET_MS      MODE: shared | quorum:K
//
// Commands, one per line; each answer is one line:
//     fail      a call that throws          -> failed | tripped | rejected
//     ok        a call that succeeds        -> ran | rejected
//     hold      a call that waits for `release`  -> ran (when admitted) | rejected
//     release   ends the held call          -> released
//     state     -> STATE EPOCH              (closed 3)
//     status    -> the fleet's condition     (sharing)
//     quit
//
// Environment: BREAKER_PROBE_CA and BREAKER_PROBE_SERVER_NAME, a CA file and the name on the server's
// certificate, for a `rediss://` server signed by a throwaway authority; BREAKER_PROBE_MAX_TRIAL_MS and
// BREAKER_PROBE_LEASE_MARGIN_MS, the trial's longest run (default 5000) and the lease's margin
// (default: the fleet's).
import Breaker
import BreakerRedis
import Foundation
import Synchronization
import NIOConcurrencyHelpers
import NIOSSL

struct Failure: Error {}

let arguments = CommandLine.arguments
guard arguments.count == 6, let failMax = Int(arguments[4]), let resetMilliseconds = Int64(arguments[5]) else {
    FileHandle.standardError.write("usage: breaker-fleet-probe URL NAME MODE FAIL_MAX RESET_MS\n".data(using: .utf8)!)
    exit(64)
}
let mode: FleetMode = arguments[3].hasPrefix("quorum:") ? .quorum(minimum: Int(arguments[3].dropFirst(7)) ?? 2, within: .seconds(30)) : .shared

let environment = ProcessInfo.processInfo.environment
var client = try RedisConfiguration(url: arguments[1])
client.reconnectDelay = .milliseconds(50)
client.maximumReconnectDelay = .milliseconds(200)
client.commandTimeout = .milliseconds(500)
if let authority = environment["BREAKER_PROBE_CA"] { client.tls?.trustRoots = .file(authority) }
if let serverName = environment["BREAKER_PROBE_SERVER_NAME"] { client.tlsServerName = serverName }
var fleetConfiguration = FleetConfiguration()
fleetConfiguration.heartbeatInterval = .milliseconds(200)
if let margin = environment["BREAKER_PROBE_LEASE_MARGIN_MS"].flatMap(Int64.init) { fleetConfiguration.trialLeaseMargin = .milliseconds(margin) }
let maxTrial = environment["BREAKER_PROBE_MAX_TRIAL_MS"].flatMap(Int64.init) ?? 5_000
let fleet = try RedisFleet(redis: client, configuration: fleetConfiguration)
var policy = CircuitBreaker.Configuration()
policy.failMax = failMax
policy.resetTimeout = .milliseconds(resetMilliseconds)
policy.halfOpen.maxTrialDuration = .milliseconds(maxTrial)
let breaker = try CircuitBreaker(name: arguments[2], validating: policy, storage: fleet.storage(named: arguments[2], mode: mode))
let background = Task.detached { try await fleet.run() }  // detached: the main thread blocks in readLine

func say(_ line: String) {
    FileHandle.standardOutput.write((line + "\n").data(using: .utf8)!)
}

/// The call `hold` starts: it waits in `continuation` until `release`.
final class HeldCall: Sendable {
    let continuation = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
    let finished = Atomic<Bool>(false)
    let waiting = Atomic<Bool>(false)

    func run() async {
        do {
            try await breaker.call {
                say("ran")
                await withCheckedContinuation { continuation in
                    self.continuation.withLockedValue { $0 = continuation }
                    waiting.store(true, ordering: .releasing)
                }
            }
        } catch {
            say("rejected")
        }
        finished.store(true, ordering: .releasing)
    }

    func release() async {
        while !waiting.load(ordering: .acquiring) && !finished.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(2)) }
        continuation.withLockedValue { $0.take() }?.resume()
        while !finished.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(2)) }
    }
}

var heldCall: HeldCall?

say("ready")
while let line = readLine() {
    switch line {
    case "fail":
        do {
            try breaker.call { throw Failure() }
        } catch let error as CircuitBreakerError {
            say(error.reason == .open ? "rejected" : "tripped")
        } catch {
            say("failed")
        }
    case "ok":
        say((try? breaker.call { "ran" }) ?? "rejected")
    case "hold":
        let call = HeldCall()
        heldCall = call
        Task.detached { await call.run() }
    case "release":
        await heldCall?.release()
        heldCall = nil
        say("released")
    case "state":
        let snapshot = breaker.snapshot()
        say("\(snapshot.state) \(snapshot.epoch)")
    case "status":
        say("\(fleet.status.condition)")
    case "quit":
        background.cancel()
        exit(0)
    default:
        say("unknown command \(line)")
    }
}
background.cancel()
#endif
