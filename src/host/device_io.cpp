#include <span>
#include <string_view>

#include "host/device_io.hpp"

namespace ndishost::host {

IoctlResult deviceIoControl(const nt::pnp::PnpManager& pnp, std::string_view instancePath, ULONG code,
                            std::span<const std::byte> input, std::span<std::byte> output) {
  PDEVICE_OBJECT top = pnp.referenceTopOfStack(instancePath);
  if (top == nullptr) return {STATUS_NO_SUCH_DEVICE, 0};

  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb{};
  // METHOD_BUFFERED: the I/O manager copies the input in and the output back out.
  PIRP irp = IoBuildDeviceIoControlRequest(code, top, const_cast<std::byte*>(input.data()),
                                           static_cast<ULONG>(input.size()), output.data(),
                                           static_cast<ULONG>(output.size()), FALSE, &event, &iosb);
  IoctlResult result{STATUS_INSUFFICIENT_RESOURCES, 0};
  if (irp != nullptr) {
    NTSTATUS status = IoCallDriver(top, irp);
    if (status == STATUS_PENDING) {
      KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
      status = iosb.Status;
    }
    result = {status, static_cast<std::size_t>(iosb.Information)};
  }
  ObDereferenceObject(top);
  return result;
}

}  // namespace ndishost::host
