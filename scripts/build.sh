#!/usr/bin/env bash
# scripts/build.sh [default|asan|tsan]: configure and build one flavour into build/<flavour>.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-default}
case "$flavour" in
  default) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=Debug -DNDISHOST_SANITIZE=address,undefined) ;;
  tsan) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNDISHOST_SANITIZE=thread) ;;
  *) echo "build.sh: unknown flavour '$flavour' (default, asan, tsan)" >&2; exit 2 ;;
esac
cmake -S . -B "build/$flavour" -G Ninja "${args[@]}" >/dev/null
cmake --build "build/$flavour" -j "$(nproc)"
