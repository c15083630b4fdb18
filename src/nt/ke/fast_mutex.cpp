// Fast and guarded mutexes: a benaphore on FAST_MUTEX.Count (1 free, <= 0 owned) with the
// synchronization event FAST_MUTEX.Event for the waiters. Owner is the owning thread object,
// so recursion and release by another thread are caught.
#include <fmt/format.h>

#include "nt/ke/kernel.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

namespace {

PVOID ownerOf(PFAST_MUTEX mutex) { return __atomic_load_n(&mutex->Owner, __ATOMIC_ACQUIRE); }

void rememberRefused(ThreadRecord& self, const void* lock) {
  for (auto& entry : self.absorbed) {
    if (entry.lock == lock || entry.lock == nullptr) {
      entry.lock = lock;
      ++entry.count;
      return;
    }
  }
}

bool absorbRelease(ThreadRecord& self, const void* lock) {
  for (auto& entry : self.absorbed) {
    if (entry.lock == lock && entry.count > 0) {
      if (--entry.count == 0) entry.lock = nullptr;
      return true;
    }
  }
  return false;
}

void takeOwnership(ThreadRecord& self, PFAST_MUTEX mutex, KIRQL oldIrql) {
  __atomic_store_n(&mutex->Owner, static_cast<PVOID>(static_cast<_KTHREAD*>(&self)), __ATOMIC_RELEASE);
  mutex->OldIrql = oldIrql;
  ++self.fastMutexesHeld;
}

void acquire(PFAST_MUTEX mutex, bool raise, const char* ddi, const void* caller) {
  ThreadRecord& self = currentThread(ddi);
  bool irqlOk = checkIrqlAtMost(self, APC_LEVEL, ddi, caller);
  if (ownerOf(mutex) == static_cast<_KTHREAD*>(&self)) {
    reportViolation({"fastmutex.recursive", bugcheck::DriverVerifierDetectedViolation, reinterpret_cast<std::uint64_t>(mutex)},
                    caller, fmt::format("{}: the thread already owns fast mutex {}; fast mutexes are not recursive", ddi,
                                        static_cast<void*>(mutex)));
    rememberRefused(self, mutex);  // Record mode: keep the one acquisition, absorb the release
    return;
  }
  KIRQL old = self.irql;
  if (!irqlOk) {
    // Record mode, raised: blocking here would hold the processor. Take the mutex only if
    // it is free; otherwise go on without it and absorb the matching release.
    LONG expected = 1;
    if (__atomic_compare_exchange_n(&mutex->Count, &expected, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      takeOwnership(self, mutex, old);
    } else {
      rememberRefused(self, mutex);
    }
    return;
  }
  if (raise && old < APC_LEVEL) self.kernel.raiseIrql(self, APC_LEVEL);
  if (__atomic_fetch_sub(&mutex->Count, 1, __ATOMIC_ACQ_REL) != 1) {
    __atomic_fetch_add(&mutex->Contention, 1, __ATOMIC_RELAXED);
    PDISPATCHER_HEADER header = &mutex->Event.Header;
    // The releaser hands the mutex over by setting the event.
    self.kernel.wait(self, std::span(&header, 1), WaitAny, std::nullopt, self.builtinWaitBlocks, ddi);
  }
  takeOwnership(self, mutex, old);
}

void release(PFAST_MUTEX mutex, bool lower, const char* ddi, const void* caller) {
  ThreadRecord& self = currentThread(ddi);
  checkIrqlAtMost(self, APC_LEVEL, ddi, caller);
  if (absorbRelease(self, mutex)) return;
  if (ownerOf(mutex) != static_cast<_KTHREAD*>(&self)) {
    reportViolation({"fastmutex.not-owned", bugcheck::DriverVerifierDetectedViolation, reinterpret_cast<std::uint64_t>(mutex),
                     reinterpret_cast<std::uint64_t>(ownerOf(mutex))},
                    caller, fmt::format("{}: fast mutex {} is not owned by this thread", ddi, static_cast<void*>(mutex)));
    return;
  }
  KIRQL old = static_cast<KIRQL>(mutex->OldIrql);
  __atomic_store_n(&mutex->Owner, static_cast<PVOID>(nullptr), __ATOMIC_RELEASE);
  --self.fastMutexesHeld;
  if (__atomic_fetch_add(&mutex->Count, 1, __ATOMIC_ACQ_REL) != 0) setEventInternal(self.kernel, &mutex->Event);
  if (lower && old < self.irql) self.kernel.lowerIrql(self, old);
  self.kernel.yieldPoint(self);
}

}  // namespace

extern "C" {

// Any IRQL.
VOID NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex) {
  FastMutex->Count = 1;
  FastMutex->Owner = nullptr;
  FastMutex->Contention = 0;
  KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
  FastMutex->OldIrql = 0;
}

// IRQL <= APC_LEVEL.
VOID FASTCALL ExAcquireFastMutex(PFAST_MUTEX FastMutex) {
  acquire(FastMutex, true, "ExAcquireFastMutex", __builtin_return_address(0));
}

VOID FASTCALL ExReleaseFastMutex(PFAST_MUTEX FastMutex) {
  release(FastMutex, true, "ExReleaseFastMutex", __builtin_return_address(0));
}

BOOLEAN FASTCALL ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("ExTryToAcquireFastMutex");
  checkIrqlAtMost(self, APC_LEVEL, "ExTryToAcquireFastMutex", caller);
  LONG expected = 1;
  if (!__atomic_compare_exchange_n(&FastMutex->Count, &expected, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
    return FALSE;
  }
  KIRQL old = self.irql;
  if (old < APC_LEVEL) self.kernel.raiseIrql(self, APC_LEVEL);
  takeOwnership(self, FastMutex, old);
  return TRUE;
}

// IRQL == APC_LEVEL or inside a critical region.
VOID FASTCALL ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex) {
  acquire(FastMutex, false, "ExAcquireFastMutexUnsafe", __builtin_return_address(0));
}

VOID FASTCALL ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex) {
  release(FastMutex, false, "ExReleaseFastMutexUnsafe", __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
VOID FASTCALL KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex) { ExInitializeFastMutex(Mutex); }

// IRQL <= APC_LEVEL.
VOID FASTCALL KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex) {
  acquire(Mutex, true, "KeAcquireGuardedMutex", __builtin_return_address(0));
}

VOID FASTCALL KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex) {
  release(Mutex, true, "KeReleaseGuardedMutex", __builtin_return_address(0));
}

BOOLEAN FASTCALL KeTryToAcquireGuardedMutex(PKGUARDED_MUTEX Mutex) { return ExTryToAcquireFastMutex(Mutex); }

}  // extern "C"
