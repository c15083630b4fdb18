// Frames through the in-process wire (the far side joining two emulated devices), against
// a plain copy of the same bytes: what the wire's queue and delivery thread cost.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "link/wire.hpp"

namespace {

using ndishost::link::Wire;

void BM_Wire_Frames(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto ends = Wire::create("bench", {.queueDepth = 4096});
  std::atomic<std::uint64_t> received{0};
  ends.b->setReceiveHandler([&](std::span<const std::byte>) { received.fetch_add(1, std::memory_order_relaxed); });
  std::vector<std::byte> frame(size, std::byte{0x5a});
  std::uint64_t sent = 0;
  for (auto _ : state) {
    // A full queue is back-pressure, not loss, for this measurement: retry.
    while (!ends.a->transmit(frame)) std::this_thread::yield();
    ++sent;
  }
  ends.a->wire().waitIdle();
  state.SetItemsProcessed(static_cast<std::int64_t>(sent));
  state.SetBytesProcessed(static_cast<std::int64_t>(sent * size));
  state.counters["delivered"] = static_cast<double>(received.load());
}
BENCHMARK(BM_Wire_Frames)->Arg(64)->Arg(1514)->UseRealTime();

void BM_Baseline_Memcpy(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  std::vector<std::byte> from(size, std::byte{0x5a}), to(size);
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), size);
    benchmark::DoNotOptimize(to.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_Baseline_Memcpy)->Arg(64)->Arg(1514);

}  // namespace

BENCHMARK_MAIN();
