# Shared helpers of the bench scripts (sourced, not run). Everything stays on 127.0.0.1; every
# process started here is recorded and killed on exit.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
WORK="$(mktemp -d /tmp/agentphone-bench.XXXXXX)"
AGENTS="${AGENTS:-100}"
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }

# Install a Debian package when its command is missing.
need() {
    local cmd="$1" pkg="$2"
    command -v "$cmd" >/dev/null && return 0
    log "installing $pkg (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >"$WORK/apt-$pkg.log" 2>&1 \
        || { log "apt-get install $pkg failed, see $WORK/apt-$pkg.log"; KEEP_WORK=1; exit 1; }
}

# A UDP+TCP port free on 127.0.0.1.
free_port() {
    python3 - <<'PY'
import socket
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port)); print(port); break
    except OSError:
        pass
    finally:
        t.close(); u.close()
PY
}

# The bench users: agent000 … agentNNN, password secret-agentNNN.
user_name() { printf 'agent%03d' "$1"; }

# sipp injection file: user;[authentication …] (sipp 3.6 does not expand fields inside the keyword,
# so the whole keyword is the second field).
write_users_csv() {
    local out="$1" i
    echo "SEQUENTIAL" >"$out"
    for ((i = 0; i < AGENTS; i++)); do echo "$(user_name $i);[authentication username=$(user_name $i) password=secret-$(user_name $i)]" >>"$out"; done
}

# The server's config: bench/agentphone-bench.toml plus the users, a team `support` of all and
# $SERVER_CONFIG_EXTRA.
write_server_config() {
    local out="$1" port="$2" i members=""
    sed "s/@PORT@/$port/; s|@REPO@|$REPO_DIR|" "$BENCH_DIR/agentphone-bench.toml" >"$out"
    # SERVER_KEYS_EXTRA: more keys of the [server] table (the template ends with that table).
    if [[ -n "${SERVER_KEYS_EXTRA:-}" ]]; then printf '%s\n' "$SERVER_KEYS_EXTRA" >>"$out"; fi
    for ((i = 0; i < AGENTS; i++)); do
        printf '\n[[agents]]\nusername = "%s"\npassword = "secret-%s"\n' "$(user_name $i)" "$(user_name $i)" >>"$out"
        members+="\"$(user_name $i)\", "
    done
    printf '\n[[teams]]\nname = "support"\ninbound = "support"\nmembers = [%s]\n' "${members%, }" >>"$out"
    # SERVER_CONFIG_EXTRA: more TOML for a script's own needs (another team, a [security] table).
    if [[ -n "${SERVER_CONFIG_EXTRA:-}" ]]; then printf '\n%s\n' "$SERVER_CONFIG_EXTRA" >>"$out"; fi
}

# Build the release server (and loadgen) once. SKIP_BUILD=1: use what is there (or SERVER_BIN,
# LOADGEN_BIN: other binaries, e.g. to compare two builds).
build_release() {
    [[ "${SKIP_BUILD:-0}" == 1 ]] && return 0
    log "building release binaries (cargo build --release $*)"
    (cd "$REPO_DIR" && cargo build --release --quiet "$@") || { log "build failed"; exit 1; }
}

# Start agentphone-server on 127.0.0.1:$1; sets SERVER_PID.
start_server() {
    local port="$1" dir="$WORK/server-$1"
    mkdir -p "$dir"
    write_server_config "$dir/config.toml" "$port"
    # SERVER_THREADS: runtime worker threads (tokio's TOKIO_WORKER_THREADS; default one per core).
    env RUST_LOG="${SERVER_LOG:-warn}" ${SERVER_THREADS:+TOKIO_WORKER_THREADS=$SERVER_THREADS} \
        "${SERVER_BIN:-$REPO_DIR/target/release/agentphone-server}" --config "$dir/config.toml" \
        >"$dir/stdout" 2>"$dir/stderr" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q listening "$dir/stdout" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "agentphone-server did not start:"; cat "$dir/stderr" >&2; exit 1
}

# Resident memory of one process in MB (VmRSS).
rss_mb() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# Proportional memory (PSS, shared memory split) of a process and its children, in MB.
pss_tree_mb() {
    local pids total=0 p v
    pids="$1 $(pgrep -P "$1" | tr '\n' ' ')"
    for p in $pids; do
        v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    awk -v k="$total" 'BEGIN { printf "%.1f", k / 1024 }'
}

# Median of the numbers given as arguments.
median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# sipp's transport, the same for both servers: one UDP socket (`u1`, sipp's default) — Kamailio's
# best (its children share one socket; with `-t un -max_socket 64` it measured ≈ 3× slower here).
# Our server handles one client socket on every core too (several receive workers per socket).
# SIPP_T="-t un -max_socket 64" to try the other.
read -r -a SIPP_TRANSPORT <<<"${SIPP_T:--t u1}"

# Peak resident memory of one process in MB (VmHWM).
peak_mb() {
    awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# 1-minute load average (other work on the machine skews every figure: printed with them).
load_avg() { cut -d' ' -f1 /proc/loadavg; }

# Run one sipp step: scenario $1 against 127.0.0.1:$2 at $3 calls/s for $STEP_S seconds.
# Prints "successful failed seconds" (seconds: sipp's whole run, start to last answer).
SIPP_EXTRA=()
STEP_S="${STEP_S:-4}"
sipp_step() {
    local scenario="$1" port="$2" rate="$3" calls stat out start end
    calls=$((rate * STEP_S))
    stat="$WORK/stat-$$-$RANDOM.csv"
    out="$WORK/sipp.out"
    start=$(date +%s.%N)
    timeout $((STEP_S + 20)) sipp 127.0.0.1:"$port" -sf "$BENCH_DIR/sipp/$scenario" -i 127.0.0.1 -p 0 \
        "${SIPP_TRANSPORT[@]}" -r "$rate" -m "$calls" -l $((rate * 2 + 100)) -buff_size 4194304 -recv_timeout 2000 \
        -max_recv_loops 100000 -max_sched_loops 100000 -nostdin -trace_stat -stf "$stat" -fd 100 \
        "${SIPP_EXTRA[@]}" >"$out" 2>&1 || true
    end=$(date +%s.%N)
    # sipp's own CPU (this subshell's waited children: timeout and sipp), for the benches to print.
    # (`times` must not run in a pipe: a forked shell has no children.)
    times >"$WORK/sipp-times"
    tail -1 "$WORK/sipp-times" | awk '{ gsub(/[ms]/, " "); printf "%.2f\n", $1 * 60 + $2 + $3 * 60 + $4 }' >"$WORK/sipp-cpu-s"
    if [[ ! -s "$stat" ]]; then log "sipp produced no statistics:"; tail -5 "$out" >&2; echo "0 $calls 0"; return; fi
    # Calls sipp never finished (killed by the time-out) count as failed.
    read -r ok bad <<<"$(sipp_counts "$stat")"
    awk -v ok="$ok" -v bad="$bad" -v start="$start" -v end="$end" -v want="$calls" '
        BEGIN { missing = want - ok - bad; if (missing < 0) missing = 0
                printf "%d %d %.1f\n", ok, bad + missing, end - start }'
}

# "successful failed" calls from a sipp stat file (the last line holds the cumulative counters;
# columns are named in the first line). A caller who gave up and ended the call cleanly
# (customer-call.xml's CANCEL path, generic counter 2) reaches the scenario's end, which sipp
# counts as successful: failed here.
sipp_counts() {
    awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { ok = $c["SuccessfulCall(C)"]; bad = $c["FailedCall(C)"]; gave_up = ("GenericCounter2(C)" in c) ? $c["GenericCounter2(C)"] : 0 }
        END { print ok - gave_up, bad + gave_up }' "$1" 2>/dev/null || echo "0 0"
}

# Highest rate (calls/s) at which scenario $1 on port $2 gets < 1 % failed calls, with sipp done
# within STEP_S + 3 s (it could place the calls at that rate; its start and the last calls' answers
# take the rest): rates grow ×1.5 from $START_RATE until a step fails, then 3 bisections.
rate_search() {
    local scenario="$1" port="$2" lo=0 hi=0 rate="${START_RATE:-1000}" max="${MAX_RATE:-60000}" r
    step_ok() {
        local res ok bad secs
        sleep "${COOL_S:-2}"  # let the previous step's retransmissions and time-outs settle
        res=$(sipp_step "$scenario" "$port" "$1")
        read -r ok bad secs <<<"$res"
        log "    $scenario @ $1/s: $ok ok, $bad failed, sipp ran $secs s"
        [[ $ok -gt 0 && $((bad * 100)) -lt $((ok + bad)) ]] &&
            awk -v s="$secs" -v lim=$((STEP_S + 3)) 'BEGIN { exit !(s <= lim) }'
    }
    while ((rate <= max)); do
        if step_ok "$rate"; then lo=$rate; rate=$((rate * 3 / 2)); else hi=$rate; break; fi
    done
    if ((hi == 0)); then echo "$lo"; return; fi
    for _ in 1 2 3; do
        r=$(((lo + hi) / 2))
        if step_ok "$r"; then lo=$r; else hi=$r; fi
    done
    echo "$lo"
}

# Start agentphone-loadgen against 127.0.0.1:$1 with the given extra options; waits for "ready".
start_loadgen() {
    local port="$1" out="$WORK/loadgen-$RANDOM" i
    shift
    "${LOADGEN_BIN:-$REPO_DIR/target/release/agentphone-loadgen}" --server "127.0.0.1:$port" "$@" >"$out.out" 2>"$out.err" &
    LOADGEN_PID=$!
    PIDS+=("$LOADGEN_PID")
    for ((i = 0; i < 600; i++)); do
        if grep -q '"ready"' "$out.out" 2>/dev/null; then
            log "loadgen: $(grep '"ready"' "$out.out")"
            return 0
        fi
        kill -0 "$LOADGEN_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "agentphone-loadgen did not get ready:"; cat "$out.err" >&2; exit 1
}

# CPU seconds (user + system) a process has used.
cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# CPU seconds (user + system) per thread name of a process, one "name seconds" line each (threads
# of the same name summed; digits at the end of a name dropped: media-0 and media-1 are "media-").
thread_cpu() {
    local hz t
    hz=$(getconf CLK_TCK)
    for t in /proc/"$1"/task/*; do
        # comm may hold spaces; the fields after the closing parenthesis are fixed.
        sed -E 's/^[0-9]+ \((.*)\) [A-Za-z] (.*)$/\1\t\2/' "$t/stat" 2>/dev/null
    done | awk -F'\t' -v hz="$hz" '{ n = $1; sub(/[0-9]+$/, "", n); split($2, f, " ")
        # utime and stime are fields 14 and 15 of stat, 11 and 12 after the state.
        cpu[n] += (f[11] + f[12]) / hz } END { for (n in cpu) printf "%s %.2f\n", n, cpu[n] }' | sort
}

# Per-thread CPU between two thread_cpu snapshots ($1 before, $2 after), per call ($3 calls):
# "name µs/call" for each thread name that used any CPU, largest first.
thread_cpu_per_call() {
    join -a2 -e 0 -o 0,1.2,2.2 <(echo "$1") <(echo "$2") |
        awk -v n="$3" '{ d = $3 - $2; if (d > 0 && n > 0) printf "%s=%.0f\n", $1, d * 1e6 / n }' |
        sort -t= -k2 -rn | paste -sd' ' -
}
