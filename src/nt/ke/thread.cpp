// Threads: the thread object, system threads (PsCreateSystemThread), thread exit,
// critical regions, and KeBugCheckEx.
#include <fmt/format.h>

#include "nt/ke/kernel.hpp"
#include "nt/support/driver_image.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::ke {
namespace {

// Thrown by PsTerminateSystemThread, caught at the bottom of the system thread.
struct SystemThreadTermination {
  NTSTATUS status;
};

}  // namespace

void Kernel::threadExit(ThreadRecord& self, const void* caller) {
  if (self.irql != PASSIVE_LEVEL) {
    reportViolation({"thread.exit-raised-irql", bugcheck::IrqlNotLessOrEqual, self.irql, PASSIVE_LEVEL}, caller,
                    fmt::format("thread {} ended at IRQL {}", self.name, self.irql));
    lowerIrql(self, PASSIVE_LEVEL);
  }
  {
    std::lock_guard lock(dispatcherLock);
    // Mutexes the thread still owns are abandoned: the next owner gets STATUS_ABANDONED.
    while (self.ownedMutants.Flink != &self.ownedMutants) {
      PLIST_ENTRY entry = self.ownedMutants.Flink;
      RemoveEntryList(entry);
      auto* mutant = CONTAINING_RECORD(entry, KMUTANT, MutantListEntry);
      mutant->OwnerThread = nullptr;
      mutant->Abandoned = TRUE;
      mutant->Header.SignalState = 1;
      --self.criticalRegion;
      wakeWaitersLocked(&mutant->Header);
    }
  }
  if (self.criticalRegion != 0 || self.guardedRegion != 0) {
    reportViolation({"thread.exit-apcs-disabled", bugcheck::KernelApcPendingDuringExit, 0,
                     static_cast<std::uint64_t>(self.criticalRegion), static_cast<std::uint64_t>(self.guardedRegion)},
                    caller,
                    fmt::format("thread {} ended inside {} critical and {} guarded region(s)", self.name,
                                self.criticalRegion, self.guardedRegion));
  }
  {
    std::lock_guard lock(dispatcherLock);
    self.Header.SignalState = 1;
    self.exited = true;
    wakeWaitersLocked(&self.Header);
  }
  scheduler_.exit(self);
}

void Kernel::systemThreadMain(ThreadRecord& self) {
  bindCurrentThread(self);
  scheduler_.waitForToken(self);
  if (!scheduler_.isShutdown() || !deterministic_) {
    try {
      self.startRoutine(self.startContext);
    } catch (const SystemThreadTermination&) {
    }
  }
  threadExit(self, reinterpret_cast<const void*>(self.startRoutine));
}

NTSTATUS createSystemThread(Kernel& kernel, PHANDLE handle, PCLIENT_ID clientId, PKSTART_ROUTINE routine,
                            PVOID context) {
  unsigned vpIndex = kernel.nextVp_.fetch_add(1) % kernel.processorCount();
  ThreadRecord& record =
      kernel.createRecord(ThreadKind::System, vpIndex, fmt::format("system-{}", reinterpret_cast<const void*>(routine)));
  record.startRoutine = routine;
  record.startContext = context;
  kernel.scheduler().addRunnable(record);
  record.osThread = std::thread([&kernel, &record] { kernel.systemThreadMain(record); });
  *handle = static_cast<HANDLE>(static_cast<_KTHREAD*>(&record));
  if (clientId != nullptr) {
    clientId->UniqueProcess = reinterpret_cast<HANDLE>(ULONG_PTR{4});
    clientId->UniqueThread = reinterpret_cast<HANDLE>(static_cast<ULONG_PTR>(record.id));
  }
  return STATUS_SUCCESS;
}

NTSTATUS terminateSystemThread(ThreadRecord& self, NTSTATUS status) {
  (void)self;
  throw SystemThreadTermination{status};
}

}  // namespace ndishost::nt::ke

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

extern "C" {

// Any IRQL.
PKTHREAD NTAPI KeGetCurrentThread(VOID) { return &currentThread("KeGetCurrentThread"); }
PETHREAD NTAPI PsGetCurrentThread(VOID) { return &currentThread("PsGetCurrentThread"); }
HANDLE NTAPI PsGetCurrentThreadId(VOID) {
  return reinterpret_cast<HANDLE>(static_cast<ULONG_PTR>(currentThread("PsGetCurrentThreadId").id));
}
// Drivers run in the System process (id 4).
HANDLE NTAPI PsGetCurrentProcessId(VOID) { return reinterpret_cast<HANDLE>(ULONG_PTR{4}); }

// PASSIVE_LEVEL.
NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                    HANDLE ProcessHandle, PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                    PVOID StartContext) {
  (void)DesiredAccess;
  (void)ObjectAttributes;
  (void)ProcessHandle;
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("PsCreateSystemThread");
  checkIrqlAtMost(self, PASSIVE_LEVEL, "PsCreateSystemThread", caller);
  if (ThreadHandle == nullptr || StartRoutine == nullptr) return STATUS_INVALID_PARAMETER;
  NTSTATUS status = createSystemThread(self.kernel, ThreadHandle, ClientId, StartRoutine, StartContext);
  self.kernel.yieldPoint(self);
  return status;
}

// PASSIVE_LEVEL, from a system thread.
NTSTATUS NTAPI PsTerminateSystemThread(NTSTATUS ExitStatus) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("PsTerminateSystemThread");
  if (self.kind != ThreadKind::System) {
    reportViolation({"ps.terminate-foreign-thread", bugcheck::DriverVerifierDetectedViolation}, caller,
                    fmt::format("PsTerminateSystemThread called by {}, which PsCreateSystemThread did not create",
                                self.name));
    return STATUS_INVALID_PARAMETER;
  }
  checkIrqlAtMost(self, PASSIVE_LEVEL, "PsTerminateSystemThread", caller);
  return terminateSystemThread(self, ExitStatus);
}

// IRQL <= APC_LEVEL.
VOID NTAPI KeEnterCriticalRegion(VOID) {
  ThreadRecord& self = currentThread("KeEnterCriticalRegion");
  checkIrqlAtMost(self, APC_LEVEL, "KeEnterCriticalRegion", __builtin_return_address(0));
  ++self.criticalRegion;
}

VOID NTAPI KeLeaveCriticalRegion(VOID) {
  ThreadRecord& self = currentThread("KeLeaveCriticalRegion");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(self, APC_LEVEL, "KeLeaveCriticalRegion", caller);
  if (self.criticalRegion <= 0) {
    reportViolation({"ke.critical-region-underflow", bugcheck::DriverVerifierDetectedViolation}, caller,
                    "KeLeaveCriticalRegion without a matching KeEnterCriticalRegion");
    return;
  }
  --self.criticalRegion;
}

VOID NTAPI KeEnterGuardedRegion(VOID) {
  ThreadRecord& self = currentThread("KeEnterGuardedRegion");
  checkIrqlAtMost(self, APC_LEVEL, "KeEnterGuardedRegion", __builtin_return_address(0));
  ++self.guardedRegion;
}

VOID NTAPI KeLeaveGuardedRegion(VOID) {
  ThreadRecord& self = currentThread("KeLeaveGuardedRegion");
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(self, APC_LEVEL, "KeLeaveGuardedRegion", caller);
  if (self.guardedRegion <= 0) {
    reportViolation({"ke.critical-region-underflow", bugcheck::DriverVerifierDetectedViolation}, caller,
                    "KeLeaveGuardedRegion without a matching KeEnterGuardedRegion");
    return;
  }
  --self.guardedRegion;
}

// Any IRQL.
BOOLEAN NTAPI KeAreApcsDisabled(VOID) {
  ThreadRecord& self = currentThread("KeAreApcsDisabled");
  return self.irql >= APC_LEVEL || self.criticalRegion > 0 || self.guardedRegion > 0 ? TRUE : FALSE;
}

BOOLEAN NTAPI KeAreAllApcsDisabled(VOID) {
  ThreadRecord& self = currentThread("KeAreAllApcsDisabled");
  return self.irql >= APC_LEVEL || self.guardedRegion > 0 ? TRUE : FALSE;
}

}  // extern "C"

namespace {

[[noreturn]] void bugCheck(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1, ULONG_PTR BugCheckParameter2,
                           ULONG_PTR BugCheckParameter3, ULONG_PTR BugCheckParameter4, const void* caller) {
  Violation v;
  v.rule = "kebugcheck";
  v.code = BugCheckCode;
  v.parameters[0] = BugCheckParameter1;
  v.parameters[1] = BugCheckParameter2;
  v.parameters[2] = BugCheckParameter3;
  v.parameters[3] = BugCheckParameter4;
  v.driver = describeCaller(caller);
  v.detail = fmt::format("the driver called KeBugCheckEx(0x{:X})", BugCheckCode);
  v.stack = captureStack(2);
  fatalBugCheck(v);
}

}  // namespace

extern "C" {

// Any IRQL. Never returns.
VOID NTAPI KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1, ULONG_PTR BugCheckParameter2,
                        ULONG_PTR BugCheckParameter3, ULONG_PTR BugCheckParameter4) {
  bugCheck(BugCheckCode, BugCheckParameter1, BugCheckParameter2, BugCheckParameter3, BugCheckParameter4,
           __builtin_return_address(0));
}

VOID NTAPI KeBugCheck(ULONG BugCheckCode) { bugCheck(BugCheckCode, 0, 0, 0, 0, __builtin_return_address(0)); }

}  // extern "C"
