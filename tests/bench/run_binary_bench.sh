#!/usr/bin/env bash
# Runs the binary-protocol benchmarks of issue 3 in one go, weft and its
# references side by side, and prints a table with ratios (docs/benchmarks.md).
# Builds nothing: build first, e.g.
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_TESTS=OFF
#   ninja -C build-bench weftd weft_load weft_echo_ref weft_echo_broker
#
# usage: tests/bench/run_binary_bench.sh [BUILD_DIR]      (default: build-bench)
# env:   CELL_SECONDS (3) and WARMUP_SECONDS (0.5) per echo cell,
#        WEFTD_FLAGS (extra weftd flags, unquoted words),
#        BULK_BYTES (1 GiB), IDLE_CONNS (10000), BROKERS (1; 0 skips them),
#        SERVER_CORE (0) and CLIENT_CORE (1) for the pinned cells,
#        BULK_ROUNDS (3) alternating raw/weft bulk rounds,
#        HOL_UPLOADS (3) uploads the head-of-line echoes are pooled over.
#
# Everything listens on 127.0.0.1 with port 0; every process started here is
# stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-bench}
bin=$build/bin
cell_s=${CELL_SECONDS:-3}
warmup_s=${WARMUP_SECONDS:-0.5}
bulk_bytes=${BULK_BYTES:-1073741824}
idle_conns=${IDLE_CONNS:-10000}
brokers=${BROKERS:-1}

source "$here/bench_lib.sh"
require weftd weft_load weft_echo_ref weft_echo_broker

# 10,000 connections need more descriptors than the usual 1024 (each side
# of a loopback connection lives in a different process).
hard=$(ulimit -Hn)
if [[ $hard != unlimited && $hard -lt $((idle_conns + 200)) ]]; then
  echo "note: fd hard limit $hard < $((idle_conns + 200)); fewer idle connections" >&2
  idle_conns=$((hard - 200))
fi
ulimit -n $((idle_conns + 200 > 4096 ? idle_conns + 200 : 4096))

# HTTP off: this is the binary protocol's benchmark. WEFTD_FLAGS adds flags
# (e.g. --scheduler-threads 1, docs/benchmarks.md "Threads").
weftd_flags=(--tcp-listen 127.0.0.1:0 --http-listen "" --spill-dir "$tmp"
  --log-level info --max-message-size $((bulk_bytes + 1024)) ${WEFTD_FLAGS:-})
start weftd 'address=127\.0\.0\.1:[0-9]+' "$bin/weftd" "${weftd_flags[@]}"
weft_port=$port
start ref 'listening [0-9]+' "$bin/weft_echo_ref"
ref_port=$port
if [[ $brokers == 1 ]]; then
  start broker 'listening [0-9]+' "$bin/weft_echo_broker" --mode echo
  broker_port=$port
  start broker_handler 'listening [0-9]+' "$bin/weft_echo_broker" --mode handler
  handler_port=$port
fi

echo "# weft binary-protocol benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
machine_lines
echo "# cells of ${cell_s}s after ${warmup_s}s warm-up, 1 load thread; weftd flags: ${WEFTD_FLAGS:-(defaults)}"
echo
# The targets are measured on `echo`, which goes through the normal
# dispatch path to a handler actor. `echo.edge` is the same echo answered by
# the connection actor itself (route_options::run_on_edge): the difference
# is the cost of the two hand-offs to and from the handler actor. Run right
# after the 16-byte cells: the 4 KiB x 1,000-connection cells leave both
# servers slower for a while (the reference fell from 2.2 M to 1.3 M
# messages/s at 16 in flight for 10 s and more).
# Then the same `echo` against a second weftd started under `nice -n 5`:
# on 2 cores, weftd's two workers and the load generator contend for the
# CPUs, and a worker woken by a socket preempts the load generator (the
# reference, one thread, never contends). Shown for what it says about
# that contention; weftd does not renice itself.
edge_rows=()
nice_rows=()
# echo_rows VAR PORT [ROUTE]: the 16-byte, 100-connection cells at 1 and 16
# in flight against PORT and the reference, appended to array VAR.
echo_rows() {
  local -n rows=$1
  local port=$2 route=${3:-echo} inflight w r wr rr
  for inflight in 1 16; do
    local args=(echo --size 16 --conns 100 --inflight "$inflight"
      --warmup "$warmup_s" --duration "$cell_s")
    w=$(load "${args[@]}" --route "$route" --port "$port")
    r=$(load "${args[@]}" --port "$ref_port")
    wr=$(field "$w" msgs_per_s); rr=$(field "$r" msgs_per_s)
    rows+=("$(printf '%-26s %10s %10s %7s  %-17s' "16B x100 conns x${inflight}" \
      "${wr:-0}" "${rr:-0}" "$(ratio "${wr:-0}" "${rr:-0}")" \
      "$(field "$w" p50_us)/$(field "$w" p99_us)")")
  done
}
edge_cells() {
  echo_rows edge_rows "$weft_port" echo.edge
  start weftd_nice 'address=127\.0\.0\.1:[0-9]+' nice -n 5 "$bin/weftd" "${weftd_flags[@]}"
  local nice_pid=$pid
  echo_rows nice_rows "$port"
  stop "$nice_pid"
}

echo "## 1. Ping-pong echo (messages/s; latency p50/p99 in us)"
printf '%-26s %10s %10s %7s  %-17s %-17s %s\n' cell weft ref ratio "weft p50/p99" "ref p50/p99" notes
summary=()
for size in 16 4096; do
  for conns in 1 100 1000; do
    for inflight in 1 16; do
      args=(echo --size "$size" --conns "$conns" --inflight "$inflight"
        --warmup "$warmup_s" --duration "$cell_s")
      w=$(load "${args[@]}" --port "$weft_port")
      r=$(load "${args[@]}" --port "$ref_port")
      wr=$(field "$w" msgs_per_s); rr=$(field "$r" msgs_per_s)
      notes=""
      [[ $(field "$w" errors) != 0 || $(field "$w" dead) != 0 ]] &&
        notes="weft: errors=$(field "$w" errors) dead=$(field "$w" dead)"
      [[ -z $wr ]] && notes="weft run failed"
      printf '%-26s %10s %10s %7s  %-17s %-17s %s\n' \
        "${size}B x${conns} conns x${inflight}" "${wr:-0}" "${rr:-0}" \
        "$(ratio "${wr:-0}" "${rr:-0}")" \
        "$(field "$w" p50_us)/$(field "$w" p99_us)" \
        "$(field "$r" p50_us)/$(field "$r" p99_us)" "$notes"
      if [[ $size == 16 && $conns == 100 ]]; then
        target=$([[ $inflight == 1 ]] && echo 0.6 || echo 0.8)
        summary+=("echo 16B x100 conns x${inflight} in flight: $(ratio "${wr:-0}" "${rr:-0}")x (target >= ${target}x)")
      fi
    done
  done
  if [[ $size == 16 ]]; then edge_cells; fi
done

echo
echo "## 1d. The same echo answered on the edge (echo.edge, no handler actor; run after the 16-byte cells)"
printf '%-26s %10s %10s %7s  %-17s\n' cell echo.edge ref ratio "edge p50/p99"
printf '%s\n' "${edge_rows[@]}"

echo
echo "## 1e. The same echo with weftd under nice -n 5 (not the default; run after the 16-byte cells)"
printf '%-26s %10s %10s %7s  %-17s\n' cell "weft nice5" ref ratio "weft p50/p99"
printf '%s\n' "${nice_rows[@]}"

if [[ $brokers == 1 ]]; then
  echo
  echo "## 1b. Reactor vs CAF io brokers (messages/s; ratio to the epoll reference of the same cell, run just before)"
  printf '%-26s %10s %10s %10s %10s %8s %8s %8s\n' cell ref weft broker "brk+hdl" weft/ref brk/ref hdl/ref
  for size in 16 4096; do
    for conns in 100 1000; do
      args=(echo --size "$size" --conns "$conns" --inflight 1
        --warmup "$warmup_s" --duration "$cell_s")
      r=$(field "$(load "${args[@]}" --port "$ref_port")" msgs_per_s)
      w=$(field "$(load "${args[@]}" --port "$weft_port")" msgs_per_s)
      b=$(field "$(load "${args[@]}" --port "$broker_port")" msgs_per_s)
      h=$(field "$(load "${args[@]}" --port "$handler_port")" msgs_per_s)
      printf '%-26s %10s %10s %10s %10s %8s %8s %8s\n' \
        "${size}B x${conns} conns x1" "${r:-0}" "${w:-0}" "${b:-0}" "${h:-0}" \
        "$(ratio "${w:-0}" "${r:-0}")" "$(ratio "${b:-0}" "${r:-0}")" \
        "$(ratio "${h:-0}" "${r:-0}")"
    done
  done
fi

# Pinned: weftd (all its threads) and the reference each on SERVER_CORE,
# the load generator on CLIENT_CORE, so that neither server shares a core
# with the load (the unpinned cells above let weftd's two workers and the
# load generator contend for two cores; the reference has one thread).
server_core=${SERVER_CORE:-0}
client_core=${CLIENT_CORE:-1}
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  echo
  echo "## 1c. Pinned: servers on core $server_core, load on core $client_core (16 B, 100 connections)"
  start weftd_pinned 'address=127\.0\.0\.1:[0-9]+' taskset -c "$server_core" \
    "$bin/weftd" "${weftd_flags[@]}"
  pinned_port=$port; pinned_pid=$pid
  start ref_pinned 'listening [0-9]+' taskset -c "$server_core" "$bin/weft_echo_ref"
  ref_pinned_port=$port; ref_pinned_pid=$pid
  printf '%-26s %10s %10s %7s  %-17s %-17s\n' cell weft ref ratio "weft p50/p99" "ref p50/p99"
  for inflight in 1 16; do
    args=(echo --size 16 --conns 100 --inflight "$inflight"
      --warmup "$warmup_s" --duration "$cell_s")
    w=$(timeout 120 taskset -c "$client_core" "$bin/weft_load" "${args[@]}" \
      --port "$pinned_port" --max-seconds 100 2>>"$tmp/load.err" || true)
    r=$(timeout 120 taskset -c "$client_core" "$bin/weft_load" "${args[@]}" \
      --port "$ref_pinned_port" --max-seconds 100 2>>"$tmp/load.err" || true)
    wr=$(field "$w" msgs_per_s); rr=$(field "$r" msgs_per_s)
    printf '%-26s %10s %10s %7s  %-17s %-17s\n' "16B x100 conns x${inflight}" \
      "${wr:-0}" "${rr:-0}" "$(ratio "${wr:-0}" "${rr:-0}")" \
      "$(field "$w" p50_us)/$(field "$w" p99_us)" \
      "$(field "$r" p50_us)/$(field "$r" p99_us)"
    summary+=("echo 16B x100 conns x${inflight} in flight, pinned: $(ratio "${wr:-0}" "${rr:-0}")x")
  done
  stop "$pinned_pid"
  stop "$ref_pinned_pid"
fi

echo
echo "## 3. Bulk: one $bulk_bytes-byte message to weft's sink route vs raw TCP (64 KiB writes)"
# A 1 GiB copy over loopback takes a fraction of a second, and the raw
# reference alone swung between 1.8 and 4.6 GB/s from run to run: so
# BULK_ROUNDS rounds (3) alternate the two, and the ratio is of the medians.
printf '%-26s %10s %10s %7s  %s\n' "" "weft MB/s" "raw MB/s" ratio notes
raw_all=(); bulk_all=()
for round in $(seq "${BULK_ROUNDS:-3}"); do
  raw=$(load rawtcp --bulk "$bulk_bytes")
  bulk=$(load upload --route sink --bulk "$bulk_bytes" --port "$weft_port")
  raw_mb=$(field "$raw" mb_per_s); bulk_mb=$(field "$bulk" mb_per_s)
  raw_all+=("${raw_mb:-0}"); bulk_all+=("${bulk_mb:-0}")
  printf '%-26s %10s %10s %7s  %s\n' "1 GiB upload, round $round" "${bulk_mb:-0}" \
    "${raw_mb:-0}" "$(ratio "${bulk_mb:-0}" "${raw_mb:-0}")" \
    "weft $(field "$bulk" bulk_s)s complete=$(field "$bulk" complete) sink reply=$(field "$bulk" reply_bytes)B"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bulk_mb=$(median "${bulk_all[@]}"); raw_mb=$(median "${raw_all[@]}")
printf '%-26s %10s %10s %7s\n' "median" "$bulk_mb" "$raw_mb" "$(ratio "$bulk_mb" "$raw_mb")"
# For comparison, not the target: the same upload to sink.whole, which
# takes the body assembled (in a spill file in --spill-dir past 8 MiB)
# rather than as it arrives; one round, against the median raw rate.
whole=$(load upload --route sink.whole --bulk "$bulk_bytes" --port "$weft_port")
whole_mb=$(field "$whole" mb_per_s)
printf '%-26s %10s %10s %7s  %s\n' "to sink.whole (spilled)" "${whole_mb:-0}" \
  "$raw_mb" "$(ratio "${whole_mb:-0}" "$raw_mb")" \
  "weft $(field "$whole" bulk_s)s complete=$(field "$whole" complete)"
summary+=("bulk: $(ratio "$bulk_mb" "$raw_mb")x raw TCP, medians of ${BULK_ROUNDS:-3} rounds (target >= 0.7x)")

echo
# Each 1 GiB upload takes well under a second at this machine's loopback
# speed: three in turn on one connection, their echoes pooled, give the p99
# a thousand samples or more rather than a few hundred (one stall of a few
# milliseconds then no longer decides it).
hol_uploads=${HOL_UPLOADS:-3}
echo "## 2. Head-of-line: 1 KiB URGENT echo every 1 ms, idle vs beside $hol_uploads uploads of $bulk_bytes bytes (BULK, one after the other)"
idle=$(load upload --size 1024 --urgent-interval-ms 1 --bulk 0 --warmup "$warmup_s" --duration "$cell_s" --port "$weft_port")
busy=$(load upload --route sink --size 1024 --urgent-interval-ms 1 --bulk "$bulk_bytes" --uploads "$hol_uploads" --port "$weft_port")
# The same with the urgent echoes answered on the edge: what the handler
# actor's two hand-offs add to the protocol's own head-of-line delay.
busy_edge=$(load upload --route sink --urgent-route echo.edge --size 1024 --urgent-interval-ms 1 --bulk "$bulk_bytes" --uploads "$hol_uploads" --port "$weft_port")
printf '%-26s %10s %10s %10s %8s  %s\n' "" "p50 us" "p99 us" "max us" samples notes
printf '%-26s %10s %10s %10s %8s\n' "idle connection" "$(field "$idle" p50_us)" \
  "$(field "$idle" p99_us)" "$(field "$idle" max_us)" "$(field "$idle" samples)"
printf '%-26s %10s %10s %10s %8s  %s\n' "beside the upload" "$(field "$busy" p50_us)" \
  "$(field "$busy" p99_us)" "$(field "$busy" max_us)" "$(field "$busy" samples)" \
  "upload $(field "$busy" mb_per_s) MB/s complete=$(field "$busy" complete)"
printf '%-26s %10s %10s %10s %8s  %s\n' "beside it, echo.edge" "$(field "$busy_edge" p50_us)" \
  "$(field "$busy_edge" p99_us)" "$(field "$busy_edge" max_us)" "$(field "$busy_edge" samples)" \
  "upload $(field "$busy_edge" mb_per_s) MB/s complete=$(field "$busy_edge" complete)"
# Target: p99 under load <= idle p99 + one 64 KiB chunk at the bulk rate + 1 ms.
hol_target=$(awk -v p="$(field "$idle" p99_us)" -v mb="${bulk_mb:-0}" \
  'BEGIN { chunk = (mb > 0) ? 65536 / mb : 0; printf "%.0f", p + chunk + 1000 }')
summary+=("head-of-line: p99 $(field "$busy" p99_us) us under load vs target <= ${hol_target} us (idle p99 $(field "$idle" p99_us) + one chunk + 1 ms)")

echo
echo "## 4. Memory: VmRSS growth per idle connection, $idle_conns connections (fresh servers)"
printf '%-26s %12s %12s %12s %s\n' server "before KiB" "after KiB" "B/conn" ready
memory_row() {
  local name=$1 mpid=$2 mport=$3 out
  sleep 0.5
  out=$(load idle --conns "$idle_conns" --settle 1 --server-pid "$mpid" --port "$mport")
  printf '%-26s %12s %12s %12s %s\n' "$name" "$(field "$out" rss_before_kib)" \
    "$(field "$out" rss_after_kib)" "$(field "$out" per_conn_bytes)" \
    "$(field "$out" ready)/$idle_conns"
  per_conn=$(field "$out" per_conn_bytes)
}
start weftd_mem 'address=127\.0\.0\.1:[0-9]+' "$bin/weftd" "${weftd_flags[@]}"
memory_row weftd "$pid" "$port"
summary+=("memory: ${per_conn:-?} B per idle connection (target <= 4096)")
stop "$pid"
start ref_mem 'listening [0-9]+' "$bin/weft_echo_ref"
memory_row "epoll reference" "$pid" "$port"
stop "$pid"
if [[ $brokers == 1 ]]; then
  start broker_mem 'listening [0-9]+' "$bin/weft_echo_broker" --mode echo
  memory_row "CAF broker (4 KiB reads)" "$pid" "$port"
  stop "$pid"
fi

echo
echo "## Against the targets"
for line in "${summary[@]}"; do echo "- $line"; done
closing_notes "$tmp/weftd.log"
