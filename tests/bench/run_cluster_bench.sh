#!/usr/bin/env bash
# Runs the cluster benchmark of issue 7 in one go (docs/benchmarks.md,
# "Cluster (issue 7)"): requests/s of the CPU-bound demo route node.work
# through one gateway with 1, 2 and 3 worker processes, against the same
# route served by a standalone node in the same run; and the latency one hop
# through a gateway adds to echo.actor. Builds nothing: build first, e.g.
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release \
#     -DWEFT_BUILD_BENCHMARKS=ON -DWEFT_BUILD_TESTS=OFF
#   ninja -C build-bench weftd weft_load
#
# usage: tests/bench/run_cluster_bench.sh [BUILD_DIR]     (default: build-bench)
# env:   CELL_SECONDS (4) and WARMUP_SECONDS (1) per row,
#        WORK_US (50: node.work's CPU time per request),
#        CONNS (64) x INFLIGHT (4): the node.work load,
#        WORKERS (3): the largest number of worker processes,
#        WEFTD_FLAGS (extra flags for every node), WORKER_FLAGS (workers
#        only, e.g. --scheduler-threads 1), unquoted words.
#
# Everything listens on 127.0.0.1 with port 0; every process started here is
# stopped on exit. Only the processes of the row being measured run during
# it (the standalone node is stopped while the cluster runs, and back for a
# second reference row at the end, which shows the drift within the run).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-bench}
bin=$build/bin
cell_s=${CELL_SECONDS:-4}
warmup_s=${WARMUP_SECONDS:-1}
work_us=${WORK_US:-50}
conns=${CONNS:-64}
inflight=${INFLIGHT:-4}
max_workers=${WORKERS:-3}

source "$here/bench_lib.sh"
require weftd weft_load

clk_tck=$(getconf CLK_TCK)
# The binary listener's line (the gateway also logs its node port).
edge_regex='binary\.listening address=127\.0\.0\.1:[0-9]+'
node_flags=(--tcp-listen 127.0.0.1:0 --http-listen "" --log-level info
  ${WEFTD_FLAGS:-})

# cpu_ticks PID...: user + system clock ticks the processes have used.
cpu_ticks() {
  local pid total=0 t
  for pid in "$@"; do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}

# busy_ticks: clock ticks the machine spent on processes of normal priority
# (user + system + interrupts; niced builds are not counted).
busy_ticks() { awk '/^cpu / { print $2 + $4 + $7 + $8; exit }' /proc/stat; }

# per_second TICKS_BEFORE TICKS_AFTER SECONDS: CPU-seconds per second.
per_second() {
  awk -v a="$1" -v b="$2" -v s="$3" -v hz="$clk_tck" \
    'BEGIN { printf "%.2f", (b - a) / hz / s }'
}

# measured LOAD_ARGS...: one weft_load run (bounded like bench_lib's load)
# and where the machine's CPU went meanwhile, in CPU-seconds per second of
# the run: $gw_cores (the gateway or the standalone node), $worker_cores
# (all workers), $load_cores (the load generator) and $other_cores
# (everything else of normal priority: other people's jobs). Sets $out.
measured() {
  local g0 w0 m0 t0 t1 secs
  g0=$(cpu_ticks "${gw_pids[@]}"); w0=$(cpu_ticks "${worker_pids[@]}")
  m0=$(busy_ticks); t0=$(date +%s.%N)
  out=$(/usr/bin/time -f '%U %S' -o "$tmp/load.time" timeout 120 \
    "$bin/weft_load" "$@" --max-seconds 100 2>>"$tmp/load.err" || true)
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  gw_cores=$(per_second "$g0" "$(cpu_ticks "${gw_pids[@]}")" "$secs")
  worker_cores=-
  [[ ${#worker_pids[@]} == 0 ]] ||
    worker_cores=$(per_second "$w0" "$(cpu_ticks "${worker_pids[@]}")" "$secs")
  load_cores=$(awk -v s="$secs" '{ printf "%.2f", ($1 + $2) / s; exit }' \
    "$tmp/load.time" 2>/dev/null || echo "?")
  other_cores=$(awk -v m="$(per_second "$m0" "$(busy_ticks)" "$secs")" \
    -v g="$gw_cores" -v w="${worker_cores/-/0}" -v l="${load_cores/\?/0}" \
    'BEGIN { x = m - g - w - l; printf "%.2f", x < 0 ? 0 : x }')
}

# error_of LINE: weft_load's first_error (the rest of the line).
error_of() { sed -n 's/.* first_error=//p' <<<"$1"; }

work_args=(echo --route node.work --body "$work_us" --conns "$conns"
  --inflight "$inflight" --warmup "$warmup_s" --duration "$cell_s")
hop_args=(echo --route echo.actor --size 16 --conns 1 --inflight 1
  --warmup "$warmup_s" --duration "$cell_s")

work_fmt='%-26s %8s %6s %9s %9s %6s %6s %6s %6s %6s  %s\n'
work_header() {
  printf "$work_fmt" row "req/s" ratio "p50 us" "p99 us" errors gw wrk load other \
    notes
}
# work_row NAME: measures node.work at $edge_port and prints the row.
work_row() {
  local name=$1 rate notes=""
  measured "${work_args[@]}" --port "$edge_port"
  rate=$(field "$out" msgs_per_s)
  [[ -z $rate ]] && notes="load failed"
  [[ -n $rate && $(field "$out" dead) != 0 ]] && notes="dead=$(field "$out" dead)"
  [[ -n $(error_of "$out") ]] && notes="$notes first_error=$(error_of "$out")"
  [[ -z ${local_rate:-} ]] && local_rate=${rate:-0}
  printf "$work_fmt" "$name" "${rate:-0}" "$(ratio "${rate:-0}" "$local_rate")" \
    "$(field "$out" p50_us)" "$(field "$out" p99_us)" "$(field "$out" errors)" \
    "$gw_cores" "$worker_cores" "$load_cores" "$other_cores" "$notes"
}

hop_fmt='%-28s %9s %9s %9s %7s %6s\n'
# hop_row NAME: measures echo.actor at $edge_port, prints the row and sets
# $hop_p50 / $hop_p99.
hop_row() {
  measured "${hop_args[@]}" --port "$edge_port"
  hop_p50=$(field "$out" p50_us); hop_p99=$(field "$out" p99_us)
  printf "$hop_fmt" "$1" "$(field "$out" msgs_per_s)" "$hop_p50" "$hop_p99" \
    "$(field "$out" errors)" "$other_cores"
}

# start_standalone LOG_NAME: a node of role both serving the demo app
# (node.work in a pool of one handler actor per core); sets $standalone_pid.
start_standalone() {
  start "$1" "$edge_regex" "$bin/weftd" --name local "${node_flags[@]}"
  standalone_pid=$pid
  edge_port=$port
  gw_pids=("$pid")
  worker_pids=()
}

# wait_workers N: until the gateway's log says N workers are up (bounded).
wait_workers() {
  for _ in $(seq 200); do
    grep -qE "cluster\.node_up.* up=$1( |$)" "$tmp/gateway.log" && return 0
    sleep 0.1
  done
  echo "only $(grep -c 'cluster\.node_up' "$tmp/gateway.log" || true) of $1 workers joined in 20 s:" >&2
  tail -5 "$tmp"/w*.log >&2
  exit 1
}

echo "# weft cluster benchmark (issue 7), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
machine_lines
echo "# rows of ${cell_s}s after ${warmup_s}s warm-up, 1 load thread, binary protocol; weftd flags: ${WEFTD_FLAGS:-(defaults)}; worker flags: ${WORKER_FLAGS:-(defaults)}"
echo "# every process shares the machine's $(nproc) cores: gateway, workers and the load generator"
echo

start_standalone standalone
echo "## 1. node.work ($work_us us of CPU per request), $conns conns x $inflight in flight"
echo "# ratio: to the standalone node's first row. CPU-seconds per second of the row"
echo "# used by: gw, the gateway (or the standalone node); wrk, all workers; load, the"
echo "# load generator; other, the rest of the machine (other jobs, niced ones excluded)"
work_header
work_row "standalone node (local)"
hop_row "direct (standalone node)" >"$tmp/hop_direct"
direct_p50=$hop_p50; direct_p99=$hop_p99
stop "$standalone_pid"

start gateway "$edge_regex" "$bin/weftd" --name gw --role gateway \
  --node-listen 127.0.0.1:0 "${node_flags[@]}"
edge_port=$port
gw_pids=("$pid")
worker_pids=()
node_port=$(grep -oE 'cluster_listening.*port=[0-9]+' "$tmp/gateway.log" |
  grep -oE '[0-9]+$' | head -1)
# The hop must reach a route that only the worker serves: the gateway alone
# has to refuse echo.actor.
alone=$(load echo --route echo.actor --size 16 --conns 1 --inflight 1 \
  --warmup 0 --duration 0.3 --port "$edge_port")
if [[ $(error_of "$alone") == "bad reply (code 2)" ]]; then
  gateway_alone="the gateway alone answers echo.actor not_found: only the worker serves it"
else
  gateway_alone="WARNING: the gateway alone answered echo.actor ($alone): the through row is not a hop"
fi

for n in $(seq "$max_workers"); do
  # Workers open no edge listener: the gateway's cluster.node_up says when
  # one has joined and its routes are in the gateway's table.
  "$bin/weftd" --name "w$n" --role worker --join "127.0.0.1:$node_port" \
    "${node_flags[@]}" ${WORKER_FLAGS:-} >"$tmp/w$n.log" 2>&1 &
  pids+=("$!")
  worker_pids+=("$!")
  wait_workers "$n"
  work_row "gateway + $n worker$([[ $n == 1 ]] || echo s)"
  if [[ $n == 1 ]]; then
    hop_row "through gateway + 1 worker" >"$tmp/hop_through"
    through_p50=$hop_p50; through_p99=$hop_p99
  fi
done
for p in "${worker_pids[@]}" "${gw_pids[@]}"; do stop "$p"; done

start_standalone standalone2
work_row "standalone node, again"
hop_row "direct, again" >"$tmp/hop_direct_again"

echo
echo "## 2. One hop: echo.actor (a handler actor), 16 B, 1 conn x 1 in flight"
echo "# $gateway_alone"
printf "$hop_fmt" row "req/s" "p50 us" "p99 us" errors other
cat "$tmp/hop_direct" "$tmp/hop_through" "$tmp/hop_direct_again"
awk -v a="$through_p50" -v b="$direct_p50" -v c="$through_p99" -v d="$direct_p99" \
  'BEGIN { printf "added by the hop (through - first direct): p50 %+.1f us, p99 %+.1f us\n", a - b, c - d }'

echo
echo "## Notes (\"weftd\" below is the gateway)"
closing_notes "$tmp/gateway.log"
for n in $(seq "$max_workers"); do
  w=$(grep -cE 'level=(warn|error)' "$tmp/w$n.log" || true)
  if [[ $w != 0 ]]; then
    echo "- worker w$n logged $w warning/error lines:"
    grep -E 'level=(warn|error)' "$tmp/w$n.log" | head -3
  fi
done
w=$(cat "$tmp/standalone.log" "$tmp/standalone2.log" | grep -cE 'level=(warn|error)' || true)
echo "- the standalone node logged $w warning/error lines"
