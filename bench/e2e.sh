#!/usr/bin/env bash
# End-to-end benchmark: TCP throughput (iperf3) and ping latency (median, p99) between two
# network namespaces, in one run
#   1. through a plain veth pair (the baseline), and
#   2. through ndishost: an emulated CDC-NCM adapter and an emulated RNDIS adapter joined
#      by an in-process wire, each driven by its NDIS-WDM miniport and bound to a TAP
#      interface in its namespace (the demo topology),
# then prints both and the ratio. Needs root and iperf3.
#
# Usage: bench/e2e.sh [--time SECONDS] [--pings N] [--flush-delay MICROSECONDS]
#                     [--aggregation adaptive|timer|both] [--compare-receive-urbs N] [--build DIR]
#   --flush-delay  the miniports' TransmitFlushDelay keyword (default: the drivers' 300 us)
#   --aggregation  the miniports' TransmitAggregation keyword: adaptive (0, the default: a
#                  frame meeting an idle bulk-OUT pipe goes at once), timer (1: always wait
#                  for the flush timer), both (= adaptive,timer): ndishost measured twice,
#                  side by side, or a comma-separated order such as timer,adaptive
#   --compare-receive-urbs N  ndishost measured with the drivers' default ReceiveUrbs and
#                  then with ReceiveUrbs N, side by side (frames the devices dropped for want
#                  of a posted bulk-IN transfer are printed after each variant)
#   --build        an existing build directory to use as it is configured (default:
#                  build/bench, configured as a Release build)
# Results: build/bench/results/e2e.json (and the table on stdout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=5
pings=500
flush_delay=""
aggregation=""
build=""
receive_urbs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds=$2; shift 2 ;;
    --pings) pings=$2; shift 2 ;;
    --flush-delay) flush_delay=$2; shift 2 ;;
    --aggregation) aggregation=$2; shift 2 ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --compare-receive-urbs) receive_urbs=$2; shift 2 ;;
    -h|--help) sed -n 2,24p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/e2e.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$aggregation" != both ] || aggregation="adaptive,timer"
variants="${aggregation//,/ }"
[ -n "$variants" ] || variants="ndishost"
for variant in $variants; do
  case "$variant" in
    ndishost|adaptive|timer) ;;
    *) echo "bench/e2e.sh: --aggregation takes adaptive, timer, both or a comma-separated list" >&2; exit 2 ;;
  esac
done
if [ -n "$receive_urbs" ]; then
  [ -n "$aggregation" ] || variants="default"
  variants="$variants rxurbs$receive_urbs"
fi
[ "$(id -u)" -eq 0 ] || { echo "bench/e2e.sh: needs root (network namespaces, TAP)" >&2; exit 2; }

if [ -z "$build" ]; then
  "$root/scripts/install-deps.sh"
  build="$root/build/bench"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DNDISHOST_BENCHMARKS=ON >/dev/null
fi
ninja -C "$build" ndishost usbncm usbrndis >/dev/null
mkdir -p "$build/results"
ndishost="$build/src/host/ndishost"

tag="ndbench$$"
va="$tag-va" vb="$tag-vb" na="$tag-na" nb="$tag-nb"
work=$(mktemp -d)
host_pid=""
cleanup() {
  if [ -n "$host_pid" ]; then kill -TERM "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; fi
  for ns in "$va" "$vb" "$na" "$nb"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# measure <client-ns> <server-ns> <server-address> <label>: appends one JSON object to $work/results
measure() {
  local client=$1 server=$2 address=$3 label=$4
  ip netns exec "$client" ping -c 3 -W 2 "$address" >/dev/null
  ip netns exec "$client" ping -c "$pings" -i 0.002 -W 1 "$address" > "$work/$label.ping"
  ip netns exec "$server" iperf3 -s -1 -B "$address" >/dev/null 2>&1 &
  local server_pid=$!
  sleep 0.3
  ip netns exec "$client" iperf3 -c "$address" -t "$seconds" -J > "$work/$label.iperf"
  wait "$server_pid" || true
  python3 - "$label" "$work/$label.ping" "$work/$label.iperf" >> "$work/results" <<'PY'
import json, re, statistics, sys
label, ping, iperf = sys.argv[1:4]
rtts = sorted(float(m) for m in re.findall(r"time=([0-9.]+) ms", open(ping).read()))
result = json.load(open(iperf))
bps = result["end"]["sum_received"]["bits_per_second"]
p99 = rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))]
print(json.dumps({"path": label, "tcp_gbit_s": bps / 1e9, "rtt_median_us": statistics.median(rtts) * 1000,
                  "rtt_p99_us": p99 * 1000, "pings": len(rtts)}))
PY
}

echo "== baseline: veth pair"
ip netns add "$va"; ip netns add "$vb"
ip link add "$tag-a" netns "$va" type veth peer name "$tag-b" netns "$vb"
ip -n "$va" addr add 10.98.0.1/24 dev "$tag-a"; ip -n "$vb" addr add 10.98.0.2/24 dev "$tag-b"
for ns in "$va" "$vb"; do ip -n "$ns" link set lo up; done
ip -n "$va" link set "$tag-a" up; ip -n "$vb" link set "$tag-b" up
measure "$va" "$vb" 10.98.0.2 veth

echo "== ndishost: NCM and RNDIS adapters on a wire, TAPs in namespaces"
ip netns add "$na"; ip netns add "$nb"
for ns in "$na" "$nb"; do ip -n "$ns" link set lo up; done
# run_ndishost <label>: starts ndishost with the keywords of that variant, measures, stops it.
run_ndishost() {
  local label=$1 keywords=()
  [ -z "$flush_delay" ] || keywords+=("TransmitFlushDelay = $flush_delay")
  case "$label" in
    adaptive) keywords+=("TransmitAggregation = 0") ;;
    timer) keywords+=("TransmitAggregation = 1") ;;
    rxurbs*) keywords+=("ReceiveUrbs = ${label#rxurbs}") ;;
  esac
  local registry=""
  if [ ${#keywords[@]} -gt 0 ]; then registry="registry = { $(IFS=,; echo "${keywords[*]}") }"; fi
  cat > "$work/ndishost.toml" <<TOML
[[device]]
kind = "ncm"
far-side = "wire:bench"
tap = "ndb0"
tap-namespace = "$na"
$registry

[[device]]
kind = "rndis"
far-side = "wire:bench"
tap = "ndb1"
tap-namespace = "$nb"
$registry
TOML
  "$ndishost" up --config "$work/ndishost.toml" > "$work/ndishost-$label.log" 2>&1 &
  host_pid=$!
  for _ in $(seq 100); do
    if ip -n "$na" link show ndb0 >/dev/null 2>&1 && ip -n "$nb" link show ndb1 >/dev/null 2>&1; then break; fi
    kill -0 "$host_pid" 2>/dev/null || { cat "$work/ndishost-$label.log" >&2; exit 1; }
    sleep 0.1
  done
  ip -n "$na" addr add 10.98.1.1/24 dev ndb0; ip -n "$nb" addr add 10.98.1.2/24 dev ndb1
  ip -n "$na" link set ndb0 up; ip -n "$nb" link set ndb1 up
  echo "-- $label${registry:+ ($registry)}"
  measure "$na" "$nb" 10.98.1.2 "$label"
  # Frames each emulated device dropped because no bulk-IN transfer was posted.
  if "$ndishost" stats --json > "$work/stats-$label.json" 2>/dev/null; then
    python3 - "$work/stats-$label.json" <<'PY' || true
import json, sys
for name, device in json.load(open(sys.argv[1])).items():
    dropped = device.get("usb_device", {}).get("receive_no_buffer", "?")
    print(f"   {name}: device receive_no_buffer {dropped}")
PY
  fi
  kill -TERM "$host_pid"; wait "$host_pid" || true
  host_pid=""
  # The TAPs go with the process; wait until they are gone before the next variant.
  for _ in $(seq 50); do
    ip -n "$na" link show ndb0 >/dev/null 2>&1 || ip -n "$nb" link show ndb1 >/dev/null 2>&1 || break
    sleep 0.1
  done
}
for variant in $variants; do run_ndishost "$variant"; done

python3 - "$work/results" "$build/results/e2e.json" "$seconds" "$flush_delay" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
veth = rows[0]
summary = {"seconds": int(sys.argv[3]), "flush_delay_us": sys.argv[4] or "driver default", "veth": veth,
           "ndishost": rows[1:]}
print(f"{'path':10} {'TCP Gbit/s':>11} {'RTT median us':>14} {'RTT p99 us':>11}")
print(f"{veth['path']:10} {veth['tcp_gbit_s']:11.3f} {veth['rtt_median_us']:14.1f} {veth['rtt_p99_us']:11.1f}")
for nd in rows[1:]:
    nd["ratio"] = {"tcp": nd["tcp_gbit_s"] / veth["tcp_gbit_s"],
                   "rtt_median": nd["rtt_median_us"] / veth["rtt_median_us"],
                   "rtt_p99": nd["rtt_p99_us"] / veth["rtt_p99_us"]}
    print(f"{nd['path']:10} {nd['tcp_gbit_s']:11.3f} {nd['rtt_median_us']:14.1f} {nd['rtt_p99_us']:11.1f}")
    r = nd["ratio"]
    print(f"{'  ratio':10} {r['tcp']:11.3f} {r['rtt_median']:14.2f} {r['rtt_p99']:11.2f}   ({nd['path']} / veth)")
json.dump(summary, open(sys.argv[2], "w"), indent=2)
PY
