#!/usr/bin/env bash
# CPU seconds of a clean CI-style test build, per crate: where the build time of `.ci/test` goes.
# CPU time (user + sys of each rustc) does not depend much on what else the machine is doing,
# unlike wall time. Build scripts' own run time (C compiled by `cc`) is not in the per-crate lines.
#
#   scripts/build-cpu-by-crate.sh [TOP]     (a clean build in a temporary target dir: ~15 CPU-min)
set -euo pipefail
top="${1:-40}"
cd "$(dirname "$0")/.."
work="$(mktemp -d -t build-cpu.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cat >"$work/rustc-timed" <<WRAP
#!/usr/bin/env bash
name=unknown; kind=""; prev=""
for a in "\$@"; do
  [ "\$prev" = "--crate-name" ] && name="\$a"
  [ "\$a" = "--test" ] && kind="(test)"
  prev="\$a"
done
exec /usr/bin/time -a -o "$work/cpu.log" -f "%U %S \$name \$kind" "\$@"
WRAP
chmod +x "$work/rustc-timed"
export CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$work/target" RUSTC_WRAPPER="$work/rustc-timed"
if clippy-driver --version >/dev/null 2>&1; then # as .ci/test builds
  export RUSTC_WORKSPACE_WRAPPER=clippy-driver
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
fi
start=$(date +%s)
cargo test --workspace --all-targets --no-run -q
echo "wall $(( $(date +%s) - start )) s"
awk '{c = $1 + $2; t += c; if ($3 ~ /^(agentphone|suite)/) w += c}
     END {printf "rustc CPU %.0f s: workspace %.0f, dependencies %.0f\n", t, w, t - w}' "$work/cpu.log"
awk '{a[$3 " " $4] += $1 + $2} END {for (k in a) printf "%7.1f  %s\n", a[k], k}' "$work/cpu.log" |
  sort -rn | head -n "$top"
