#!/usr/bin/env bash
# Gateway benchmark (issue 11): the same calls on the same data, at the same concurrency,
#   direct   loadgen → the services (`dealernet dev --services` without the gateway)
#   gateway  loadgen → `dealernet gateway` (its own process) → the services
#   nginx    loadgen → nginx `grpc_pass` (keep-alive upstream) → the services
# for GetCustomer (dealer) and GetVehicle, closed loop (throughput) and open loop at
# RATE (the latency a hop adds when neither path is saturated), with the CPU time per
# request of the hop's process (gateway or nginx, all workers). Then GetCustomer360 by
# phone through the gateway, open loop at C360_RATE, on the full data (1M customers, 2M
# vehicles, 10M repair lines, CALLBACKS pending callbacks).
# Results: $WORK/results.md (and stdout). Exits 1 if any run failed.
#
# Needs nginx (Debian: `apt-get install nginx`). Knobs (environment): CUSTOMERS, VEHICLES,
# REPAIR_LINES, CALLBACKS, CONC, CONNS, DURATION, WARMUP, RATE, C360_RATE, C360_CONC,
# SCENARIOS (get get-vehicle customer360), PORT (three ports from it), WORK.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}
CUSTOMERS=${CUSTOMERS:-1000000}
VEHICLES=${VEHICLES:-2000000}
REPAIR_LINES=${REPAIR_LINES:-10000000}
CALLBACKS=${CALLBACKS:-100000}
CONC=${CONC:-16}             # in flight, closed loop
CONNS=${CONNS:-4}            # loadgen HTTP/2 connections
DURATION=${DURATION:-20}     # measured seconds per run
WARMUP=${WARMUP:-3}
RATE=${RATE:-2000}           # open-loop rate of the added-latency runs
C360_RATE=${C360_RATE:-1000}
C360_CONC=${C360_CONC:-32}   # open-loop workers of the Customer360 run
SCENARIOS=${SCENARIOS:-"get get-vehicle customer360"}
PORT=${PORT:-50151}
SVC=127.0.0.1:$PORT
GW=127.0.0.1:$((PORT + 1))
NGX=127.0.0.1:$((PORT + 2))
WORK=${WORK:-$CARGO_TARGET_DIR/gateway}
BIN=$CARGO_TARGET_DIR/release
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx is needed: apt-get install nginx" >&2; exit 1; }

cargo build --release -p dealernet -p dealernet-bench
mkdir -p "$WORK/nginx"
WORK=$(cd "$WORK" && pwd)
# The state dir must be enterable by the `postgres` user that dev runs PostgreSQL as.
chmod a+x "$ROOT/target" "$CARGO_TARGET_DIR" "$WORK" 2>/dev/null || true
cd "$WORK"   # so that no dealernet.toml of the repo is picked up

DEV_PID= GW_PID= NGX_PID=
wait_port() { # host:port, pid, log
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { cat "$3"; exit 1; }
        sleep 0.1
    done
    cat "$3"; exit 1
}
start_dev() {
    : >dev.log
    "$BIN/dealernet" dev --state-dir "$WORK/state" --listen "$SVC" \
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
    AGENT_TOKEN=$(sed -n 's/^ *AGENT_TOKEN=\([^ ]*\).*/\1/p' dev.log)
    DB_URL=postgres://postgres@127.0.0.1:$PGPORT/postgres
}
stop_all() {
    for pid in "$NGX_PID" "$GW_PID" "$DEV_PID"; do
        [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    DEV_PID= GW_PID= NGX_PID=
}
trap stop_all EXIT
sql() { "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -Atc "$1"; }

# Loads what is missing, then restarts dev on the loaded data.
start_dev
loaded=
if [ "$(sql 'SELECT count(*) FROM customers.customer')" != "$CUSTOMERS" ]; then
    "$BIN/datagen" --database-url "$DB_URL" --state-dir "$WORK/state" \
        --customers "$CUSTOMERS" --truncate
    loaded=1
fi
marker="vehicles=$VEHICLES repair_lines=$REPAIR_LINES customers=$CUSTOMERS callbacks=$CALLBACKS"
if [ "$(cat loaded 2>/dev/null)" != "$marker" ]; then
    "$BIN/vehicle_datagen" --database-url "$DB_URL" --vehicles "$VEHICLES" \
        --repair-lines "$REPAIR_LINES" --customers "$CUSTOMERS" --truncate
    "$BIN/callcenter_datagen" --database-url "$DB_URL" --callbacks "$CALLBACKS" \
        --customers "$CUSTOMERS" --truncate
    echo "$marker" >loaded
    loaded=1
fi
if [ -n "$loaded" ]; then
    stop_all
    start_dev
fi
! grep -qE 'demo (customers|vehicles)' dev.log   # the server runs on the loaded data

# The gateway as production runs it: its own process, the services at their URLs. The
# limits are raised out of the way (the limiter still runs on every call).
DEALERNET_CUSTOMERS_URL=http://$SVC DEALERNET_VEHICLES_URL=http://$SVC \
    DEALERNET_DEALERS_URL=http://$SVC DEALERNET_CALLCENTER_URL=http://$SVC \
    DEALERNET_RATE_LIMIT_PER_ORG_RPS=1000000 DEALERNET_RATE_LIMIT_BURST=1000000 \
    "$BIN/dealernet" --config "$WORK/state/dev-secrets.toml" gateway --listen "$GW" \
    --database-url "$DB_URL" >gateway.log 2>&1 &
GW_PID=$!
wait_port "$GW" "$GW_PID" gateway.log

# nginx in front of the same services: keep-alive upstream connections, and
# keepalive_requests raised on both sides (its default of 1000 closes connections).
cat >nginx/nginx.conf <<EOF
worker_processes $(nproc);
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream services { server $SVC; keepalive 32; keepalive_requests 1000000; }
    server {
        listen $NGX http2;
        keepalive_requests 1000000;
        location / { grpc_pass grpc://services; }
    }
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>nginx/stderr.log &
NGX_PID=$!
wait_port "$NGX" "$NGX_PID" nginx/stderr.log

# CPU time (µs) of a process and its children so far (utime + stime of each).
cpu_us() {
    local hz total=0 pid
    hz=$(getconf CLK_TCK)
    for pid in $1 $(pgrep -P "$1" || true); do
        read -r -a f <"/proc/$pid/stat"
        total=$((total + f[13] + f[14]))
    done
    echo $((total * 1000000 / hz))
}

FAILED=
{
    echo "Customers: $CUSTOMERS, vehicles: $VEHICLES, repair lines: ~$REPAIR_LINES," \
        "pending callbacks: $CALLBACKS; closed loop $CONC in flight, open loop at $RATE/s;" \
        "loadgen connections: $CONNS; ${DURATION}s measured after ${WARMUP}s warm-up;" \
        "$(nproc) CPUs shared by the services, the hop, PostgreSQL (fsync on) and loadgen."
    echo
    echo '| call | path | load | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | hop CPU µs/req | notes |'
    echo '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|'
} >results.md

run() { # label, path name, address, hop pid (or -), token, scenario, conc, [rate]
    local label=$1 path=$2 addr=$3 hop=$4 token=$5 scenario=$6 conc=$7 rate=${8:-}
    local load=closed args=() before=0 after cpu=
    if [ -n "$rate" ]; then load="$rate/s"; args=(--rate "$rate"); fi
    "$BIN/loadgen" --addr "http://$addr" --token "$token" --scenario "$scenario" \
        --connections "$CONNS" --concurrency "$conc" --duration "$DURATION" --warmup "$WARMUP" \
        --customers "$CUSTOMERS" --vehicles "$VEHICLES" "${args[@]}" >loadgen.out 2>&1 &
    local lg=$!
    sleep "$WARMUP"
    [ "$hop" != - ] && before=$(cpu_us "$hop")
    wait "$lg" || FAILED=1
    cat loadgen.out
    local line
    line=$(grep '^RESULT' loadgen.out || true)
    val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    if [ "$hop" != - ] && [ -n "$(val rps)" ]; then
        after=$(cpu_us "$hop")
        cpu=$(( (after - before) / ($(val rps) * DURATION) ))
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | ok=%s errors=%s unsent=%s |\n' \
        "$label" "$path" "$load" "$(val rps)" "$(val p50)" "$(val p90)" "$(val p99)" \
        "$(val p999)" "$(val max)" "${cpu:-}" "$(val ok)" "$(val errors)" "$(val unsent)" >>results.md
}

for s in $SCENARIOS; do
    case $s in
    get | get-vehicle)
        label=$([ "$s" = get ] && echo "GetCustomer (dealer)" || echo GetVehicle)
        for load in "" "$RATE"; do
            run "$label" direct "$SVC" - "$DEALER_TOKEN" "$s" "$CONC" "$load"
            run "$label" gateway "$GW" "$GW_PID" "$DEALER_TOKEN" "$s" "$CONC" "$load"
            run "$label" nginx "$NGX" "$NGX_PID" "$DEALER_TOKEN" "$s" "$CONC" "$load"
        done
        ;;
    customer360)
        run "GetCustomer360 (phone, agent)" gateway "$GW" "$GW_PID" "$AGENT_TOKEN" \
            customer360 "$C360_CONC" "$C360_RATE"
        ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
done

echo
cat results.md
[ -z "$FAILED" ] || { echo "some runs failed: see the table" >&2; exit 1; }
