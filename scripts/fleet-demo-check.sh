#!/usr/bin/env bash
# Runs `breaker-demo --redis URL --instances 3` against throwaway Redis deployments as users run them:
# a bare server, a server with a password, and a Redis Cluster of three masters. In each, the two
# quieter instances must open with the busiest one's trip ("changed by another instance").
set -euo pipefail
cd "$(dirname "$0")/.."
logs=.build/fleet-demo
mkdir -p "$logs"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() {  # below the ephemeral range, with its cluster bus port (10,000 above) free too
    python3 - <<'PY'
import random, socket
while True:
    port = random.randint(20000, 29999)
    try:
        for p in (port, port + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
        print(port); break
    except OSError:
        pass
PY
}

start_redis() {  # PORT [options...]
    local port=$1; shift
    local dir; dir=$(mktemp -d)
    (cd "$dir" && redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no "$@" >/dev/null 2>&1) &
    pids+=($!)
    for _ in $(seq 1 100); do redis-cli -p "$port" ping 2>&1 | grep -qE "PONG|NOAUTH" && return; sleep 0.05; done
    echo "redis-server did not start on $port" >&2; exit 1
}

check() {  # NAME URL
    echo "-- $1"
    swift run breaker-demo --redis "$2" --instances 3 | tee "$logs/$1.log" | tail -4
    [[ $(grep -c "closed → open  (changed by another instance)" "$logs/$1.log") -eq 2 ]] || { echo "!! $1: the others did not open with the trip"; exit 1; }
    if grep -q "pw-demo" "$logs/$1.log"; then echo "!! $1: the password was printed"; exit 1; fi
}

port=$(free_port); start_redis "$port"
check plain "redis://127.0.0.1:$port"

port=$(free_port); start_redis "$port" --requirepass pw-demo
check password "redis://:pw-demo@127.0.0.1:$port"

ports=(); for _ in 1 2 3; do p=$(free_port); ports+=("$p"); start_redis "$p" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000; done
redis-cli --cluster create $(printf "127.0.0.1:%s " "${ports[@]}") --cluster-replicas 0 --cluster-yes >/dev/null
for _ in $(seq 1 100); do redis-cli -p "${ports[0]}" cluster info | grep -q "cluster_state:ok" && break; sleep 0.1; done
check cluster "redis://127.0.0.1:${ports[0]}"
echo "fleet demo: plain, password and cluster all shared one breaker"
