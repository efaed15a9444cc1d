#!/usr/bin/env bash
# Runs deploy/docker-compose.yml's topology as plain processes on 127.0.0.1:
# one gateway (the edge listeners and the node port) and N workers that join
# it. Builds weftd and weft first if the build directory lacks them. Runs in
# the foreground until Ctrl-C / SIGTERM (or until a node dies), then stops
# every node it started.
#
# usage: deploy/local-cluster.sh [options] [-- WEFTD_FLAG...]
#   -n, --workers N        workers to start (default 3, 0-64)
#   -b, --build-dir DIR    where bin/weftd is (default: <repo>/build)
#       --no-build         fail instead of building when bin/weftd is missing
#       --tcp-port P       the gateway's binary-protocol port (default 0: any
#                          free port, read back from its log)
#       --http-port P      the gateway's HTTP port (default 0: any free port)
#       --node-port P      the gateway's node port (default 0: any free port)
#       --gateway-flag F   one more flag for the gateway only (repeatable;
#                          --gateway-flag=--x=1 for a flag with a dash)
#       --worker-flag F    one more flag for every worker (repeatable)
#       --log-dir DIR      write the nodes' logs there (kept); default: a
#                          temporary directory, removed at a clean exit
#       --timeout S        longest wait for the cluster to be ready (default 30)
#       --probe-route R    the route called through the gateway to decide it is
#                          ready (default echo; '' skips the call)
#   -h, --help
# Flags after `--` go to every node. Each node also gets its name, role and
# listeners from this script, after any flag you pass (weftd: the last wins).
#
# Output on stdout, for people and for tests:
#   node gateway pid 1234 log /tmp/weft-cluster.x/gateway.log
#   node worker-1 pid 1235 log /tmp/weft-cluster.x/worker-1.log
#   cluster ready: gateway tcp 127.0.0.1:7700 http 127.0.0.1:8080 node 127.0.0.1:7800 workers 3
#   cluster stopped
# "ready" means: every node logged node.started, the gateway's /health
# answers 200, and one call of the probe route through the gateway succeeded.
# Exit status: 0 when stopped by a signal and every node stopped cleanly;
# 1 when a node failed to start or died, or did not stop cleanly; 2 usage.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  sed -n '2,39p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}

die() {
  echo "local-cluster.sh: $*" >&2
  exit 1
}

workers=3
build_dir="$root/build"
build=1
tcp_port=0
http_port=0
node_port=0
gateway_flags=()
worker_flags=()
common_flags=()
log_dir=""
ready_timeout=30
probe_route="echo"

need_value() {
  [ "$2" -ge 2 ] || { echo "local-cluster.sh: $1 needs a value" >&2; usage; }
}

while [ $# -gt 0 ]; do
  arg="$1"
  value=""
  case "$arg" in
    --*=*) value="${arg#*=}"; arg="${arg%%=*}"; shift; set -- "$arg" "$value" "$@" ;;
  esac
  case "$1" in
    -n|--workers) need_value "$1" $#; workers="$2"; shift 2 ;;
    -b|--build-dir) need_value "$1" $#; build_dir="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --tcp-port) need_value "$1" $#; tcp_port="$2"; shift 2 ;;
    --http-port) need_value "$1" $#; http_port="$2"; shift 2 ;;
    --node-port) need_value "$1" $#; node_port="$2"; shift 2 ;;
    --gateway-flag) need_value "$1" $#; gateway_flags+=("$2"); shift 2 ;;
    --worker-flag) need_value "$1" $#; worker_flags+=("$2"); shift 2 ;;
    --log-dir) need_value "$1" $#; log_dir="$2"; shift 2 ;;
    --timeout) need_value "$1" $#; ready_timeout="$2"; shift 2 ;;
    --probe-route) need_value "$1" $#; probe_route="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    --) shift; common_flags=("$@"); break ;;
    *) echo "local-cluster.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

is_uint() {
  case "$1" in
    ''|*[!0-9]*) return 1 ;;
  esac
  [ "${#1}" -le 5 ]
}
if ! is_uint "$workers" || [ "$workers" -gt 64 ]; then
  die "--workers must be 0-64, got '$workers'"
fi
for p in "$tcp_port" "$http_port" "$node_port"; do
  if ! is_uint "$p" || [ "$p" -gt 65535 ]; then
    die "a port must be 0-65535, got '$p'"
  fi
done
if ! is_uint "$ready_timeout" || [ "$ready_timeout" -lt 1 ]; then
  die "--timeout must be a whole number of seconds, got '$ready_timeout'"
fi

# ------------------------------------------------------------- build ---
weftd="$build_dir/bin/weftd"
weft="$build_dir/bin/weft"
if [ ! -x "$weftd" ] || [ ! -x "$weft" ]; then
  [ "$build" -eq 1 ] || die "$weftd or $weft is missing (and --no-build)"
  echo "local-cluster.sh: building weftd and weft in $build_dir" >&2
  # shellcheck source=deploy/lib.sh
  source "$root/deploy/lib.sh"
  weft_install_packages
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCHMARKS=OFF >&2
  fi
  cmake --build "$build_dir" -j "${WEFT_JOBS:-2}" --target weftd weft >&2
fi
# (Not `weftd --help | grep -q`: under pipefail, grep leaving early can fail
# the pipeline through weftd's SIGPIPE.)
help_text="$("$weftd" --help)" || die "$weftd --help failed"
if ! grep -q -- '--role' <<<"$help_text"; then
  die "$weftd has no cluster options (--role, --node-listen, --join): it was built without issue 7's cluster"
fi

# ------------------------------------------------------------- nodes ---
own_log_dir=0
if [ -z "$log_dir" ]; then
  log_dir="$(mktemp -d "${TMPDIR:-/tmp}/weft-cluster.XXXXXX")"
  own_log_dir=1
else
  mkdir -p "$log_dir"
fi

names=()
pids=()
stopping=0

# stop_all: SIGTERM to every node still running, then a bounded wait (their
# drain plus the stop overrun), then SIGKILL for any that is left.
# Returns 1 if a node had to be killed or exited non-zero.
stop_all() {
  local i pid status=0 deadline
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  deadline=$((SECONDS + 20))
  for i in "${!pids[@]}"; do
    pid="${pids[$i]}"
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "local-cluster.sh: ${names[$i]} (pid $pid) did not stop: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      status=1
    fi
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "local-cluster.sh: ${names[$i]} exited with status $rc (log: $log_dir/${names[$i]}.log)" >&2
      status=1
    fi
  done
  pids=()
  return "$status"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "${#pids[@]}" -gt 0 ]; then
    stop_all || rc=1
  fi
  if [ "$own_log_dir" -eq 1 ]; then
    if [ "$rc" -eq 0 ]; then
      rm -rf "$log_dir"
    else
      echo "local-cluster.sh: the nodes' logs are kept in $log_dir" >&2
    fi
  fi
  if [ "$stopping" -eq 1 ]; then
    echo "cluster stopped"
  fi
  exit "$rc"
}
trap cleanup EXIT
on_signal() {
  stopping=1
  exit 0
}
trap on_signal INT TERM

# start NAME FLAG...: starts weftd in a session of its own (so that a Ctrl-C
# in the terminal reaches this script only, which then stops each node
# once: a second signal would cut a node's drain short), logs to NAME.log.
start() {
  local name="$1"
  shift
  : >"$log_dir/$name.log"
  # A background job of a non-interactive shell is no process group leader,
  # so setsid does not fork and $! is weftd's pid.
  setsid "$weftd" "$@" </dev/null >"$log_dir/$name.log" 2>&1 &
  names+=("$name")
  pids+=("$!")
}

# wait_event NAME EVENT: waits (bounded by the ready deadline) until NAME's
# log has a line with event=EVENT and prints that line.
wait_event() {
  local name="$1" event="$2" i line
  for i in "${!names[@]}"; do
    [ "${names[$i]}" = "$name" ] && break
  done
  while :; do
    line="$(grep -m1 -E "(^| )event=$event( |$)" "$log_dir/$name.log" || true)"
    if [ -n "$line" ]; then
      printf '%s\n' "$line"
      return 0
    fi
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "local-cluster.sh: $name exited before logging $event; its log:" >&2
      tail -n 20 "$log_dir/$name.log" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$ready_deadline" ]; then
      echo "local-cluster.sh: $name did not log $event within ${ready_timeout}s; its log:" >&2
      tail -n 20 "$log_dir/$name.log" >&2
      return 1
    fi
    sleep 0.1
  done
}

# port_in LINE: the port of a logfmt line's port=P field, else of its
# address=HOST:PORT field.
port_in() {
  local field
  for field in $1; do
    case "$field" in
      port=*) printf '%s\n' "${field#port=}"; return 0 ;;
    esac
  done
  for field in $1; do
    case "$field" in
      address=*) printf '%s\n' "${field##*:}"; return 0 ;;
    esac
  done
  return 1
}

ready_deadline=$((SECONDS + ready_timeout))

start gateway "${common_flags[@]}" "${gateway_flags[@]}" \
  --name gateway --role gateway \
  --tcp-listen "127.0.0.1:$tcp_port" --http-listen "127.0.0.1:$http_port" \
  --node-listen "127.0.0.1:$node_port"
line="$(wait_event gateway node.cluster_listening)" || exit 1
node_port="$(port_in "$line")" || die "no port in the gateway's node.cluster_listening line: $line"
line="$(wait_event gateway binary.listening)" || exit 1
tcp_port="$(port_in "$line")" || die "no port in: $line"
line="$(wait_event gateway http.listening)" || exit 1
http_port="$(port_in "$line")" || die "no port in: $line"
wait_event gateway node.started >/dev/null || exit 1
echo "node gateway pid ${pids[0]} log $log_dir/gateway.log"

for ((w = 1; w <= workers; w++)); do
  start "worker-$w" "${common_flags[@]}" "${worker_flags[@]}" \
    --name "worker-$w" --role worker --join "127.0.0.1:$node_port" \
    --tcp-listen= --http-listen=
done
for ((w = 1; w <= workers; w++)); do
  wait_event "worker-$w" node.started >/dev/null || exit 1
  echo "node worker-$w pid ${pids[$w]} log $log_dir/worker-$w.log"
done

# /health on the gateway, over bash's /dev/tcp (no curl needed).
health_ok() {
  local status
  { exec 3<>"/dev/tcp/127.0.0.1/$http_port"; } 2>/dev/null || return 1
  printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  IFS= read -r -t 2 status <&3 || status=""
  exec 3<&- 3>&-
  [[ "$status" == "HTTP/1."?" 200"* ]]
}
until health_ok; do
  [ "$SECONDS" -lt "$ready_deadline" ] || die "the gateway's /health did not answer 200 within ${ready_timeout}s"
  sleep 0.2
done

# One call through the gateway: answered once a worker hosting the route
# has joined (or by the gateway itself, if it hosts the route).
if [ -n "$probe_route" ]; then
  until "$weft" call "127.0.0.1:$tcp_port" "$probe_route" --data ready \
      --timeout 2000 >/dev/null 2>"$log_dir/probe.err"; do
    if [ "$SECONDS" -ge "$ready_deadline" ]; then
      die "no answer from route '$probe_route' through the gateway within ${ready_timeout}s: $(cat "$log_dir/probe.err")"
    fi
    sleep 0.2
  done
fi

echo "cluster ready: gateway tcp 127.0.0.1:$tcp_port http 127.0.0.1:$http_port node 127.0.0.1:$node_port workers $workers"

# Until a signal (the traps stop every node) or until a node dies.
while :; do
  rc=0
  # (stderr: bash's own "Killed" job notice; the line below says it better)
  wait -n "${pids[@]}" 2>/dev/null || rc=$?
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "local-cluster.sh: ${names[$i]} (pid ${pids[$i]}) exited (status $rc); the end of its log:" >&2
      tail -n 20 "$log_dir/${names[$i]}.log" >&2
      # Reported: stop_all only has the others left to stop.
      unset 'pids[i]' 'names[i]'
      pids=("${pids[@]}")
      names=("${names[@]}")
      exit 1
    fi
  done
done
