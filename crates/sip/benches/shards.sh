#!/usr/bin/env bash
# REGISTER/s through the endpoint with 1 and with 2 shards, same machine, same sipp load:
# a release build of examples/register_uas.rs (a TU that answers 200, or 401 statelessly with
# --stateless) against sipp sending REGISTERs over UDP on 127.0.0.1 at a fixed offered rate.
# Prints, per shard count, the rate sipp got answered and the failed count; alternates 1/2, 3 pairs.
#   crates/sip/benches/shards.sh [rate] [seconds] [--stateless]
set -euo pipefail
cd "$(dirname "$0")/../../.."
RATE=${1:-20000}
SECS=${2:-10}
MODE=${3:-}
PORT=5099
cargo build --release -p agentphone-sip --example register_uas >/dev/null
BIN=target/release/examples/register_uas
SCEN=crates/sip/benches/sipp/register_uac.xml
run() {
  local shards=$1
  $BIN 127.0.0.1:$PORT "$shards" $MODE >/tmp/register_uas.$$.log 2>&1 &
  local pid=$!
  sleep 1
  local total=$((RATE * SECS))
  local out
  out=$(timeout $((SECS + 30)) sipp -sf "$SCEN" -i 127.0.0.1 -p 0 -r "$RATE" -l 20000 -m "$total" \
      -timeout $((SECS + 20))s -max_socket 1 -t u1 -nostdin -trace_stat -stf /tmp/shards.$$.csv \
      127.0.0.1:$PORT 2>&1 | tail -n 40 || true)
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local ok failed
  ok=$(tail -n 1 /tmp/shards.$$.csv | awk -F';' '{print $16}')
  failed=$(tail -n 1 /tmp/shards.$$.csv | awk -F';' '{print $18}')
  local elapsed
  elapsed=$(tail -n 1 /tmp/shards.$$.csv | awk -F';' '{print $4}')
  echo "shards=$shards offered=${RATE}/s successful=$ok failed=$failed elapsed=$elapsed"
  rm -f /tmp/shards.$$.csv
}
for pair in 1 2 3; do
  run 1
  run 2
done
