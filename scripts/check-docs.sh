#!/usr/bin/env bash
# Documentation checks, run by CI:
#   1. every ```swift block of README.md and of the DocC articles compiles, without warnings, and
#      runs (each file's blocks, in order, as one program; set CHECK_DOCS_RUN=0 to only compile);
#   2. every public declaration of Breaker, BreakerTestKit and the integrations (BreakerLogging,
#      BreakerMetrics, BreakerTracing, BreakerHTTPClient, BreakerRedis) has a doc comment;
#   3. the DocC catalog builds with warnings as errors (broken symbol links included).
# Every check runs even when an earlier one fails; the script exits non-zero if any failed.
#
# Builds go to .build-docs/ (gitignored) and are incremental: a second run takes seconds (the first
# builds AsyncHTTPClient twice, for the snippets and for the symbol graphs: about 3 minutes).
# Needs swift, docc and swift-symbolgraph-extract (all in the toolchain) and python3.
#
# In markdown, fence a block as ```swift-nocompile (or ```swift nocompile) to keep it out of the
# compile check; package-manifest fragments (`.package(...)`, `.target(...)`) are skipped on their own.
# The blocks of one file share one scope, in order: define what the snippets use in the snippets.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SCRATCH="${BREAKER_DOCS_SCRATCH:-$ROOT/.build-docs}"  # CI passes the package's own .build
HELPER="$ROOT/scripts/check_docs.py"
CATALOG="Sources/Breaker/Docs.docc"
failures=()
started=$SECONDS

section() { printf '\n== %s\n' "$*"; }
fail() { failures+=("$*"); printf 'FAILED: %s\n' "$*"; }

# --- 1. Code blocks -------------------------------------------------------------------------------
section "compile the swift code blocks of README.md and $CATALOG/*.md"
SNIPPETS="$SCRATCH/doc-snippets"
markdown=(README.md)
for file in "$CATALOG"/*.md; do [[ -e "$file" ]] && markdown+=("$file"); done
if ! targets="$(python3 "$HELPER" snippets "$SNIPPETS" "$ROOT" "${markdown[@]}")"; then
    fail "could not extract the code blocks"
elif [[ -z "$targets" ]]; then
    echo "no swift blocks found"
else
    while IFS=$'\t' read -r target file compiled skipped; do
        echo "  $file: $compiled block(s) -> target $target${skipped:+ ($skipped skipped)}"
    done <<<"$targets"
    log="$SNIPPETS/build.log"
    rm -f "$log" "$log".*
    build=(swift build --package-path "$SNIPPETS" --scratch-path "$SCRATCH")
    # SwiftPM caches the file list of a path dependency in its build description; a source file added to
    # the library since the last run would be missed. Dropping the description makes it look again.
    rm -f "$SCRATCH/"*/*/description.json
    built=()
    # Errors are reported at the markdown file and line (the generated code uses #sourceLocation).
    if "${build[@]}" >"$log" 2>&1; then
        echo "all code blocks compile"
        while IFS=$'\t' read -r target file _; do built+=("$target"$'\t'"$file"); done <<<"$targets"
    else
        # Build each file's program on its own, so that every failing file is named (a failed
        # build may stop before it reaches the others).
        while IFS=$'\t' read -r target file _; do
            if "${build[@]}" --product "$target" >"$log.$target" 2>&1; then
                built+=("$target"$'\t'"$file")
            else
                grep -E '^[^ |].*(error|warning):' "$log.$target" | grep -v '^error: emit-module command failed' | sort -u | sed 's/^/  /'
                if ! grep -qE '^[^ ]+:[0-9]+:[0-9]+: error:' "$log.$target"; then tail -20 "$log.$target" | sed 's/^/  /'; fi
                fail "code blocks of $file do not compile"
            fi
        done <<<"$targets"
    fi
    # Warnings in the documentation's own code fail the check too (not those of the library).
    if cat "$log" "$log".* 2>/dev/null | grep -E '\.md:[0-9]+:[0-9]+: warning:' | sort -u | sed 's/^/  /' | grep .; then
        fail "compiler warnings in documentation code blocks (listed above)"
    fi
    # Run each file's blocks as one program: the articles state what the breaker does with
    # `precondition`, so a claim that stops being true fails here.
    if [[ "${CHECK_DOCS_RUN:-1}" != 0 ]] && ((${#built[@]})); then
        bin="$("${build[@]}" --show-bin-path)"
        limit="$(command -v timeout >/dev/null && echo 'timeout 60')"
        for entry in "${built[@]}"; do
            target="${entry%%$'\t'*}" file="${entry#*$'\t'}"
            if SWIFT_BACKTRACE=enable=no bash -c '$3 "$1" >"$2" 2>&1; status=$?; exit $status' _ "$bin/$target" "$log.$target.run" "$limit" 2>/dev/null; then
                echo "  ran: $file"
            else
                # A failed precondition names the markdown file and line.
                grep -E '(Precondition|Assertion) failed|Fatal error|error:' "$log.$target.run" | head -5 | sed 's/^/  /' \
                    || tail -15 "$log.$target.run" | sed 's/^/  /'
                fail "code blocks of $file compile but fail when run (exit status or timeout)"
            fi
        done
    fi
fi

# --- 2. Doc comments on every public declaration --------------------------------------------------
section "symbol graphs of Breaker, BreakerTestKit and the integrations"
GRAPHS="$SCRATCH/symbol-graphs"
graphs_ok=0
build_log="$SCRATCH/modules-build.log"
mkdir -p "$SCRATCH"
if swift build --scratch-path "$SCRATCH" --target BreakerTestKit >"$build_log" 2>&1 &&
    swift build --scratch-path "$SCRATCH" --target BreakerLogging >>"$build_log" 2>&1 &&
    swift build --scratch-path "$SCRATCH" --target BreakerMetrics >>"$build_log" 2>&1 &&
    swift build --scratch-path "$SCRATCH" --target BreakerTracing >>"$build_log" 2>&1 &&
    swift build --scratch-path "$SCRATCH" --target BreakerHTTPClient >>"$build_log" 2>&1 &&
    swift build --scratch-path "$SCRATCH" --target BreakerRedis >>"$build_log" 2>&1; then
    modules="$(swift build --scratch-path "$SCRATCH" --show-bin-path)/Modules"
    triple="$(swift -print-target-info | python3 -c 'import json, sys; print(json.load(sys.stdin)["target"]["triple"])')"
    rm -rf "$GRAPHS" && mkdir -p "$GRAPHS/all" "$GRAPHS/Breaker"
    graphs_ok=1
    # The C modules the dependencies bring (NIO's, swift-numerics' shims), so that modules importing them load.
    cmaps=()
    for map in "$modules"/../*.build/module.modulemap; do [[ -e "$map" ]] && cmaps+=(-Xcc "-fmodule-map-file=$map"); done
    for include in "$SCRATCH"/checkouts/*/Sources/*/include; do [[ -e "$include/module.modulemap" ]] && cmaps+=(-I "$include"); done
    for module in Breaker BreakerTestKit BreakerLogging BreakerMetrics BreakerTracing BreakerHTTPClient BreakerRedis; do
        if ! swift-symbolgraph-extract -module-name "$module" -I "$modules" "${cmaps[@]}" -target "$triple" \
            -minimum-access-level public -output-dir "$GRAPHS/all" >"$GRAPHS/$module.log" 2>&1; then
            cat "$GRAPHS/$module.log"
            fail "symbol graph extraction for $module"
            graphs_ok=0
        fi
    done
    cp "$GRAPHS"/all/Breaker.symbols.json "$GRAPHS"/all/Breaker@*.symbols.json "$GRAPHS/Breaker/" 2>/dev/null
    ls "$GRAPHS/all"
else
    grep -E 'error:' "$build_log" | sort -u | head -40
    fail "swift build of the documented modules (see $build_log)"
fi

section "doc comments on public declarations"
if ((graphs_ok)); then
    python3 "$HELPER" undocumented "$GRAPHS/all" "$ROOT/Sources" || fail "public declarations without a doc comment (listed above)"
else
    fail "doc comment check skipped: no symbol graphs"
fi

# --- 3. DocC catalog ------------------------------------------------------------------------------
section "docc convert $CATALOG --warnings-as-errors"
if ((graphs_ok)); then
    out="$(mktemp -d "${TMPDIR:-/tmp}/breaker-docc.XXXXXX")"
    if docc convert "$CATALOG" \
        --additional-symbol-graph-dir "$GRAPHS/Breaker" \
        --fallback-display-name Breaker \
        --fallback-bundle-identifier swift-breaker.Breaker \
        --output-path "$out/Breaker.doccarchive" \
        --diagnostics-file "$out/diagnostics.json" \
        --warnings-as-errors >"$out/docc.log" 2>&1; then
        echo "documentation builds cleanly"
    else
        if [[ -s "$out/diagnostics.json" ]] && python3 "$HELPER" diagnostics "$out/diagnostics.json" "$ROOT"; then
            tail -40 "$out/docc.log"  # failed without diagnostics: show what docc said
        fi
        fail "docc convert reported problems (listed above; '[doc comment in Sources]' marks those in Swift files)"
    fi
    rm -rf "$out"
else
    fail "docc convert skipped: no symbol graphs"
fi

# --- Summary --------------------------------------------------------------------------------------
section "summary ($((SECONDS - started)) s)"
if ((${#failures[@]})); then
    printf 'FAILED: %s\n' "${failures[@]}"
    exit 1
fi
echo "all documentation checks passed"
