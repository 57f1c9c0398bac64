#!/usr/bin/env bash
# Call-center benchmark: builds release binaries, runs `dealernet dev` (its private, durable
# PostgreSQL) in a scratch dir, loads customers (datagen) and the callback queue
# (callcenter_datagen) and restarts dev on them, mints one agent token per agent, then:
#   claim-callbacks  loadgen claim-callbacks: AGENTS agents drain the CALLBACKS due
#                    callbacks (or stop after CLAIM_DURATION), no callback claimed twice
#                    | the queue reloaded, pgbench claim_callback.sql with AGENTS clients
#                    for as many claims
#   open-case        loadgen open-case | pgbench open_case.sql, CONC in flight, DURATION s
# Results: $WORK/results.md (and stdout). Exits 1 if any run failed (the table says which).
#
# Knobs (environment): CALLBACKS, CUSTOMERS, AGENTS, LEASE, CLAIM_DURATION, CONC, CONNS,
# DURATION, WARMUP, SCENARIOS, PORT, WORK.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}
CALLBACKS=${CALLBACKS:-100000}  # due callbacks in the queue at the start of each claim run
CUSTOMERS=${CUSTOMERS:-100000}  # registry customers 1..CUSTOMERS (callbacks' and cases')
AGENTS=${AGENTS:-20}            # claiming agents (loadgen workers = pgbench clients)
LEASE=${LEASE:-300}             # seconds a claim holds
CLAIM_DURATION=${CLAIM_DURATION:-240}  # longest claim run; must end 30 s before a lease lapses
CONC=${CONC:-16}                # open-case: in-flight calls (loadgen workers = pgbench clients)
CONNS=${CONNS:-4}               # loadgen HTTP/2 connections
DURATION=${DURATION:-30}        # open-case: measured seconds
WARMUP=${WARMUP:-5}             # open-case: seconds of load before measuring
SCENARIOS=${SCENARIOS:-"claim-callbacks open-case"}
LISTEN=127.0.0.1:${PORT:-50051}
WORK=${WORK:-$CARGO_TARGET_DIR/callcenter}
BIN=$CARGO_TARGET_DIR/release
SQL=$ROOT/bench/sql
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)

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

sql() { "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -Atc "$1"; }
load_callbacks() {
    "$BIN/callcenter_datagen" --database-url "$DB_URL" --callbacks "$CALLBACKS" \
        --customers "$CUSTOMERS" --truncate
}

# Customers once (kept between runs); the queue every run, since claiming consumes it.
start_dev
if [ "$(sql 'SELECT count(*) FROM customers.customer')" != "$CUSTOMERS" ]; then
    "$BIN/datagen" --database-url "$DB_URL" --state-dir "$WORK/state" \
        --customers "$CUSTOMERS" --truncate
fi
load_callbacks
stop_dev
start_dev   # a fresh server process on the loaded data ("existing data reused")
grep -q 'existing data reused' dev.log

# One token per agent, agent.1 … agent.AGENTS (loadgen worker i uses line i).
: >agents.tokens
for i in $(seq "$AGENTS"); do
    "$BIN/dealernet" token --role agent --org CALLCENTER --subject "agent.$i" \
        --state-dir "$WORK/state" --ttl 86400 >>agents.tokens
done
export PGOPTIONS='-c search_path=callcenter'
FAILED=

# CPU accounting, so that the table shows who used the 2 CPUs: the client (loadgen or
# pgbench, from /usr/bin/time), the server process, and PostgreSQL (the postmaster with
# its live children, plus what its exited children used).
TICK=$(getconf CLK_TCK)
cpu_ticks() { # prints "<server ticks> <PostgreSQL ticks>"
    local pm
    pm=$(head -1 "$WORK/state/pg/postmaster.pid")
    printf '%s ' "$(awk '{print $14 + $15}' "/proc/$DEV_PID/stat")"
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" '
        $1 == pm { t += $14 + $15 + $16 + $17 } $4 == pm { t += $14 + $15 } END { print t }'
}
CPU_BEFORE=
cpu_start() { CPU_BEFORE=$(cpu_ticks); }
cpu_notes() { # client time file: prints "CPU s: client …, server …, PostgreSQL … in … s wall"
    local server0 pg0 server1 pg1 user sys wall
    read -r server0 pg0 <<<"$CPU_BEFORE"
    read -r server1 pg1 <<<"$(cpu_ticks)"
    # The last line: /usr/bin/time puts "Command exited with non-zero status" first.
    read -r user sys wall <<<"$(tail -n1 "$1")"
    awk -v u="$user" -v s="$sys" -v w="$wall" -v sv=$((server1 - server0)) \
        -v pg=$((pg1 - pg0)) -v tick="$TICK" 'BEGIN {
        printf "CPU s: client %.1f, server %.1f, PostgreSQL %.1f in %.1f s wall", u + s, sv / tick, pg / tick, w }'
}

# Percentiles (ms) of pgbench per-transaction logs: column 3 is the latency in µs.
pg_percentiles() {
    cat pgbench_log.* | awk '{print $3}' | sort -n | awk '
        { v[NR] = $1 }
        END {
            n = NR; split("0.5 0.9 0.99 0.999", q, " ")
            for (i = 1; i <= 4; i++) { k = int(q[i] * n); if (k < 1) k = 1; printf "%.2f ", v[k] / 1000 }
            printf "%.2f\n", v[n] / 1000
        }'
}

pgbench_args() { # clients, script: sets PGB to the common pgbench arguments
    PGB=(-n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$1" -j "$(($1 < 2 ? $1 : 2))"
        -f "$SQL/$2")
}

run_pgbench() { # clients, script, pgbench args (-T/-t and -D …)…: sets PG_ROW, or fails
    local clients=$1 script=$2; shift 2
    pgbench_args "$clients" "$script"
    rm -f pgbench_log.*
    cpu_start
    if ! /usr/bin/time -o pgbench.time -f '%U %S %e' "$PGBENCH" "${PGB[@]}" "$@" -l postgres \
        >pgbench.out 2>&1; then
        cat pgbench.out
        printf '| %s | pgbench | | | | | | | FAILED: %s |\n' "$LABEL" \
            "$(grep -m1 'error' pgbench.out | tr '|' '/')" >>results.md
        FAILED=1
        return 1
    fi
    cat pgbench.out
    local tps failed p50 p90 p99 p999 max
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' pgbench.out | head -1)
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' pgbench.out)
    read -r p50 p90 p99 p999 max <<<"$(pg_percentiles)"
    PG_ROW=$(printf '| %s | pgbench | %.0f | %s | %s | %s | %s | %s | failed=%s; %s;' \
        "$LABEL" "$tps" "$p50" "$p90" "$p99" "$p999" "$max" "${failed:-0}" \
        "$(cpu_notes pgbench.time)")
    [ "${failed:-0}" = 0 ] || FAILED=1
}
pgbench_row() { echo "$PG_ROW${1:+ $1} |" >>results.md; }

LINE=
run_loadgen() { # scenario, extra args… (sets LINE to loadgen's RESULT line)
    local scenario=$1; shift
    local status=0
    cpu_start
    /usr/bin/time -o loadgen.time -f '%U %S %e' "$BIN/loadgen" --addr "http://$LISTEN" \
        --tokens-file agents.tokens --scenario "$scenario" --connections "$CONNS" \
        --customers "$CUSTOMERS" "$@" | tee loadgen.out || status=$?
    LINE=$(grep '^RESULT' loadgen.out || true)
    CPU=$(cpu_notes loadgen.time)
    return "$status"
}
val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$LINE"; }
loadgen_row() { # notes
    printf '| %s | service (gRPC) | %s | %s | %s | %s | %s | %s | %s |\n' \
        "$LABEL" "$(val rps)" "$(val p50)" "$(val p90)" "$(val p99)" "$(val p999)" "$(val max)" \
        "$1" >>results.md
}
failure_notes() {
    echo "FAILED: $(sed -n 's/^status *//p; s/^\(DOUBLE CLAIMS.*\)/\1/p; s/^\(SHARED AGENTS.*\)/\1/p' \
        loadgen.out | tr '|\n' '/ ')"
}

claim_callbacks() {
    LABEL="ClaimNextCallback, $AGENTS agents, claims/s"
    local notes status=0
    run_loadgen claim-callbacks --concurrency "$AGENTS" --duration "$CLAIM_DURATION" --warmup 0 \
        --lease "$LEASE" || status=$?
    local claimed
    claimed=$(val claimed_total)
    # The database must hold exactly the claims the agents were given, by AGENTS agents.
    local in_db agents
    in_db=$(sql "SELECT count(*) FROM callcenter.callback WHERE status = 'CLAIMED'")
    agents=$(sql "SELECT count(DISTINCT claimed_by) FROM callcenter.callback WHERE status = 'CLAIMED'")
    notes="claimed ${claimed:-?} of $CALLBACKS in $(val seconds) s, double claims=$(val double_claims),"
    notes+=" ok=$(val ok) errors=$(val errors); in the database: $in_db CLAIMED by $agents agents; $CPU"
    if [ "$status" != 0 ]; then
        FAILED=1
        notes="$(failure_notes) $notes"
    elif [ "$in_db" != "$claimed" ] || [ "$agents" != "$AGENTS" ]; then
        FAILED=1
        notes="FAILED: the database disagrees with the claims answered; $notes"
    fi
    loadgen_row "$notes"
    [ -n "$claimed" ] && [ "$claimed" -ge "$AGENTS" ] || { FAILED=1; return; }

    # The same number of claims straight in PostgreSQL, on a freshly loaded queue.
    load_callbacks
    local per_client=$((claimed / AGENTS))
    run_pgbench "$AGENTS" claim_callback.sql -t "$per_client" -D lease="$LEASE" || return 0
    in_db=$(sql "SELECT count(*) FROM callcenter.callback WHERE status = 'CLAIMED'")
    pgbench_row "$((per_client * AGENTS)) transactions; in the database: $in_db CLAIMED"
}

open_case() {
    LABEL="OpenCase (INQUIRY, NORMAL)"
    local notes status=0
    run_loadgen open-case --concurrency "$CONC" --duration "$DURATION" --warmup "$WARMUP" ||
        status=$?
    notes="ok=$(val ok) errors=$(val errors); $CPU"
    if [ "$status" != 0 ]; then
        FAILED=1
        notes="$(failure_notes) $notes"
    fi
    loadgen_row "$notes"
    # pgbench saves a response as long as the service's encoded OpenCaseResponse.
    local bytes
    bytes=$(sql "SELECT coalesce(round(avg(length(response))), 0)::int FROM callcenter.idempotency
                 WHERE method = 'OpenCase' AND request_id LIKE 'bench-%'")
    [ "$bytes" -gt 0 ] || { FAILED=1; echo "no OpenCase response was saved" >&2; return; }
    pgbench_args "$CONC" open_case.sql
    "$PGBENCH" "${PGB[@]}" -T "$WARMUP" -D customers="$CUSTOMERS" -D response_bytes="$bytes" \
        postgres >/dev/null
    run_pgbench "$CONC" open_case.sql -T "$DURATION" \
        -D customers="$CUSTOMERS" -D response_bytes="$bytes" || return 0
    pgbench_row "saved response $bytes bytes"
}

{
    echo "Callbacks: $CALLBACKS due at the start of each claim run, $AGENTS agents (lease ${LEASE}s," \
        "run ≤ ${CLAIM_DURATION}s, no warm-up: the queue is the run); customers: $CUSTOMERS;" \
        "OpenCase: $CONC in flight, loadgen connections: $CONNS, ${DURATION}s measured after" \
        "${WARMUP}s warm-up; support cases before the run: $(sql 'SELECT count(*) FROM callcenter.support_case');" \
        "$(nproc) CPUs shared by server, PostgreSQL (fsync on) and the load generator;" \
        "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg). CPU s: CPU time over the" \
        "client's wall time (warm-up included)."
    echo
    echo '| scenario | client | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | notes |'
    echo '|---|---|---:|---:|---:|---:|---:|---:|---|'
} >results.md
for s in $SCENARIOS; do
    case $s in
    claim-callbacks) claim_callbacks ;;
    open-case) open_case ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
done
cat results.md
if [ -n "$FAILED" ]; then
    echo "run_callcenter: some runs FAILED (see the table)" >&2
    exit 1
fi
