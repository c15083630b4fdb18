#include "nt/io/irp_trace.hpp"

#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::nt {
namespace {

std::string source(PDEVICE_OBJECT device) {
  if (device == nullptr) return "(no device)";
  std::string text = describeDevice(device);
  if (device->DriverObject != nullptr) text += fmt::format(" [{}]", driverServiceName(device->DriverObject));
  return text;
}

}  // namespace

std::string describeRequest(const IO_STACK_LOCATION& location) {
  std::string text(majorFunctionName(location.MajorFunction));
  switch (location.MajorFunction) {
    case IRP_MJ_PNP:
    case IRP_MJ_POWER:
    case IRP_MJ_SYSTEM_CONTROL: {
      auto minor = minorFunctionName(location.MajorFunction, location.MinorFunction);
      if (minor.empty()) {
        text += fmt::format(" minor 0x{:02X}", location.MinorFunction);
      } else {
        text += ' ';
        text += minor;
      }
      break;
    }
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL: {
      ULONG code = location.Parameters.DeviceIoControl.IoControlCode;
      auto name = ioControlCodeName(code);
      if (name.empty()) {
        text += fmt::format(" 0x{:08X}", code);
      } else {
        text += ' ';
        text += name;
      }
      break;
    }
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
      text += fmt::format(" {} bytes at {}", location.Parameters.Read.Length, location.Parameters.Read.ByteOffset.QuadPart);
      break;
    default:
      break;
  }
  return text;
}

void traceDispatch(PDEVICE_OBJECT device, PIRP irp, const IO_STACK_LOCATION& location) {
  traceEmit(TraceCategory::Irp, source(device),
            fmt::format("dispatch IRP {} {}", static_cast<void*>(irp), describeRequest(location)));
}

void traceCompletion(PDEVICE_OBJECT device, PIRP irp, const IO_STACK_LOCATION& location) {
  traceEmit(TraceCategory::Irp, source(device),
            fmt::format("complete IRP {} {} -> {} information {:#x}", static_cast<void*>(irp), describeRequest(location),
                        statusName(irp->IoStatus.Status), irp->IoStatus.Information));
}

void traceCancel(PDEVICE_OBJECT device, PIRP irp, bool cancelRoutineCalled) {
  traceEmit(TraceCategory::Irp, source(device),
            fmt::format("cancel IRP {}{}", static_cast<void*>(irp),
                        cancelRoutineCalled ? " (cancel routine called)" : " (not cancelable now)"));
}

}  // namespace ndishost::nt
