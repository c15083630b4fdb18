// IRP cancellation: the system cancel spin lock and IoCancelIrp.
#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irp_trace.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/support/trace.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {
namespace {

// The one system-wide cancel spin lock (Windows' IopCancelSpinLock).
KSPIN_LOCK cancelSpinLock = 0;

}  // namespace
}  // namespace ndishost::nt

using namespace ndishost::nt;

// IRQL <= DISPATCH_LEVEL. Raises to DISPATCH_LEVEL.
extern "C" VOID NTAPI IoAcquireCancelSpinLock(PKIRQL Irql) {
  checkIrqlAtMost(DISPATCH_LEVEL, "IoAcquireCancelSpinLock", __builtin_return_address(0));
  KeAcquireSpinLock(&cancelSpinLock, Irql);
}

// IRQL == DISPATCH_LEVEL (held since IoAcquireCancelSpinLock or the call of a cancel routine).
extern "C" VOID NTAPI IoReleaseCancelSpinLock(KIRQL Irql) { KeReleaseSpinLock(&cancelSpinLock, Irql); }

// IRQL <= DISPATCH_LEVEL. The cancel routine runs at DISPATCH_LEVEL holding the cancel
// spin lock, which it releases with IoReleaseCancelSpinLock(Irp->CancelIrql).
extern "C" BOOLEAN NTAPI IoCancelIrp(PIRP Irp) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoCancelIrp", caller);
  if (Irp == nullptr || Irp->Type != IO_TYPE_IRP) {
    reportViolation({"irp.invalid", bugcheck::DriverVerifierDetectedViolation, reinterpret_cast<std::uintptr_t>(Irp)},
                    caller, fmt::format("IoCancelIrp was passed {}, which is not a live IRP", static_cast<void*>(Irp)));
    return FALSE;
  }
  KIRQL irql;
  IoAcquireCancelSpinLock(&irql);
  __atomic_store_n(&Irp->Cancel, TRUE, __ATOMIC_RELEASE);
  PDRIVER_CANCEL routine = IoSetCancelRoutine(Irp, nullptr);
  if (routine == nullptr) {
    // Not cancelable now; whoever owns the IRP sees Cancel when it next looks. Nothing
    // else of the IRP is touched: its owner may be completing it at this moment.
    if (traceEnabled()) traceCancel(nullptr, Irp, false);
    IoReleaseCancelSpinLock(irql);
    return FALSE;
  }
  // Taking the cancel routine made the IRP ours until the routine has run.
  PDEVICE_OBJECT device =
      Irp->CurrentLocation <= Irp->StackCount ? IoGetCurrentIrpStackLocation(Irp)->DeviceObject : nullptr;
  if (traceEnabled()) traceCancel(device, Irp, true);
  Irp->CancelIrql = irql;
  routine(device, Irp);
  return TRUE;
}
