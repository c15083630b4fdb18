// The heart of the I/O manager: sending an IRP to a driver (IofCallDriver) and completing
// it back up the stack (IofCompleteRequest), with the completion-routine protocol the WDM
// reference describes: each driver's IoCompletion routine lives in the stack location of
// the driver below it, runs according to its SL_INVOKE_ON_* flags, sees PendingReturned
// from the level below, and can stop completion with STATUS_MORE_PROCESSING_REQUIRED.
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irp_allocator.hpp"
#include "nt/io/irp_trace.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/io/object_header.hpp"
#include "nt/support/trace.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {
namespace {

// CANCEL_STATE_IN_COMPLETED_IRP: Windows' bug check for completing an IRP whose cancel
// routine is still set.
constexpr std::uint32_t kCancelStateInCompletedIrp = 0x48;

bool isCancelled(PIRP irp) { return __atomic_load_n(&irp->Cancel, __ATOMIC_ACQUIRE) != FALSE; }

bool shouldInvoke(UCHAR control, PIRP irp) {
  NTSTATUS status = irp->IoStatus.Status;
  return (NT_SUCCESS(status) && (control & SL_INVOKE_ON_SUCCESS) != 0) ||
         (!NT_SUCCESS(status) && (control & SL_INVOKE_ON_ERROR) != 0) ||
         (isCancelled(irp) && (control & SL_INVOKE_ON_CANCEL) != 0);
}

void freeMdlChain(PIRP irp) {
  PMDL mdl = irp->MdlAddress;
  irp->MdlAddress = nullptr;
  while (mdl != nullptr) {
    PMDL next = mdl->Next;
    if ((mdl->MdlFlags & MDL_PAGES_LOCKED) != 0) MmUnlockPages(mdl);
    IoFreeMdl(mdl);
    mdl = next;
  }
}

// What Windows does in the requesting thread's completion APC for IRPs the I/O manager
// built: copy buffered output back, release the buffers, report the status, wake the
// waiter, free the IRP. Done inline here; the waiter must not find the event set before
// its status block is.
void finishBuiltIrp(PIRP irp, IrpHeader& header) {
  const IO_STATUS_BLOCK result = irp->IoStatus;
  if (header.copyBackLength != 0 && irp->UserBuffer != nullptr && irp->AssociatedIrp.SystemBuffer != nullptr &&
      !NT_ERROR(result.Status)) {
    std::size_t bytes = std::min<std::size_t>(result.Information, header.copyBackLength);
    std::memcpy(irp->UserBuffer, irp->AssociatedIrp.SystemBuffer, bytes);
  }
  freeMdlChain(irp);
  PIO_STATUS_BLOCK statusBlock = irp->UserIosb;
  PKEVENT event = irp->UserEvent;
  releaseIrp(irp);
  if (statusBlock != nullptr) *statusBlock = result;
  if (event != nullptr) KeSetEvent(event, IO_NO_INCREMENT, FALSE);
}

// ---- IoSetCompletionRoutineEx -------------------------------------------------------
// The routine and the device reference ride in a small context from a free list; the
// I/O manager's own completion routine calls the driver's and drops the reference.

struct UnloadSafeContext {
  PIO_COMPLETION_ROUTINE routine;
  PVOID context;
  PDEVICE_OBJECT device;
  UCHAR control;
  UnloadSafeContext* nextFree;
};

struct UnloadSafePool {
  std::mutex lock;
  UnloadSafeContext* head = nullptr;
  std::vector<std::unique_ptr<UnloadSafeContext[]>> blocks;
};

UnloadSafePool& unloadSafePool() {
  static UnloadSafePool instance;
  return instance;
}

UnloadSafeContext* takeUnloadSafeContext() {
  UnloadSafePool& pool = unloadSafePool();
  std::lock_guard guard(pool.lock);
  if (pool.head == nullptr) {
    constexpr std::size_t kBlock = 64;
    auto block = std::make_unique<UnloadSafeContext[]>(kBlock);
    for (std::size_t i = 0; i < kBlock; ++i) {
      block[i].nextFree = pool.head;
      pool.head = &block[i];
    }
    pool.blocks.push_back(std::move(block));
  }
  UnloadSafeContext* context = pool.head;
  pool.head = context->nextFree;
  return context;
}

void returnUnloadSafeContext(UnloadSafeContext* context) {
  UnloadSafePool& pool = unloadSafePool();
  std::lock_guard guard(pool.lock);
  context->nextFree = pool.head;
  pool.head = context;
}

NTSTATUS NTAPI unloadSafeCompletion(PDEVICE_OBJECT deviceObject, PIRP irp, PVOID context) {
  auto* safe = static_cast<UnloadSafeContext*>(context);
  const UnloadSafeContext saved = *safe;
  returnUnloadSafeContext(safe);
  NTSTATUS status;
  if (shouldInvoke(saved.control, irp)) {
    status = saved.routine(deviceObject, irp, saved.context);
  } else {
    // The driver's routine would not have run: do what the I/O manager does then.
    if (irp->PendingReturned && irp->CurrentLocation <= irp->StackCount) IoMarkIrpPending(irp);
    status = STATUS_SUCCESS;
  }
  dereferenceObject(*objectHeaderOf(saved.device));
  return status;
}

NTSTATUS NTAPI signalAndKeep(PDEVICE_OBJECT, PIRP, PVOID context) {
  KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

}  // namespace
}  // namespace ndishost::nt

using namespace ndishost::nt;

// IRQL <= DISPATCH_LEVEL.
extern "C" NTSTATUS FASTCALL IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoCallDriver", caller);
  const auto address = reinterpret_cast<std::uintptr_t>(Irp);
  if (Irp == nullptr || Irp->Type != IO_TYPE_IRP) {
    reportViolation({"irp.invalid", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IoCallDriver was passed {}, which is not a live IRP", static_cast<void*>(Irp)));
    return STATUS_INVALID_PARAMETER;
  }
  if (objectHeaderOf(DeviceObject, ObjectType::Device) == nullptr) {
    reportViolation({"io.invalid-device-object", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(DeviceObject)},
                    caller, fmt::format("IoCallDriver was passed {}, which is not a device object",
                                        static_cast<void*>(DeviceObject)));
    return STATUS_INVALID_PARAMETER;
  }

  if (Irp->CurrentLocation <= 1) {
    // Safe way out in Record mode: the IRP is left as it was, still the caller's.
    reportViolation({"irp.no-stack-location", bugcheck::NoMoreIrpStackLocations, address}, caller,
                    fmt::format("IoCallDriver to {}: IRP {} has no stack location left (StackCount {})",
                                describeDevice(DeviceObject), static_cast<void*>(Irp), static_cast<int>(Irp->StackCount)));
    return STATUS_INVALID_PARAMETER;
  }
  IoSetNextIrpStackLocation(Irp);
  PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(Irp);
  location->DeviceObject = DeviceObject;

  if (location->MajorFunction > IRP_MJ_MAXIMUM_FUNCTION) {
    IoSkipCurrentIrpStackLocation(Irp);
    reportViolation({"irp.invalid-major-function", bugcheck::DriverVerifierDetectedViolation, address,
                     location->MajorFunction},
                    caller, fmt::format("IoCallDriver: IRP {} carries major function 0x{:02X}", static_cast<void*>(Irp),
                                        location->MajorFunction));
    return STATUS_INVALID_PARAMETER;
  }
  if (IrpHeader* header = irpHeaderOf(Irp)) header->inFlight = true;
  if (traceEnabled()) traceDispatch(DeviceObject, Irp, *location);

  PDRIVER_DISPATCH dispatch = DeviceObject->DriverObject->MajorFunction[location->MajorFunction];
  return dispatch(DeviceObject, Irp);
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID FASTCALL IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost) {
  (void)PriorityBoost;  // no thread priorities to boost in ndishost
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoCompleteRequest", caller);
  const auto address = reinterpret_cast<std::uintptr_t>(Irp);

  if (Irp == nullptr || Irp->Type != IO_TYPE_IRP || Irp->CurrentLocation > Irp->StackCount) {
    reportViolation({"irp.complete-twice", bugcheck::MultipleIrpCompleteRequests, address}, caller,
                    fmt::format("IoCompleteRequest({}): the IRP has already been completed (or was never sent)",
                                static_cast<void*>(Irp)));
    return;
  }
  if (Irp->IoStatus.Status == STATUS_PENDING) {
    reportViolation({"irp.complete-pending", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IoCompleteRequest({}) with IoStatus.Status = STATUS_PENDING", static_cast<void*>(Irp)));
  }
  if (IoSetCancelRoutine(Irp, nullptr) != nullptr) {
    reportViolation({"irp.cancel-routine-set", kCancelStateInCompletedIrp, address}, caller,
                    fmt::format("IoCompleteRequest({}) with a cancel routine still set", static_cast<void*>(Irp)));
  }
  IrpHeader* header = irpHeaderOf(Irp);
  if (header != nullptr) header->inFlight = false;
  if (traceEnabled()) {
    PIO_STACK_LOCATION current = IoGetCurrentIrpStackLocation(Irp);
    traceCompletion(current->DeviceObject, Irp, *current);
  }

  // Walk up from the completing driver's location. The completion routine stored in a
  // location belongs to the driver one level up, whose device object is in the location
  // above (none for the IRP's originator at the top).
  while (Irp->CurrentLocation <= Irp->StackCount) {
    PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(Irp);
    const UCHAR control = location->Control;
    const PIO_COMPLETION_ROUTINE routine = location->CompletionRoutine;
    PVOID context = location->Context;
    Irp->PendingReturned = (control & SL_PENDING_RETURNED) != 0;
    // As documented for IoCallDriver: the completion routine sees the lower drivers'
    // stack locations filled with zeros.
    std::memset(location, 0, sizeof(*location));
    IoSkipCurrentIrpStackLocation(Irp);

    const bool atTop = Irp->CurrentLocation > Irp->StackCount;
    if (routine != nullptr && shouldInvoke(control, Irp)) {
      PDEVICE_OBJECT upper = atTop ? nullptr : IoGetCurrentIrpStackLocation(Irp)->DeviceObject;
      if (routine(upper, Irp, context) == STATUS_MORE_PROCESSING_REQUIRED) return;
    } else if (Irp->PendingReturned && !atTop) {
      // No routine to do it: carry "pending" up to the next driver, as the I/O manager does.
      IoMarkIrpPending(Irp);
    }
  }

  if (header == nullptr || header->origin == IrpOrigin::Driver) {
    reportViolation({"irp.completion-not-stopped", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IRP {} was allocated by a driver, but no completion routine returned "
                                "STATUS_MORE_PROCESSING_REQUIRED to take it back; nobody owns it now",
                                static_cast<void*>(Irp)));
    return;
  }
  finishBuiltIrp(Irp, *header);
}

// IRQL <= DISPATCH_LEVEL.
extern "C" NTSTATUS NTAPI IoSetCompletionRoutineEx(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                   PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                                   BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
                                                   BOOLEAN InvokeOnCancel) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoSetCompletionRoutineEx", caller);
  ObjectHeader* deviceHeader = objectHeaderOf(DeviceObject, ObjectType::Device);
  if (deviceHeader == nullptr) {
    reportViolation({"io.invalid-device-object", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(DeviceObject)},
                    caller, fmt::format("IoSetCompletionRoutineEx was passed {}, which is not a device object",
                                        static_cast<void*>(DeviceObject)));
    return STATUS_INVALID_PARAMETER;
  }
  UnloadSafeContext* safe = takeUnloadSafeContext();
  safe->routine = CompletionRoutine;
  safe->context = Context;
  safe->device = DeviceObject;
  safe->control = static_cast<UCHAR>((InvokeOnSuccess ? SL_INVOKE_ON_SUCCESS : 0) |
                                     (InvokeOnError ? SL_INVOKE_ON_ERROR : 0) |
                                     (InvokeOnCancel ? SL_INVOKE_ON_CANCEL : 0));
  referenceObject(*deviceHeader);
  // Always invoked, so the context and the reference are released whatever the outcome.
  IoSetCompletionRoutine(Irp, &unloadSafeCompletion, safe, TRUE, TRUE, TRUE);
  return STATUS_SUCCESS;
}

// IRQL <= APC_LEVEL.
extern "C" BOOLEAN NTAPI IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  checkIrqlAtMost(APC_LEVEL, "IoForwardIrpSynchronously", __builtin_return_address(0));
  if (Irp->CurrentLocation <= 1) return FALSE;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IoCopyCurrentIrpStackLocationToNext(Irp);
  IoSetCompletionRoutine(Irp, &signalAndKeep, &event, TRUE, TRUE, TRUE);
  if (IoCallDriver(DeviceObject, Irp) == STATUS_PENDING) {
    KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
  }
  return TRUE;
}
