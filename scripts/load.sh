#!/usr/bin/env bash
# Load runs with wrk (Debian's `wrk`): three shapes against a release build of orghub — a
# trivial query, a page of 100 organizations with tags and variables, and a mixed read/write
# run — on SQLite and, when PG_URL is reachable, on PostgreSQL; beside a bare axum handler
# answering the same bytes as the trivial query (the machine's HTTP ceiling).
#   scripts/load.sh [duration, default 20s] [connections, default 50]
#   PERF_DIR=/tmp/perf scripts/load.sh 10s 50   also profiles the server during the page runs
#   (then: perf report -i /tmp/perf/SQLite-page.data --no-children)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20s}
CONNECTIONS=${2:-50}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=18180
BARE_PORT=18181
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --bin orghub --example bare
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

gql() { # token, JSON body; fails on GraphQL errors too
  local out
  out=$(curl -sf "http://127.0.0.1:$PORT/graphql" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$2")
  if grep -q '"errors"' <<<"$out"; then echo "seeding failed: $out" >&2; return 1; fi
  printf '%s' "$out"
}

lua_post() { # file, token, bodies... (cycled)
  local file=$1 token=$2; shift 2
  {
    echo "local bodies = {"
    for b in "$@"; do printf '  [==[%s]==],\n' "$b"; done
    echo "}"
    echo "local i = 0"
    echo "wrk.method = 'POST'"
    echo "wrk.headers['Content-Type'] = 'application/json'"
    echo "wrk.headers['Authorization'] = 'Bearer $token'"
    echo "request = function() i = i % #bodies + 1; return wrk.format(nil, '/graphql', nil, bodies[i]) end"
  } > "$file"
}

run() { # label, port, lua
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "http://127.0.0.1:$2/graphql")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %-34s | %10s | %8s | %8s | %6s |\n' "$1" "$rps" "$p50" "$p99" "${errors:-0}"
}

measure() { # label, database url
  local label=$1 url=$2
  ORGHUB_DATABASE_URL=$url ORGHUB_BIND=127.0.0.1:$PORT ORGHUB_LOG=warn \
    ORGHUB_JWT_SECRET=load-secret-load-secret-load-secret-1 \
    ORGHUB_SECRET_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \
    ORGHUB_TRIGGER_RATE_PER_MIN=100000000 ./target/release/orghub serve >"$WORK/server-$label.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.5; done
  local token msp
  token=$(ORGHUB_DATABASE_URL=$url ORGHUB_JWT_SECRET=load-secret-load-secret-load-secret-1 \
    ORGHUB_SECRET_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \
    ./target/release/orghub token --user admin@example.com --ttl 1h)
  msp=$(gql "$token" '{"query":"{ me { orgId } }"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["me"]["orgId"])')
  # 100 organizations, each with 2 tags and 3 variables (one secret).
  local orgs tags
  : >"$WORK/tags.json"
  orgs=$(python3 -c "import json; print(json.dumps({'query':'mutation(\$o:[OrganizationInput!]!){ bulkCreateOrganizations(organizations:\$o){ id } }','variables':{'o':[{'name':f'Load Org {i}','managingOrgId':'$msp'} for i in range(100)]}}))")
  gql "$token" "$orgs" >"$WORK/orgs.json"
  for t in A B; do
    gql "$token" "{\"query\":\"mutation { createTag(tag: {name: \\\"Load $t\\\", orgId: \\\"$msp\\\"}) { id } }\"}" >>"$WORK/tags.json"; echo >>"$WORK/tags.json"
  done
  python3 - "$WORK" "$msp" <<'PY' >"$WORK/seed.json"
import json, sys
work, msp = sys.argv[1], sys.argv[2]
orgs = [o["id"] for o in json.load(open(f"{work}/orgs.json"))["data"]["bulkCreateOrganizations"]]
tags = [json.loads(l)["data"]["createTag"]["id"] for l in open(f"{work}/tags.json") if l.strip()]
variables = []
for o in orgs:
    variables += [{"orgId": o, "name": "site", "value": "S-" + o[-4:], "category": "general", "cascade": False},
                  {"orgId": o, "name": "contact", "value": "it@example.com", "category": "contact", "cascade": False},
                  {"orgId": o, "name": "api_key", "value": "k-" + o[-6:], "category": "secret", "cascade": False}]
print(json.dumps({"orgs": orgs, "tags": tags, "variables": variables}))
PY
  python3 - "$WORK" <<'PY' >"$WORK/calls.txt"
import json, sys
seed = json.load(open(sys.argv[1] + "/seed.json"))
for o in seed["orgs"]:
    print(json.dumps({"query": "mutation($o: ID!, $t: [ID!]!) { setOrganizationTags(orgId: $o, tagIds: $t) { id } }", "variables": {"o": o, "t": seed["tags"]}}))
print(json.dumps({"query": "mutation($v: [OrgVariableUpdateInput!]!) { bulkUpdateOrgVariables(orgVariables: $v) { id } }", "variables": {"v": seed["variables"]}}))
PY
  while read -r call; do gql "$token" "$call" >/dev/null; done <"$WORK/calls.txt"

  lua_post "$WORK/trivial.lua" "$token" '{"query":"{ me { id } }"}'
  lua_post "$WORK/page.lua" "$token" '{"query":"{ organizations(limit: 100) { name tags { name } variables { name value } managingOrg { name } } }"}'
  lua_post "$WORK/mixed.lua" "$token" \
    '{"query":"{ organizations(limit: 20) { id name tags { name } } }"}' \
    '{"query":"{ me { id username } }"}' \
    "{\"query\":\"mutation { createTag(tag: {name: \\\"load-\\\", orgId: \\\"$msp\\\"}) { id } }\"}" \
    '{"query":"{ tags(limit: 50) { id name } }"}'
  # Tag names must be unique: each write of the mixed run gets a random one.
  python3 - "$WORK/mixed.lua" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('request = function() i = i % #bodies + 1; return wrk.format(nil, \'/graphql\', nil, bodies[i]) end',
              'request = function() i = i % #bodies + 1; local b = bodies[i]:gsub("load%-", "load-" .. math.random(1, 2000000000) .. "-"); return wrk.format(nil, \'/graphql\', nil, b) end')
open(p, "w").write(s)
PY
  run "$label: { me { id } }" $PORT "$WORK/trivial.lua"
  # PERF_DIR=dir: the server is profiled (perf, call graphs) during the page run.
  local perf=""
  if [ -n "${PERF_DIR:-}" ]; then
    mkdir -p "$PERF_DIR"
    perf record -q -F 999 -g -p "$pid" -o "$PERF_DIR/$label-page.data" >/dev/null 2>&1 &
    perf=$!
  fi
  run "$label: 100 orgs + tags + variables" $PORT "$WORK/page.lua"
  if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" 2>/dev/null || true; fi
  run "$label: mixed (1 write in 4)" $PORT "$WORK/mixed.lua"
  kill $pid; wait $pid 2>/dev/null || true
}

echo "wrk: 2 threads, $CONNECTIONS connections, $DURATION per run; $(nproc) cores"
printf '| %-34s | %10s | %8s | %8s | %6s |\n' "run" "req/s" "p50" "p99" "non-2xx"
echo "|------------------------------------|------------|----------|----------|--------|"
./target/release/examples/bare 127.0.0.1:$BARE_PORT '{"data":{"me":{"id":"01a20990-1350-738a-9d36-0d2bf24ec158"}}}' &
BARE=$!
sleep 0.5
lua_post "$WORK/bare.lua" "x" '{"query":"{ me { id } }"}'
run "bare axum handler, same bytes" $BARE_PORT "$WORK/bare.lua"
kill $BARE
measure SQLite "sqlite://$WORK/load.db"
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  DB="orghub_load_$(date +%s)"
  psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
  measure PostgreSQL "${PG_URL%/*}/$DB"
  psql "$PG_URL" -qc "DROP DATABASE $DB" >/dev/null
fi
