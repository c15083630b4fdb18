#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and runs `ndishost demo` as root
# (it creates network namespaces and TAP interfaces; sudo when not root). Arguments are
# passed on, e.g. scripts/demo.sh --time 5, scripts/demo.sh --help.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh default >/dev/null
if [ "$(id -u)" -ne 0 ]; then
  exec sudo build/default/src/host/ndishost demo "$@"
fi
exec build/default/src/host/ndishost demo "$@"
