#!/usr/bin/env bash
# Examples' StorefrontExample under overload on loopback, without and with its concurrency limiter: the
# inventory serves 8 requests at a time in 10 ms (800 a second at most) and slows down past that, the
# storefront gives each request 100 ms, and wrk (Debian's package) keeps CONNECTIONS connections busy
# for DURATION seconds (default 15). wrk waits for each answer before the next request, so it overloads
# only when its connections alone would take the inventory past the deadline: the default 128 would hold
# 128 requests in flight, 160 ms each (32 connections, 4x the capacity, is 40 ms, still in time).
# Prints, for each run, the storefront's goodput (answers 200 a second), the successes' mean and p99
# (from the breaker's duration histogram), wrk's percentiles over every answer (fallbacks included),
# and what the breaker counted.
#
#     [CONNECTIONS=128] scripts/storefront-overload.sh [DURATION]
#
# Builds the example in release, in the scratch folder BREAKER_SCRATCH names (default .build-examples).
set -euo pipefail
cd "$(dirname "$0")/../Examples"
duration="${1:-15}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)"; exit 1; }
scratch="${BREAKER_SCRATCH:-../.build-examples}"
swift build -c release --product StorefrontExample --scratch-path "$scratch" >/dev/null 2>&1 ||
    swift build -c release --product StorefrontExample --scratch-path "$scratch"  # shows why
binary="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/StorefrontExample"

run() {  # run LABEL [--limiter]
    local label="$1"; shift
    read -r port inventory < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in sockets])')
    "$binary" "$port" "$inventory" --capacity 8 "$@" >/dev/null 2>&1 &
    local server=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "localhost:$port/metrics" && break; sleep 0.1; done
    local out
    out="$(wrk -t2 -c"${CONNECTIONS:-128}" -d"${duration}s" --timeout 5s --latency "http://127.0.0.1:$port/stock/1")"
    local metrics
    metrics="$(curl -s "localhost:$port/metrics")"
    kill "$server"; wait "$server" 2>/dev/null || true
    python3 - "$label" "$duration" "$out" "$metrics" <<'PY'
import re, sys
label, duration, out, metrics = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
total = int(re.search(r"(\d+) requests in", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
bad = int(bad.group(1)) if bad else 0
errors = re.search(r"Socket errors: (.*)", out)
percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
def count(outcome):
    return sum(float(v) for v in re.findall(r'breaker_calls_total\{[^}]*outcome="%s"[^}]*\} (\S+)' % outcome, metrics))
# The successes' durations, from the breaker's histogram: p99 is the first bucket holding 99 % of them.
buckets = [(float(le), float(n)) for le, n in re.findall(r'breaker_call_duration_bucket\{[^}]*outcome="success",le="([^"+]+)"\} (\S+)', metrics)]
successes = count('success')
p99 = next((le for le, n in sorted(buckets) if successes and n >= 0.99 * successes), None)
sums = re.findall(r'breaker_call_duration_sum\{[^}]*outcome="success"\} (\S+)', metrics)
mean = float(sums[0]) / successes * 1000 if sums and successes else float("nan")
print(f"{label}: goodput {(total - bad) / duration:.0f}/s (answered {total / duration:.0f}/s); "
      f"successes: mean {mean:.1f} ms, p99 <= {p99 * 1000 if p99 else float('nan'):.0f} ms; "
      f"every answer: p50 {percentiles.get('50')}, p99 {percentiles.get('99')}; "
      f"breaker: {successes:.0f} succeeded, {count('failure'):.0f} failed, {count('rejected'):.0f} rejected"
      + (f"; socket errors: {errors.group(1)}" if errors else ""))
PY
}

run "without the limiter"
run "with the limiter   " --limiter
