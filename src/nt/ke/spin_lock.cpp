// Spin locks: the KSPIN_LOCK word is 0 when free and holds the owner's thread object
// address | 1 while held, so recursion and release by another thread are caught.
#include <immintrin.h>

#include <thread>

#include <fmt/format.h>

#include "nt/ke/kernel.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::ke {
namespace {

ULONG_PTR ownerValue(ThreadRecord& self) { return reinterpret_cast<ULONG_PTR>(static_cast<_KTHREAD*>(&self)) | 1; }

bool absorbRelease(ThreadRecord& self, const void* lock) {
  for (auto& entry : self.absorbed) {
    if (entry.lock == lock && entry.count > 0) {
      if (--entry.count == 0) entry.lock = nullptr;
      return true;
    }
  }
  return false;
}

void rememberRefused(ThreadRecord& self, const void* lock) {
  for (auto& entry : self.absorbed) {
    if (entry.lock == lock) {
      ++entry.count;
      return;
    }
  }
  for (auto& entry : self.absorbed) {
    if (entry.lock == nullptr) {
      entry = {lock, 1};
      return;
    }
  }
}

}  // namespace

void acquireSpinLockInternal(ThreadRecord& self, PKSPIN_LOCK lock, const char* ddi, const void* caller) {
  const ULONG_PTR mine = ownerValue(self);
  unsigned spins = 0;
  for (;;) {
    ULONG_PTR expected = 0;
    if (__atomic_compare_exchange_n(lock, &expected, mine, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    if (expected == mine) {
      reportViolation({"spinlock.recursive", bugcheck::SpinLockAlreadyOwned, reinterpret_cast<std::uint64_t>(lock)},
                      caller, fmt::format("{}: the thread already holds spin lock {}", ddi, static_cast<void*>(lock)));
      rememberRefused(self, lock);  // Record mode: the thread keeps its one acquisition
      return;
    }
    // Really spin, but let the owner run when it shares our core.
    if (++spins < 64) {
      _mm_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

void releaseSpinLockInternal(ThreadRecord& self, PKSPIN_LOCK lock, const char* ddi, const void* caller) {
  if (absorbRelease(self, lock)) return;
  ULONG_PTR expected = ownerValue(self);
  if (__atomic_compare_exchange_n(lock, &expected, ULONG_PTR{0}, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) return;
  reportViolation({"spinlock.not-owned", bugcheck::SpinLockNotOwned, reinterpret_cast<std::uint64_t>(lock), expected},
                  caller,
                  fmt::format("{}: spin lock {} is {} by this thread", ddi, static_cast<void*>(lock),
                              expected == 0 ? "not held" : "held by another thread, not"));
}

}  // namespace ndishost::nt::ke

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

extern "C" {

// IRQL <= DISPATCH_LEVEL.
KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock) {
  ThreadRecord& self = currentThread("KeAcquireSpinLock");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeAcquireSpinLock", caller);
  KIRQL old = self.irql;
  if (old < DISPATCH_LEVEL) self.kernel.raiseIrql(self, DISPATCH_LEVEL);
  acquireSpinLockInternal(self, SpinLock, "KeAcquireSpinLock", caller);
  return old;
}

// IRQL == DISPATCH_LEVEL.
VOID NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql) {
  ThreadRecord& self = currentThread("KeReleaseSpinLock");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeReleaseSpinLock", caller);
  releaseSpinLockInternal(self, SpinLock, "KeReleaseSpinLock", caller);
  if (NewIrql > self.irql) {
    reportViolation({"irql.lower-raises", bugcheck::DriverVerifierDetectedViolation, 0x31, self.irql, NewIrql}, caller,
                    fmt::format("KeReleaseSpinLock to the higher IRQL {} from {}", NewIrql, self.irql));
    return;
  }
  self.kernel.lowerIrql(self, NewIrql);
}

// IRQL >= DISPATCH_LEVEL.
VOID NTAPI KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
  ThreadRecord& self = currentThread("KeAcquireSpinLockAtDpcLevel");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeAcquireSpinLockAtDpcLevel", caller);
  acquireSpinLockInternal(self, SpinLock, "KeAcquireSpinLockAtDpcLevel", caller);
}

// IRQL >= DISPATCH_LEVEL.
VOID NTAPI KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock) {
  ThreadRecord& self = currentThread("KeReleaseSpinLockFromDpcLevel");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeReleaseSpinLockFromDpcLevel", caller);
  releaseSpinLockInternal(self, SpinLock, "KeReleaseSpinLockFromDpcLevel", caller);
}

// IRQL >= DISPATCH_LEVEL.
BOOLEAN FASTCALL KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
  ThreadRecord& self = currentThread("KeTryToAcquireSpinLockAtDpcLevel");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeTryToAcquireSpinLockAtDpcLevel", caller);
  ULONG_PTR expected = 0;
  const ULONG_PTR mine = reinterpret_cast<ULONG_PTR>(static_cast<_KTHREAD*>(&self)) | 1;
  if (__atomic_compare_exchange_n(SpinLock, &expected, mine, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return TRUE;
  if (expected == mine) {
    reportViolation({"spinlock.recursive", bugcheck::SpinLockAlreadyOwned, reinterpret_cast<std::uint64_t>(SpinLock)},
                    caller, "KeTryToAcquireSpinLockAtDpcLevel: the thread already holds the spin lock");
  }
  return FALSE;
}

// Any IRQL.
BOOLEAN FASTCALL KeTestSpinLock(PKSPIN_LOCK SpinLock) {
  return __atomic_load_n(SpinLock, __ATOMIC_RELAXED) == 0 ? TRUE : FALSE;
}

// IRQL <= DISPATCH_LEVEL.
KIRQL NTAPI KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock) {
  ThreadRecord& self = currentThread("KeAcquireSpinLockForDpc");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeAcquireSpinLockForDpc", caller);
  KIRQL old = self.irql;
  if (old < DISPATCH_LEVEL) self.kernel.raiseIrql(self, DISPATCH_LEVEL);
  acquireSpinLockInternal(self, SpinLock, "KeAcquireSpinLockForDpc", caller);
  return old;
}

// IRQL == DISPATCH_LEVEL.
VOID NTAPI KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql) {
  ThreadRecord& self = currentThread("KeReleaseSpinLockForDpc");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeReleaseSpinLockForDpc", caller);
  releaseSpinLockInternal(self, SpinLock, "KeReleaseSpinLockForDpc", caller);
  if (OldIrql < self.irql) self.kernel.lowerIrql(self, OldIrql);
}

// IRQL <= DISPATCH_LEVEL.
VOID FASTCALL KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
  ThreadRecord& self = currentThread("KeAcquireInStackQueuedSpinLock");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeAcquireInStackQueuedSpinLock", caller);
  LockHandle->OldIrql = self.irql;
  LockHandle->LockQueue.Next = nullptr;
  LockHandle->LockQueue.Lock = SpinLock;
  if (self.irql < DISPATCH_LEVEL) self.kernel.raiseIrql(self, DISPATCH_LEVEL);
  acquireSpinLockInternal(self, SpinLock, "KeAcquireInStackQueuedSpinLock", caller);
}

// IRQL == DISPATCH_LEVEL.
VOID FASTCALL KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle) {
  ThreadRecord& self = currentThread("KeReleaseInStackQueuedSpinLock");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeReleaseInStackQueuedSpinLock", caller);
  releaseSpinLockInternal(self, LockHandle->LockQueue.Lock, "KeReleaseInStackQueuedSpinLock", caller);
  if (LockHandle->OldIrql < self.irql) self.kernel.lowerIrql(self, LockHandle->OldIrql);
}

// IRQL >= DISPATCH_LEVEL.
VOID FASTCALL KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
  ThreadRecord& self = currentThread("KeAcquireInStackQueuedSpinLockAtDpcLevel");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeAcquireInStackQueuedSpinLockAtDpcLevel", caller);
  LockHandle->OldIrql = self.irql;
  LockHandle->LockQueue.Next = nullptr;
  LockHandle->LockQueue.Lock = SpinLock;
  acquireSpinLockInternal(self, SpinLock, "KeAcquireInStackQueuedSpinLockAtDpcLevel", caller);
}

// IRQL >= DISPATCH_LEVEL.
VOID FASTCALL KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle) {
  ThreadRecord& self = currentThread("KeReleaseInStackQueuedSpinLockFromDpcLevel");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeReleaseInStackQueuedSpinLockFromDpcLevel", caller);
  releaseSpinLockInternal(self, LockHandle->LockQueue.Lock, "KeReleaseInStackQueuedSpinLockFromDpcLevel", caller);
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
  ThreadRecord& self = currentThread("KeAcquireInStackQueuedSpinLockForDpc");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeAcquireInStackQueuedSpinLockForDpc", caller);
  LockHandle->OldIrql = self.irql;
  LockHandle->LockQueue.Next = nullptr;
  LockHandle->LockQueue.Lock = SpinLock;
  if (self.irql < DISPATCH_LEVEL) self.kernel.raiseIrql(self, DISPATCH_LEVEL);
  acquireSpinLockInternal(self, SpinLock, "KeAcquireInStackQueuedSpinLockForDpc", caller);
}

// IRQL == DISPATCH_LEVEL.
VOID NTAPI KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle) {
  ThreadRecord& self = currentThread("KeReleaseInStackQueuedSpinLockForDpc");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtLeast(self, DISPATCH_LEVEL, "KeReleaseInStackQueuedSpinLockForDpc", caller);
  releaseSpinLockInternal(self, LockHandle->LockQueue.Lock, "KeReleaseInStackQueuedSpinLockForDpc", caller);
  if (LockHandle->OldIrql < self.irql) self.kernel.lowerIrql(self, LockHandle->OldIrql);
}

}  // extern "C"
