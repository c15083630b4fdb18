// Trace events for IRPs: dispatch, completion and cancellation (TraceCategory::Irp).
// Callers check traceEnabled() first so an untraced run formats nothing.
#pragma once

#include <wdm.h>

#include <string>

namespace ndishost::nt {

// "IRP_MJ_PNP IRP_MN_START_DEVICE", "IRP_MJ_INTERNAL_DEVICE_CONTROL IOCTL_INTERNAL_USB_SUBMIT_URB",
// "IRP_MJ_DEVICE_CONTROL 0x00222004", "IRP_MJ_READ 512 bytes".
std::string describeRequest(const IO_STACK_LOCATION& location);

void traceDispatch(PDEVICE_OBJECT device, PIRP irp, const IO_STACK_LOCATION& location);
void traceCompletion(PDEVICE_OBJECT device, PIRP irp, const IO_STACK_LOCATION& location);
void traceCancel(PDEVICE_OBJECT device, PIRP irp, bool cancelRoutineCalled);

}  // namespace ndishost::nt
