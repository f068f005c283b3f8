#if Redis
import BreakerTestKit
import NIOCore
import Testing

@testable import BreakerRedis

/// The RESP decoder on valid, random, truncated, hostile and oversized input: it returns whole replies,
/// waits for more bytes, or throws; it never crashes and never buffers past its limits.
@Suite("RESP decoder")
struct RESPDecoderTests {
    /// A deterministic generator, so a failure can be replayed.
    typealias Random = SeededRandom

    static func value(_ random: inout Random, depth: Int = 0) -> RESPValue {
        switch random.int(0...(depth < 3 ? 6 : 4)) {
        case 0: return .simpleString(String(repeating: "k", count: random.int(0...20)))
        case 1: return .error("ERR " + String(repeating: "e", count: random.int(0...20)))
        case 2: return .integer(Int64(bitPattern: random.next()))
        case 3: return .bulkString((0..<random.int(0...64)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        case 4: return .bulkString(nil)
        case 5: return .array((0..<random.int(0...5)).map { _ in value(&random, depth: depth + 1) })
        default: return .array(nil)
        }
    }

    static func bytes(_ value: RESPValue) -> [UInt8] {
        var buffer = ByteBuffer()
        switch value {
        case .array(let elements?): RESPEncoder.encode(elements, into: &buffer)
        default:
            // A lone value: encode it as the one element of an array and drop the array header.
            RESPEncoder.encode([value], into: &buffer)
            buffer.moveReaderIndex(forwardBy: 4)
        }
        return Array(buffer.readableBytesView)
    }

    @Test func everyValueSurvivesARoundTripWhateverTheChunking() throws {
        var random = Random(seed: 42)
        let decoder = RESPDecoder()
        for _ in 0..<2_000 {
            let value = Self.value(&random)
            let encoded = Self.bytes(value)
            var buffer = ByteBuffer()
            var decoded: [RESPValue] = []
            var offset = 0
            while offset < encoded.count {
                let chunk = random.int(1...max(1, encoded.count - offset))
                buffer.writeBytes(encoded[offset..<(offset + chunk)])
                offset += chunk
                while let reply = try decoder.decode(&buffer) { decoded.append(reply) }
            }
            #expect(decoded == [value])
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func aTruncatedReplyWaitsAndConsumesNothing() throws {
        var random = Random(seed: 7)
        let decoder = RESPDecoder()
        for _ in 0..<500 {
            let encoded = Self.bytes(Self.value(&random))
            for cut in 0..<encoded.count {
                var buffer = ByteBuffer(bytes: encoded[..<cut])
                #expect(try decoder.decode(&buffer) == nil)
                #expect(buffer.readableBytes == cut)
            }
        }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var random = Random(seed: 99)
        let decoder = RESPDecoder(maximumBulkLength: 1 << 16, maximumArrayLength: 1 << 10, maximumReplyLength: 1 << 20)
        let alphabet = Array("+-:$*\r\n0123456789-abc".utf8)
        var outcomes = (values: 0, waiting: 0, errors: 0)
        for round in 0..<20_000 {
            let length = random.int(0...64)
            // Half the inputs from RESP's own alphabet, so that the parser gets deep before failing.
            let bytes = (0..<length).map { _ in round % 2 == 0 ? alphabet[random.int(0...(alphabet.count - 1))] : UInt8(truncatingIfNeeded: random.next()) }
            var buffer = ByteBuffer(bytes: bytes)
            do {
                while try decoder.decode(&buffer) != nil { outcomes.values += 1 }
                outcomes.waiting += 1
            } catch {
                #expect(error.reason == .malformedReply)
                outcomes.errors += 1
            }
        }
        #expect(outcomes.values > 0 && outcomes.waiting > 0 && outcomes.errors > 0, "\(outcomes)")
    }

    @Test(arguments: [
        "$99999999999\r\n", "*99999999999\r\n", "$-2\r\n", "*-5\r\n", "$abc\r\n", ":12x\r\n", "?hello\r\n", "+no carriage return\n",
        "$3\r\nabcXY", ":\r\n",
    ])
    func hostileRepliesAreErrors(_ text: String) {
        var buffer = ByteBuffer(string: text)
        #expect(throws: RedisError.self) { try RESPDecoder().decode(&buffer) }
    }

    @Test func limitsBoundWhatIsBuffered() throws {
        let decoder = RESPDecoder(maximumBulkLength: 1_000, maximumArrayLength: 10, maximumDepth: 3, maximumLineLength: 100, maximumReplyLength: 10_000)
        var oversized = ByteBuffer(string: "$1001\r\n")
        #expect(throws: RedisError.self) { try decoder.decode(&oversized) }
        var wide = ByteBuffer(string: "*11\r\n")
        #expect(throws: RedisError.self) { try decoder.decode(&wide) }
        var deep = ByteBuffer(string: "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n")
        #expect(throws: RedisError.self) { try decoder.decode(&deep) }
        var endless = ByteBuffer(string: "+" + String(repeating: "x", count: 200))
        #expect(throws: RedisError.self) { try decoder.decode(&endless) }
        // An array of bulk strings, each within limits, that never ends: refused once past the reply limit.
        var growing = ByteBuffer(string: "*10\r\n")
        var refused = false
        for _ in 0..<20 {
            growing.writeString("$1000\r\n" + String(repeating: "y", count: 999))  // never completes its element
            do { _ = try decoder.decode(&growing) } catch { refused = true; break }
        }
        #expect(refused)
    }
}
#endif
