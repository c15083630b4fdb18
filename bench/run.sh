#!/usr/bin/env bash
# Builds the benchmark programs (Release) and runs them, then prints each ndishost path next
# to its baseline from the same run. Usage: bench/run.sh [--quick] [benchmark filter regex]
#   --quick  shorter runs (--benchmark_min_time=0.05), for a smoke check
# Results (JSON, one file per program) go to build/bench/results/.
# bench_inprocess (frames through TAP binding, NDIS, miniports, USB, devices and the wire)
# needs root and /dev/net/tun: without them its benchmarks report an error and are skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
min_time=0.5
if [ "${1:-}" = "--quick" ]; then min_time=0.05; shift; fi
filter=${1:-.}

"$root/scripts/install-deps.sh"
build="$root/build/bench"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DNDISHOST_BENCHMARKS=ON >/dev/null
ninja -C "$build" bench_kernel bench_ndis bench_link bench_ncm bench_inprocess >/dev/null
mkdir -p "$build/results"
for program in bench_kernel bench_ndis bench_link bench_ncm bench_inprocess; do
  echo "== $program"
  "$build/bench/$program" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
      --benchmark_out="$build/results/$program.json" --benchmark_out_format=json
done
python3 "$root/bench/ratios.py" "$build"/results/*.json
