#if Redis
/// The Redis keys and channel of one breaker in a fleet.
///
/// Keys are `namespace:{name}:part`: the name, between braces, is the Redis Cluster hash tag, so every
/// key of a breaker sits in one slot and its scripts run there. The name is data, never syntax: every
/// byte but ASCII letters, digits, `-`, `_` and `.` is written as `%XX`, so a name with braces, colons,
/// spaces, newlines or non-ASCII text has keys of its own and cannot reach another breaker's keys,
/// another namespace or another slot. The tag starts with `=`, so that even the empty name has a
/// non-empty tag (Redis hashes the whole key when the braces hold nothing).
struct FleetKeys: Sendable, Hashable {
    /// The breaker's state (see ``FleetSnapshotCoding``).
    let state: String
    /// The half-open trial lease: the token of the instance that may probe.
    let lease: String
    /// Quorum votes: instances that tripped, scored by time.
    let votes: String
    /// The channel changes are published on.
    let channel: String
    /// The hash tag: `=` and the encoded name.
    let tag: String

    init(namespace: String, name: String) {
        tag = "=" + Self.encode(name)
        state = "\(namespace):{\(tag)}:state"
        lease = "\(namespace):{\(tag)}:lease"
        votes = "\(namespace):{\(tag)}:votes"
        channel = "\(namespace):{\(tag)}:changes"
    }

    /// The instances alive in a namespace, scored by their last heartbeat: one key for the whole fleet
    /// (no hash tag; no script touches it together with a breaker's keys).
    static func instances(namespace: String) -> String { "\(namespace):instances" }

    /// The pattern matching every breaker's channel in a namespace.
    static func channels(namespace: String) -> String { "\(namespace):{*}:changes" }

    /// `name` with every byte outside `[A-Za-z0-9._-]` written as `%XX`.
    static func encode(_ name: String) -> String {
        var encoded = ""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                encoded.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                encoded.unicodeScalars.append("%")
                encoded.unicodeScalars.append(digits[Int(byte >> 4)])
                encoded.unicodeScalars.append(digits[Int(byte & 15)])
            }
        }
        return encoded
    }

    /// The name a hash tag encodes, or `nil` if `tag` is not an encoding.
    static func decode(_ tag: Substring) -> String? {
        var bytes: [UInt8] = []
        var index = tag.utf8.startIndex
        let utf8 = tag.utf8
        while index < utf8.endIndex {
            if utf8[index] == UInt8(ascii: "%") {
                guard let end = utf8.index(index, offsetBy: 3, limitedBy: utf8.endIndex),
                    let byte = UInt8(String(decoding: utf8[utf8.index(after: index)..<end], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(byte)
                index = end
            } else {
                bytes.append(utf8[index])
                index = utf8.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The name of the breaker whose channel is `channel` in `namespace`, or `nil`.
    static func name(ofChannel channel: String, namespace: String) -> String? {
        let prefix = "\(namespace):{"
        let suffix = "}:changes"
        guard channel.hasPrefix(prefix), channel.hasSuffix(suffix), channel.count > prefix.count + suffix.count else { return nil }
        let tag = channel.dropFirst(prefix.count).dropLast(suffix.count)
        guard tag.first == "=", !tag.contains("{"), !tag.contains("}") else { return nil }
        return decode(tag.dropFirst())
    }

    /// The Redis Cluster slot of `key` (CRC16 of its hash tag, or of the key without one, mod 16384).
    static func slot(of key: String) -> Int {
        var bytes = Array(key.utf8)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            bytes = Array(bytes[(open + 1)..<close])
        }
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return Int(crc % 16_384)
    }
}
#endif
