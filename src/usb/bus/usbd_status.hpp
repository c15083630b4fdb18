// The three status vocabularies an URB crosses: what the device model reports
// (device::TransferStatus), what the client sees (USBD_STATUS in the URB header plus the
// IRP's NTSTATUS) and what a usbmon capture records (Linux -errno).
#pragma once

#include <cstdint>

#include <usb.h>

#include "link/usbmon_event.hpp"
#include "usb/device/usb_types.hpp"

namespace ndishost::usb::bus {

// The host controller's verdict on a transfer. Stall halts the endpoint (USBD_HALTED).
// Overrun is babble: xHCI and EHCI report it as a data overrun.
constexpr USBD_STATUS usbdStatusOf(device::TransferStatus status) {
  switch (status) {
    case device::TransferStatus::Success: return USBD_STATUS_SUCCESS;
    case device::TransferStatus::Stall: return USBD_STATUS_STALL_PID;
    case device::TransferStatus::DeviceGone: return USBD_STATUS_DEVICE_GONE;
    case device::TransferStatus::Cancelled: return USBD_STATUS_CANCELED;
    case device::TransferStatus::NoResponse: return USBD_STATUS_DEV_NOT_RESPONDING;
    case device::TransferStatus::Overrun: return USBD_STATUS_DATA_OVERRUN;
  }
  return USBD_STATUS_INTERNAL_HC_ERROR;
}

// The IRP status that goes with an URB status (what Windows' USB stack completes with):
// cancelled -> STATUS_CANCELLED, device gone -> STATUS_DEVICE_NOT_CONNECTED, request
// errors -> STATUS_INVALID_PARAMETER, transfer errors -> STATUS_UNSUCCESSFUL.
constexpr NTSTATUS ntStatusOf(USBD_STATUS status) {
  switch (status) {
    case USBD_STATUS_SUCCESS: return STATUS_SUCCESS;
    case USBD_STATUS_CANCELED: return STATUS_CANCELLED;
    case USBD_STATUS_DEVICE_GONE: return STATUS_DEVICE_NOT_CONNECTED;
    case USBD_STATUS_INVALID_URB_FUNCTION:
    case USBD_STATUS_INVALID_PARAMETER:
    case USBD_STATUS_INVALID_PIPE_HANDLE:
    case USBD_STATUS_INAVLID_CONFIGURATION_DESCRIPTOR:
    case USBD_STATUS_INTERFACE_NOT_FOUND:
      return STATUS_INVALID_PARAMETER;
    case USBD_STATUS_BUFFER_TOO_SMALL: return STATUS_BUFFER_TOO_SMALL;
    case USBD_STATUS_INSUFFICIENT_RESOURCES: return STATUS_INSUFFICIENT_RESOURCES;
    case USBD_STATUS_NOT_SUPPORTED: return STATUS_NOT_SUPPORTED;
    case USBD_STATUS_ERROR_BUSY: return STATUS_DEVICE_BUSY;
    default: return STATUS_UNSUCCESSFUL;
  }
}

// How usbmon (Linux) records the same outcome.
constexpr std::int32_t usbmonStatusOf(USBD_STATUS status) {
  switch (status) {
    case USBD_STATUS_SUCCESS: return link::usbmon_status::kSuccess;
    case USBD_STATUS_STALL_PID: return link::usbmon_status::kStall;
    case USBD_STATUS_CANCELED: return link::usbmon_status::kUnlinked;
    case USBD_STATUS_DEVICE_GONE: return link::usbmon_status::kShutdown;
    case USBD_STATUS_DATA_OVERRUN: return link::usbmon_status::kOverflow;
    case USBD_STATUS_DEV_NOT_RESPONDING: return link::usbmon_status::kProtocol;
    default: return link::usbmon_status::kProtocol;
  }
}

}  // namespace ndishost::usb::bus
