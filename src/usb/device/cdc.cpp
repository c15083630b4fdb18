#include "usb/device/cdc.hpp"

#include <algorithm>
#include <limits>

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

namespace {

CdcNotification header(std::uint8_t code, std::uint16_t value, std::uint8_t interfaceNumber,
                       std::uint16_t dataLength) {
  CdcNotification n;
  writeU8(n.bytes, 0, ClassInterfaceIn);
  writeU8(n.bytes, 1, code);
  writeLe16(n.bytes, 2, value);
  writeLe16(n.bytes, 4, interfaceNumber);
  writeLe16(n.bytes, 6, dataLength);
  n.length = 8 + dataLength;
  return n;
}

std::uint32_t clampBps(std::uint64_t bps) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(bps, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

CdcNotification makeNetworkConnection(std::uint8_t interfaceNumber, bool connected) {
  return header(cdc_notification::NetworkConnection, connected ? 1 : 0, interfaceNumber, 0);
}

CdcNotification makeConnectionSpeedChange(std::uint8_t interfaceNumber, std::uint64_t downlinkBps,
                                          std::uint64_t uplinkBps) {
  CdcNotification n = header(cdc_notification::ConnectionSpeedChange, 0, interfaceNumber, 8);
  writeLe32(n.bytes, 8, clampBps(downlinkBps));
  writeLe32(n.bytes, 12, clampBps(uplinkBps));
  return n;
}

}  // namespace ndishost::usb::device
