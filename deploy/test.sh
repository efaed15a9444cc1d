#!/usr/bin/env bash
# Installs what is missing, builds weft with its tests (warnings are errors
# when CI is set), and runs the whole suite. Exits non-zero on any failure.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# curl, python3 and python3-h11 drive the HTTP gateway's loopback tests;
# docker-compose (its `config` needs no Docker daemon), shellcheck and openssl
# check deploy/ (tests/integration/deploy, tests/integration/cluster).
weft_install_packages curl python3 python3-h11 docker-compose shellcheck openssl
werror=OFF
if [ -n "${CI:-}" ]; then
  werror=ON
fi
weft_build -DWEFT_BUILD_TESTS=ON -DWEFT_BUILD_BENCHMARKS=ON -DWEFT_WERROR="$werror"
cd "$(weft_root)/build"
ctest --output-on-failure --timeout 300 -j "${WEFT_JOBS:-2}"
