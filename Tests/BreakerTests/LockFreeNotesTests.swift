import Foundation
import Testing

/// `Sources/Breaker/Circuit/README.md` lists every word the core reads or writes without a lock. This
/// keeps the list from going stale: every stored property of `Sources/Breaker` whose type is an
/// atomic or an unmanaged reference or pointer must be named in its inventory, on a line that also
/// names the file that declares it.
@Suite("Lock-free notes")
struct LockFreeNotesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let notes = "Sources/Breaker/Circuit/README.md"
    static let lockFreeTypes = ["Atomic<", "AtomicLazyReference<", "Unmanaged<", "UnsafeMutablePointer<", "UnsafePointer<", "UnsafeMutableRawPointer", "UnsafeRawPointer"]

    @Test func everyAtomicAndUnmanagedStoredPropertyIsInTheNotes() throws {
        let inventory = try String(contentsOf: Self.root.appendingPathComponent(Self.notes), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let properties = try Self.lockFreeStoredProperties()
        #expect(properties.count >= 20, "the scan found the core's atomics: \(properties)")
        for (file, name) in properties {
            let named = inventory.contains { $0.contains("`\(name)`") && $0.contains(file) }
            #expect(named, "\(file): `\(name)` is read or written without a lock but is not in \(Self.notes)'s inventory")
        }
    }

    @Test func theScanFindsStoredPropertiesOnly() {
        let source = """
            final class A {
                let word = Atomic<UInt64>(0)
                @usableFromInline let flags: Atomic<UInt32>
                var computed: Unmanaged<A>? { nil }
                func f() {
                    let local = Atomic<Int>(0)
                }
                struct Nested {
                    private let pointer: UnsafeMutablePointer<Int>
                }
            }
            """
        #expect(Self.storedProperties(in: source).map(\.name) == ["word", "flags", "pointer"])
    }

    /// `(file name, property name)` of every stored property of a lock-free type in `Sources/Breaker`.
    static func lockFreeStoredProperties() throws -> [(file: String, name: String)] {
        let folder = root.appendingPathComponent("Sources/Breaker")
        guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        var found: [(String, String)] = []
        for case let url as URL in files where url.pathExtension == "swift" {
            let source = try String(contentsOf: url, encoding: .utf8)
            for property in storedProperties(in: source) where lockFreeTypes.contains(where: property.type.contains) {
                found.append((url.lastPathComponent, property.name))
            }
        }
        return found
    }

    /// The properties declared directly in a type (not in a function, accessor or closure), with the
    /// text of their type or initial value. Braces are counted line by line (comments skipped); a
    /// scope opened on a line that declares a type, an extension or a protocol is a type scope, any
    /// other is a body.
    static func storedProperties(in source: String) -> [(name: String, type: String)] {
        let declaration = /^\s*(?:@\w+\s+)*(?:(?:private|fileprivate|internal|package|public)(?:\(set\))?\s+)*(?:static\s+)?(?:let|var)\s+(\w+)\s*(.*)$/
        let typeScope = /^\s*(?:@\w+\s+)*(?:(?:private|fileprivate|internal|package|public|final)\s+)*(?:class|struct|enum|actor|extension|protocol)\b/
        var scopes: [Bool] = []  // true: a type scope
        var found: [(String, String)] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let text = String(line)
            let code = text.trimmingCharacters(in: .whitespaces)
            if code.hasPrefix("//") { continue }
            // A brace after the name: a computed property or an observer, not a stored one.
            if scopes.allSatisfy({ $0 }), let match = text.wholeMatch(of: declaration), !match.2.contains("{") {
                found.append((String(match.1), String(match.2)))
            }
            var opensType = text.contains(typeScope)
            for character in code {
                if character == "{" {
                    scopes.append(opensType)
                    opensType = false
                } else if character == "}", !scopes.isEmpty {
                    scopes.removeLast()
                }
            }
        }
        return found
    }
}
