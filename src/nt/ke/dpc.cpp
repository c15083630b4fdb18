// DPCs: a queue per virtual processor, chained through KDPC.DpcListEntry, with KDPC.DpcData
// pointing at the queue while the DPC is queued (so a second insert is refused without a
// lock on every queue). Each VP's DPC thread runs its queue at DISPATCH_LEVEL.
#include <fmt/format.h>

#include "nt/ke/kernel.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::ke {
namespace {

PVOID loadDpcData(PKDPC dpc) { return __atomic_load_n(const_cast<PVOID*>(&dpc->DpcData), __ATOMIC_ACQUIRE); }
void storeDpcData(PKDPC dpc, PVOID value) { __atomic_store_n(const_cast<PVOID*>(&dpc->DpcData), value, __ATOMIC_RELEASE); }

// Unlinks `entry` from the queue; the caller holds the queue lock. False when not found.
bool unlinkLocked(VirtualProcessor& vp, PSINGLE_LIST_ENTRY entry) {
  PSINGLE_LIST_ENTRY previous = nullptr;
  for (PSINGLE_LIST_ENTRY cursor = vp.head; cursor != nullptr; previous = cursor, cursor = cursor->Next) {
    if (cursor != entry) continue;
    if (previous == nullptr) {
      vp.head = cursor->Next;
    } else {
      previous->Next = cursor->Next;
    }
    if (vp.tail == cursor) vp.tail = previous;
    cursor->Next = nullptr;
    return true;
  }
  return false;
}

struct FlushBarrier {
  std::atomic<unsigned> remaining{0};
  KEVENT done;
};

void NTAPI flushMarkerRoutine(PKDPC, PVOID context, PVOID, PVOID) {
  auto* barrier = static_cast<FlushBarrier*>(context);
  if (barrier->remaining.fetch_sub(1) == 1) {
    Kernel* kernel = currentKernel();
    if (kernel != nullptr) setEventInternal(*kernel, &barrier->done);
  }
}

}  // namespace

bool Kernel::insertDpc(PKDPC dpc, unsigned vpIndex, PVOID arg1, PVOID arg2) {
  USHORT number = dpc->Number;
  if ((number & kDpcTargetedBit) != 0) vpIndex = number & ~kDpcTargetedBit;
  if (vpIndex >= vps_.size()) vpIndex = 0;
  VirtualProcessor& vp = *vps_[vpIndex];
  ThreadRecord* wake = nullptr;
  {
    std::lock_guard lock(vp.queueLock);
    PVOID expected = nullptr;
    if (!__atomic_compare_exchange_n(const_cast<PVOID*>(&dpc->DpcData), &expected, static_cast<PVOID>(&vp), false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return false;
    dpc->SystemArgument1 = arg1;
    dpc->SystemArgument2 = arg2;
    dpc->DpcListEntry.Next = nullptr;
    if (dpc->Importance == HighImportance) {
      dpc->DpcListEntry.Next = vp.head;
      vp.head = &dpc->DpcListEntry;
      if (vp.tail == nullptr) vp.tail = vp.head;
    } else {
      if (vp.tail != nullptr) {
        vp.tail->Next = &dpc->DpcListEntry;
      } else {
        vp.head = &dpc->DpcListEntry;
      }
      vp.tail = &dpc->DpcListEntry;
    }
    if (deterministic_) {
      if (vp.dpcThreadIdle) {
        vp.dpcThreadIdle = false;
        wake = vp.dpcThread;
      }
    } else {
      vp.queueCv.notify_one();
    }
  }
  if (wake != nullptr) scheduler_.makeRunnable(*wake);
  return true;
}

bool Kernel::removeDpc(PKDPC dpc) {
  auto* vp = static_cast<VirtualProcessor*>(loadDpcData(dpc));
  if (vp == nullptr) return false;
  std::lock_guard lock(vp->queueLock);
  if (loadDpcData(dpc) != vp) return false;  // ran (or is running) meanwhile
  bool removed = unlinkLocked(*vp, &dpc->DpcListEntry);
  storeDpcData(dpc, nullptr);
  return removed;
}

bool Kernel::dpcsPending(unsigned vpIndex) {
  VirtualProcessor& vp = *vps_[vpIndex];
  std::lock_guard lock(vp.queueLock);
  return vp.head != nullptr;
}

void Kernel::runDpcQueue(ThreadRecord& self, VirtualProcessor& vp) {
  for (;;) {
    PKDPC dpc;
    PKDEFERRED_ROUTINE routine;
    PVOID context, arg1, arg2;
    {
      std::lock_guard lock(vp.queueLock);
      if (vp.head == nullptr) return;
      PSINGLE_LIST_ENTRY entry = vp.head;
      vp.head = entry->Next;
      if (vp.head == nullptr) vp.tail = nullptr;
      entry->Next = nullptr;
      dpc = CONTAINING_RECORD(entry, KDPC, DpcListEntry);
      routine = dpc->DeferredRoutine;
      context = dpc->DeferredContext;
      arg1 = dpc->SystemArgument1;
      arg2 = dpc->SystemArgument2;
      // Dequeued before it runs, so the routine may queue its DPC again.
      storeDpcData(dpc, nullptr);
    }
    routine(dpc, context, arg1, arg2);
    dpcsRun.fetch_add(1, std::memory_order_relaxed);
    if (self.irql != DISPATCH_LEVEL) {
      KIRQL after = self.irql;
      reportViolation({"dpc.irql-changed", 0xC8 /* IRQL_UNEXPECTED_VALUE */, after, DISPATCH_LEVEL,
                       reinterpret_cast<std::uint64_t>(routine)},
                      reinterpret_cast<const void*>(routine),
                      fmt::format("DPC routine {} returned at IRQL {}; it was called at DISPATCH_LEVEL",
                                  reinterpret_cast<const void*>(routine), after));
      if (after < DISPATCH_LEVEL) {
        raiseIrql(self, DISPATCH_LEVEL);
      } else {
        lowerIrql(self, DISPATCH_LEVEL);
      }
    }
  }
}

void Kernel::flushDpcs(ThreadRecord& self) {
  // A marker DPC at the tail of every queue: when all markers ran, every DPC queued before
  // the call ran too (the queues are FIFO apart from high-importance DPCs, which go first).
  FlushBarrier barrier;
  KeInitializeEvent(&barrier.done, NotificationEvent, FALSE);
  KDPC markers[64];
  barrier.remaining = processorCount();
  for (unsigned i = 0; i < processorCount(); ++i) {
    KeInitializeDpc(&markers[i], flushMarkerRoutine, &barrier);
    markers[i].Importance = LowImportance;
    markers[i].Number = static_cast<USHORT>(kDpcTargetedBit | i);
    insertDpc(&markers[i], i, nullptr, nullptr);
  }
  PDISPATCHER_HEADER header = &barrier.done.Header;
  wait(self, std::span(&header, 1), WaitAny, std::nullopt, self.builtinWaitBlocks, "KeFlushQueuedDpcs");
}

}  // namespace ndishost::nt::ke

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

namespace {

void initializeDpc(PRKDPC Dpc, UCHAR type, PKDEFERRED_ROUTINE routine, PVOID context) {
  Dpc->TargetInfoAsUlong = 0;
  Dpc->Type = type;
  Dpc->Importance = MediumImportance;
  Dpc->Number = 0;
  Dpc->DpcListEntry.Next = nullptr;
  Dpc->ProcessorHistory = 0;
  Dpc->DeferredRoutine = routine;
  Dpc->DeferredContext = context;
  Dpc->SystemArgument1 = nullptr;
  Dpc->SystemArgument2 = nullptr;
  Dpc->DpcData = nullptr;
}

bool checkDpc(PKDPC dpc, const char* ddi, const void* caller) {
  if (dpc != nullptr && (dpc->Type == kDpcObjectType || dpc->Type == kThreadedDpcObjectType) &&
      dpc->DeferredRoutine != nullptr) [[likely]]
    return true;
  reportViolation({"dpc.bad-object", bugcheck::TimerOrDpcInvalid, reinterpret_cast<std::uint64_t>(dpc)}, caller,
                  fmt::format("{}: {} is not an initialized KDPC (KeInitializeDpc)", ddi, static_cast<void*>(dpc)));
  return false;
}

}  // namespace

extern "C" {

// Any IRQL.
VOID NTAPI KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext) {
  initializeDpc(Dpc, kDpcObjectType, DeferredRoutine, DeferredContext);
}

// Any IRQL (the reference says PASSIVE_LEVEL for threaded DPCs; nothing depends on it here).
VOID NTAPI KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext) {
  initializeDpc(Dpc, kThreadedDpcObjectType, DeferredRoutine, DeferredContext);
}

// Any IRQL.
BOOLEAN NTAPI KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeInsertQueueDpc");
  if (!checkDpc(Dpc, "KeInsertQueueDpc", caller)) return FALSE;
  bool inserted = self.kernel.insertDpc(Dpc, self.vp, SystemArgument1, SystemArgument2);
  if (inserted) self.kernel.yieldPoint(self);
  return inserted ? TRUE : FALSE;
}

// Any IRQL.
BOOLEAN NTAPI KeRemoveQueueDpc(PRKDPC Dpc) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeRemoveQueueDpc");
  if (!checkDpc(Dpc, "KeRemoveQueueDpc", caller)) return FALSE;
  return self.kernel.removeDpc(Dpc) ? TRUE : FALSE;
}

// PASSIVE_LEVEL.
VOID NTAPI KeFlushQueuedDpcs(VOID) {
  ThreadRecord& self = currentThread("KeFlushQueuedDpcs");
  if (!checkIrqlAtMost(self, PASSIVE_LEVEL, "KeFlushQueuedDpcs", __builtin_return_address(0))) {
    return;  // Record mode: waiting raised would deadlock this processor
  }
  self.kernel.flushDpcs(self);
}

// Any IRQL.
VOID NTAPI KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance) { Dpc->Importance = static_cast<UCHAR>(Importance); }

// Any IRQL.
VOID NTAPI KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number) {
  Dpc->Number = static_cast<USHORT>(kDpcTargetedBit | static_cast<UCHAR>(Number));
}

// Any IRQL.
NTSTATUS NTAPI KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber) {
  Kernel* kernel = currentKernel();
  if (kernel == nullptr) noRuntime("KeSetTargetProcessorDpcEx");
  if (ProcNumber == nullptr || ProcNumber->Group != 0 || ProcNumber->Number >= kernel->processorCount()) {
    return STATUS_INVALID_PARAMETER;
  }
  Dpc->Number = static_cast<USHORT>(kDpcTargetedBit | ProcNumber->Number);
  return STATUS_SUCCESS;
}

// ---- processors -------------------------------------------------------------------------
// Any IRQL.
ULONG NTAPI KeGetCurrentProcessorNumber(VOID) { return currentThread("KeGetCurrentProcessorNumber").vp; }

ULONG NTAPI KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber) {
  ThreadRecord& self = currentThread("KeGetCurrentProcessorNumberEx");
  if (ProcNumber != nullptr) {
    ProcNumber->Group = 0;
    ProcNumber->Number = static_cast<UCHAR>(self.vp);
    ProcNumber->Reserved = 0;
  }
  return self.vp;
}

ULONG NTAPI KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors) {
  Kernel* kernel = currentKernel();
  if (kernel == nullptr) noRuntime("KeQueryActiveProcessorCount");
  if (ActiveProcessors != nullptr) *ActiveProcessors = KeQueryActiveProcessors();
  return kernel->processorCount();
}

ULONG NTAPI KeQueryActiveProcessorCountEx(USHORT GroupNumber) {
  Kernel* kernel = currentKernel();
  if (kernel == nullptr) noRuntime("KeQueryActiveProcessorCountEx");
  return GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS ? kernel->processorCount() : 0;
}

ULONG NTAPI KeQueryMaximumProcessorCount(VOID) { return KeQueryActiveProcessorCountEx(0); }

ULONG NTAPI KeQueryMaximumProcessorCountEx(USHORT GroupNumber) { return KeQueryActiveProcessorCountEx(GroupNumber); }

KAFFINITY NTAPI KeQueryActiveProcessors(VOID) {
  Kernel* kernel = currentKernel();
  if (kernel == nullptr) noRuntime("KeQueryActiveProcessors");
  unsigned count = kernel->processorCount();
  return count >= 64 ? ~KAFFINITY{0} : (KAFFINITY{1} << count) - 1;
}

USHORT NTAPI KeQueryActiveGroupCount(VOID) { return 1; }

}  // extern "C"
