#!/usr/bin/env python3
"""Helpers for scripts/check-docs.sh (standard library only).

Subcommands:

  snippets PACKAGE_DIR REPO_ROOT FILE.md...
      Writes a Swift package to PACKAGE_DIR with one executable target per markdown file. Each
      target's main.swift is the file's ```swift blocks, in order, as top-level code; every block
      is preceded by `#sourceLocation`, so compiler errors point at the markdown file and line.
      Blocks fenced as ```swift-nocompile (or ```swift nocompile) are skipped, and so are package
      manifest fragments (a block that starts with `.package(`, `.target(`, ...). Prints one line
      per target: `TARGET<TAB>FILE` (targets.tsv in PACKAGE_DIR holds the same).

  undocumented GRAPH_DIR SOURCES_DIR
      Lists public and open symbols of the symbol graphs in GRAPH_DIR that are declared under
      SOURCES_DIR and have no doc comment of their own. Symbols the compiler synthesizes or that
      come from another module (Equatable's `!=`, Clock's `measure`) have no location under
      SOURCES_DIR and are skipped; a declaration that merely inherits a protocol requirement's
      comment counts as undocumented. Exits 1 if any are found.

  shown SOURCE.swift ARTICLE.md
      Checks that ARTICLE.md shows SOURCE.swift whole, as one fenced code block (for code that is
      compiled elsewhere, such as the Examples package). Exits 1 if it does not.

  diagnostics DIAGNOSTICS_JSON REPO_ROOT
      Prints the diagnostics of a `docc convert --diagnostics-file` run as `path:line:col: severity:
      summary`, with paths relative to REPO_ROOT, marking those from Swift doc comments in Sources.
"""

import json
import os
import re
import sys
from urllib.parse import unquote, urlparse

# ---------------------------------------------------------------------------------------------
# Markdown code blocks -> a snippets package

FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})\s*([^`\s]*)(.*)$")
MANIFEST_START = re.compile(r"^\.(package|target|executableTarget|testTarget|product|library|executable)\(")
SKIP_WORDS = {"nocompile", "no-compile", "skip"}


def code_blocks(path):
    """Yields (info_first_word, info_rest, first_content_line_number, lines) for each fenced block."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, language, rest = match.group(1), match.group(2), match.group(3), match.group(4)
        start = index + 1
        body = []
        index += 1
        while index < len(lines):
            line = lines[index]
            stripped = line.lstrip(" \t")
            if stripped.startswith(fence[0] * len(fence)) and stripped.strip(fence[0]).strip() == "":
                break
            # Remove the fence's indentation from content lines (blocks inside lists).
            if line.startswith(indent):
                line = line[len(indent):]
            body.append(line)
            index += 1
        index += 1  # past the closing fence
        yield language, rest.strip(), start + 1, body


def is_manifest_fragment(body):
    for line in body:
        text = line.strip()
        if not text or text.startswith("//"):
            if "swift-tools-version" in text:
                return True
            continue
        return bool(MANIFEST_START.match(text))
    return False


def target_name(relative):
    name = re.sub(r"[^A-Za-z0-9]+", "_", relative).strip("_")
    return name if name[:1].isalpha() else "Doc_" + name


def swift_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_if_changed(path, content):
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == content:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)


def snippets(package_dir, repo_root, files):
    repo_root = os.path.realpath(repo_root)
    identity = os.path.basename(repo_root).lower()
    targets = []
    for path in files:
        relative = os.path.relpath(os.path.realpath(path), repo_root)
        parts = []
        compiled = skipped = 0
        for language, rest, first_line, body in code_blocks(path):
            words = set(rest.lower().split())
            if language.lower() in ("swift-nocompile", "swift-no-compile", "swift-skip"):
                skipped += 1
                continue
            if language.lower() != "swift":
                continue
            if words & SKIP_WORDS:
                skipped += 1
                continue
            if is_manifest_fragment(body):
                print(f"note: {relative}:{first_line - 1}: skipped a package manifest fragment", file=sys.stderr)
                skipped += 1
                continue
            compiled += 1
            parts.append(f"#sourceLocation(file: {swift_string(relative)}, line: {first_line})")
            parts.extend(body)
        if not parts:
            print(f"note: {relative}: no swift blocks to compile ({skipped} skipped)", file=sys.stderr)
            continue
        parts.append("#sourceLocation()")
        name = target_name(relative)
        targets.append((name, relative, compiled, skipped))
        write_if_changed(os.path.join(package_dir, "Sources", name, "main.swift"), "\n".join(parts) + "\n")

    # Drop targets of files that are gone.
    sources = os.path.join(package_dir, "Sources")
    wanted = {name for name, *_ in targets}
    if os.path.isdir(sources):
        for entry in os.listdir(sources):
            if entry not in wanted:
                for root, dirs, names in os.walk(os.path.join(sources, entry), topdown=False):
                    for name in names:
                        os.remove(os.path.join(root, name))
                    os.rmdir(root)

    # The library's products and the API packages its integrations take values of (a Logger, a
    # MetricsFactory, a Tracer, an HTTPClient, a Service), so that snippets can show the integrations as a user writes them.
    own = ["Breaker", "BreakerTestKit", "BreakerLogging", "BreakerMetrics", "BreakerTracing", "BreakerHTTPClient", "BreakerRedis"]
    apis = [
        ("Logging", "swift-log"), ("Metrics", "swift-metrics"), ("Tracing", "swift-distributed-tracing"),
        ("AsyncHTTPClient", "async-http-client"), ("ServiceLifecycle", "swift-service-lifecycle"),
    ]
    products = ", ".join(
        [f'.product(name: "{name}", package: {swift_string(identity)})' for name in own]
        + [f'.product(name: "{name}", package: "{package}")' for name, package in apis]
    )
    target_lines = "\n".join(
        f"        .executableTarget(name: {swift_string(name)}, dependencies: [{products}]),"
        for name, *_ in targets
    )
    manifest = f"""// swift-tools-version: 6.2
// Generated by scripts/check_docs.py: the swift code blocks of the documentation, one target per file.
import PackageDescription

let package = Package(
    name: "doc-snippets",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    dependencies: [
        .package(path: {swift_string(repo_root)}),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
{target_lines}
    ],
    swiftLanguageModes: [.v6]
)
"""
    write_if_changed(os.path.join(package_dir, "Package.swift"), manifest)
    table = "".join(f"{name}\t{relative}\t{compiled}\t{skipped}\n" for name, relative, compiled, skipped in targets)
    write_if_changed(os.path.join(package_dir, "targets.tsv"), table)
    sys.stdout.write(table)


# ---------------------------------------------------------------------------------------------
# Public symbols without doc comments


def file_path(uri):
    return unquote(urlparse(uri).path) if uri else None


def undocumented(graph_dir, sources_dir):
    sources_dir = os.path.realpath(sources_dir) + os.sep
    records = []  # (module, symbol, path, decl_line, doc)
    for entry in sorted(os.listdir(graph_dir)):
        if not entry.endswith(".symbols.json"):
            continue
        with open(os.path.join(graph_dir, entry), encoding="utf-8") as handle:
            graph = json.load(handle)
        module = graph["module"]["name"]
        for symbol in graph["symbols"]:
            if symbol.get("accessLevel") not in ("public", "open"):
                continue
            location = symbol.get("location") or {}
            path = file_path(location.get("uri"))
            if not path or not os.path.realpath(path).startswith(sources_dir):
                continue  # synthesized, or inherited from another module
            line = location.get("position", {}).get("line", 0)  # zero-based
            records.append((module, symbol, os.path.realpath(path), line, symbol.get("docComment")))

    # A doc comment belongs to the first declaration after it in the same file; another symbol
    # showing the same comment (an undocumented protocol conformance, say) only inherited it.
    declarations = {}
    for _, _, path, line, _ in records:
        declarations.setdefault(path, set()).add(line)

    missing = []
    for module, symbol, path, line, doc in records:
        own = False
        if doc and any(part.get("text", "").strip() for part in doc.get("lines", [])):
            doc_path = file_path(doc.get("uri"))
            doc_lines = [part["range"]["end"]["line"] for part in doc["lines"] if "range" in part]
            if doc_path and os.path.realpath(doc_path) == path and doc_lines:
                end = max(doc_lines)
                following = [decl for decl in declarations[path] if decl > end]
                own = bool(following) and min(following) == line
            elif doc_path is None and doc.get("module", module) == module:
                own = True  # no location recorded: trust the compiler's attribution
        if not own:
            kind = symbol["kind"]["displayName"].lower()
            title = "/".join(symbol["pathComponents"])
            relative = os.path.relpath(path, os.path.dirname(sources_dir.rstrip(os.sep)))
            missing.append(f"{relative}:{line + 1}: {module}.{title} ({kind}) has no doc comment")

    for line in sorted(set(missing)):
        print(line)
    checked = len(records)
    if missing:
        print(f"{len(set(missing))} of {checked} public declarations lack a doc comment", file=sys.stderr)
        return 1
    print(f"all {checked} public declarations in Sources have doc comments", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------
# DocC diagnostics


def diagnostics(diagnostics_json, repo_root):
    repo_root = os.path.realpath(repo_root)
    with open(diagnostics_json, encoding="utf-8") as handle:
        data = json.load(handle)
    entries = data.get("diagnostics", data if isinstance(data, list) else [])

    def order(entry):
        start = (entry.get("range") or {}).get("start") or {}
        return (entry.get("source") or "", start.get("line", 0), start.get("column", 0))

    for entry in sorted(entries, key=order):
        severity = entry.get("severity", "?")
        summary = " ".join(entry.get("summary", "").split())
        source = entry.get("source")
        where = "(no location)"
        origin = ""
        if source:
            path = os.path.realpath(file_path(source) if "://" in source else source)
            relative = os.path.relpath(path, repo_root)
            start = (entry.get("range") or {}).get("start") or {}
            where = f"{relative}:{start.get('line', 0)}:{start.get('column', 0)}"
            if path.endswith(".swift"):
                origin = "  [doc comment in Sources]"
        print(f"{where}: {severity}: {summary}{origin}")
        for solution in entry.get("solutions", []) or []:
            text = " ".join(solution.get("summary", "").split())
            if text:
                print(f"    suggestion: {text}")
    return 1 if entries else 0


def shown(source, markdown):
    """Checks that the article `markdown` shows the file `source` whole, as one fenced block, so that
    code compiled elsewhere (the Examples package) and the code a reader sees cannot drift apart."""
    with open(source, encoding="utf-8") as f:
        wanted = f.read().strip("\n")
    with open(markdown, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    if any(block.strip("\n") == wanted for block in blocks):
        print(f"{markdown} shows {source} as it is")
        return 0
    print(f"{markdown} does not show {source} as it is: copy the file into the article's block")
    return 1


def main(argv):
    if len(argv) == 4 and argv[1] == "shown":
        return shown(argv[2], argv[3])
    if len(argv) >= 4 and argv[1] == "snippets":
        snippets(argv[2], argv[3], argv[4:])
        return 0
    if len(argv) == 4 and argv[1] == "undocumented":
        return undocumented(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "diagnostics":
        return diagnostics(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
