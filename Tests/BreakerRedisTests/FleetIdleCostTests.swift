#if Redis
import BreakerRedis
import Testing

/// A fleet at rest costs Redis a few commands per second, whatever its number of breakers.
@Suite("An idle fleet's cost", redisTests)
struct FleetIdleCostTests {
    @Test func threeInstancesWithAThousandIdleBreakersEachCostAtMostFiveCommandsASecond() async throws {
        let server = try await RedisServer.start()
        let fleets = try (0..<3).map { _ in try RedisFleet(url: server.url) }  // the defaults: a heartbeat every 5 s
        for fleet in fleets {
            for index in 0..<1_000 { _ = fleet.storage(named: "breaker-\(index)") }
        }
        let tasks = fleets.map { fleet in Task { try await fleet.run() } }
        defer { for task in tasks { task.cancel() } }
        try await eventually("sharing") { fleets.allSatisfy(\.status.isSharing) }

        let admin = RedisClient(configuration: try RedisConfiguration(url: server.url))
        func commandsProcessed() async throws -> Int {
            let info = try await admin.send([.bulk("INFO"), .bulk("stats")]).string ?? ""
            let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("total_commands_processed:") }
            return Int(line?.split(separator: ":").last ?? "") ?? -1
        }
        // Start-up: every breaker catches up once (3,000 reads); wait until that is over.
        var settled = false
        for _ in 0..<30 where !settled {
            let before = try await commandsProcessed()
            try await Task.sleep(for: .seconds(1))
            settled = try await commandsProcessed() - before < 20
        }
        #expect(settled, "the start-up catch-up ends")
        let before = try await commandsProcessed()
        try await Task.sleep(for: .seconds(10))
        // Redis counts a script and each command it runs; less this look's own INFO.
        let rate = Double(try await commandsProcessed() - before - 1) / 10
        print("idle fleet, 3 instances × 1,000 breakers, defaults: \(rate) Redis commands/s")
        #expect(rate <= 5, "\(rate) commands/s")
        #expect(rate >= 1, "each instance still beats (6 commands every 5 s): \(rate) commands/s")
    }
}
#endif
