#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs the whole suite
# three times -- plain, ASan+UBSan, TSan -- as CI does. `scripts/test.sh default` runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
flavours=("$@")
[ ${#flavours[@]} -gt 0 ] || flavours=(default asan tsan)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

total_failed=0
for flavour in "${flavours[@]}"; do
  echo "=== $flavour: build"
  ./scripts/build.sh "$flavour"
  echo "=== $flavour: test"
  if ! ctest --test-dir "build/$flavour" -j "$(nproc)" --output-on-failure --timeout 300; then
    total_failed=$((total_failed + 1))
  fi
done
[ "$total_failed" -eq 0 ]
