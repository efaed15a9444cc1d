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
#        CONNS (64) x INFLIGHT (4): the node.work load (256 requests in
#          flight keep every handler actor of 3 workers busy, with 2 per
#          node on 2 cores, and stay far below node.work's max_queue),
#        WORKERS (3): the largest number of worker processes,
#        HOP_SECONDS (2) per hop cell, HOP_ROUNDS (5) pairs of them,
#        WEFTD_FLAGS (extra flags for every node), WORKER_FLAGS (workers
#        only, e.g. --scheduler-threads 1), unquoted words.
#
# Everything listens on 127.0.0.1 with port 0; every process started here is
# stopped on exit. Only the processes of a node.work row run during it (the
# standalone node is stopped while the cluster runs, and back for a second
# reference row at the end, which shows the drift within the run). The hop
# cells alternate between a standalone node and gateway + 1 worker, all
# running, so that both see the same machine.
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
hop_s=${HOP_SECONDS:-2}
hop_rounds=${HOP_ROUNDS:-5}

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

# busy_ticks: clock ticks the machine spent running anything (user, nice,
# system, interrupts). Niced jobs count: with autogroup scheduling (on
# here) a niced build in another session gets its fair share beside us.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

# per_second TICKS_BEFORE TICKS_AFTER SECONDS: CPU-seconds per second.
per_second() {
  awk -v a="$1" -v b="$2" -v s="$3" -v hz="$clk_tck" \
    'BEGIN { printf "%.2f", (b - a) / hz / s }'
}

# mpx_task PID: "PID/task/TID" of the middleman's multiplexer thread (the
# one that does all of a node's BASP I/O), empty without a middleman. CAF
# 0.17.6 names its scheduler workers "caf.multiplexer" too
# (caf/scheduler/worker.hpp): the middleman's is the first one started after
# the clock thread.
mpx_task() {
  local tid seen_clock=0
  for tid in $(ls "/proc/$1/task" | sort -n); do
    case $(cat "/proc/$1/task/$tid/comm" 2>/dev/null) in
      caf.clock) seen_clock=1 ;;
      caf.multiplexer) if [[ $seen_clock == 1 ]]; then echo "$1/task/$tid"; return; fi ;;
    esac
  done
}

# measured LOAD_ARGS...: one weft_load run (bounded like bench_lib's load)
# and where the machine's CPU went meanwhile, in CPU-seconds per second of
# the run: $gw_cores (the gateway or the standalone node), $mpx_cores (the
# gateway's multiplexer thread, part of gw), $worker_cores (all workers),
# $load_cores (the load generator) and $other_cores (everything else:
# other people's jobs, niced or not). Sets $out.
measured() {
  local g0 x0 w0 m0 t0 t1 secs
  g0=$(cpu_ticks "${gw_pids[@]}"); w0=$(cpu_ticks "${worker_pids[@]}")
  x0=$(cpu_ticks ${gw_mpx:-})
  m0=$(busy_ticks); t0=$(date +%s.%N)
  out=$(/usr/bin/time -f '%U %S' -o "$tmp/load.time" timeout 120 \
    "$bin/weft_load" "$@" --max-seconds 100 2>>"$tmp/load.err" || true)
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  gw_cores=$(per_second "$g0" "$(cpu_ticks "${gw_pids[@]}")" "$secs")
  mpx_cores=-
  [[ -z ${gw_mpx:-} ]] ||
    mpx_cores=$(per_second "$x0" "$(cpu_ticks "$gw_mpx")" "$secs")
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
# us_per CORES RATE: CPU microseconds per request ("-" without CPU figures).
us_per() {
  awk -v c="$1" -v r="$2" 'BEGIN { if (c == "-" || r <= 0) print "-"; else printf "%.1f", c * 1e6 / r }'
}

work_args=(echo --route node.work --body "$work_us" --conns "$conns"
  --inflight "$inflight" --warmup "$warmup_s" --duration "$cell_s")
hop_args=(echo --route echo.actor --size 16 --conns 1 --inflight 1
  --warmup 0.5 --duration "$hop_s")

# work_row NAME: measures node.work at $edge_port and keeps the row in
# $tmp/work_rows (printed at the end, when both standalone rows are known).
work_row() {
  local rate notes=""
  measured "${work_args[@]}" --port "$edge_port"
  rate=$(field "$out" msgs_per_s)
  [[ -z $rate ]] && notes="load failed"
  [[ -n $rate && $(field "$out" errors)$(field "$out" dead) != 00 ]] &&
    notes="errors=$(field "$out" errors) dead=$(field "$out" dead) $(error_of "$out")"
  echo "$1|${rate:-0}|$(field "$out" p50_us)|$(field "$out" p99_us)|$gw_cores|$mpx_cores|$worker_cores|$load_cores|$other_cores|$notes" \
    >>"$tmp/work_rows"
}

# print_work_rows: the table of section 1. ratio: req/s over the mean of the
# standalone rows; per CPU: requests per CPU-second of weft's processes
# (gateway + workers) over the standalone node's, i.e. the ratio on a fixed
# CPU budget, whatever share of the machine other jobs took.
print_work_rows() {
  awk -F'|' '
    function us(c, r) { return (c == "-" || r <= 0) ? "-" : sprintf("%.1f", c * 1e6 / r) }
    { row[NR] = $0 }
    $1 ~ /^standalone/ { n++; ref += $2; eff += ($5 > 0) ? $2 / $5 : 0 }
    END {
      ref = n ? ref / n : 0; eff = n ? eff / n : 0
      fmt = "%-24s %7s %5s %7s %8s %8s %5s %5s %5s %5s %5s %7s %7s %7s  %s\n"
      printf fmt, "row", "req/s", "ratio", "per CPU", "p50 us", "p99 us", "gw", "mpx", "wrk", \
        "load", "other", "gw/req", "mpx/req", "wrk/req", "notes"
      for (i = 1; i <= NR; i++) {
        split(row[i], f, "|")
        cpu = f[5] + (f[7] == "-" ? 0 : f[7])
        printf fmt, f[1], f[2], (ref > 0 ? sprintf("%.2f", f[2] / ref) : "n/a"), \
          ((cpu > 0 && eff > 0) ? sprintf("%.2f", f[2] / cpu / eff) : "n/a"), \
          f[3], f[4], f[5], f[6], f[7], f[8], f[9], \
          us(f[5], f[2]), us(f[6], f[2]), us(f[7], f[2]), f[10]
      }
    }' "$tmp/work_rows"
}

hop_fmt='%-28s %9s %9s %9s %7s %6s\n'
# hop_cell NAME PORT: one echo.actor cell; prints its row and appends its
# p50 and p99 to $tmp/hop.NAME.
hop_cell() {
  local o
  o=$(load "${hop_args[@]}" --port "$2")
  printf "$hop_fmt" "$1" "$(field "$o" msgs_per_s)" "$(field "$o" p50_us)" \
    "$(field "$o" p99_us)" "$(field "$o" errors)" "$(grep -oE '^[0-9.]+' /proc/loadavg)"
  echo "$(field "$o" p50_us) $(field "$o" p99_us)" >>"$tmp/hop.$1"
}
# median_of FILE COLUMN
median_of() {
  sort -g -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# start_standalone LOG_NAME: a node of role both serving the demo app
# (node.work in a pool of one handler actor per core); sets
# $standalone_pid and $standalone_port.
start_standalone() {
  start "$1" "$edge_regex" "$bin/weftd" --name local "${node_flags[@]}"
  standalone_pid=$pid
  standalone_port=$port
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
echo "# node.work rows of ${cell_s}s after ${warmup_s}s warm-up, 1 load thread, binary protocol; weftd flags: ${WEFTD_FLAGS:-(defaults)}; worker flags: ${WORKER_FLAGS:-(defaults)}"
echo "# every process shares the machine's $(nproc) cores: gateway, workers and the load generator"
echo
start_standalone standalone
edge_port=$standalone_port; gw_pids=("$standalone_pid"); worker_pids=(); gw_mpx=
work_row "standalone node (local)"
stop "$standalone_pid"

start gateway "$edge_regex" "$bin/weftd" --name gw --role gateway \
  --node-listen 127.0.0.1:0 "${node_flags[@]}"
edge_port=$port
gw_pids=("$pid")
gw_mpx=$(mpx_task "$pid")
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
  gateway_alone="WARNING: the gateway alone answered echo.actor ($alone): the through cells are not a hop"
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
    start_standalone standalone_hop
    for r in $(seq "$hop_rounds"); do
      hop_cell direct "$standalone_port"
      hop_cell through "$edge_port"
    done >"$tmp/hop_cells"
    stop "$standalone_pid"
  fi
done
# The gateway's log before the cluster stops (which it reports as warnings).
cp "$tmp/gateway.log" "$tmp/gateway_run.log"
for p in "${worker_pids[@]}" "${gw_pids[@]}"; do stop "$p"; done

start_standalone standalone2
edge_port=$standalone_port; gw_pids=("$standalone_pid"); worker_pids=(); gw_mpx=
work_row "standalone node, again"

echo "## 1. node.work ($work_us us of CPU per request), $conns conns x $inflight in flight"
echo "# ratio: req/s over the mean of the two standalone rows; per CPU: req/s per CPU-second"
echo "# of weft (gw + wrk) over the standalone node's. CPU-seconds per second of the row used"
echo "# by gw: the gateway (or the standalone node), mpx: the gateway's middleman multiplexer"
echo "# thread (part of gw), wrk: all workers, load: the load generator, other: the rest of"
echo "# the machine (other jobs, niced or not). x/req: CPU us per request."
print_work_rows

echo
echo "## 2. One hop: echo.actor (a handler actor), 16 B, 1 conn x 1 in flight"
echo "# $gateway_alone"
echo "# cells of ${hop_s}s after 0.5s warm-up, alternating: a standalone node (direct) and"
echo "# gateway + 1 worker (through), both running; 'load' is the 1-minute load average"
printf "$hop_fmt" cell "req/s" "p50 us" "p99 us" errors load
cat "$tmp/hop_cells"
d50=$(median_of "$tmp/hop.direct" 1); d99=$(median_of "$tmp/hop.direct" 2)
t50=$(median_of "$tmp/hop.through" 1); t99=$(median_of "$tmp/hop.through" 2)
echo "medians of $hop_rounds: direct p50 $d50 us, p99 $d99 us; through p50 $t50 us, p99 $t99 us"
awk -v a="$t50" -v b="$d50" -v c="$t99" -v d="$d99" \
  'BEGIN { printf "added by the hop: p50 %+.1f us, p99 %+.1f us\n", a - b, c - d }'

echo
echo "## Notes (\"weftd\" below is the gateway, until the cluster was stopped)"
closing_notes "$tmp/gateway_run.log"
for n in $(seq "$max_workers"); do
  w=$(grep -cE 'level=(warn|error)' "$tmp/w$n.log" || true)
  if [[ $w != 0 ]]; then
    echo "- worker w$n logged $w warning/error lines:"
    grep -E 'level=(warn|error)' "$tmp/w$n.log" | head -3
  fi
done
w=$(cat "$tmp"/standalone*.log | grep -cE 'level=(warn|error)' || true)
echo "- the standalone nodes logged $w warning/error lines"
