#!/usr/bin/env bash
# Installs what is missing, builds weft, and runs the default node (the
# embedded demo app) in the foreground. Extra arguments go to weftd, e.g.
#   deploy/run.sh --log-level=debug
# Stop it with Ctrl-C: it drains and exits 0.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
weft_install_packages
weft_build -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCHMARKS=OFF
exec "$(weft_root)/build/bin/weftd" "$@"
