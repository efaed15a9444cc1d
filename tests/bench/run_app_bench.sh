#!/usr/bin/env bash
# Runs the application-API benchmarks of issue 4 in one go and prints the
# ratios against their targets (docs/benchmarks.md, "Application API"):
#   1. in process: weft_app_bench, requests/s through a pool of handler
#      actors doing ~20 us of CPU each, 1 vs 2 scheduler threads;
#   2. over loopback: weftd's `echo` (route actors, one per core) against
#      `echo.fn` (the same echo as a function route on the same pool shape:
#      router table, handler actors), alternated in the same run, with the
#      epoll reference beside.
# Builds nothing: build first, e.g.
#   cmake -S . -B build-bench2 -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
#     -DWEFT_BUILD_BENCHMARKS=ON -DWEFT_BUILD_TESTS=OFF
#   ninja -C build-bench2 -j2 weftd weft_load weft_echo_ref weft_app_bench
#
# usage: tests/bench/run_app_bench.sh [BUILD_DIR]      (default: build-bench)
# env:   CELL_SECONDS (3) and WARMUP_SECONDS (0.5) per measurement,
#        CONNS (100) for the loopback cells.
#
# Everything listens on 127.0.0.1 with port 0; every process started here is
# stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-bench}
bin=$build/bin
cell_s=${CELL_SECONDS:-3}
warmup_s=${WARMUP_SECONDS:-0.5}
conns=${CONNS:-100}

source "$here/bench_lib.sh"
require weft_app_bench weftd weft_load weft_echo_ref
ulimit -n 4096

echo "# weft application-API benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
machine_lines
echo "# ${cell_s}s counted after ${warmup_s}s warm-up per measurement"
summary=()

echo
echo "## 1. In process: a pool of handler actors doing ~20 us of CPU per request (requests/s)"
app=$(timeout 300 "$bin/weft_app_bench" --warmup "$warmup_s" \
  --duration "$cell_s" --max-seconds 240 2>"$tmp/app_bench.err" || true)
grep -v '^result ' <<<"$app" || true
result=$(grep '^result ' <<<"$app" || true)
if [[ -z $result ]]; then
  echo "weft_app_bench failed:"
  sed 's/^/    /' "$tmp/app_bench.err"
fi
summary+=("in process, 2 vs 1 scheduler threads: $(field "$result" scaling)x (target >= 1.8x; plain loop on the same 2 cores: $(field "$result" plain_scaling)x)")
summary+=("in process, weft 1 thread vs plain loop: $(field "$result" weft1_over_plain1)x")

echo
echo "## 2. Over loopback: echo through a function route (echo.fn) vs the route actor (echo) (messages/s)"
echo "# order per cell: echo, echo.fn, ref, echo.fn, echo; weft columns are the means of their two runs"
start weftd 'address=127\.0\.0\.1:[0-9]+' "$bin/weftd" \
  --tcp-listen 127.0.0.1:0 --log-level info
weft_port=$port
start ref 'listening [0-9]+' "$bin/weft_echo_ref"
ref_port=$port
printf '%-24s %9s %9s %7s %13s %9s %8s %8s  %-17s %-17s %s\n' cell echo echo.fn \
  fn/echo "pairs" ref echo/ref fn/ref "echo p50/p99" "fn p50/p99" notes
mean() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { printf "%.0f", (a + b) / 2 }'; }
for size in 16 4096; do
  for inflight in 1 16; do
    args=(echo --size "$size" --conns "$conns" --inflight "$inflight"
      --warmup "$warmup_s" --duration "$cell_s" --port)
    e1=$(load "${args[@]}" "$weft_port" --route echo)
    f1=$(load "${args[@]}" "$weft_port" --route echo.fn)
    r=$(load "${args[@]}" "$ref_port")
    f2=$(load "${args[@]}" "$weft_port" --route echo.fn)
    e2=$(load "${args[@]}" "$weft_port" --route echo)
    e=$(mean "$(field "$e1" msgs_per_s)" "$(field "$e2" msgs_per_s)")
    f=$(mean "$(field "$f1" msgs_per_s)" "$(field "$f2" msgs_per_s)")
    rr=$(field "$r" msgs_per_s)
    notes=""
    for out in "$e1" "$f1" "$f2" "$e2"; do
      if [[ -z $(field "$out" msgs_per_s) ]]; then notes="a weft run failed"; fi
      if [[ $(field "$out" errors) != 0 || $(field "$out" dead) != 0 ]]; then
        notes="errors=$(field "$out" errors) dead=$(field "$out" dead)"
      fi
    done
    pairs="$(ratio "$(field "$f1" msgs_per_s)" "$(field "$e1" msgs_per_s)")/$(ratio "$(field "$f2" msgs_per_s)" "$(field "$e2" msgs_per_s)")"
    printf '%-24s %9s %9s %7s %13s %9s %8s %8s  %-17s %-17s %s\n' \
      "${size}B x${conns} conns x${inflight}" "$e" "$f" "$(ratio "$f" "$e")" \
      "$pairs" "${rr:-0}" "$(ratio "$e" "${rr:-0}")" "$(ratio "$f" "${rr:-0}")" \
      "$(field "$e1" p50_us)/$(field "$e1" p99_us)" \
      "$(field "$f1" p50_us)/$(field "$f1" p99_us)" "$notes"
    summary+=("echo.fn / echo, ${size}B x${conns} conns x${inflight} in flight: $(ratio "$f" "$e")x (target >= 0.85x)")
  done
done

echo
echo "## Against the targets"
for line in "${summary[@]}"; do echo "- $line"; done
closing_notes "$tmp/weftd.log"
