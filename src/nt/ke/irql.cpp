// IRQL: per-thread, with DISPATCH_LEVEL and above owning the thread's virtual processor.
#include <fmt/format.h>

#include "nt/ke/kernel.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::ke {

bool checkIrqlAtMost(ThreadRecord& self, KIRQL maximum, const char* ddi, const void* caller) {
  if (self.irql <= maximum) [[likely]]
    return true;
  reportViolation({"irql.too-high", bugcheck::IrqlNotLessOrEqual, self.irql, maximum}, caller,
                  fmt::format("{} called at IRQL {}; its maximum is {}", ddi, self.irql, maximum));
  return false;
}

bool checkIrqlAtLeast(ThreadRecord& self, KIRQL minimum, const char* ddi, const void* caller) {
  if (self.irql >= minimum) [[likely]]
    return true;
  reportViolation({"irql.too-low", 0x09 /* IRQL_NOT_GREATER_OR_EQUAL */, self.irql, minimum}, caller,
                  fmt::format("{} called at IRQL {}; it requires at least {}", ddi, self.irql, minimum));
  return false;
}

void Kernel::raiseIrql(ThreadRecord& self, KIRQL newIrql) {
  if (self.irql < DISPATCH_LEVEL && newIrql >= DISPATCH_LEVEL) {
    VirtualProcessor& processor = *vps_[self.vp];
    processor.dispatchLock.lock();
    processor.raisedThreads.fetch_add(1, std::memory_order_relaxed);
  }
  self.irql = newIrql;
}

void Kernel::lowerIrql(ThreadRecord& self, KIRQL newIrql) {
  bool leavesDispatch = self.irql >= DISPATCH_LEVEL && newIrql < DISPATCH_LEVEL;
  self.irql = newIrql;
  if (!leavesDispatch) return;
  VirtualProcessor& processor = *vps_[self.vp];
  processor.raisedThreads.fetch_sub(1, std::memory_order_relaxed);
  processor.dispatchLock.unlock();
  // As on Windows, DPCs queued to this processor run as soon as it drops below
  // DISPATCH_LEVEL: in deterministic mode, hand the token to the DPC thread now.
  if (deterministic_ && processor.dpcThread != &self && dpcsPending(self.vp)) {
    scheduler_.yieldTo(self, *processor.dpcThread);
  }
}

void Kernel::yieldPoint(ThreadRecord& self) {
  if (!deterministic_ || self.irql >= DISPATCH_LEVEL) return;
  {
    // Timers due at the current virtual time fire at the next scheduling point, so a thread
    // that polls (zero time-outs) still sees them without the clock moving.
    std::lock_guard lock(dispatcherLock);
    fireDueLocked();
  }
  scheduler_.yield(self);
}

}  // namespace ndishost::nt::ke

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

extern "C" {

// Any IRQL.
KIRQL NTAPI KeGetCurrentIrql(VOID) { return currentThread("KeGetCurrentIrql").irql; }

// Any IRQL; NewIrql >= the current IRQL.
KIRQL FASTCALL KfRaiseIrql(KIRQL NewIrql) {
  ThreadRecord& self = currentThread("KfRaiseIrql");
  KIRQL old = self.irql;
  if (NewIrql < old) {
    reportViolation({"irql.raise-lowers", bugcheck::DriverVerifierDetectedViolation, 0x30, old, NewIrql},
                    __builtin_return_address(0),
                    fmt::format("KeRaiseIrql from IRQL {} to the lower IRQL {}", old, NewIrql));
    return old;  // Record mode: leave the IRQL alone
  }
  self.kernel.raiseIrql(self, NewIrql);
  return old;
}

// Any IRQL; NewIrql <= the current IRQL.
VOID NTAPI KeLowerIrql(KIRQL NewIrql) {
  ThreadRecord& self = currentThread("KeLowerIrql");
  if (NewIrql > self.irql) {
    reportViolation({"irql.lower-raises", bugcheck::DriverVerifierDetectedViolation, 0x31, self.irql, NewIrql},
                    __builtin_return_address(0),
                    fmt::format("KeLowerIrql from IRQL {} to the higher IRQL {}", self.irql, NewIrql));
    return;
  }
  self.kernel.lowerIrql(self, NewIrql);
}

// IRQL <= DISPATCH_LEVEL.
KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID) {
  ThreadRecord& self = currentThread("KeRaiseIrqlToDpcLevel");
  KIRQL old = self.irql;
  if (!checkIrqlAtMost(self, DISPATCH_LEVEL, "KeRaiseIrqlToDpcLevel", __builtin_return_address(0))) return old;
  self.kernel.raiseIrql(self, DISPATCH_LEVEL);
  return old;
}

// IRQL <= SYNCH_LEVEL.
KIRQL NTAPI KeRaiseIrqlToSynchLevel(VOID) {
  ThreadRecord& self = currentThread("KeRaiseIrqlToSynchLevel");
  KIRQL old = self.irql;
  if (!checkIrqlAtMost(self, SYNCH_LEVEL, "KeRaiseIrqlToSynchLevel", __builtin_return_address(0))) return old;
  self.kernel.raiseIrql(self, SYNCH_LEVEL);
  return old;
}

}  // extern "C"
