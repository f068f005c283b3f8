#!/usr/bin/env bash
# Documentation checks, run by CI. The code the docs show is in Snippets/ (SwiftPM builds it with the
# package; the DocC articles show it with @Snippet, README.md as verbatim copies of Snippets/README.swift).
#   1. the snippets build without warnings and run: their preconditions are claims the docs make;
#   2. README.md's swift blocks are the slices of Snippets/README.swift;
#   3. every public declaration is documented (swift format lint, .swift-format);
#   4. the DocC catalog, with the snippets, converts with warnings as errors.
# Every check runs even when an earlier one fails. BREAKER_DOCS_SCRATCH: the build tree (default .build).
set -uo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${BREAKER_DOCS_SCRATCH:-$PWD/.build}"
failures=()
started=$SECONDS
fail() { failures+=("$*"); printf 'FAILED: %s\n' "$*"; }

echo "== build the snippets (touched, so that their warnings are shown) and run each"
mkdir -p "$SCRATCH"
find Snippets -name '*.swift' -exec touch {} +
if swift build --scratch-path "$SCRATCH" >"$SCRATCH/docs-build.log" 2>&1; then
    if grep -E '/Snippets/.*: (warning|error):' "$SCRATCH/docs-build.log" | sort -u | grep .; then
        fail "compiler warnings in Snippets/ (listed above)"
    fi
    bin="$(swift build --scratch-path "$SCRATCH" --show-bin-path)"
    # None starts a server or needs Redis: code that would is in functions the snippets do not call.
    for snippet in $(find Snippets -name '*.swift' | sort); do
        name="$(basename "$snippet" .swift)"
        if SWIFT_BACKTRACE=enable=no timeout 60 "$bin/$name" >"$SCRATCH/snippet-$name.log" 2>&1; then
            echo "  ran $snippet"
        else
            tail -5 "$SCRATCH/snippet-$name.log"
            fail "$snippet fails when run (a failed precondition names its line)"
        fi
    done
else
    grep -E 'error:' "$SCRATCH/docs-build.log" | sort -u | head -40
    fail "swift build (see $SCRATCH/docs-build.log)"
fi

echo "== README.md shows Snippets/README.swift"
python3 scripts/check_docs.py readme README.md Snippets/README.swift || fail "README.md and Snippets/README.swift differ"

echo "== swift format lint: every public declaration documented (.swift-format)"
# The pretty-printer's whitespace findings are not rules and cannot be switched off; they are left out.
if swift format lint --recursive --parallel Sources Tests Snippets Examples 2>&1 |
    grep -vE '\[(Indentation|AddLines|RemoveLine|LineLength|Spacing|TrailingComma|TrailingWhitespace|EndOfLineComment)\]' | grep .; then
    fail "swift format lint (findings above)"
fi

echo "== docc convert Sources/Breaker/Docs.docc --warnings-as-errors"
graphs="$(mktemp -d "${TMPDIR:-/tmp}/breaker-docs.XXXXXX")"
if swift package --scratch-path "$SCRATCH" dump-symbol-graph --minimum-access-level public >"$graphs/dump.log" 2>&1 &&
    python3 scripts/check_docs.py snippet-graph Snippets "$graphs/in"; then
    cp "$(swift build --scratch-path "$SCRATCH" --show-bin-path)/../symbolgraph/Breaker.symbols.json" "$graphs/in/"
    docc convert Sources/Breaker/Docs.docc --additional-symbol-graph-dir "$graphs/in" --warnings-as-errors \
        --fallback-display-name Breaker --fallback-bundle-identifier swift-breaker.Breaker \
        --output-path "$graphs/Breaker.doccarchive" >"$graphs/docc.log" 2>&1 || { cat "$graphs/docc.log"; fail "docc convert"; }
else
    cat "$graphs/dump.log"
    fail "symbol graphs"
fi
rm -rf "$graphs"

echo "== $((SECONDS - started)) s"
if ((${#failures[@]})); then printf 'FAILED: %s\n' "${failures[@]}"; exit 1; fi
echo "all documentation checks passed"
