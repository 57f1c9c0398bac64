#!/usr/bin/env bash
# Vehicle benchmark: builds release binaries, runs `dealernet dev` (its private, durable
# PostgreSQL) in a scratch dir, loads customers and vehicles once (restarting dev so the
# server runs on the loaded data), then runs each scenario with loadgen and its SQL
# counterpart at the same concurrency:
#   get-vehicle        loadgen get-vehicle         | pgbench vehicle_get.sql
#   vehicle-timeline   loadgen vehicle-timeline    | pgbench vehicle_timeline.sql
#   stream-production  loadgen stream-production   | copy_production (COPY of the same
#                      (ITEMS new vehicles)        | vehicle and timeline rows)
#   repair-cycle       loadgen repair-cycle        | pgbench vehicle_repair_cycle.sql
#                      while event_lag tails StreamEvents (RepairOrderClosed): the
#                      commit-to-consumer lag at the cycle's full rate; then how long
#                      the three consumers of those events take to catch up; pgbench
#                      runs the cycle's SQL with its outbox inserts and without them
#   sale-cycle         loadgen sale-cycle (new cars produced, shipped, received, sold and
#                      delivered) while event_lag tails VehicleSold, with the lag of its
#                      two consumers; not in the default set
# Results: $WORK/results.md (and stdout). Exits 1 if any run failed (the table says which).
#
# Knobs (environment): VEHICLES, REPAIR_LINES, CUSTOMERS (0: no customers), CONC, CONNS,
# DURATION, WARMUP, ITEMS, STREAMS, STATION, SCENARIOS, PORT, WORK.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}
VEHICLES=${VEHICLES:-2000000}
REPAIR_LINES=${REPAIR_LINES:-10000000}
CUSTOMERS=${CUSTOMERS:-1000000}  # owners are bench customers 1..CUSTOMERS
CONC=${CONC:-16}            # in-flight units (loadgen workers = pgbench clients)
CONNS=${CONNS:-4}           # loadgen HTTP/2 connections
DURATION=${DURATION:-30}    # measured seconds per run
WARMUP=${WARMUP:-5}
ITEMS=${ITEMS:-20000}       # new vehicles per stream-production run (each client)
STREAMS=${STREAMS:-1}       # concurrent StreamProduction calls (= pgbench clients)
STATION=${STATION:-S3001}   # the dev STATION_TOKEN's organisation
SCENARIOS=${SCENARIOS:-"get-vehicle vehicle-timeline stream-production repair-cycle"}
LISTEN=127.0.0.1:${PORT:-50051}
WORK=${WORK:-$CARGO_TARGET_DIR/vehicles}
BIN=$CARGO_TARGET_DIR/release
SQL=$ROOT/bench/sql
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)

cargo build --release -p dealernet -p dealernet-bench
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)  # absolute: the script changes directory below
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
    DEALER_TOKEN=$(sed -n 's/^ *DEALER_TOKEN=\([^ ]*\).*/\1/p' dev.log)
    STATION_TOKEN=$(sed -n 's/^ *STATION_TOKEN=\([^ ]*\).*/\1/p' dev.log)
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

sql() { "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -Atc "$1"; }

# Loads what is missing. The vehicle load is recorded in a marker file, because the number
# of repair-order lines it makes is close to, not exactly, REPAIR_LINES.
start_dev
loaded=
if [ "$CUSTOMERS" -gt 0 ] && [ "$(sql 'SELECT count(*) FROM customers.customer')" != "$CUSTOMERS" ]; then
    "$BIN/datagen" --database-url "$DB_URL" --state-dir "$WORK/state" \
        --customers "$CUSTOMERS" --truncate
    loaded=1
fi
marker="vehicles=$VEHICLES repair_lines=$REPAIR_LINES customers=$CUSTOMERS"
if [ "$(cat loaded-vehicles 2>/dev/null)" != "$marker" ] ||
    [ "$(sql "SELECT count(*) >= $VEHICLES FROM vehicles.vehicle" 2>/dev/null)" != t ]; then
    rm -f loaded-vehicles
    "$BIN/vehicle_datagen" --database-url "$DB_URL" --vehicles "$VEHICLES" \
        --repair-lines "$REPAIR_LINES" --customers "$((CUSTOMERS > 0 ? CUSTOMERS : 1000000))" --truncate
    echo "$marker" >loaded-vehicles
    loaded=1
fi
if [ -n "$loaded" ]; then
    stop_dev
    start_dev   # a fresh server process on the loaded data ("existing data reused")
fi
# The server must run on the loaded data: dev adds no demo customers or vehicles to it.
! grep -qE 'demo (customers|vehicles)' dev.log
SYSTEM_TOKEN=$("$BIN/dealernet" token --role system --org PLANT-SH --subject mes.line-feed \
    --state-dir "$WORK/state" --ttl 86400)
MODELS=$("$BIN/vehicle_datagen" --print-models)
export PGOPTIONS='-c search_path=vehicles'

# The pgbench scripts compute VINs themselves: check that they find the loaded vehicles.
"$PGBENCH" -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c 1 -t 20000 \
    -D vehicles="$VEHICLES" -f "$SQL/vehicle_vin_check.sql" postgres >vin_check.out 2>&1 ||
    { cat vin_check.out; echo "the pgbench VIN rule misses loaded vehicles" >&2; exit 1; }

FAILED=
next_free() { "$BIN/copy_production" --database-url "$DB_URL" --print-next-free; }

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

run_pgbench() { # clients, script, pgbench args (-T/-t and -D …)…
    local clients=$1 script=$2; shift 2
    pgbench_args "$clients" "$script"
    rm -f pgbench_log.*
    if ! "$PGBENCH" "${PGB[@]}" "$@" -l postgres >pgbench.out 2>&1; then
        cat pgbench.out
        printf '| %s | pgbench | | | | | | | FAILED: %s |\n' "$LABEL" \
            "$(grep -m1 'error' pgbench.out | tr '|' '/')" >>results.md
        FAILED=1
        return
    fi
    local tps failed
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' pgbench.out | head -1)
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' pgbench.out)
    read -r p50 p90 p99 p999 max <<<"$(pg_percentiles)"
    printf '| %s | pgbench | %.0f | %s | %s | %s | %s | %s | failed=%s |\n' \
        "$LABEL" "$tps" "$p50" "$p90" "$p99" "$p999" "$max" "${failed:-0}" >>results.md
}

run_pgbench_timed() { # script, -D args… (warm-up, then DURATION seconds at CONC clients)
    local script=$1; shift
    pgbench_args "$CONC" "$script"
    "$PGBENCH" "${PGB[@]}" -T "$WARMUP" "$@" postgres >/dev/null
    run_pgbench "$CONC" "$script" -T "$DURATION" "$@"
}

run_loadgen() { # token, scenario, extra args…
    local token=$1 scenario=$2; shift 2
    local status=0
    "$BIN/loadgen" --addr "http://$LISTEN" --token "$token" --scenario "$scenario" \
        --connections "$CONNS" --concurrency "$CONC" --duration "$DURATION" \
        --warmup "$WARMUP" --vehicles "$VEHICLES" "$@" | tee loadgen.out || status=$?
    local line notes
    line=$(grep '^RESULT' loadgen.out || true)
    val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    notes="ok=$(val ok) errors=$(val errors)"
    if [ "$status" != 0 ]; then
        FAILED=1
        notes="FAILED: $(sed -n 's/^status *//p' loadgen.out | tr '|' '/')"
    fi
    printf '| %s | service (gRPC) | %s | %s | %s | %s | %s | %s | %s |\n' \
        "$LABEL" "$(val rps)" "$(val p50)" "$(val p90)" "$(val p99)" "$(val p999)" "$(val max)" \
        "$notes" >>results.md
}

stream_production() {
    LABEL="StreamProduction, $STREAMS stream(s), items/s (latency: gap between results)"
    local conc=$CONC
    CONC=$STREAMS
    run_loadgen "$SYSTEM_TOKEN" stream-production --items "$((ITEMS * STREAMS))" \
        --new-from "$(next_free)"
    CONC=$conc
    "$BIN/copy_production" --database-url "$DB_URL" --count "$((ITEMS * STREAMS))" | tee copy.out
    local line
    line=$(grep '^RESULT' copy.out)
    val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    printf '| COPY of the same rows, one transaction, vehicles/s | COPY | %s | | | | | | %s rows in %s s: %s rows/s |\n' \
        "$(val vps)" "$(val rows)" "$(val seconds)" "$(val rowps)" >>results.md
}

with_event_lag() { # event type, command…: runs the command while event_lag tails that type
    local type=$1; shift
    "$BIN/event_lag" --addr "http://$LISTEN" --token "$HQ_TOKEN" --types "$type" \
        --warmup "$WARMUP" --duration "$DURATION" >event_lag.out 2>&1 &
    local lag_pid=$!
    "$@"
    if wait "$lag_pid"; then
        local line
        line=$(grep '^RESULT' event_lag.out)
        lag() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
        printf '| %s commit-to-consumer lag, events/s | StreamEvents | %s | %s | %s | %s | %s | %s | events=%s |\n' \
            "$type" "$(lag eps)" "$(lag p50)" "$(lag p90)" "$(lag p99)" "$(lag p999)" "$(lag max)" \
            "$(lag events)" >>results.md
    else
        cat event_lag.out
        printf '| %s lag | StreamEvents | | | | | | | FAILED |\n' "$type" >>results.md
        FAILED=1
    fi
}

# The consumers of the vehicle service's events, as "schema:consumer".
REPAIR_CONSUMERS="customers:customers-value callcenter:callcenter-outreach dealers:dealers"
SALE_CONSUMERS="customers:customers-value dealers:dealers"

# The cursors of consumers ("schema:consumer"…) on the vehicle service's stream, as SQL
# rows (consumer, tx_id, position).
cursors_sql() {
    local entry sep=
    for entry in "$@"; do
        printf "%s SELECT '%s' AS consumer, tx_id, position FROM %s.event_cursor WHERE source = 'vehicles'" \
            "$sep" "${entry#*:}" "${entry%%:*}"
        sep=" UNION ALL"
    done
}

# While a run is measured: the lag of each consumer of the vehicle service's events of type
# $1, sampled ten times a second: the age of the oldest such event past its cursor (0 when
# it has applied them all). event_lag above times a bare stream; this is the consumers
# with their apply work. Results: consumer_lag.out (consumer, ms per line).
sample_consumer_lag() { # event type, consumers ("schema:consumer")…
    local type=$1; shift
    local query="SELECT c.consumer, coalesce(round(extract(epoch FROM clock_timestamp() - e.occurred_at) * 1000), 0)
        FROM ($(cursors_sql "$@")) c
        LEFT JOIN LATERAL (SELECT occurred_at FROM vehicles.outbox_event e
            WHERE (e.tx_id, e.position) > (c.tx_id, c.position) AND e.event_type = '$type'
            ORDER BY e.tx_id, e.position LIMIT 1) e ON true"
    sleep "$WARMUP"
    timeout "$DURATION" "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -At -F ' ' \
        <<<"$query \watch 0.1" | awk 'NF == 2' >consumer_lag.out || true
}

consumer_lag_rows() { # event type, consumers…: one results row each from consumer_lag.out
    local type=$1 entry consumer; shift
    for entry in "$@"; do
        consumer=${entry#*:}
        awk -v c="$consumer" '$1 == c { print $2 }' consumer_lag.out | sort -n | awk -v c="$consumer" -v t="$type" '
            { v[NR] = $1 }
            END {
                if (NR == 0) { printf "| %s lag of consumer %s | cursors | | | | | | | FAILED: no samples |\n", t, c; exit }
                split("0.5 0.9 0.99", q, " ")
                for (i = 1; i <= 3; i++) { k = int(q[i] * NR); if (k < 1) k = 1; p[i] = v[k] }
                printf "| %s lag of consumer %s (applied) | cursors | | %d | %d | %d | | %d | %d samples |\n", t, c, p[1], p[2], p[3], v[NR], NR
            }' >>results.md
    done
}

# After a run: how long the consumers of the vehicle service's events of type $1 take to
# pass the last such event once the load has stopped. A consumer that keeps up passes it
# at once; one that fell behind applies its backlog now. Then the rate the platform
# sustained with every consumer's work done: the run's cycles over the run plus that
# catching up.
consumers_drain() { # event type, the run's req/s, consumers…
    local type=$1 rps=$2 last behind started elapsed; shift 2
    last=$(sql "SELECT tx_id::text || ',' || position FROM vehicles.outbox_event
        WHERE event_type = '$type' ORDER BY tx_id DESC, position DESC LIMIT 1")
    started=$(date +%s.%N)
    while :; do
        behind=$(sql "SELECT count(*) FROM ($(cursors_sql "$@")) c
            WHERE (c.tx_id, c.position) < ('${last%,*}'::xid8, ${last#*,})")
        [ "$behind" = 0 ] && break
        if awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN { exit !(n - s > 600) }'; then
            printf '| %s consumers | cursors | | | | | | | FAILED: %s still behind after 600 s |\n' \
                "$type" "$behind" >>results.md
            FAILED=1
            return
        fi
        sleep 0.1
    done
    elapsed=$(awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN { print n - s }')
    printf '| %s consumers (%d) caught up after the load, s; sustained cycles/s | cursors | %.0f | | | | | | caught up %.1f s after the load stopped |\n' \
        "$type" "$#" "$(awk -v r="$rps" -v d="$DURATION" -v e="$elapsed" 'BEGIN { print r * d / (d + e) }')" \
        "$elapsed" >>results.md
}

# Runs a command while the consumers' lag of an event type is sampled, then reports it
# and the catching up: event type, consumers (one word), command…
with_consumer_lag() {
    local type=$1 consumers sampler
    read -ra consumers <<<"$2"
    shift 2
    sample_consumer_lag "$type" "${consumers[@]}" &
    sampler=$!
    "$@"
    wait "$sampler"
    consumer_lag_rows "$type" "${consumers[@]}"
    consumers_drain "$type" "$(sed -n 's/^RESULT.* rps=\([0-9.]*\).*/\1/p' loadgen.out)" \
        "${consumers[@]}"
}

{
    echo "Vehicles: $VEHICLES (repair-order lines ≈ $REPAIR_LINES), customers: $CUSTOMERS;" \
        "in flight: $CONC, loadgen connections: $CONNS, ${DURATION}s measured after ${WARMUP}s" \
        "warm-up; StreamProduction: $ITEMS items per stream, $STREAMS stream(s); $(nproc) CPUs" \
        "shared by server, PostgreSQL (fsync on) and the load generator."
    echo
    echo '| scenario | client | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | notes |'
    echo '|---|---|---:|---:|---:|---:|---:|---:|---|'
} >results.md
for s in $SCENARIOS; do
    case $s in
    get-vehicle)
        LABEL="GetVehicle"
        run_loadgen "$DEALER_TOKEN" get-vehicle
        run_pgbench_timed vehicle_get.sql -D vehicles="$VEHICLES"
        ;;
    vehicle-timeline)
        LABEL="GetVehicleTimeline (first page)"
        run_loadgen "$DEALER_TOKEN" vehicle-timeline
        run_pgbench_timed vehicle_timeline.sql -D vehicles="$VEHICLES" -D outlet=D1001
        ;;
    stream-production) stream_production ;;
    sale-cycle)
        # No SQL counterpart: this run measures the sale workload's events (VehicleSold).
        LABEL="Sale cycle (5 RPCs: produce, dispatch, receive, sell, deliver), cycles/s"
        with_consumer_lag VehicleSold "$SALE_CONSUMERS" \
            with_event_lag VehicleSold run_loadgen "$HQ_TOKEN" sale-cycle --new-from "$(next_free)" \
            --customers "$((CUSTOMERS > 0 ? CUSTOMERS : 1000000))"
        ;;
    repair-cycle)
        LABEL="Repair cycle (7 RPCs), cycles/s"
        with_consumer_lag RepairOrderClosed "$REPAIR_CONSUMERS" \
            with_event_lag RepairOrderClosed run_loadgen "$STATION_TOKEN" repair-cycle --station "$STATION"
        payload=$(sql "SELECT encode(payload, 'hex') FROM vehicles.outbox_event
            WHERE event_type = 'VehicleChanged' ORDER BY tx_id DESC, position DESC LIMIT 1")
        run_pgbench_timed vehicle_repair_cycle.sql -D vehicles="$VEHICLES" -D station="$STATION" \
            -D outbox=1 -D payload="$payload"
        # The same SQL without its outbox inserts, right after: what the outbox costs.
        LABEL="Repair cycle without the outbox inserts, cycles/s"
        run_pgbench_timed vehicle_repair_cycle.sql -D vehicles="$VEHICLES" -D station="$STATION" \
            -D outbox=0 -D payload="$payload"
        ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
done
cat results.md
if [ -n "$FAILED" ]; then
    echo "run_vehicles: some runs FAILED (see the table)" >&2
    exit 1
fi
