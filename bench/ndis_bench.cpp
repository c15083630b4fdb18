// The NDIS per-packet allocations a miniport and a binding make, against malloc.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "bench_support.hpp"

namespace {

NDIS_HANDLE makeNblPool(BOOLEAN allocateNetBuffer, ULONG dataSize) {
  NET_BUFFER_LIST_POOL_PARAMETERS p = {};
  p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  p.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  p.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  p.fAllocateNetBuffer = allocateNetBuffer;
  p.PoolTag = 'hcnB';
  p.DataSize = dataSize;
  return NdisAllocateNetBufferListPool(nullptr, &p);
}

// What a receive path does per frame: an NBL with one NB over a preallocated MDL.
void BM_Ndis_AllocateNetBufferAndNetBufferList(benchmark::State& state) {
  ndisbench::runtime();
  NDIS_HANDLE pool = makeNblPool(TRUE, 0);
  static UCHAR frame[1514];
  PMDL mdl = IoAllocateMdl(frame, sizeof frame, FALSE, FALSE, nullptr);
  MmBuildMdlForNonPagedPool(mdl);
  for (auto _ : state) {
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, mdl, 0, sizeof frame);
    benchmark::DoNotOptimize(nbl);
    NdisFreeNetBufferList(nbl);
  }
  IoFreeMdl(mdl);
  NdisFreeNetBufferListPool(pool);
}
BENCHMARK(BM_Ndis_AllocateNetBufferAndNetBufferList);

// A pool with a data area: NBL, NB, MDL and the frame's bytes in one allocation.
void BM_Ndis_AllocateNetBufferListWithData(benchmark::State& state) {
  ndisbench::runtime();
  NDIS_HANDLE pool = makeNblPool(TRUE, 1514);
  for (auto _ : state) {
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 0, 0);
    benchmark::DoNotOptimize(nbl);
    NdisFreeNetBufferList(nbl);
  }
  NdisFreeNetBufferListPool(pool);
}
BENCHMARK(BM_Ndis_AllocateNetBufferListWithData);

void BM_Ndis_RetreatAdvance(benchmark::State& state) {
  ndisbench::runtime();
  NDIS_HANDLE pool = makeNblPool(TRUE, 0);
  static UCHAR frame[1514];
  PMDL mdl = IoAllocateMdl(frame, sizeof frame, FALSE, FALSE, nullptr);
  MmBuildMdlForNonPagedPool(mdl);
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, mdl, 64, sizeof frame - 64);
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
  for (auto _ : state) {
    NDIS_STATUS s = NdisRetreatNetBufferDataStart(nb, 16, 0, nullptr);
    benchmark::DoNotOptimize(s);
    NdisAdvanceNetBufferDataStart(nb, 16, FALSE, nullptr);
  }
  NdisFreeNetBufferList(nbl);
  IoFreeMdl(mdl);
  NdisFreeNetBufferListPool(pool);
}
BENCHMARK(BM_Ndis_RetreatAdvance);

void BM_Baseline_Malloc_NblSized(benchmark::State& state) {
  for (auto _ : state) {
    void* p = std::malloc(sizeof(NET_BUFFER_LIST) + sizeof(NET_BUFFER));
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}
BENCHMARK(BM_Baseline_Malloc_NblSized);

}  // namespace

BENCHMARK_MAIN();
