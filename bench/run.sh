#!/usr/bin/env bash
# End-to-end benchmark: builds release binaries, runs `dealernet dev` (its private,
# durable PostgreSQL) in a scratch dir, loads N customers with datagen, restarts dev so it
# reuses them, then runs each scenario with loadgen and the matching pgbench script at the
# same concurrency. Results: $WORK/results.md (and stdout).
#
# Knobs (environment): CUSTOMERS, CONC, CONNS, DURATION, WARMUP, RATE, GET_RATE, SCENARIOS.
#
# `bench/run.sh --small` (or SCALE=small) is the regression check of the request path:
# 100k customers and 100k vehicles, short runs (about two minutes in all), the point reads
# only, and a table of ratios against pgbench at the end. Run it before and after a change
# to the request path.
set -euo pipefail

if [ "${1:-}" = --small ]; then SCALE=small; shift; fi
SCALE=${SCALE:-full}
if [ "$SCALE" = small ]; then
    : "${CUSTOMERS:=100000}" "${DURATION:=8}" "${WARMUP:=2}"
    : "${SCENARIOS:=get get-hq get-rate list-by-phone}"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}
CUSTOMERS=${CUSTOMERS:-1000000}
CONC=${CONC:-16}            # in-flight requests (loadgen workers = pgbench clients)
CONNS=${CONNS:-4}           # loadgen HTTP/2 connections
DURATION=${DURATION:-30}    # measured seconds per run
WARMUP=${WARMUP:-5}
RATE=${RATE:-1000}          # fixed rate of the open-loop resolve run
GET_RATE=${GET_RATE:-5000}  # fixed rate of the open-loop GetCustomer run
SCENARIOS=${SCENARIOS:-"get get-hq get-rate list-by-phone resolve-rate resolve"}
LISTEN=127.0.0.1:${PORT:-50051}
WORK=$CARGO_TARGET_DIR/run
[ "$SCALE" = small ] && WORK=$WORK-small
BIN=$CARGO_TARGET_DIR/release
SQL=$ROOT/bench/sql
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)

cargo build --release -p dealernet -p dealernet-bench
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
    TOKEN=$(sed -n 's/^ *DEALER_TOKEN=\([^ ]*\).*/\1/p' dev.log)
    HQ_TOKEN=$(sed -n 's/^ *HQ_TOKEN=\([^ ]*\).*/\1/p' dev.log)
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

PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)
psql_count() {
    "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -Atc \
        'SELECT count(*) FROM customers.customer'
}

start_dev
if [ "$(psql_count)" != "$CUSTOMERS" ]; then
    "$BIN/datagen" --database-url "$DB_URL" --state-dir "$WORK/state" \
        --customers "$CUSTOMERS" --truncate
    stop_dev
    start_dev   # a fresh server process on the loaded data ("existing data reused")
fi
grep -q 'existing data reused' dev.log

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
        -D customers="$CUSTOMERS" -f "$SQL/$script" "$@")
    export PGOPTIONS='-c search_path=customers'
    "$PGBENCH" "${common[@]}" -T "$WARMUP" postgres >/dev/null
    rm -f pgbench_log.*
    "$PGBENCH" "${common[@]}" -T "$DURATION" -l postgres >pgbench.out 2>&1 || { cat pgbench.out; exit 1; }
    local tps failed
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' pgbench.out | head -1)
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' pgbench.out)
    read -r p50 p90 p99 p999 max <<<"$(pg_percentiles)"
    printf '| %s | pgbench | %.0f | %s | %s | %s | %s | %s | failed=%s |\n' \
        "$LABEL" "$tps" "$p50" "$p90" "$p99" "$p999" "$max" "${failed:-0}" >>results.md
}

run_loadgen() { # scenario, extra args…
    run_loadgen_at "$LISTEN" "service (gRPC)" "$@"
}

run_loadgen_at() { # listen, client label, scenario, extra args…
    local listen=$1 client=$2 scenario=$3; shift 3
    "$BIN/loadgen" --addr "http://$listen" --token "${LOADGEN_TOKEN:-$TOKEN}" --scenario "$scenario" \
        --connections "$CONNS" --concurrency "$CONC" --duration "$DURATION" \
        --warmup "$WARMUP" --customers "$CUSTOMERS" "$@" | tee loadgen.out
    local line
    line=$(grep '^RESULT' loadgen.out)
    val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | ok=%s errors=%s created=%s unsent=%s |\n' \
        "$LABEL" "$client" "$(val rps)" "$(val p50)" "$(val p90)" "$(val p99)" "$(val p999)" "$(val max)" \
        "$(val ok)" "$(val errors)" "$(val created)" "$(val unsent)" >>results.md
}

{
    echo "Customers: $CUSTOMERS, in flight: $CONC, loadgen connections: $CONNS," \
        "${DURATION}s measured after ${WARMUP}s warm-up; $(nproc) CPUs shared by server," \
        "PostgreSQL (fsync on) and the load generator."
    echo
    echo '| scenario | client | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | notes |'
    echo '|---|---|---:|---:|---:|---:|---:|---:|---|'
} >results.md
for s in $SCENARIOS; do
    case $s in
    # A dealer's read: the link check rides along (select_customer_linked.sql); most
    # customers are foreign, so most answers are masked and not logged.
    get) LABEL="GetCustomer (dealer)"; run_loadgen get; run_pgbench get_linked.sql ;;
    # HQ's read: the full record, its access-log record committed before the answer. Its
    # limit is the dealer's unaudited read above (SUMMARY: get-hq / get).
    get-hq)
        LABEL="GetCustomer (HQ, audited)"
        LOADGEN_TOKEN=$HQ_TOKEN run_loadgen get
        run_pgbench get.sql
        ;;
    get-rate)
        LABEL="GetCustomer (dealer) @ $GET_RATE/s"
        run_loadgen get --rate "$GET_RATE"
        run_pgbench get_linked.sql --rate "$GET_RATE"
        ;;
    list-by-phone) LABEL="ListCustomers(phone)"; run_loadgen list-by-phone; run_pgbench list_by_phone.sql ;;
    resolve) LABEL="ResolveCustomer (closed loop)"; run_loadgen resolve; run_pgbench resolve.sql ;;
    resolve-rate)
        LABEL="ResolveCustomer @ $RATE/s"
        run_loadgen resolve --rate "$RATE"
        run_pgbench resolve.sql --rate "$RATE"
        ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
done
cat results.md

# Ratios of the service to its limit, from the table above.
summary() {
    awk -F'|' '
        function num(s) { gsub(/ /, "", s); return s + 0 }
        $3 ~ /service/ { svc[$2] = num($4); p99[$2] = $7 }
        $3 ~ /pgbench/ { pg[$2] = num($4) }
        END {
            printf "\n| call | service req/s | pgbench tps | ratio |\n|---|---:|---:|---:|\n"
            for (k in svc) if (k in pg && pg[k] > 0)
                printf "|%s| %d | %d | %.2f× |\n", k, svc[k], pg[k], svc[k] / pg[k]
            d = " GetCustomer (dealer) "; h = " GetCustomer (HQ, audited) "
            if ((d in svc) && (h in svc) && svc[d] > 0)
                printf "| HQ audited / dealer unaudited | %d | %d | %.2f× |\n", svc[h], svc[d], svc[h] / svc[d]
            r = " GetCustomer (dealer) @ '"$GET_RATE"'/s "
            if (r in p99) printf "| p99 at '"$GET_RATE"' req/s open loop | %s ms | | |\n", p99[r]
        }' "$1"
}
summary results.md | tee summary.md
if [ "$SCALE" = small ] && [ -z "${SKIP_VEHICLES:-}" ]; then
    # The vehicle point reads at the same small scale, in their own scratch dir.
    VEHICLES=100000 REPAIR_LINES=500000 CUSTOMERS="$CUSTOMERS" DURATION="$DURATION" \
        WARMUP="$WARMUP" SCENARIOS="get-vehicle vehicle-timeline" \
        WORK="$CARGO_TARGET_DIR/vehicles-small" PORT=$((${PORT:-50051} + 1)) \
        "$ROOT/bench/run_vehicles.sh" >vehicles.out 2>&1 || { cat vehicles.out; exit 1; }
    summary "$CARGO_TARGET_DIR/vehicles-small/results.md" | tail -n +4 | tee -a summary.md
fi
