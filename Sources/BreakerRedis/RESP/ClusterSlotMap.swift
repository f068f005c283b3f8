#if Redis
/// A Redis Cluster node's address.
struct NodeAddress: Sendable, Hashable, CustomStringConvertible {
    var host: String
    var port: Int

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Reads `host:port` (as in `MOVED 3999 127.0.0.1:6381`), `[v6]:port` too.
    init?(_ text: Substring) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return nil }
        self.host = String(host)
        self.port = port
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// Which master serves each of a Redis Cluster's 16,384 slots, read from `CLUSTER SHARDS` (Redis 7) or
/// `CLUSTER SLOTS`, and corrected slot by slot as `MOVED` replies say.
struct ClusterSlotMap: Sendable, Equatable {
    static let slotCount = 16_384

    /// The masters, in the order first seen.
    private(set) var nodes: [NodeAddress] = []
    /// For each slot, its master's index in ``nodes``, or -1 while no master serves it.
    private var owners = [Int16](repeating: -1, count: slotCount)

    /// The master serving `slot`, if any.
    func node(for slot: Int) -> NodeAddress? {
        let owner = owners[slot]
        return owner < 0 ? nil : nodes[Int(owner)]
    }

    /// Records that `node` now serves `slot` (a `MOVED` reply).
    mutating func move(_ slot: Int, to node: NodeAddress) {
        guard (0..<Self.slotCount).contains(slot) else { return }
        owners[slot] = Int16(index(of: node))
    }

    private mutating func index(of node: NodeAddress) -> Int {
        if let index = nodes.firstIndex(of: node) { return index }
        nodes.append(node)
        return nodes.count - 1
    }

    private mutating func assign(_ range: ClosedRange<Int>, to node: NodeAddress) {
        let owner = Int16(index(of: node))
        for slot in range where (0..<Self.slotCount).contains(slot) { owners[slot] = owner }
    }

    /// Reads a `CLUSTER SHARDS` reply: per shard, `slots` (pairs of bounds) and `nodes` (maps with
    /// `endpoint` or `ip`, `port` or `tls-port`, `role`, `health`); only a healthy master serves.
    /// `nil` if the reply is not one.
    init?(shards reply: RESPValue, tls: Bool) {
        guard let shards = reply.elements else { return nil }
        for shard in shards {
            guard let fields = Self.fields(shard), let slots = fields["slots"]?.elements, let members = fields["nodes"]?.elements else { return nil }
            let master = members.lazy.compactMap(Self.fields).first { $0["role"]?.string == "master" && $0["health"]?.string != "fail" }
            guard let master, let address = Self.address(of: master, tls: tls) else { continue }
            var bounds = slots.compactMap { $0.integer ?? $0.string.flatMap { Int64($0) } }.map(Int.init)
            guard bounds.count % 2 == 0 else { return nil }
            while bounds.count >= 2 {
                let (low, high) = (bounds.removeFirst(), bounds.removeFirst())
                if low <= high { assign(low...high, to: address) }
            }
        }
    }

    /// Reads a `CLUSTER SLOTS` reply: `[start, end, [host, port, id, ...], replicas...]` per range.
    init?(slots reply: RESPValue) {
        guard let ranges = reply.elements else { return nil }
        for range in ranges {
            guard let parts = range.elements, parts.count >= 3, let low = parts[0].integer, let high = parts[1].integer,
                let master = parts[2].elements, master.count >= 2, let host = master[0].string, let port = master[1].integer
            else { return nil }
            if low <= high { assign(Int(low)...Int(high), to: NodeAddress(host: host, port: Int(port))) }
        }
    }

    /// A RESP2 map (a flat array of names and values) as a dictionary.
    private static func fields(_ value: RESPValue) -> [String: RESPValue]? {
        guard let elements = value.elements, elements.count % 2 == 0 else { return nil }
        var fields: [String: RESPValue] = [:]
        for index in stride(from: 0, to: elements.count, by: 2) {
            guard let name = elements[index].string else { return nil }
            fields[name] = elements[index + 1]
        }
        return fields
    }

    private static func address(of node: [String: RESPValue], tls: Bool) -> NodeAddress? {
        let host = [node["endpoint"]?.string, node["ip"]?.string].compactMap { $0 }.first { !$0.isEmpty && $0 != "?" }
        let port = (tls ? node["tls-port"] : node["port"])?.integer ?? node["port"]?.integer
        guard let host, let port, port > 0 else { return nil }
        return NodeAddress(host: host, port: Int(port))
    }
}

/// A cluster's redirection of a command: `MOVED slot host:port` (the slot lives there now) or
/// `ASK slot host:port` (this one command goes there, after `ASKING`: the slot is migrating).
struct ClusterRedirect: Sendable, Equatable {
    var isAsk: Bool
    var slot: Int
    var node: NodeAddress

    init?(_ message: String) {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]), let node = NodeAddress(parts[2]) else { return nil }
        isAsk = parts[0] == "ASK"
        self.slot = slot
        self.node = node
    }
}
#endif
