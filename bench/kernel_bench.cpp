// Kernel primitives against the C++/glibc facilities they stand in for.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <mutex>

#include "bench_support.hpp"

namespace {

void BM_KeSpinLock_AcquireRelease(benchmark::State& state) {
  ndisbench::runtime();
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  for (auto _ : state) {
    KIRQL old;
    KeAcquireSpinLock(&lock, &old);
    KeReleaseSpinLock(&lock, old);
  }
}
BENCHMARK(BM_KeSpinLock_AcquireRelease);

void BM_Baseline_StdMutex_LockUnlock(benchmark::State& state) {
  std::mutex lock;
  for (auto _ : state) {
    lock.lock();
    lock.unlock();
  }
}
BENCHMARK(BM_Baseline_StdMutex_LockUnlock);

void BM_ExPool_AllocateFree(benchmark::State& state) {
  ndisbench::runtime();
  const auto size = static_cast<SIZE_T>(state.range(0));
  for (auto _ : state) {
    PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, size, 'hcnB');
    benchmark::DoNotOptimize(p);
    ExFreePoolWithTag(p, 'hcnB');
  }
}
BENCHMARK(BM_ExPool_AllocateFree)->Arg(64)->Arg(2048);

void BM_Baseline_Malloc_Free(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::malloc(size);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}
BENCHMARK(BM_Baseline_Malloc_Free)->Arg(64)->Arg(2048);

void BM_NpagedLookaside_AllocateFree(benchmark::State& state) {
  ndisbench::runtime();
  NPAGED_LOOKASIDE_LIST list;
  ExInitializeNPagedLookasideList(&list, nullptr, nullptr, 0, 2048, 'hcnB', 0);
  for (auto _ : state) {
    PVOID p = ExAllocateFromNPagedLookasideList(&list);
    benchmark::DoNotOptimize(p);
    ExFreeToNPagedLookasideList(&list, p);
  }
  ExDeleteNPagedLookasideList(&list);
}
BENCHMARK(BM_NpagedLookaside_AllocateFree);

void BM_Irp_AllocateFree(benchmark::State& state) {
  ndisbench::runtime();
  for (auto _ : state) {
    PIRP irp = IoAllocateIrp(2, FALSE);
    benchmark::DoNotOptimize(irp);
    IoFreeIrp(irp);
  }
}
BENCHMARK(BM_Irp_AllocateFree);

void BM_Irp_Reuse(benchmark::State& state) {
  ndisbench::runtime();
  PIRP irp = IoAllocateIrp(2, FALSE);
  for (auto _ : state) {
    IoReuseIrp(irp, STATUS_SUCCESS);
    benchmark::DoNotOptimize(irp);
  }
  IoFreeIrp(irp);
}
BENCHMARK(BM_Irp_Reuse);

}  // namespace

BENCHMARK_MAIN();
