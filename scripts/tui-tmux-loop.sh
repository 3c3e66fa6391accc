#!/usr/bin/env bash
# Run the tmux TUI end-to-end test (tests/suite/tui_tmux.rs) N times in a row (default 50), print
# how many passed and failed, keep the output of each failed run, and exit non-zero on any failure.
# A test that fails one run in N is a bug (issue 8: the transfer modal once never listed Bob).
#
#   scripts/tui-tmux-loop.sh [N]
set -u
n="${1:-50}"
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tmux is not installed (bash .ci/setup installs it)"; exit 2; }
cargo test --test suite --no-run -q 2>/dev/null || { echo "build failed"; exit 2; }
logs="$(mktemp -d -t tui-tmux-loop.XXXXXX)"
pass=0
fail=0
start=$(date +%s)
for i in $(seq "$n"); do
    t0=$(date +%s)
    if cargo test -q --test suite tui_tmux:: >"$logs/run-$i.log" 2>&1; then
        pass=$((pass + 1))
        rm -f "$logs/run-$i.log"
        echo "run $i: pass ($(( $(date +%s) - t0 )) s)"
    else
        fail=$((fail + 1))
        echo "run $i: FAIL ($(( $(date +%s) - t0 )) s) — output in $logs/run-$i.log"
    fi
done
echo "tui_tmux: $pass passed, $fail failed of $n runs in $(( $(date +%s) - start )) s"
[ "$fail" -eq 0 ]
