#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and runs `ndishost demo`
# (arguments are passed on, e.g. scripts/demo.sh --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh default >/dev/null
exec build/default/src/host/ndishost demo "$@"
