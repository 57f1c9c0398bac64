#!/usr/bin/env bash
# Dealer network benchmark: builds release binaries, runs `dealernet dev` (its private,
# durable PostgreSQL) in a scratch dir, loads OUTLETS outlets with dealers_datagen,
# restarts dev so it reuses them, then runs each scenario with dealers_loadgen and, where
# the service runs one fixed set of statements, the matching pgbench script at the same
# concurrency. Results: $WORK/results.md (and stdout).
#
# Knobs (environment): OUTLETS, CONC, CONNS, DURATION, WARMUP, RATE, SCENARIOS, PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench-dealers}
OUTLETS=${OUTLETS:-5000}
CONC=${CONC:-16}            # in-flight requests (loadgen workers = pgbench clients)
CONNS=${CONNS:-4}           # loadgen HTTP/2 connections
DURATION=${DURATION:-30}    # measured seconds per run
WARMUP=${WARMUP:-5}
RATE=${RATE:-1000}          # fixed rate of the open-loop locate run
SCENARIOS=${SCENARIOS:-"locate-rate locate locate-wide create-lead"}
LISTEN=127.0.0.1:${PORT:-50061}
WORK=$CARGO_TARGET_DIR/run
BIN=$CARGO_TARGET_DIR/release
SQL=$ROOT/bench/sql
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)

cargo build --release -p dealernet -p dealernet-bench --bin dealernet --bin dealers_datagen --bin dealers_loadgen
mkdir -p "$WORK"
# The state dir must be enterable by the `postgres` user that dev runs PostgreSQL as.
chmod a+x "$ROOT/target" "$CARGO_TARGET_DIR" "$WORK" 2>/dev/null || true
cd "$WORK"   # so that no dealernet.toml of the repo is picked up

DEV_PID=
start_dev() {
    : >dev.log
    # The services without the gateway: these figures are the services called directly
    # (bench/run_gateway.sh measures the gateway's hop on top of them).
    "$BIN/dealernet" dev --state-dir "$WORK/state" --listen "$LISTEN" \
        --services customers,vehicles,dealers,callcenter >dev.log 2>&1 &
    DEV_PID=$!
    for _ in $(seq 600); do
        grep -q '^dealernet dev ready' dev.log && break
        kill -0 "$DEV_PID" 2>/dev/null || { cat dev.log; exit 1; }
        sleep 0.1
    done
    grep -q '^dealernet dev ready' dev.log || { cat dev.log; exit 1; }
    PGPORT=$(sed -n 's/.*PostgreSQL running from .* on 127.0.0.1:\([0-9]*\).*/\1/p' dev.log)
    TOKEN=$(sed -n 's/^ *AGENT_TOKEN=\([^ ]*\).*/\1/p' dev.log)
    DB_URL=postgres://postgres@127.0.0.1:$PGPORT/postgres
    echo "dev up: gRPC $LISTEN, PostgreSQL 127.0.0.1:$PGPORT"
}
stop_dev() {
    if [ -n "$DEV_PID" ]; then
        kill -INT "$DEV_PID" 2>/dev/null || true
        wait "$DEV_PID" 2>/dev/null || true
        DEV_PID=
    fi
}
trap stop_dev EXIT

psql_at() { "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -Atc "$1"; }

start_dev
if [ "$(psql_at "SELECT count(*) FROM dealers.outlet WHERE code LIKE 'B%'")" != "$OUTLETS" ]; then
    "$BIN/dealers_datagen" --database-url "$DB_URL" --outlets "$OUTLETS" --truncate
    stop_dev
    start_dev   # a fresh server process on the loaded network ("existing data reused")
fi
grep -q 'existing data reused' dev.log
# The router counts each candidate's open leads, so every CreateLead run (the service's
# and pgbench's alike) starts from no leads; otherwise the later run would count more.
fresh_leads() {
    psql_at "TRUNCATE dealers.lead_assignment, dealers.lead; DELETE FROM dealers.idempotency" >/dev/null
    psql_at "VACUUM (ANALYZE) dealers.lead, dealers.lead_assignment, dealers.idempotency" >/dev/null
}
fresh_leads

# Percentiles (ms) of pgbench per-transaction logs: column 3 is the latency in µs, measured
# from the scheduled start when --rate is given (as loadgen's open loop does).
pg_percentiles() {
    cat pgbench_log.* | awk '{print $3}' | sort -n | awk '
        { v[NR] = $1 }
        END {
            n = NR; split("0.5 0.9 0.99 0.999", q, " ")
            for (i = 1; i <= 4; i++) { k = int(q[i] * n); if (k < 1) k = 1; printf "%.2f ", v[k] / 1000 }
            printf "%.2f\n", v[n] / 1000
        }'
}

run_pgbench() { # script, extra args…
    local script=$1; shift
    local common=(-n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$CONC" -j 2
        -D cap=SALES -D 'excluded={}' -D seq=0 -f "$SQL/$script" "$@")
    export PGOPTIONS='-c search_path=dealers'
    # A run id of 12 digits per invocation keeps generated keys unique across runs.
    "$PGBENCH" "${common[@]}" -D run="$(date +%s%N | tail -c 13)" -T "$WARMUP" postgres >/dev/null
    rm -f pgbench_log.*
    "$PGBENCH" "${common[@]}" -D run="$(date +%s%N | tail -c 13)" -T "$DURATION" -l postgres >pgbench.out 2>&1 \
        || { cat pgbench.out; exit 1; }
    local tps failed
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' pgbench.out | head -1)
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' pgbench.out)
    read -r p50 p90 p99 p999 max <<<"$(pg_percentiles)"
    printf '| %s | pgbench | %.0f | %s | %s | %s | %s | %s | failed=%s |\n' \
        "$LABEL" "$tps" "$p50" "$p90" "$p99" "$p999" "$max" "${failed:-0}" >>results.md
}

run_loadgen() { # scenario, extra args…
    local scenario=$1; shift
    "$BIN/dealers_loadgen" --addr "http://$LISTEN" --token "$TOKEN" --scenario "$scenario" \
        --connections "$CONNS" --concurrency "$CONC" --duration "$DURATION" \
        --warmup "$WARMUP" "$@" | tee loadgen.out
    local line
    line=$(grep '^RESULT' loadgen.out)
    val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    printf '| %s | service (gRPC) | %s | %s | %s | %s | %s | %s | ok=%s errors=%s empty=%s unsent=%s |\n' \
        "$LABEL" "$(val rps)" "$(val p50)" "$(val p90)" "$(val p99)" "$(val p999)" "$(val max)" \
        "$(val ok)" "$(val errors)" "$(val empty)" "$(val unsent)" >>results.md
}

{
    echo "Outlets: $OUTLETS, in flight: $CONC, loadgen connections: $CONNS," \
        "${DURATION}s measured after ${WARMUP}s warm-up; $(nproc) CPUs shared by server," \
        "PostgreSQL (fsync on) and the load generator."
    echo
    echo '| scenario | client | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | notes |'
    echo '|---|---|---:|---:|---:|---:|---:|---:|---|'
} >results.md
for s in $SCENARIOS; do
    case $s in
    locate-rate)
        LABEL="LocateOutlets(25 km) @ $RATE/s"
        run_loadgen locate --rate "$RATE"
        run_pgbench locate.sql --rate "$RATE"
        ;;
    locate) LABEL="LocateOutlets(25 km) (closed loop)"; run_loadgen locate; run_pgbench locate.sql ;;
    # The default reach grows the radius until 10 outlets are found: a data-dependent
    # number of queries, so no pgbench twin.
    locate-wide) LABEL="LocateOutlets(300 km) (closed loop)"; run_loadgen locate-wide ;;
    create-lead)
        LABEL="CreateLead (closed loop)"
        fresh_leads; run_loadgen create-lead
        fresh_leads; run_pgbench create_lead.sql
        ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
done
cat results.md
