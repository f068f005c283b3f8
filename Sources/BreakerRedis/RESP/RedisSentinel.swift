#if Redis
import NIOCore

/// Finding the master through Redis Sentinel: the sentinels are asked in turn
/// (`SENTINEL get-master-addr-by-name`), the master they name is connected to (`AUTH`, `SELECT` as
/// configured) and must say it is one (`ROLE`, unless the user may not run it), else the next sentinel
/// is asked. Every step has the configuration's deadlines, so that a dead sentinel costs one connect
/// timeout and a hung one one command timeout; a cancelled caller stops between steps, and at once
/// while it waits for a reply (a connection attempt runs to its timeout, as everywhere in the client).
enum RedisSentinel {
    /// Connects to the master that `configuration.sentinel` names, watched for a switch (see
    /// `watched`); `push` as for
    /// ``RedisConnection/connect(_:push:)``. Refused master credentials throw at once
    /// (``RedisError/Reason/authenticationFailed``), as do the sentinels' when every sentinel refuses
    /// them; otherwise, with no master found, ``RedisError/Reason/masterNotFound`` says why per sentinel.
    static func connectToMaster(_ configuration: RedisConfiguration, push: (@Sendable (RESPValue) -> Void)? = nil) async throws -> RedisConnection {
        guard let sentinel = configuration.sentinel, !sentinel.sentinels.isEmpty else {
            throw RedisError(.invalidConfiguration, "sentinel: no sentinel addresses")
        }
        var failures: [String] = []
        var refused = 0
        for address in sentinel.sentinels {
            try Task.checkCancellation()
            let asked = sentinelConfiguration(configuration, sentinel, address)
            let master: RedisConfiguration
            do {
                guard let found = try await masterAddress(asking: asked, name: sentinel.masterName) else {
                    failures.append("\(address): does not know '\(sentinel.masterName)'")
                    continue
                }
                master = masterConfiguration(configuration, found.host, found.port)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if (error as? RedisError)?.reason == .authenticationFailed { refused += 1 }
                failures.append("\(address): \(error)")
                continue
            }
            try Task.checkCancellation()
            let connection: RedisConnection
            do {
                connection = try await RedisConnection.connect(master, push: push)
            } catch let error where !(error is CancellationError) && (error as? RedisError)?.reason != .authenticationFailed {
                failures.append("\(address) named \(master.host):\(master.port): \(error)")
                continue
            }
            do {
                // A sentinel can name a master that has just been demoted (or not yet promoted).
                let role = try await connection.send([.bulk("ROLE")], timeout: configuration.commandTimeout)
                if role.elements?.first?.string == "master" { return await watched(connection, asked, sentinel.masterName) }
                failures.append("\(address) named \(master.host):\(master.port), which is a \(role.elements?.first?.string ?? "non-master")")
            } catch let error as RedisError where error.reason == .server && error.message.hasPrefix("NOPERM") {
                // ROLE is an @admin command, which a fleet's ACL user need not have: trust the
                // sentinel (a demoted master still answers a write with READONLY).
                return await watched(connection, asked, sentinel.masterName)
            } catch let error as RedisError {
                failures.append("\(address) named \(master.host):\(master.port): ROLE: \(error)")
            } catch {
                connection.close()
                throw error
            }
            connection.close()
        }
        if refused == sentinel.sentinels.count {
            throw RedisError(.authenticationFailed, "every sentinel refused the credentials: " + failures.joined(separator: "; "))
        }
        throw RedisError(.masterNotFound, "'\(sentinel.masterName)': " + failures.joined(separator: "; "))
    }

    /// `connection` to the master, closed as soon as the sentinel that named it announces that the
    /// master moved (`+switch-master`), so that its owner (the command connection's client, a
    /// subscription) connects again, to the new master, at once. The watch is a hint on top of what
    /// a connection notices by itself (its server gone, `READONLY` replies): without it (the sentinel
    /// gone meanwhile) nothing else is lost. It lives as long as the connection, on event-loop
    /// callbacks: no task.
    private static func watched(_ connection: RedisConnection, _ sentinel: RedisConfiguration, _ masterName: String) async -> RedisConnection {
        let watch = try? await watchSwitches(sentinel, masterName: masterName) { connection.close() }
        if let watch {
            connection.channel.closeFuture.whenComplete { _ in watch.close() }
        }
        return connection
    }

    /// Subscribes to `+switch-master` on the sentinel that `sentinel` describes and calls `switched`
    /// (on an event loop) when the master named `masterName` moves. The returned connection is the
    /// subscription: close it to stop.
    static func watchSwitches(_ sentinel: RedisConfiguration, masterName: String, switched: @escaping @Sendable () -> Void) async throws -> RedisConnection {
        let connection = try await RedisConnection.connect(sentinel) { reply in
            // ["message", "+switch-master", "NAME OLD-IP OLD-PORT NEW-IP NEW-PORT"]
            guard let parts = reply.elements, parts.count == 3, parts[0].string == "message",
                let payload = parts[2].string, payload.split(separator: " ").first.map(String.init) == masterName
            else { return }
            switched()
        }
        do {
            try await connection.sendWithoutReply([.bulk("SUBSCRIBE"), .bulk("+switch-master")])
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// What one sentinel says the master's address is; `nil` if it does not know the name.
    private static func masterAddress(asking sentinel: RedisConfiguration, name: String) async throws -> (host: String, port: Int)? {
        let connection = try await RedisConnection.connect(sentinel)
        defer { connection.close() }
        let reply = try await connection.send([.bulk("SENTINEL"), .bulk("get-master-addr-by-name"), .bulk(name)], timeout: sentinel.commandTimeout)
        if reply.isNull { return nil }
        guard let parts = reply.elements, parts.count == 2, let host = parts[0].string, let port = parts[1].string.flatMap({ Int($0) }) else {
            throw RedisError(.unexpectedReply, "SENTINEL get-master-addr-by-name returned \(reply)")
        }
        return (host, port)
    }

    /// How to talk to one sentinel: its address and credentials, the master's TLS and timeouts.
    private static func sentinelConfiguration(_ base: RedisConfiguration, _ sentinel: RedisConfiguration.Sentinel, _ address: RedisConfiguration.Sentinel.Address) -> RedisConfiguration {
        var configuration = base
        configuration.sentinel = nil
        configuration.host = address.host
        configuration.port = address.port
        configuration.username = sentinel.username
        configuration.password = sentinel.password
        configuration.database = 0
        return configuration
    }

    /// How to talk to the master found at `host:port`.
    private static func masterConfiguration(_ base: RedisConfiguration, _ host: String, _ port: Int) -> RedisConfiguration {
        var configuration = base
        configuration.sentinel = nil
        configuration.host = host
        configuration.port = port
        return configuration
    }
}
#endif
