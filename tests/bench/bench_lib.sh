# Helpers shared by the tests/bench/run_*_bench.sh scripts: sourced, never
# run. The script sets $bin (the build's bin directory) first; this file
# makes $tmp (removed on exit) and stops every process start() started when
# the script exits, however it exits.

tmp=$(mktemp -d /tmp/weft-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# require TOOL...: exits 2 unless every tool is built in $bin.
require() {
  local tool
  for tool in "$@"; do
    if [[ ! -x $bin/$tool ]]; then
      echo "missing $bin/$tool: build it first (see the top of $0)" >&2
      exit 2
    fi
  done
}

# machine_lines: the "#" lines on the machine (load included) and the code
# version that every report starts with.
machine_lines() {
  echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# weft $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$here" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
}

# start NAME PORT_REGEX CMD...: starts a server in the background, waits for
# the port in its output and sets $port and $pid.
start() {
  local name=$1 regex=$2
  shift 2
  "$@" >"$tmp/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  port=
  for _ in $(seq 100); do
    port=$(grep -oE "$regex" "$tmp/$name.log" | grep -oE '[0-9]+$' | head -1 || true)
    [[ -n $port ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start:" >&2
  cat "$tmp/$name.log" >&2
  exit 1
}

# stop PID: ends one server started here.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# field LINE KEY: the value of KEY=VALUE in a key=value result line.
field() { grep -oE "(^| )$2=[^ ]*" <<<"$1" | head -1 | cut -d= -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# load ARGS...: one weft_load run, bounded in time; never fails the script.
load() {
  timeout 120 "$bin/weft_load" "$@" --max-seconds 100 2>>"$tmp/load.err" || true
}

# closing_notes LOG: the last lines of every report: how many warning and
# error lines weftd wrote to LOG (and the first of them), and whatever the
# load generator said on stderr.
closing_notes() {
  local warnings
  warnings=$(grep -cE 'level=(warn|error)' "$1" || true)
  echo "- weftd logged $warnings warning/error lines during the run"
  if [[ $warnings != 0 ]]; then grep -E 'level=(warn|error)' "$1" | head -5; fi
  if [[ -s $tmp/load.err ]]; then
    echo "- load generator stderr:"
    sed 's/^/    /' "$tmp/load.err" | head -10
  fi
}
