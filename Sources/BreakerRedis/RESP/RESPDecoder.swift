#if Redis
import NIOCore

/// Reads RESP2 replies from a byte stream, one whole reply at a time, within limits: a reply that
/// breaks the protocol or a limit is an error (the connection that sent it is then closed), never a
/// crash, and memory never grows past the limits however the bytes arrive.
package struct RESPDecoder: Sendable {
    /// The largest bulk string accepted, in bytes (default 16 MiB).
    package var maximumBulkLength: Int
    /// The most elements an array may announce (default 1,048,576).
    package var maximumArrayLength: Int
    /// How deeply arrays may nest (default 16).
    package var maximumDepth: Int
    /// The longest line (simple string, error, integer, length), in bytes (default 64 KiB).
    package var maximumLineLength: Int
    /// The most bytes one reply may take, all elements included (default 64 MiB): what bounds the memory
    /// a connection buffers while a reply arrives.
    package var maximumReplyLength: Int

    /// A decoder with the default limits.
    package init(
        maximumBulkLength: Int = 16 << 20, maximumArrayLength: Int = 1 << 20, maximumDepth: Int = 16, maximumLineLength: Int = 64 << 10,
        maximumReplyLength: Int = 64 << 20
    ) {
        self.maximumBulkLength = maximumBulkLength
        self.maximumArrayLength = maximumArrayLength
        self.maximumDepth = maximumDepth
        self.maximumLineLength = maximumLineLength
        self.maximumReplyLength = maximumReplyLength
    }

    /// Decodes one reply from the front of `buffer`, consuming its bytes; `nil` (consuming nothing)
    /// when the reply is not complete yet. Throws ``RedisError/Reason/malformedReply``.
    ///
    /// An incomplete reply is parsed again from its start when more bytes arrive: fine for the small
    /// replies of a fleet, quadratic for a reply of millions of elements.
    package func decode(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        var reader = buffer
        guard let value = try parse(&reader, depth: 0) else {
            if buffer.readableBytes > maximumReplyLength { throw RedisError(.malformedReply, "reply longer than \(maximumReplyLength) bytes") }
            return nil
        }
        buffer = reader
        return value
    }

    private func parse(_ buffer: inout ByteBuffer, depth: Int) throws(RedisError) -> RESPValue? {
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        guard let line = try readLine(&buffer) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            return .integer(try number(line))
        case UInt8(ascii: "$"):
            let length = try number(line)
            if length == -1 { return .bulkString(nil) }
            guard length >= 0, length <= maximumBulkLength else { throw RedisError(.malformedReply, "bulk string length \(length)") }
            guard buffer.readableBytes >= Int(length) + 2 else { return nil }
            let bytes = buffer.readBytes(length: Int(length))!
            guard buffer.readInteger(as: UInt8.self) == 13, buffer.readInteger(as: UInt8.self) == 10 else {
                throw RedisError(.malformedReply, "bulk string not followed by CRLF")
            }
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            let count = try number(line)
            if count == -1 { return .array(nil) }
            guard count >= 0, count <= maximumArrayLength else { throw RedisError(.malformedReply, "array length \(count)") }
            guard depth < maximumDepth else { throw RedisError(.malformedReply, "arrays nested deeper than \(maximumDepth)") }
            // Each element takes at least 3 bytes: an incomplete array is not buffered element by element.
            guard buffer.readableBytes >= Int(count) * 3 else { return nil }
            var elements: [RESPValue] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let element = try parse(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw RedisError(.malformedReply, "unknown type byte \(type)")
        }
    }

    /// The bytes up to the next CRLF (consumed with it), or `nil` if it has not arrived.
    private func readLine(_ buffer: inout ByteBuffer) throws(RedisError) -> [UInt8]? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > maximumLineLength { throw RedisError(.malformedReply, "line longer than \(maximumLineLength) bytes") }
            return nil
        }
        let length = newline - view.startIndex
        guard length >= 1, view[newline - 1] == UInt8(ascii: "\r") else { throw RedisError(.malformedReply, "line not ended by CRLF") }
        guard length - 1 <= maximumLineLength else { throw RedisError(.malformedReply, "line longer than \(maximumLineLength) bytes") }
        let line = buffer.readBytes(length: length - 1)!
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    private func number(_ line: [UInt8]) throws(RedisError) -> Int64 {
        guard !line.isEmpty, line.count <= 20, let value = Int64(String(decoding: line, as: UTF8.self)) else {
            throw RedisError(.malformedReply, "not a number: \(String(decoding: line.prefix(32), as: UTF8.self))")
        }
        return value
    }
}

/// Writes commands: an array of bulk strings, as Redis expects them.
package enum RESPEncoder {
    /// Appends `command` (its name first) to `buffer`.
    package static func encode(_ command: [RESPValue], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(command.count)\r\n")
        for argument in command { write(argument, into: &buffer) }
    }

    private static func write(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let text): buffer.writeString("+\(text)\r\n")
        case .error(let text): buffer.writeString("-\(text)\r\n")
        case .integer(let number): buffer.writeString(":\(number)\r\n")
        case .bulkString(nil): buffer.writeString("$-1\r\n")
        case .bulkString(let bytes?):
            buffer.writeString("$\(bytes.count)\r\n")
            buffer.writeBytes(bytes)
            buffer.writeString("\r\n")
        case .array(nil): buffer.writeString("*-1\r\n")
        case .array(let elements?):
            buffer.writeString("*\(elements.count)\r\n")
            for element in elements { write(element, into: &buffer) }
        }
    }
}
#endif
