# shellcheck shell=bash
# Shared by deploy/run.sh and deploy/test.sh: installs missing Debian
# packages and builds weft into build/. Source it; do not run it.

# The Debian bookworm packages weft needs to build, run and test.
WEFT_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libcaf-dev
  libprotobuf-dev protobuf-compiler
  libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libisal-dev libxxhash-dev
  libgoogle-perftools-dev
  libssl-dev
  libboost-dev libhttp-parser-dev
)

weft_root() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

# Installs whatever of WEFT_PACKAGES (plus any arguments) is missing.
weft_install_packages() {
  local wanted=("${WEFT_PACKAGES[@]}" "$@") missing=() pkg
  for pkg in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "weft: installing ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Configures and builds into build/ with any extra CMake arguments.
weft_build() {
  local root
  root="$(weft_root)"
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build "$root/build" -j "${WEFT_JOBS:-2}"
}
