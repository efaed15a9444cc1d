#!/usr/bin/env bash
# Checks of deploy/ that need no Docker daemon. Exit 0 pass, 1 fail, 77 skip.
#   deploy_checks_test.sh compose              docker-compose config accepts
#                                              deploy/docker-compose.yml, and
#                                              its shape: workers scale (no
#                                              container_name, no host ports),
#                                              the node port is not published
#   deploy_checks_test.sh packages BIN_DIR     deploy/Dockerfile's runtime
#                                              packages hold every library
#                                              weftd and weft load, and apt
#                                              knows each of them
#   deploy_checks_test.sh healthcheck BIN_DIR  the image's health check
#                                              against a real weftd that runs
#                                              on deploy/weft.conf and the
#                                              image's weftd.conf
#   deploy_checks_test.sh shellcheck           the deploy and test scripts
#   deploy_checks_test.sh certs                tests/integration/cluster/
#                                              make_test_certs.sh: which
#                                              certificates verify against
#                                              the test CA, key modes
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
skip=77

fail() {
  echo "FAIL: $*"
  exit 1
}

check_compose() {
  local compose=()
  if command -v docker-compose >/dev/null; then
    compose=(docker-compose)
  elif docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
  else
    echo "SKIP: neither docker-compose nor 'docker compose' is installed" \
      "(apt-get install docker-compose; deploy/test.sh installs it)"
    exit "$skip"
  fi
  local out
  # The file's variables must have defaults: an unset one would only warn.
  out="$(env -u GATEWAY_BIND -u GATEWAY_TCP_PORT -u GATEWAY_HTTP_PORT \
    "${compose[@]}" -f "$root/deploy/docker-compose.yml" config 2>&1)" ||
    fail "${compose[*]} config rejected deploy/docker-compose.yml: $out"
  if grep -qi "warning" <<<"$out"; then
    fail "${compose[*]} config warned: $(grep -i warning <<<"$out")"
  fi
  # The shape, from the resolved file (python3-yaml comes with docker-compose).
  /usr/bin/python3 - "$out" <<'PY'
import sys
import yaml

doc = yaml.safe_load(sys.argv[1])
services = doc["services"]
problems = []
for name in ("gateway", "worker"):
    if name not in services:
        problems.append(f"no service {name}")
gateway, worker = services.get("gateway", {}), services.get("worker", {})
for key in ("container_name", "ports"):
    if key in worker:
        problems.append(f"worker has {key}: it could not scale")


def target_port(port):
    """The container port of a short ("127.0.0.1:7700:7700/tcp", compose 1.x)
    or long ({"target": 7700, ...}, compose 2.x) port entry."""
    if isinstance(port, dict):
        return int(port["target"])
    return int(str(port).split("/")[0].split(":")[-1].split("-")[0])


published = sorted(target_port(p) for p in gateway.get("ports", []))
if published != [7700, 8080]:
    problems.append(f"gateway publishes container ports {published}, "
                    "expected 7700 and 8080 (and never the node port 7800)")
env = {k: str(v) for k, v in gateway.get("environment", {}).items()}
for key, want in (("WEFT_ROLE", "gateway"), ("WEFT_TCP_LISTEN", "0.0.0.0:7700"),
                  ("WEFT_HTTP_LISTEN", "0.0.0.0:8080"),
                  ("WEFT_NODE_LISTEN", "0.0.0.0:7800")):
    if env.get(key) != want:
        problems.append(f"gateway {key}={env.get(key)!r}, expected {want!r}")
wenv = {k: str(v) for k, v in worker.get("environment", {}).items()}
if wenv.get("WEFT_ROLE") != "worker" or wenv.get("WEFT_JOIN") != "gateway:7800":
    problems.append(f"worker environment {wenv}")
for name, svc in services.items():
    for key in ("healthcheck", "restart"):
        if key not in svc:
            problems.append(f"{name} has no {key}")
if "gateway" not in worker.get("depends_on", {}):
    problems.append("worker does not depend on gateway")
if problems:
    print("FAIL: deploy/docker-compose.yml: " + "; ".join(problems))
    sys.exit(1)
PY
  # The build context after .dockerignore, as docker-compose's own library
  # (python3-docker) computes it: the sources, no build tree, no .git.
  /usr/bin/python3 - "$root" <<'PY'
import os
import sys

root = sys.argv[1]
try:
    from docker.utils.build import exclude_paths
except ImportError:
    print("note: python3-docker is missing: .dockerignore not checked")
    sys.exit(0)
with open(os.path.join(root, ".dockerignore")) as f:
    patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
files = exclude_paths(root, patterns, dockerfile="deploy/Dockerfile")
leaked = sorted(f for f in files if f.split("/")[0] in (".git", "build")
                or f.split("/")[0].startswith("build-"))
missing = [f for f in ("CMakeLists.txt", "deploy/lib.sh", "deploy/Dockerfile",
                       "deploy/docker/healthcheck.sh", "deploy/docker/weftd.conf")
           if f not in files]
if leaked or missing:
    print(f"FAIL: docker build context: leaked {leaked[:5]}, missing {missing}")
    sys.exit(1)
PY
  echo "PASS: ${compose[*]} config accepts deploy/docker-compose.yml; .dockerignore keeps build trees and .git out"
}

# The package names of the runtime stage's `apt-get install` (the second
# FROM on), one per line.
dockerfile_runtime_packages() {
  awk '
    /^FROM / { stage++ }
    stage == 2 && /apt-get install/ { on = 1; next }
    on && /&&/ { on = 0 }
    on { gsub(/\\/, ""); for (i = 1; i <= NF; i++) print $i }
  ' "$root/deploy/Dockerfile" | sort -u
}

check_packages() {
  local bin_dir="$1"
  local listed needed missing
  listed="$(dockerfile_runtime_packages)"
  [ -n "$listed" ] || fail "found no apt-get install list in deploy/Dockerfile's runtime stage"
  needed="$("$root/deploy/runtime-packages.sh" "$bin_dir/weftd" "$bin_dir/weft")" ||
    fail "deploy/runtime-packages.sh failed"
  # A sanitizer build links its runtime (libasan8, libubsan1, libtsan2),
  # which the image's Release build never does.
  needed="$(grep -vE '^lib(a|ub|t|l)san[0-9]+$' <<<"$needed" || true)"
  missing="$(comm -23 <(printf '%s\n' "$needed") <(printf '%s\n' "$listed"))"
  if [ -n "$missing" ]; then
    fail "deploy/Dockerfile's runtime stage lacks $(tr '\n' ' ' <<<"$missing")(needed by weftd/weft: run deploy/runtime-packages.sh)"
  fi
  local extra
  extra="$(comm -13 <(printf '%s\n' "$needed") <(printf '%s\n' "$listed") | tr '\n' ' ')"
  if [ -n "$extra" ]; then
    echo "note: listed but not loaded by this build: $extra"
  fi
  # One apt-cache call for all (each one reads the whole package lists).
  # shellcheck disable=SC2086 # one word per package
  if ! apt-cache show --no-all-versions $listed >/dev/null 2>&1; then
    if ! apt-cache show --no-all-versions libc6 >/dev/null 2>&1; then
      echo "note: apt has no package lists (apt-get update): not asking apt about the names"
    else
      local pkg
      for pkg in $listed; do
        apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1 ||
          fail "apt-cache show $pkg: no such package (deploy/Dockerfile runtime stage)"
      done
    fi
  fi
  echo "PASS: deploy/Dockerfile's runtime packages: $(tr '\n' ' ' <<<"$listed")"
}

check_healthcheck() {
  local bin_dir="$1" hc="$root/deploy/docker/healthcheck.sh"
  local tmp pid=""
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: the values are fixed
  trap "[ -n \"\${pid:-}\" ] && kill -KILL \"\$pid\" 2>/dev/null; rm -rf '$tmp'" EXIT
  local conf
  for conf in "$root/deploy/weft.conf" "$root/deploy/docker/weftd.conf"; do
    : >"$tmp/weftd.log"
    "$bin_dir/weftd" --config "$conf" --tcp-listen 127.0.0.1:0 \
      --http-listen 127.0.0.1:0 --scheduler-threads 1 --io-threads 1 \
      </dev/null >"$tmp/weftd.log" 2>&1 &
    pid=$!
    local deadline=$((SECONDS + 30)) line=""
    until line="$(grep -m1 "event=http.listening" "$tmp/weftd.log")" &&
        grep -q "event=node.started" "$tmp/weftd.log"; do
      kill -0 "$pid" 2>/dev/null || fail "weftd --config $conf exited: $(cat "$tmp/weftd.log")"
      [ "$SECONDS" -lt "$deadline" ] || fail "weftd did not start within 30s"
      sleep 0.1
    done
    local address="${line##*address=}"
    address="${address%% *}"
    "$hc" http "$address" /health || fail "healthcheck http $address /health failed"
    if "$hc" http "$address" /no-such-path 2>/dev/null; then
      fail "healthcheck passed on a 404"
    fi
    # auto mode: the HTTP port from WEFT_HTTP_LISTEN.
    WEFT_HTTP_LISTEN="0.0.0.0:${address##*:}" "$hc" || fail "healthcheck (auto) failed"
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    pid=""
    [ "$rc" -eq 0 ] || fail "weftd exited $rc after SIGTERM"
  done
  # Nothing listens on the port weftd had: unhealthy.
  if "$hc" http "$address" /health 2>/dev/null; then
    fail "healthcheck passed with no server"
  fi
  # peer mode: an established connection to a local listener's port.
  /usr/bin/python3 - "$hc" <<'PY' || fail "healthcheck peer"
import socket, subprocess, sys
hc = sys.argv[1]
listener = socket.create_server(("127.0.0.1", 0))
port = listener.getsockname()[1]
if subprocess.run([hc, "peer", str(port)], capture_output=True).returncode == 0:
    sys.exit("peer passed before any connection")
client = socket.create_connection(("127.0.0.1", port))
server, _ = listener.accept()
if subprocess.run([hc, "peer", str(port)]).returncode != 0:
    sys.exit("peer failed with an established connection")
PY
  echo "PASS: weft-healthcheck (http, auto, peer); weftd accepts deploy/weft.conf and deploy/docker/weftd.conf"
}

check_shellcheck() {
  if ! command -v shellcheck >/dev/null; then
    echo "SKIP: shellcheck is not installed (apt-get install shellcheck; deploy/test.sh installs it)"
    exit "$skip"
  fi
  cd "$root"
  shellcheck -x deploy/*.sh deploy/docker/*.sh tests/integration/cluster/*.sh \
    tests/integration/deploy/*.sh || fail "shellcheck"
  echo "PASS: shellcheck"
}

check_certs() {
  command -v openssl >/dev/null ||
    { echo "SKIP: the openssl command is not installed"; exit "$skip"; }
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now
  trap "rm -rf '$tmp'" EXIT
  "$root/tests/integration/cluster/make_test_certs.sh" "$tmp/certs" gw w1 >/dev/null ||
    fail "make_test_certs.sh"
  local cert
  for cert in gw w1; do
    local purpose
    for purpose in sslserver sslclient; do
      openssl verify -CAfile "$tmp/certs/ca.pem" -purpose "$purpose" \
        "$tmp/certs/$cert.pem" >/dev/null ||
        fail "$cert.pem does not verify against ca.pem as $purpose"
    done
  done
  for cert in rogue self-signed expired; do
    if openssl verify -CAfile "$tmp/certs/ca.pem" "$tmp/certs/$cert.pem" >/dev/null 2>&1; then
      fail "$cert.pem verifies against the test CA"
    fi
  done
  openssl verify -CAfile "$tmp/certs/rogue-ca.pem" "$tmp/certs/rogue.pem" >/dev/null ||
    fail "rogue.pem does not verify against its own CA"
  [ "$(stat -c %a "$tmp/certs/gw.key")" = 600 ] || fail "gw.key is not mode 600"
  "$root/tests/integration/cluster/make_test_certs.sh" --passphrase s3cret "$tmp/enc" >/dev/null ||
    fail "make_test_certs.sh --passphrase"
  grep -q "ENCRYPTED PRIVATE KEY" "$tmp/enc/worker.key" || fail "worker.key is not encrypted"
  openssl pkey -in "$tmp/enc/worker.key" -passin pass:s3cret -noout ||
    fail "worker.key does not open with its passphrase"
  echo "PASS: make_test_certs.sh: node certificates verify; rogue, self-signed and expired do not"
}

case "${1:-}" in
  compose) check_compose ;;
  certs) check_certs ;;
  packages) [ $# -eq 2 ] || fail "usage: $0 packages BIN_DIR"; check_packages "$2" ;;
  healthcheck) [ $# -eq 2 ] || fail "usage: $0 healthcheck BIN_DIR"; check_healthcheck "$2" ;;
  shellcheck) check_shellcheck ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
