#!/usr/bin/env bash
# Installs what is missing, builds weft with its tests (warnings are errors
# when CI is set), and runs the whole suite. Exits non-zero on any failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# curl, python3 and python3-h11 drive the HTTP gateway's loopback tests.
weft_install_packages curl python3 python3-h11
werror=OFF
if [ -n "${CI:-}" ]; then
  werror=ON
fi
weft_build -DWEFT_BUILD_TESTS=ON -DWEFT_BUILD_BENCHMARKS=ON -DWEFT_WERROR="$werror"
cd "$(weft_root)/build"
ctest --output-on-failure --timeout 300 -j "${WEFT_JOBS:-2}"
