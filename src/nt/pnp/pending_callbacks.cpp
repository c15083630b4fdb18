// Filters the kernel's snapshot of set timers and queued DPCs (ke::pendingKernelCallbacks)
// down to those that would call into one driver image.
#include "nt/pnp/pending_callbacks.hpp"

#include "nt/ke/introspection.hpp"
#include "nt/pnp/symbolize.hpp"

namespace ndishost::nt::pnp {

std::vector<PendingCallback> pendingCallbacksIn(const DriverImage& image) {
  std::vector<PendingCallback> found;
  for (const ke::PendingKernelCallback& callback : ke::pendingKernelCallbacks()) {
    const void* routine = callback.dpc != nullptr ? reinterpret_cast<const void*>(callback.dpc->DeferredRoutine) : nullptr;
    if (!image.contains(callback.object) && (routine == nullptr || !image.contains(routine))) continue;
    const bool isTimer = callback.kind == ke::PendingKernelCallback::Kind::Timer;
    found.push_back({isTimer ? PendingCallback::Kind::Timer : PendingCallback::Kind::Dpc, callback.object,
                     routine != nullptr ? symbolizeAddress(routine) : std::string("(no DPC)"), callback.periodic});
  }
  return found;
}

}  // namespace ndishost::nt::pnp
