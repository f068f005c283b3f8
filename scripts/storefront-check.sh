#!/usr/bin/env bash
# Starts Examples' StorefrontExample on two free loopback ports, sends it sixteen requests and checks what
# the breaker did, with BreakerHTTPClient's defaults: three answered, seven failures from the inventory
# (the tenth call, 7 of 10 failed, opens the breaker for the 3 s its Retry-After asks), six answered from
# the fallback without calling the inventory; then the first request after those 3 s closes the breaker
# again, and the next ones are answered. Needs the example built (cd Examples && swift build), in the
# scratch folder BREAKER_SCRATCH names if set (CI builds it in the package's own .build).
set -euo pipefail
cd "$(dirname "$0")/../Examples"
read -r port inventory < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in sockets])')
binary="$(swift build --scratch-path "${BREAKER_SCRATCH:-.build}" --show-bin-path)/StorefrontExample"
log="$(mktemp)"
"$binary" "$port" "$inventory" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "localhost:$port/metrics" && break; sleep 0.1; done
codes=$(for i in $(seq 1 16); do curl -s -o /dev/null -w "%{http_code} " "localhost:$port/stock/$i"; done)
echo "statuses: $codes"
[[ "$codes" == "200 200 200 502 502 502 502 502 502 502 503 503 503 503 503 503 " ]]
retry=$(curl -s -i "localhost:$port/stock/17" | tr -d '\r' | awk -F': ' 'tolower($1) == "retry-after" { print $2 }')
echo "a rejected request is told to come back after ${retry} s"
[[ -n "$retry" && "$retry" -ge 1 && "$retry" -le 3 ]]
sleep 3.2  # the open period the inventory's Retry-After asked for
recovered=$(for i in 18 19 20; do curl -s -o /dev/null -w "%{http_code} " "localhost:$port/stock/$i"; done)
echo "after the open period: $recovered"
[[ "$recovered" == "200 200 200 " ]]
metrics=$(curl -s "localhost:$port/metrics")
name="127.0.0.1:$inventory"  # the client labels each host's metrics with its breaker's name
grep -F "breaker_calls_total{breaker=\"$name\",outcome=\"rejected\"} 7" <<<"$metrics"
grep -F "breaker_transitions_total{breaker=\"$name\",to=\"closed\",cause=\"trial_succeeded\"} 1" <<<"$metrics"
grep -F "breaker_state{breaker=\"$name\"} 0" <<<"$metrics"
grep -F "breaker_failure_rate{breaker=\"$name\"}" <<<"$metrics"
grep -F "# HELP breaker_calls_total " <<<"$metrics"
echo "storefront: the breaker opened for the inventory's Retry-After, served the fallback, and closed again"
