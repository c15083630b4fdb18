// CDC-NCM transfer blocks: building and validating an NTB full of datagrams, per datagram,
// against copying the same datagrams (the floor any NTB builder pays).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "usb/device/ncm_ntb.hpp"

namespace {

using namespace ndishost::usb::device;

constexpr std::size_t kNtbSize = 16384;

std::vector<std::vector<std::byte>> datagrams(std::size_t size) {
  std::vector<std::vector<std::byte>> all;
  for (std::size_t used = 12 + 8; used + size + 8 + 4 < kNtbSize; used += size + 8 + 4)
    all.emplace_back(size, std::byte{0x42});
  return all;
}

void BM_Ntb16_Build(benchmark::State& state) {
  const auto frames = datagrams(static_cast<std::size_t>(state.range(0)));
  std::vector<std::byte> ntb(kNtbSize);
  NtbWriter writer;
  writer.reserve(frames.size());
  NtbBuildParameters params;
  params.maxBlockLength = kNtbSize;
  std::uint16_t sequence = 0;
  std::size_t packed = 0;
  for (auto _ : state) {
    writer.begin(ntb, params, sequence++);
    for (const auto& f : frames) {
      if (!writer.append(f)) break;
      ++packed;
    }
    benchmark::DoNotOptimize(writer.finish());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(packed));
}
BENCHMARK(BM_Ntb16_Build)->Arg(64)->Arg(1514);

void BM_Ntb16_Parse(benchmark::State& state) {
  const auto frames = datagrams(static_cast<std::size_t>(state.range(0)));
  std::vector<std::span<const std::byte>> views(frames.begin(), frames.end());
  std::vector<std::byte> ntb(kNtbSize);
  NtbBuildParameters params;
  params.maxBlockLength = kNtbSize;
  auto length = buildNtb(ntb, views, params, 1);
  if (!length) {
    state.SkipWithError("NTB did not fit");
    return;
  }
  NtbLimits limits;
  limits.maxBlockLength = kNtbSize;
  std::vector<std::span<const std::byte>> out(frames.size());
  std::size_t parsed = 0;
  for (auto _ : state) {
    auto result = parseNtb(std::span(ntb).first(*length), limits, out);
    parsed += result.datagramCount;
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(parsed));
}
BENCHMARK(BM_Ntb16_Parse)->Arg(64)->Arg(1514);

void BM_Baseline_CopyDatagrams(benchmark::State& state) {
  const auto frames = datagrams(static_cast<std::size_t>(state.range(0)));
  std::vector<std::byte> ntb(kNtbSize);
  std::size_t copied = 0;
  for (auto _ : state) {
    std::size_t at = 0;
    for (const auto& f : frames) {
      std::memcpy(ntb.data() + at, f.data(), f.size());
      at += f.size();
      ++copied;
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(copied));
}
BENCHMARK(BM_Baseline_CopyDatagrams)->Arg(64)->Arg(1514);

}  // namespace

BENCHMARK_MAIN();
