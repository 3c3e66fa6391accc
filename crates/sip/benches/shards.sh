#!/usr/bin/env bash
# REGISTER/s through the endpoint with 1 and with 2 shards on the same machine under the same sipp
# load: a release build of examples/register_uas.rs (a TU that answers 200 in a transaction, or
# 401 statelessly with --stateless) against sipp sending REGISTERs over UDP on 127.0.0.1 from 64
# source ports (so the kernel's SO_REUSEPORT hash spreads them over the shards), offered above
# capacity. Prints, per run, the median answered/s the TU counted; alternates 1/2 shards, 3 pairs,
# then the median ratio 2-shards/1-shard.
#   crates/sip/benches/shards.sh [offered rate] [seconds] [--stateless]
set -euo pipefail
cd "$(dirname "$0")/../../.."
RATE=${1:-30000}
SECS=${2:-8}
MODE=${3:-}
PORT=5099
cargo build --release -q -p agentphone-sip --example register_uas
BIN=target/release/examples/register_uas
SCEN=crates/sip/benches/sipp/register_uac.xml
LOG=$(mktemp)
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }
run() {
  "$BIN" "127.0.0.1:$PORT" "$1" $MODE >"$LOG" 2>&1 &
  local pid=$!
  sleep 0.5
  timeout $((SECS + 20)) sipp -sf "$SCEN" -i 127.0.0.1 -r "$RATE" -l 20000 -m $((RATE * SECS)) \
    -t un -max_socket 64 -nostdin -timeout $((SECS + 10))s "127.0.0.1:$PORT" >/dev/null 2>&1 || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Seconds with traffic, without the first and last (ramp up / tail); their median.
  grep 'answered/s' "$LOG" | awk '$1 > 0 {print $1}' | sed '1d;$d' | median
}
declare -a one two
for pair in 1 2 3; do
  a=$(run 1); b=$(run 2)
  one+=("$a"); two+=("$b")
  echo "pair $pair: 1 shard ${a}/s, 2 shards ${b}/s"
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
echo "median: 1 shard ${m1}/s, 2 shards ${m2}/s, ratio $(awk -v a="$m1" -v b="$m2" 'BEGIN {printf "%.2f", (a>0)?b/a:0}')"
rm -f "$LOG"
