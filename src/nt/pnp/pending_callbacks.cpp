// Reads the kernel's timer list and DPC queues. The ke layer offers no query for this yet,
// so this file uses its internal state (nt/ke/kernel.hpp) under the locks that guard it:
// the dispatcher lock for timers, each virtual processor's queue lock for DPCs.
#include <mutex>

#include "nt/pnp/pending_callbacks.hpp"
#include "nt/ke/kernel.hpp"
#include "nt/pnp/symbolize.hpp"

namespace ndishost::nt::pnp {

std::vector<PendingCallback> pendingCallbacksIn(const DriverImage& image) {
  std::vector<PendingCallback> found;
  ke::Kernel* kernel = ke::currentKernel();
  if (kernel == nullptr) return found;

  auto inImage = [&image](PKDPC dpc, const void* object) {
    return image.contains(object) ||
           (dpc != nullptr && image.contains(reinterpret_cast<const void*>(dpc->DeferredRoutine)));
  };

  {
    std::lock_guard guard(kernel->dispatcherLock);
    for (PLIST_ENTRY entry = kernel->timerList.Flink; entry != &kernel->timerList; entry = entry->Flink) {
      PKTIMER timer = CONTAINING_RECORD(entry, KTIMER, TimerListEntry);
      if (!inImage(timer->Dpc, timer)) continue;
      found.push_back({PendingCallback::Kind::Timer, timer,
                       timer->Dpc != nullptr ? symbolizeAddress(reinterpret_cast<const void*>(timer->Dpc->DeferredRoutine))
                                             : std::string("(no DPC)"),
                       timer->Period != 0});
    }
  }
  for (unsigned i = 0; i < kernel->processorCount(); ++i) {
    ke::VirtualProcessor& vp = kernel->vp(i);
    std::lock_guard guard(vp.queueLock);
    for (PSINGLE_LIST_ENTRY entry = vp.head; entry != nullptr; entry = entry->Next) {
      PKDPC dpc = CONTAINING_RECORD(entry, KDPC, DpcListEntry);
      if (!inImage(dpc, dpc)) continue;
      found.push_back({PendingCallback::Kind::Dpc, dpc,
                       symbolizeAddress(reinterpret_cast<const void*>(dpc->DeferredRoutine)), false});
    }
  }
  return found;
}

}  // namespace ndishost::nt::pnp
