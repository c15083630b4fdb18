// What the kernel still holds for a driver: timers that are set and DPCs that are queued.
// The PnP manager uses it at driver unload to report callbacks into an image that is about
// to go away (the Windows bug check DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS).
#pragma once

#include <vector>

#include "nt/rtl/ddk.hpp"

namespace ndishost::nt::ke {

struct PendingKernelCallback {
  enum class Kind { Timer, Dpc };
  Kind kind;
  const void* object;  // the KTIMER or KDPC
  PKDPC dpc;           // the DPC that will run (a timer's may be null)
  bool periodic;
};

// A snapshot, taken under the locks that guard the timer list and the DPC queues. Empty
// without a runtime.
std::vector<PendingKernelCallback> pendingKernelCallbacks();

// Waits until every DPC queued or running at the call has finished (KeFlushQueuedDpcs), so
// that a DPC of another component -- the USB bus's completion DPC calling a completion
// routine -- is not still executing code of an image about to be unmapped. Does nothing
// without a runtime or above PASSIVE_LEVEL (where waiting is not allowed).
void drainDpcs();

}  // namespace ndishost::nt::ke
