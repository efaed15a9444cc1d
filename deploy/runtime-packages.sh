#!/usr/bin/env bash
# Prints, one per line and sorted, the Debian packages that hold the shared
# libraries the given programs load (ldd, then dpkg -S), libc6 included:
# installing a package the base image already has costs nothing, and the
# list does not depend on what a base image happens to hold.
# deploy/Dockerfile's runtime stage installs this list, and a test
# (tests/integration/deploy/docker_config_test.sh) checks that it still does.
#   deploy/runtime-packages.sh build/bin/weftd build/bin/weft
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: deploy/runtime-packages.sh PROGRAM..." >&2
  exit 2
fi

libs=()
for program in "$@"; do
  if [ ! -x "$program" ]; then
    echo "runtime-packages.sh: $program is not an executable" >&2
    exit 1
  fi
  out="$(ldd "$program")"
  if grep -q "not found" <<<"$out"; then
    echo "runtime-packages.sh: $program has unresolved libraries:" >&2
    grep "not found" <<<"$out" >&2
    exit 1
  fi
  while read -r path; do
    libs+=("$path")
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$out")
done

# dpkg knows a file by the path its package installed it at; with the
# merged /usr that may be the /lib one or the /usr/lib one, and ldd may name
# a symlink: ask about every spelling at once (one dpkg -S is ~0.1 s).
declare -A candidates=()
for lib in "${libs[@]}"; do
  for path in "$lib" "$(readlink -f "$lib")"; do
    candidates["$path"]=1
    candidates["${path#/usr}"]=1
    candidates["/usr${path#/usr}"]=1
  done
done
declare -A owner_of=()
while IFS= read -r line; do
  # "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3"
  package="${line%%: *}"
  owner_of["${line#*: }"]="${package%%:*}"
done < <(dpkg -S "${!candidates[@]}" 2>/dev/null || true)

declare -A packages=()
for lib in "${libs[@]}"; do
  owner=""
  for path in "$lib" "$(readlink -f "$lib")"; do
    for candidate in "$path" "${path#/usr}" "/usr${path#/usr}"; do
      owner="${owner_of[$candidate]:-}"
      [ -n "$owner" ] && break 2
    done
  done
  if [ -z "$owner" ]; then
    echo "runtime-packages.sh: no Debian package holds $lib" >&2
    exit 1
  fi
  packages["$owner"]=1
done
printf '%s\n' "${!packages[@]}" | sort
