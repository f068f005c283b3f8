#!/usr/bin/env bash
# The public API, chosen: api/<Module>.txt lists every public declaration of each library module, one
# line each, sorted, from the symbol graphs of a build with the default traits. This script makes the
# list anew and fails on any difference from the checked-in one, printing the lines added (+) and
# removed (-). A change of the public API on purpose: `scripts/api-check.sh --update`, and commit api/.
# BREAKER_SCRATCH: the build tree (default .build).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${BREAKER_SCRATCH:-$PWD/.build}"
modules=(Breaker BreakerTestKit BreakerLogging BreakerMetrics BreakerTracing BreakerRedis BreakerHTTPClient)
fresh="$(mktemp -d "${TMPDIR:-/tmp}/breaker-api.XXXXXX")"
trap 'rm -rf "$fresh"' EXIT
swift package --scratch-path "$SCRATCH" dump-symbol-graph --minimum-access-level public --skip-synthesized-members \
    >"$fresh/dump.log" 2>&1 || { cat "$fresh/dump.log"; exit 1; }
graphs="$(swift build --scratch-path "$SCRATCH" --show-bin-path)/../symbolgraph"
# A line: the symbol's path, then its declaration (with the constraints of its extension), or a conformance.
python3 - "$graphs" "$fresh" "${modules[@]}" <<'PY'
import json, os, sys
graphs, out, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
for module in modules:
    lines, paths = set(), {}
    for name in sorted(f for f in os.listdir(graphs) if f == f"{module}.symbols.json" or f.startswith(f"{module}@")):
        graph = json.load(open(os.path.join(graphs, name), encoding="utf-8"))
        for symbol in graph["symbols"]:
            path = ".".join(symbol["pathComponents"])
            paths[symbol["identifier"]["precise"]] = path
            declaration = " ".join("".join(f["spelling"] for f in symbol.get("declarationFragments", [])).split())
            constraints = symbol.get("swiftExtension", {}).get("constraints", [])
            where = ", ".join(f'{c["lhs"]} {":" if c["kind"] == "conformance" else "=="} {c["rhs"]}' for c in constraints)
            lines.add(f"{path}: {declaration}" + (f" where {where}" if where else ""))
        for relation in graph["relationships"]:
            if relation["kind"] == "conformsTo" and relation["source"] in paths:
                target = relation.get("targetFallback") or paths.get(relation["target"], relation["target"])
                lines.add(f"{paths[relation['source']]}: conforms to {target}")
    with open(os.path.join(out, f"{module}.txt"), "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in sorted(lines)))
PY
if [[ "${1:-}" == --update ]]; then
    mkdir -p api && rm -f api/*.txt && cp "$fresh"/*.txt api/
    wc -l api/*.txt
    exit 0
fi
status=0
for module in "${modules[@]}"; do
    if ! diff -u "api/$module.txt" "$fresh/$module.txt" >"$fresh/$module.diff" 2>&1; then
        echo "== the public API of $module changed (+ added, - removed):"
        grep -E '^[-+][^-+]' "$fresh/$module.diff" || cat "$fresh/$module.diff"
        status=1
    fi
done
if ((status)); then
    echo "If the change is meant, record it: scripts/api-check.sh --update, and commit api/."
else
    echo "the public API is api/*.txt ($(cat api/*.txt | wc -l) declarations)"
fi
exit $status
