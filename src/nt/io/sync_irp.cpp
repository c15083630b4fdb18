// Synchronous IRPs the runtime itself sends (the PnP manager's IRP_MN_* requests, the
// create/cleanup/close of a file object), built the way Windows builds them.
#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irp_allocator.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/io/object_header.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {

NTSTATUS sendIrpSynchronously(PDEVICE_OBJECT topOfStack, UCHAR major, UCHAR minor,
                              const std::function<void(PIO_STACK_LOCATION)>& fill, ULONG_PTR* information) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(PASSIVE_LEVEL, "sendIrpSynchronously", caller);
  if (information != nullptr) *information = 0;
  if (objectHeaderOf(topOfStack, ObjectType::Device) == nullptr) return STATUS_INVALID_PARAMETER;

  PIRP irp = allocateIrp(topOfStack->StackSize, IrpOrigin::Synchronous, nullptr);
  if (irp == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IO_STATUS_BLOCK statusBlock{};
  irp->RequestorMode = KernelMode;
  irp->UserEvent = &event;
  irp->UserIosb = &statusBlock;
  // A PnP or power IRP that no driver in the stack handles must come back "not supported":
  // Windows sets that before sending, and drivers pass such IRPs down untouched.
  if (major == IRP_MJ_PNP || major == IRP_MJ_POWER) irp->IoStatus.Status = STATUS_NOT_SUPPORTED;

  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = major;
  next->MinorFunction = minor;
  if (fill) fill(next);

  NTSTATUS status = IoCallDriver(topOfStack, irp);
  if (status == STATUS_PENDING) {
    KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
    status = statusBlock.Status;
  } else if (KeReadStateEvent(&event) == 0) {
    // The dispatch routine neither completed the IRP nor returned STATUS_PENDING: the IRP
    // is lost to us (waiting could hang forever).
    reportViolation({"irp.not-completed", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(irp), static_cast<std::uint64_t>(static_cast<ULONG>(status))},
                    reinterpret_cast<const void*>(topOfStack->DriverObject->MajorFunction[major]),
                    fmt::format("{} {}: the dispatch routine returned {} without completing the IRP or returning "
                                "STATUS_PENDING",
                                describeDevice(topOfStack), majorFunctionName(major), statusName(status)));
    return status;
  }
  if (information != nullptr) *information = statusBlock.Information;
  return status;
}

}  // namespace ndishost::nt
