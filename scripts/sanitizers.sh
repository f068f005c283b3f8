#!/usr/bin/env bash
# Runs the tests under the thread sanitizer and the address sanitizer, each in its own scratch
# directory, and fails on any sanitizer report (or any test failure).
#
#   scripts/sanitizers.sh            # both passes
#   scripts/sanitizers.sh thread     # only the thread sanitizer
#   scripts/sanitizers.sh address    # only the address sanitizer
#   TSAN_FILTER=Stress scripts/sanitizers.sh thread   # restrict the TSan pass (swift test --filter)
#
# Notes (see ../shared/reference/swift-platform-facts.md):
# - TSan reports false races inside Synchronization.Mutex on Linux; the library and its tests use pthread
#   mutexes and Atomic, which TSan understands. One suppression (.ci/tsan.supp): a continuation resumed
#   on a SwiftNIO thread, whose hand-over to the resumed task TSan cannot see.
# - ASan's leak checker reports leaks inside libXCTest itself; .ci/sanitizers.supp suppresses exactly those.
# - The thread pass builds with the trait `Redis` only: the concurrency it proves is the core's and the
#   fleet's (the HTTP client's is AsyncHTTPClient's, which would add minutes). The address pass builds
#   the core alone (no trait): the unsafe pointers and atomics are there, and it needs no NIO.
# - Everything runs several times slower: the real-time bounds of the Redis tests stretch by
#   BREAKER_TIMING_SCALE (5), so that they catch races, not a slow machine; and the Redis scenarios run
#   on three deployments of the six (BREAKER_REDIS_DEPLOYMENTS).
set -uo pipefail
export BREAKER_TIMING_SCALE="${BREAKER_TIMING_SCALE:-5}"
# The Redis fleet's concurrency is the same whatever the credentials: a bare server, a cluster and Sentinel
# cover its code paths (TLS is NIOSSL's handler in the same pipeline; the plain pass runs the whole
# deployment matrix).
export BREAKER_REDIS_DEPLOYMENTS="${BREAKER_REDIS_DEPLOYMENTS:-plain,cluster,sentinel}"
cd "$(dirname "$0")/.."

if [[ $# -eq 0 ]]; then passes=(thread address); else passes=("$@"); fi
logs="${SANITIZER_LOGS:-.build-sanitizer-logs}"
mkdir -p "$logs"
failed=0

run_pass() {
    local sanitizer=$1 scratch=$2 log="$logs/$1.log"
    shift 2
    echo "== swift test --sanitize=$sanitizer ($*)"
    local start=$SECONDS
    swift test --sanitize="$sanitizer" --scratch-path "$scratch" "$@" >"$log" 2>&1
    local status=$?
    local elapsed=$((SECONDS - start))
    tail -3 "$log"
    if [[ $status -ne 0 ]]; then
        echo "!! $sanitizer pass failed with status $status after ${elapsed}s (log: $log)"
        grep -nE "SUMMARY: |WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer|✘" "$log" | head -20
        failed=1
        return
    fi
    if grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: (Thread|Address|Leak)Sanitizer" "$log"; then
        echo "!! $sanitizer pass reported problems (log: $log):"
        grep -nE "SUMMARY: |WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer" "$log" | head -20
        failed=1
        return
    fi
    echo "== $sanitizer: clean in ${elapsed}s"
}

for pass in "${passes[@]}"; do
    case $pass in
    thread)
        filter=()
        [[ -n "${TSAN_FILTER:-}" ]] && filter=(--filter "$TSAN_FILTER")
        TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/.ci/tsan.supp ${TSAN_OPTIONS:-}" \
            run_pass thread .build-tsan --traits Redis "${filter[@]}"
        ;;
    address)
        ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}" LSAN_OPTIONS="suppressions=$PWD/.ci/sanitizers.supp ${LSAN_OPTIONS:-}" \
            run_pass address .build-asan --disable-default-traits
        ;;
    *)
        echo "unknown pass '$pass' (thread or address)" >&2
        exit 2
        ;;
    esac
done
exit $failed
