#!/usr/bin/env bash
# HQ insights latency: on the vehicle bench's data (run_vehicles.sh loads VEHICLES cars and
# REPAIR_LINES repair-order lines into $WORK, once), plus COMPLAINTS complaint cases, calls
# each insight RPC CALLS times through gRPC as HQ, one at a time (insights_bench), then
# runs each handler's SQL CALLS times with pgbench (one client) and the live GROUP BYs the
# aggregates replace with psql \timing (insights_live.sql, which also checks that every
# aggregate equals its live count). Results: $WORK/insights.md (and stdout).
#
# Knobs (environment): VEHICLES, REPAIR_LINES, CUSTOMERS (as run_vehicles.sh), COMPLAINTS,
# CALLS, WARMUP, MODEL, PORT, WORK. The bench's outlets are put into the dealer network with
# regions first (insights_outlets.sql), as the insights read regions from it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}
export VEHICLES=${VEHICLES:-2000000} REPAIR_LINES=${REPAIR_LINES:-10000000}
export CUSTOMERS=${CUSTOMERS:-1000000}
COMPLAINTS=${COMPLAINTS:-500000}
CALLS=${CALLS:-200}
MODEL=${MODEL:-DA7-2026}    # a bench model still being built and sold (models 16-19)
WARMUP=${WARMUP:-10}
export PORT=${PORT:-50051}
LISTEN=127.0.0.1:$PORT
export WORK=${WORK:-$CARGO_TARGET_DIR/vehicles}
BIN=$CARGO_TARGET_DIR/release
SQL=$ROOT/bench/sql
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)

# Builds and loads the vehicles (and customers) when missing; runs no scenario.
SCENARIOS=" " "$ROOT/bench/run_vehicles.sh" >/dev/null
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
cd "$WORK"

DEV_PID=
stop_dev() {
    if [ -n "$DEV_PID" ]; then
        kill -INT "$DEV_PID" 2>/dev/null || true
        wait "$DEV_PID" 2>/dev/null || true
        DEV_PID=
    fi
}
trap stop_dev EXIT
: >dev.log
"$BIN/dealernet" dev --state-dir "$WORK/state" --listen "$LISTEN" \
    --services customers,vehicles,dealers,callcenter >dev.log 2>&1 &
DEV_PID=$!
for _ in $(seq 3000); do
    grep -q '^dealernet dev ready' dev.log && break
    kill -0 "$DEV_PID" 2>/dev/null || { cat dev.log; exit 1; }
    sleep 0.1
done
grep -q '^dealernet dev ready' dev.log || { cat dev.log; exit 1; }
PGPORT=$(sed -n 's/.*PostgreSQL running from .* on 127.0.0.1:\([0-9]*\).*/\1/p' dev.log)
HQ_TOKEN=$(sed -n 's/^ *HQ_TOKEN=\([^ ]*\).*/\1/p' dev.log)
sql() { "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -Atc "$1"; }

PGOPTIONS='-c search_path=dealers' "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -f "$SQL/insights_outlets.sql" >/dev/null
BENCH_CASES="id::text LIKE '00000000-0000-7000-9000-%'"
if [ "$(sql "SELECT count(*) FROM callcenter.support_case WHERE $BENCH_CASES")" != "$COMPLAINTS" ]; then
    sql "DELETE FROM callcenter.support_case WHERE $BENCH_CASES" >/dev/null
    started=$(date +%s)
    PGOPTIONS='-c search_path=callcenter' "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -v complaints="$COMPLAINTS" -v customers="$CUSTOMERS" \
        -v models="$("$BIN/vehicle_datagen" --print-models)" -f "$SQL/insights_complaints.sql" >/dev/null
    echo "loaded $COMPLAINTS complaints in $(($(date +%s) - started)) s"
fi

{
    echo "Vehicles: $(sql 'SELECT count(*) FROM vehicles.vehicle'), repair-order lines:" \
        "$(sql 'SELECT count(*) FROM vehicles.repair_order_line'), complaints:" \
        "$(sql "SELECT count(*) FROM callcenter.support_case WHERE case_type = 'COMPLAINT'")," \
        "customers: $(sql 'SELECT count(*) FROM customers.customer'); $CALLS calls after" \
        "$WARMUP warm-up, one at a time; $(nproc) CPUs shared by server, PostgreSQL and client."
    echo
    echo '| insight | client | p50 ms | p90 ms | p99 ms | max ms | notes |'
    echo '|---|---|---:|---:|---:|---:|---|'
} >insights.md

"$BIN/insights_bench" --addr "http://$LISTEN" --token "$HQ_TOKEN" --calls "$CALLS" \
    --warmup "$WARMUP" --model "$MODEL" | tee insights_bench.out
while read -r line; do
    val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    printf '| %s | service (gRPC) | %s | %s | %s | %s | %s rows in the first answer |\n' \
        "$(sed -n 's/^RESULT scenario=\(.*\) calls=.*/\1/p' <<<"$line")" "$(val p50)" "$(val p90)" \
        "$(val p99)" "$(val max)" "$(val rows)" >>insights.md
done < <(grep '^RESULT' insights_bench.out)

# The handlers' statements alone, one client, CALLS transactions each.
for script in insights_pipeline insights_overdue insights_parts insights_trends; do
    rm -f pgbench_log.*
    PGOPTIONS='-c search_path=vehicles,callcenter' "$PGBENCH" -n -M prepared -h 127.0.0.1 \
        -p "$PGPORT" -U postgres -c 1 -t "$CALLS" -f "$SQL/$script.sql" -l postgres >pgbench.out 2>&1 ||
        { cat pgbench.out; exit 1; }
    read -r p50 p90 p99 max <<<"$(awk '{print $3}' pgbench_log.* | sort -n | awk '
        { v[NR] = $1 }
        END { n = NR; split("0.5 0.9 0.99", q, " ")
              for (i = 1; i <= 3; i++) { k = int(q[i] * n); if (k < 1) k = 1; printf "%.2f ", v[k] / 1000 }
              printf "%.2f\n", v[n] / 1000 }')"
    printf '| %s.sql | pgbench | %s | %s | %s | %s | the handler'"'"'s SQL |\n' \
        "$script" "$p50" "$p90" "$p99" "$max" >>insights.md
done

# The live counts the aggregates replace, and the equality check.
"$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -f "$SQL/insights_live.sql" >live.out 2>&1 || { cat live.out; exit 1; }
{
    echo
    echo '```'
    grep -E '^(live|aggregates|Time:| [tf]$|t$|f$)' live.out
    echo '```'
} >>insights.md
cat insights.md
if grep -qx 'f' live.out; then
    echo "run_insights: an aggregate differs from its live count" >&2
    exit 1
fi
