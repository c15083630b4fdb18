// Sending I/O control requests to a device stack from the host, the way an application's
// DeviceIoControl reaches a driver: an IRP_MJ_DEVICE_CONTROL built by the I/O manager,
// sent to the top of the stack, waited for.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "nt/pnp/pnp_manager.hpp"

namespace ndishost::host {

struct IoctlResult {
  NTSTATUS status;
  std::size_t information;  // bytes returned
};

// PASSIVE_LEVEL. STATUS_NO_SUCH_DEVICE when the device has no stack.
IoctlResult deviceIoControl(const nt::pnp::PnpManager& pnp, std::string_view instancePath, ULONG code,
                            std::span<const std::byte> input, std::span<std::byte> output);

}  // namespace ndishost::host
