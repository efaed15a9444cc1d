#!/usr/bin/env bash
# Runs the HTTP gateway benchmark of issue 6: wrk against weftd and nginx in
# the same run, and prints a table with ratios (docs/benchmarks.md, "HTTP
# gateway"). Builds nothing: build weftd first, e.g.
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_TESTS=OFF
#   ninja -C build-bench weftd
# Needs (Debian packages, not installed by deploy/lib.sh: the bench is run
# by hand): wrk, nginx (nginx-light or nginx), util-linux (taskset), curl.
#   apt-get install -y wrk nginx
#
# usage: tests/bench/run_http_bench.sh [BUILD_DIR]      (default: build-bench)
# env:   CELL_SECONDS (5) per wrk cell, WRK_THREADS (1), WEFTD_FLAGS (extra
#        weftd flags), SERVER_CORE (0) and CLIENT_CORE (1).
#
# Pinning: nginx runs one worker process, so it uses one core: it and weftd
# (all of weftd's threads) are pinned to SERVER_CORE, wrk to CLIENT_CORE.
# Two more weftd rows: the same on one core under SCHED_BATCH (--thread-policy batch,
# so its reactor and scheduler threads do not preempt each other at every
# wakeup), and weftd on both cores (CLIENT_CORE shared with wrk) with its
# default threads: what weftd does unpinned on this machine.
# Everything listens on 127.0.0.1; every process started here is stopped on
# exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-bench}
bin=$build/bin
cell_s=${CELL_SECONDS:-5}
wrk_threads=${WRK_THREADS:-1}
server_core=${SERVER_CORE:-0}
client_core=${CLIENT_CORE:-1}

source "$here/bench_lib.sh"
require weftd
for tool in wrk nginx taskset curl; do
  if ! command -v "$tool" >/dev/null && [[ ! -x /usr/sbin/$tool ]]; then
    echo "missing $tool: apt-get install -y wrk nginx util-linux curl" >&2
    exit 2
  fi
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
ulimit -n 4096

# free_port: a port the kernel says is free on 127.0.0.1 now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http PORT: until GET /plaintext answers (at most 10 s).
wait_http() {
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/plaintext" && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2
  exit 1
}

# nginx with one worker, the same two bodies as weftd, every path in $tmp.
nginx_port=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
    location = /json { default_type application/json; return 200 '{"message":"Hello, World!"}'; }
  }
}
CONF
taskset -c "$server_core" "$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" \
  >"$tmp/nginx.log" 2>&1 &
pids+=("$!")
wait_http "$nginx_port"

weftd_flags=(--tcp-listen "" ${WEFTD_FLAGS:-})
# weftd on the server core only: one scheduler thread and one reactor.
start weftd1 'address=127\.0\.0\.1:[0-9]+' taskset -c "$server_core" "$bin/weftd" \
  --http-listen 127.0.0.1:0 --scheduler-threads 1 --io-threads 1 --log-level info \
  "${weftd_flags[@]}"
weft1_port=$port
# The same, with SCHED_BATCH (--thread-policy batch, the same as chrt -b 0):
# no wakeup preemption between weftd's reactor and scheduler threads when
# they share the core.
start weftd1b 'address=127\.0\.0\.1:[0-9]+' taskset -c "$server_core" \
  "$bin/weftd" --http-listen 127.0.0.1:0 --scheduler-threads 1 --io-threads 1 \
  --thread-policy batch --log-level info "${weftd_flags[@]}"
weft1b_port=$port
# weftd on both cores, default threads.
start weftd2 'address=127\.0\.0\.1:[0-9]+' taskset -c "$server_core,$client_core" \
  "$bin/weftd" --http-listen 127.0.0.1:0 --log-level info "${weftd_flags[@]}"
weft2_port=$port
wait_http "$weft1_port"
wait_http "$weft1b_port"
wait_http "$weft2_port"

cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"message":"Hello, World!"}'
wrk.headers["Content-Type"] = "application/json"
LUA

# run_wrk PORT PATH CONNS [LUA]: "rps p99_us errors" of one wrk cell.
run_wrk() {
  local port=$1 path=$2 conns=$3 script=${4:-} out args
  args=(-t"$wrk_threads" -c"$conns" -d"${cell_s}s" --latency --timeout 5s)
  [[ -n $script ]] && args+=(-s "$script")
  out=$(timeout $((cell_s + 30)) taskset -c "$client_core" wrk "${args[@]}" \
    "http://127.0.0.1:$port$path" 2>&1 || true)
  echo "$out" >>"$tmp/wrk.out"
  awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" { v = $2; u = 1
      if (v ~ /us$/) { sub(/us$/, "", v); u = 1 }
      else if (v ~ /ms$/) { sub(/ms$/, "", v); u = 1000 }
      else if (v ~ /s$/) { sub(/s$/, "", v); u = 1000000 }
      p99 = v * u }
    /Non-2xx|Socket errors/ { err = err $0 }
    END { printf "%.0f %.0f %s\n", rps, p99, (err == "" ? "-" : "E") }' <<<"$out"
}

echo "# weft HTTP gateway benchmark (issue 6), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
machine_lines
echo "# $("$nginx_bin" -v 2>&1 | head -1); $(wrk -v 2>&1 | head -1)"
echo "# wrk: ${wrk_threads} thread(s) on core $client_core, ${cell_s}s per cell, --latency (p99 in us)"
echo "# nginx: worker_processes 1 on core $server_core; weftd (1 core): all threads on core $server_core,"
echo "#   --scheduler-threads 1 --io-threads 1 (\"weft 1 core\"; \"+ batch\": the same with --thread-policy batch);"
echo "#   \"weft 2 cores\": cores $server_core,$client_core (the second shared with wrk), default threads"
echo
printf '%-22s %-16s %10s %8s %9s %8s %s\n' cell server "req/s" "x nginx" "p99 us" "x nginx" notes
summary=()
for path in /plaintext /json; do
  for conns in 64 256; do
    read -r nr np ne < <(run_wrk "$nginx_port" "$path" "$conns")
    printf '%-22s %-16s %10s %8s %9s %8s %s\n' "GET $path x$conns" nginx "$nr" 1.00 "$np" 1.00 \
      "$([[ $ne != - ]] && echo errors)"
    for server in "weft 1 core:$weft1_port" "+ batch:$weft1b_port" "weft 2 cores:$weft2_port"; do
      read -r wr wp we < <(run_wrk "${server##*:}" "$path" "$conns")
      printf '%-22s %-16s %10s %8s %9s %8s %s\n' "" "${server%:*}" "$wr" \
        "$(ratio "$wr" "$nr")" "$wp" "$(ratio "$wp" "$np")" "$([[ $we != - ]] && echo errors)"
      if [[ $path == /plaintext && $server == "weft 1 core:"* ]]; then
        summary+=("plaintext x$conns, weft on nginx's core: $(ratio "$wr" "$nr")x nginx req/s (target >= 0.8x), p99 $(ratio "$wp" "$np")x nginx's (target <= 2x)")
      fi
      if [[ $path == /plaintext && $server == "+ batch:"* ]]; then
        summary+=("plaintext x$conns, the same under SCHED_BATCH: $(ratio "$wr" "$nr")x req/s, p99 $(ratio "$wp" "$np")x")
      fi
    done
  done
done
echo
echo "## weft only: POST /rpc/echo, JSON round trip through the echo route"
printf '%-22s %-16s %10s %9s\n' cell server "req/s" "p99 us"
for conns in 64 256; do
  for server in "weft 1 core:$weft1_port" "+ batch:$weft1b_port" "weft 2 cores:$weft2_port"; do
    read -r wr wp _ < <(run_wrk "${server##*:}" /rpc/echo "$conns" "$tmp/post.lua")
    printf '%-22s %-16s %10s %9s\n' "POST /rpc/echo x$conns" "${server%:*}" "$wr" "$wp"
  done
done
echo
echo "## Summary"
for line in "${summary[@]}"; do echo "- $line"; done
closing_notes "$tmp/weftd1.log"
