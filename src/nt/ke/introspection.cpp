#include "nt/ke/introspection.hpp"

#include <mutex>

#include "nt/ke/kernel.hpp"

namespace ndishost::nt::ke {

std::vector<PendingKernelCallback> pendingKernelCallbacks() {
  std::vector<PendingKernelCallback> found;
  Kernel* kernel = currentKernel();
  if (kernel == nullptr) return found;
  {
    std::lock_guard guard(kernel->dispatcherLock);
    for (PLIST_ENTRY entry = kernel->timerList.Flink; entry != &kernel->timerList; entry = entry->Flink) {
      PKTIMER timer = CONTAINING_RECORD(entry, KTIMER, TimerListEntry);
      found.push_back({PendingKernelCallback::Kind::Timer, timer, timer->Dpc, timer->Period != 0});
    }
  }
  for (unsigned i = 0; i < kernel->processorCount(); ++i) {
    VirtualProcessor& vp = kernel->vp(i);
    std::lock_guard guard(vp.queueLock);
    for (PSINGLE_LIST_ENTRY entry = vp.head; entry != nullptr; entry = entry->Next) {
      PKDPC dpc = CONTAINING_RECORD(entry, KDPC, DpcListEntry);
      found.push_back({PendingKernelCallback::Kind::Dpc, dpc, dpc, false});
    }
  }
  return found;
}

void drainDpcs() {
  if (currentKernel() == nullptr) return;
  if (KeGetCurrentIrql() != PASSIVE_LEVEL) return;
  KeFlushQueuedDpcs();
}

}  // namespace ndishost::nt::ke
