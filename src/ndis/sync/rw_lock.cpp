// NDIS 6.20 reader/writer locks. Readers share the lock, a writer has it alone; both run at
// DISPATCH_LEVEL while they hold it (acquire raises unless NDIS_RWL_AT_DISPATCH_LEVEL says
// the caller already is there). Waiters spin, as on Windows: the holder is at
// DISPATCH_LEVEL on another virtual processor and cannot be preempted by a waiter.
#include <atomic>
#include <new>
#include <thread>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "nt/ex/current_irql.hpp"
#include "nt/ex/pool.hpp"

// Opaque to drivers (they see PNDIS_RW_LOCK_EX only).
struct _NDIS_RW_LOCK_EX {
  static constexpr std::uint32_t kMagic = 0x4C57526E;  // "nRWL"
  std::uint32_t magic = kMagic;
  // > 0: that many readers; -1: a writer; 0: free.
  std::atomic<std::int32_t> state{0};
  std::atomic<std::thread::id> writer{};
};

namespace ndishost::ndis {
namespace {

constexpr ULONG kRwLockTag = nt::poolTag("NdRw");
constexpr UCHAR kHeldForRead = 1;
constexpr UCHAR kHeldForWrite = 2;

bool checkLock(PNDIS_RW_LOCK_EX lock, const char* ddi, const void* caller) {
  if (lock != nullptr && nt::pool::isLiveBlock(lock) && lock->magic == _NDIS_RW_LOCK_EX::kMagic) return true;
  reportNdisViolation("ndis.rwlock-invalid", NdisBugSubcode::LockMisuse, lock, 0, caller,
                      fmt::format("{} was passed {}, which is not a lock from NdisAllocateRWLock", ddi,
                                  static_cast<void*>(lock)));
  return false;
}

// Enters DISPATCH_LEVEL as the flags say and records the IRQL to restore.
void enterDispatch(PLOCK_STATE_EX state, UCHAR flags, const char* ddi, const void* caller) {
  state->Flags = flags;
  if ((flags & NDIS_RWL_AT_DISPATCH_LEVEL) != 0) {
    checkIrqlExactly(DISPATCH_LEVEL, ddi, caller);
    state->OldIrql = DISPATCH_LEVEL;
  } else {
    checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
    state->OldIrql = KeRaiseIrqlToDpcLevel();
  }
}

void spinPause() { std::this_thread::yield(); }

}  // namespace
}  // namespace ndishost::ndis

using namespace ndishost;
using namespace ndishost::ndis;

// IRQL <= DISPATCH_LEVEL. NdisHandle: any NDIS handle; the lock is charged to the caller.
extern "C" PNDIS_RW_LOCK_EX NTAPI NdisAllocateRWLock(NDIS_HANDLE NdisHandle) {
  const void* caller = __builtin_return_address(0);
  (void)NdisHandle;
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateRWLock", caller);
  nt::pool::Request request;
  request.size = sizeof(_NDIS_RW_LOCK_EX);
  request.tag = kRwLockTag;
  request.caller = caller;
  void* memory = nt::pool::allocate(request);
  return memory != nullptr ? new (memory) _NDIS_RW_LOCK_EX() : nullptr;
}

// IRQL <= DISPATCH_LEVEL. The lock must be free ("ndis.rwlock-free-held").
extern "C" VOID NTAPI NdisFreeRWLock(PNDIS_RW_LOCK_EX Lock) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisFreeRWLock", caller);
  if (!checkLock(Lock, "NdisFreeRWLock", caller)) return;
  if (std::int32_t state = Lock->state.load(); state != 0) {
    reportNdisViolation("ndis.rwlock-free-held", NdisBugSubcode::LockMisuse, Lock, static_cast<std::uint32_t>(state),
                        caller, fmt::format("NdisFreeRWLock: lock {} is still held ({})", static_cast<void*>(Lock),
                                            state < 0 ? "by a writer" : fmt::format("by {} readers", state)));
    return;
  }
  Lock->magic = 0;
  Lock->~_NDIS_RW_LOCK_EX();
  nt::pool::free(Lock, &kRwLockTag, caller);
}

// IRQL <= DISPATCH_LEVEL (DISPATCH_LEVEL with NDIS_RWL_AT_DISPATCH_LEVEL). Shares the lock
// with other readers; waits while a writer holds it.
extern "C" VOID NTAPI NdisAcquireRWLockRead(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState, UCHAR Flags) {
  const void* caller = __builtin_return_address(0);
  if (!checkLock(Lock, "NdisAcquireRWLockRead", caller)) return;
  enterDispatch(LockState, Flags, "NdisAcquireRWLockRead", caller);
  if (Lock->state.load() < 0 && Lock->writer.load() == std::this_thread::get_id()) {
    reportNdisViolation("ndis.rwlock-recursive", NdisBugSubcode::LockMisuse, Lock, 0, caller,
                        "NdisAcquireRWLockRead by the thread that holds the lock for writing");
  }
  for (;;) {
    std::int32_t state = Lock->state.load(std::memory_order_relaxed);
    if (state >= 0 && Lock->state.compare_exchange_weak(state, state + 1, std::memory_order_acquire)) break;
    spinPause();
  }
  LockState->LockState = kHeldForRead;
}

// IRQL <= DISPATCH_LEVEL (DISPATCH_LEVEL with NDIS_RWL_AT_DISPATCH_LEVEL). Waits until no
// reader or writer holds the lock.
extern "C" VOID NTAPI NdisAcquireRWLockWrite(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState, UCHAR Flags) {
  const void* caller = __builtin_return_address(0);
  if (!checkLock(Lock, "NdisAcquireRWLockWrite", caller)) return;
  enterDispatch(LockState, Flags, "NdisAcquireRWLockWrite", caller);
  if (Lock->state.load() < 0 && Lock->writer.load() == std::this_thread::get_id()) {
    reportNdisViolation("ndis.rwlock-recursive", NdisBugSubcode::LockMisuse, Lock, 0, caller,
                        "NdisAcquireRWLockWrite by the thread that already holds the lock for writing");
    LockState->LockState = 0;
    return;
  }
  for (;;) {
    std::int32_t expected = 0;
    if (Lock->state.compare_exchange_weak(expected, -1, std::memory_order_acquire)) break;
    spinPause();
  }
  Lock->writer.store(std::this_thread::get_id());
  LockState->LockState = kHeldForWrite;
}

// IRQL DISPATCH_LEVEL. Releases what LockState says was acquired and restores its IRQL.
extern "C" VOID NTAPI NdisReleaseRWLock(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState) {
  const void* caller = __builtin_return_address(0);
  if (!checkLock(Lock, "NdisReleaseRWLock", caller)) return;
  checkIrqlExactly(DISPATCH_LEVEL, "NdisReleaseRWLock", caller);
  if (LockState->LockState == kHeldForWrite) {
    Lock->writer.store(std::thread::id{});
    Lock->state.store(0, std::memory_order_release);
  } else if (LockState->LockState == kHeldForRead && Lock->state.load() > 0) {
    Lock->state.fetch_sub(1, std::memory_order_release);
  } else if (LockState->LockState != 0) {
    reportNdisViolation("ndis.rwlock-release-unheld", NdisBugSubcode::LockMisuse, Lock, LockState->LockState, caller,
                        "NdisReleaseRWLock with a LOCK_STATE_EX that does not hold the lock");
    return;
  }
  LockState->LockState = 0;
  if ((LockState->Flags & NDIS_RWL_AT_DISPATCH_LEVEL) == 0) KeLowerIrql(LockState->OldIrql);
}
