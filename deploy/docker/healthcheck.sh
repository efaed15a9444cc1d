#!/usr/bin/env bash
# The container health check of weft's image (installed as weft-healthcheck);
# plain bash and coreutils, so the runtime image needs no curl.
#
#   weft-healthcheck http HOST:PORT [PATH]   GET PATH (default /health) over
#                                            HTTP/1.1: healthy on status 200
#   weft-healthcheck peer PORT               healthy while this host has an
#                                            established TCP connection to a
#                                            remote PORT (a worker joined to a
#                                            gateway's node port)
#   weft-healthcheck                         auto: "peer" on the port of the
#                                            first WEFT_JOIN entry when
#                                            WEFT_ROLE=worker (a worker has no
#                                            HTTP listener), else "http" on
#                                            127.0.0.1 and the port of
#                                            WEFT_HTTP_LISTEN (default 8080)
#
# Exit 0 healthy, 1 unhealthy (one line on stderr says why), 2 usage; the
# whole check is bounded by 5 s (exit 124 past it).
set -euo pipefail

timeout_s=5

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

unhealthy() {
  echo "weft-healthcheck: $*" >&2
  exit 1
}

# port_of HOST:PORT or [V6]:PORT -> PORT
port_of() {
  local port="${1##*:}"
  case "$port" in
    ''|*[!0-9]*) return 1 ;;
  esac
  printf '%s\n' "$port"
}

check_http() {
  local target="$1" path="${2:-/health}" host port status
  port="$(port_of "$target")" || { echo "bad HOST:PORT '$target'" >&2; exit 2; }
  host="${target%:*}"
  host="${host#[}"
  host="${host%]}"
  # bash's /dev/tcp pseudo-device opens the connection.
  { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null ||
    unhealthy "cannot connect to $target"
  printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' \
    "$path" "$target" >&3
  IFS= read -r status <&3 || unhealthy "no answer from $target"
  exec 3<&- 3>&-
  status="${status%$'\r'}"
  case "$status" in
    "HTTP/1."?" 200 "*|"HTTP/1."?" 200") return 0 ;;
  esac
  unhealthy "GET $path on $target answered '$status'"
}

# An established (state 01) connection whose remote port is PORT, in
# /proc/net/tcp or tcp6 (addresses and ports there are hexadecimal).
check_peer() {
  local port="$1" hex
  case "$port" in
    ''|*[!0-9]*) echo "bad PORT '$port'" >&2; exit 2 ;;
  esac
  hex="$(printf '%04X' "$port")"
  local file
  for file in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$file" ] || continue
    # Columns: sl local_address rem_address st ...
    if awk -v p=":$hex" 'NR > 1 && $4 == "01" && substr($3, length($3) - 4) == p { found = 1 } END { exit !found }' "$file"; then
      return 0
    fi
  done
  unhealthy "no established connection to a peer's port $port"
}

if [ -z "${_weft_healthcheck_bounded:-}" ]; then
  # Bound the whole check (a connect to a black hole can hang).
  _weft_healthcheck_bounded=1 exec timeout "$timeout_s" "$0" "$@"
fi

mode="${1:-auto}"
case "$mode" in
  http)
    [ $# -ge 2 ] || usage
    check_http "$2" "${3:-/health}" ;;
  peer)
    [ $# -eq 2 ] || usage
    check_peer "$2" ;;
  auto)
    [ $# -le 1 ] || usage
    if [ "${WEFT_ROLE:-both}" = worker ]; then
      join="${WEFT_JOIN:-gateway:7800}"
      join="${join%%,*}"
      port="$(port_of "$join")" || unhealthy "cannot read a port from WEFT_JOIN '$join'"
      check_peer "$port"
    else
      port="$(port_of "${WEFT_HTTP_LISTEN:-127.0.0.1:8080}")" ||
        unhealthy "WEFT_HTTP_LISTEN is empty or has no port: no /health to check"
      check_http "127.0.0.1:$port" /health
    fi ;;
  -h|--help) usage 0 ;;
  *) usage ;;
esac
