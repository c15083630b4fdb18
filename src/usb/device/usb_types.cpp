#include "usb/device/usb_types.hpp"

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

std::string_view toString(Speed speed) {
  switch (speed) {
    case Speed::Full: return "full";
    case Speed::High: return "high";
    case Speed::Super: return "super";
  }
  return "?";
}

std::string_view toString(TransferStatus status) {
  switch (status) {
    case TransferStatus::Success: return "Success";
    case TransferStatus::Stall: return "Stall";
    case TransferStatus::DeviceGone: return "DeviceGone";
    case TransferStatus::Cancelled: return "Cancelled";
    case TransferStatus::NoResponse: return "NoResponse";
    case TransferStatus::Overrun: return "Overrun";
  }
  return "?";
}

SetupPacket SetupPacket::fromBytes(std::span<const std::byte, 8> bytes) {
  SetupPacket setup;
  setup.bmRequestType = readU8(bytes, 0);
  setup.bRequest = readU8(bytes, 1);
  setup.wValue = readLe16(bytes, 2);
  setup.wIndex = readLe16(bytes, 4);
  setup.wLength = readLe16(bytes, 6);
  return setup;
}

void SetupPacket::toBytes(std::span<std::byte, 8> bytes) const {
  writeU8(bytes, 0, bmRequestType);
  writeU8(bytes, 1, bRequest);
  writeLe16(bytes, 2, wValue);
  writeLe16(bytes, 4, wIndex);
  writeLe16(bytes, 6, wLength);
}

}  // namespace ndishost::usb::device
