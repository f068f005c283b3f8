#if Redis
import NIOConcurrencyHelpers

/// A Lua script run by its SHA1 (`EVALSHA`), loaded with `SCRIPT LOAD` the first time and again after
/// the server forgets it (`NOSCRIPT`: a restart, a `SCRIPT FLUSH`).
final class RedisScript: Sendable {
    let source: String
    private let sha = NIOLockedValueBox<String?>(nil)

    init(_ source: String) { self.source = source }

    /// Runs the script by its source (`EVAL`): one command, written at once, with no `NOSCRIPT` round
    /// trip; for the way out, when there may be no time for more.
    func runBySource(on transport: any RedisTransport, keys: [String], arguments: [String]) async throws -> RESPValue {
        let command = [.bulk("EVAL"), .bulk(source), .bulk(String(keys.count))] + keys.map(RESPValue.bulk) + arguments.map(RESPValue.bulk)
        return try await transport.send(command, touching: keys.first ?? "")
    }

    /// Runs the script on the node that owns `keys` (all in one slot; a cluster routes by the first),
    /// loading it there first if that node does not know it.
    func run(on transport: any RedisTransport, keys: [String], arguments: [String]) async throws -> RESPValue {
        let command = { (sha: String) -> [RESPValue] in
            [.bulk("EVALSHA"), .bulk(sha), .bulk(String(keys.count))] + keys.map(RESPValue.bulk) + arguments.map(RESPValue.bulk)
        }
        let route = keys.first ?? ""
        if let known = sha.withLockedValue({ $0 }) {
            do {
                return try await transport.send(command(known), touching: route)
            } catch let error as RedisError where error.reason == .server && error.message.hasPrefix("NOSCRIPT") {
                // Forgotten, or never loaded on this node: load it below.
            }
        }
        guard let loaded = try await transport.send([.bulk("SCRIPT"), .bulk("LOAD"), .bulk(source)], touching: route).string else {
            throw RedisError(.unexpectedReply, "SCRIPT LOAD did not return a SHA1")
        }
        sha.withLockedValue { $0 = loaded }
        return try await transport.send(command(loaded), touching: route)
    }
}

/// The fleet's scripts. Each touches the keys of one breaker only (one hash slot), reads the time from
/// the server (`TIME`) so that instances never compare their own clocks, and orders snapshots by the
/// first 44 bytes of their line (epoch and origin, zero-padded; see ``FleetSnapshotCoding``).
enum FleetScripts {
    /// Reads the server's time in milliseconds into `now`.
    private static let clock = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        """

    /// Stores and publishes a change unless the stored one is as new or newer.
    /// KEYS: state. ARGV: head, until ms (the open period or the ramp remaining, -1 for none), channel, ttl ms, "1" if only a fleet not closed takes it.
    /// Returns {1} when published, {0, stored, now} when stale, {2} when the fleet is closed (quorum).
    /// `PUBLISH` on a single node; `SPUBLISH` in a cluster (the channel shares the keys' slot).
    private static func publishBody(sharded: Bool) -> String {
        template.replacing("'PUBLISH'", with: sharded ? "'SPUBLISH'" : "'PUBLISH'")
    }

    private static let template = """
        local current = redis.call('GET', KEYS[1])
        if current and string.sub(current, 1, 44) >= string.sub(ARGV[1], 1, 44) then
          return {0, current, now}
        end
        if ARGV[5] == '1' and (not current or string.find(current, ' closed ', 1, true)) then
          return {2}
        end
        local remaining = tonumber(ARGV[2])
        local untilMs = -1
        if remaining >= 0 then untilMs = now + remaining end
        redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%.0f', untilMs), 'PX', ARGV[4])
        redis.call('PUBLISH', ARGV[3], ARGV[1] .. ' ' .. string.format('%.0f', remaining))
        return {1}
        """

    /// The publishing script, for a single node or a cluster (see ``publishBody(sharded:)``).
    static func publish(sharded: Bool) -> RedisScript { sharded ? publishSharded : publishPlain }
    private static let publishPlain = RedisScript(clock + publishBody(sharded: false))
    private static let publishSharded = RedisScript(clock + publishBody(sharded: true))

    /// A local trip's vote in a quorum: records it, and publishes the opening when enough instances
    /// (at least `minimum`, and at least `fraction` of those alive) tripped within the window.
    /// KEYS: state, votes. ARGV: head, until ms, channel, ttl ms, "0", instance, window ms, minimum,
    /// fraction, instances alive (from the last heartbeat). Returns {3, votes, needed} when short of
    /// the quorum.
    static func vote(sharded: Bool) -> RedisScript { sharded ? voteSharded : votePlain }
    private static let votePlain = RedisScript(voteSource + publishBody(sharded: false))
    private static let voteSharded = RedisScript(voteSource + publishBody(sharded: true))
    private static let voteSource =
        clock + """

            redis.call('ZADD', KEYS[2], now, ARGV[6])
            redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[7]))
            redis.call('PEXPIRE', KEYS[2], ARGV[4])
            local votes = redis.call('ZCARD', KEYS[2])
            local needed = tonumber(ARGV[8])
            local fraction = tonumber(ARGV[9])
            if fraction > 0 then
              needed = math.max(needed, math.ceil(fraction * tonumber(ARGV[10])))
            end
            if votes < needed then return {3, votes, needed} end
            redis.call('DEL', KEYS[2])

            """

    /// Reads the stored change with the server's time. KEYS: state. Returns {stored or '', now}.
    static let read = RedisScript(
        clock + """

            return {redis.call('GET', KEYS[1]) or '', now}
            """)

    /// Takes or renews the trial lease. KEYS: lease. ARGV: token, ms. Returns {1, ms} when held here,
    /// {0, ms left} when another instance holds it.
    static let acquireLease = RedisScript(
        """
        local holder = redis.call('GET', KEYS[1])
        if not holder or holder == ARGV[1] then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return {1, tonumber(ARGV[2])}
        end
        return {0, redis.call('PTTL', KEYS[1])}
        """)

    /// Gives the lease up if this instance holds it. KEYS: lease. ARGV: token.
    static let releaseLease = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    /// Marks this instance alive in its namespace, once per heartbeat whatever the number of breakers,
    /// and counts the instances alive (a quorum's fraction is of those).
    /// KEYS: instances. ARGV: instance, alive window ms. Returns the number alive.
    static let heartbeat = RedisScript(
        clock + """

            redis.call('ZADD', KEYS[1], now, ARGV[1])
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return redis.call('ZCARD', KEYS[1])
            """)
}
#endif
