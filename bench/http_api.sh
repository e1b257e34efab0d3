#!/usr/bin/env bash
# Drives platops's REST API with wrk on this machine: GET one service, list 100 services, POST new
# services, and /healthz as the ceiling of the HTTP stack itself. Starts its own server on
# 127.0.0.1 with a temporary data dir and stops it at the end.
#
#   bench/http_api.sh [BINARY]        (default build-bench/platops)
#   DURATION=10s CONNS=64 THREADS=2 bench/http_api.sh
set -euo pipefail

bin=${1:-build-bench/platops}
duration=${DURATION:-10s}
conns=${CONNS:-64}
threads=${THREADS:-2}
token=bench-admin-token-0123456789
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

command -v wrk >/dev/null || { echo "wrk is missing: run scripts/install-deps" >&2; exit 2; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

PLATOPS_BOOTSTRAP_TOKEN=$token PLATOPS_LOG_ACCESS=false \
  "$bin" serve --data-dir "$tmp/data" --listen "127.0.0.1:$port" --demo --demo-dir "$root/examples/demo" \
  >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done

# 100 more services so that a list of 100 is a full page.
python3 - "$tmp/bulk.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(100):
        f.write(f"---\nkind: Service\nslug: bulk-{i:03d}\nname: Bulk {i}\nteam: web\ntier: {1 + i % 4}\n"
                f"tags: [bulk]\ndepends_on: [{{service: payments-api}}]\n")
PY
curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/yaml' \
  --data-binary @"$tmp/bulk.yaml" "$url/api/v1/apply" >/dev/null

cat >"$tmp/post.lua" <<'LUA'
local counter = 0

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local body = string.format('{"slug":"w%d-%d","name":"Bench","team":"web","tier":3}', id, counter)
  return wrk.format("POST", "/api/v1/services", nil, body)
end
LUA

run() {
  local name=$1; shift
  echo "== $name"
  wrk -t"$threads" -c"$conns" -d"$duration" --latency -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' "$@" | tee "$tmp/wrk.out" |
    grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors' || true
}

echo "platops $("$bin" --version 2>/dev/null || true) on $(nproc) cores; wrk -t$threads -c$conns -d$duration"
run "GET /healthz (HTTP stack ceiling)" "$url/healthz"
run "GET /api/v1/services/payments-api" "$url/api/v1/services/payments-api"
run "GET /api/v1/services?limit=100" "$url/api/v1/services?limit=100"
run "POST /api/v1/services (committed creates)" -s "$tmp/post.lua" "$url/api/v1/services"
created=$(curl -sf -H "Authorization: Bearer $token" "$url/api/v1/events?action=service.created&limit=1000" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
echo "service.created events (first page, max 1000): $created"
