#!/usr/bin/env bash
# Measures a fresh umami server the way BENCHMARKS.md reports it:
#   scripts/bench.sh                        # SQLite in a temp data dir
#   scripts/bench.sh postgres://...         # PostgreSQL (an empty database)
# It builds the binary, starts "umami serve --demo" on a free port, then runs
#   1. umami bench runs -n 5000 -c 32   (three times: throughput and latencies at saturation)
#   2. umami bench runs -n 5000 -c 32 -rate R (latencies at the issue's target load:
#      R = 500 runs/s on SQLite, 1000 on PostgreSQL; RATE overrides)
#   3. umami bench runs -n 1000 -c 2    (latencies of a lightly loaded server)
#   4. wrk -t2 -c32 -d10s GET /api/v1/agent-runs/{id}
# and prints one JSON line per measurement. Needs wrk and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${1:-}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/umami" ./cmd/umami
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
args=(serve --demo --data-dir "$work/data" --addr "127.0.0.1:$port" --log-level warn)
[ -n "$url" ] && args+=(--database-url "$url")
"$work/umami" "${args[@]}" > "$work/exports" 2> "$work/log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1091
source "$work/exports"
store=${url:+postgres}; store=${store:-sqlite}
summary='{runs, errors, runs_per_second: (.runs_per_second|floor), create_p50: .create_ms.p50, queue_ms, end_to_end_p50: .end_to_end_ms.p50}'
for i in 1 2 3; do
	"$work/umami" bench runs -n 5000 -c 32 | jq -c --arg s "$store" --arg m "runs -n 5000 -c 32 #$i" "{store: \$s, bench: \$m} + ($summary)"
done
rate=${RATE:-$([ "$store" = postgres ] && echo 1000 || echo 500)}
"$work/umami" bench runs -n 5000 -c 32 -rate "$rate" | jq -c --arg s "$store" --arg m "runs -n 5000 -c 32 -rate $rate" "{store: \$s, bench: \$m} + ($summary)"
"$work/umami" bench runs -n 1000 -c 2 | jq -c --arg s "$store" "{store: \$s, bench: \"runs -n 1000 -c 2\"} + ($summary)"
run=$(curl -s "$BASE_URL/api/v1/agent-runs?limit=1" -H "Authorization: Bearer $UMAMI_API_KEY" | jq -r '.data[0].run_id')
rps=$(wrk -t2 -c32 -d10s -H "Authorization: Bearer $UMAMI_API_KEY" "$BASE_URL/api/v1/agent-runs/$run" | awk '/Requests\/sec/ {print $2}')
echo "{\"store\":\"$store\",\"bench\":\"wrk -t2 -c32 -d10s GET /api/v1/agent-runs/{id}\",\"requests_per_second\":$rps}"
