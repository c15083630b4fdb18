// USBD_ValidateConfigurationDescriptor: a pure check of the bytes a device returned for a
// configuration request, so a client driver can refuse a malformed device before parsing.
// Each fault is reported with its USBD_STATUS_BAD_* code and the address of the offending
// descriptor; nothing outside [ConfigDesc, ConfigDesc + BufferLength) is ever read.
#include <wdm.h>
#include <usbdlib.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "nt/io/irql_rules.hpp"
#include "nt/ke/runtime.hpp"

namespace {

using Bytes = std::span<const std::uint8_t>;

struct Fault {
  USBD_STATUS status = USBD_STATUS_SUCCESS;
  std::size_t offset = 0;
};

constexpr Fault ok() { return {}; }
constexpr Fault fault(USBD_STATUS status, std::size_t offset) { return {status, offset}; }

// Level 1: the configuration header itself and its claim about the total length.
Fault validateHeader(Bytes bytes) {
  if (bytes.size() < sizeof(USB_CONFIGURATION_DESCRIPTOR)) return fault(USBD_STATUS_BAD_CONFIG_DESC_LENGTH, 0);
  if (bytes[0] < sizeof(USB_CONFIGURATION_DESCRIPTOR)) return fault(USBD_STATUS_BAD_DESCRIPTOR_BLEN, 0);
  if (bytes[1] != USB_CONFIGURATION_DESCRIPTOR_TYPE) return fault(USBD_STATUS_BAD_DESCRIPTOR_TYPE, 1);
  std::size_t total = bytes[2] | static_cast<std::size_t>(bytes[3]) << 8;
  if (total < bytes[0] || total > bytes.size()) return fault(USBD_STATUS_BAD_CONFIG_DESC_LENGTH, 2);
  return ok();
}

// Levels 2 and 3: every descriptor inside wTotalLength.
Fault validateBody(Bytes config, USHORT level) {
  const bool strict = level >= 3;
  const std::size_t declaredInterfaces = config[4];
  std::array<bool, 256> interfaceSeen{};
  std::size_t distinctInterfaces = 0;
  int previousInterface = -1;
  // The interface setting being walked: where it started, the endpoints it declared and
  // found, and the endpoint addresses already used in it.
  std::size_t settingOffset = 0;
  int declaredEndpoints = -1;
  int foundEndpoints = 0;
  std::array<bool, 256> endpointSeen{};

  auto closeSetting = [&]() -> Fault {
    if (strict && declaredEndpoints >= 0 && foundEndpoints != declaredEndpoints) {
      return fault(USBD_STATUS_BAD_NUMBER_OF_ENDPOINTS, settingOffset);
    }
    return ok();
  };

  std::size_t offset = config[0];
  while (offset < config.size()) {
    if (config.size() - offset < sizeof(USB_COMMON_DESCRIPTOR)) return fault(USBD_STATUS_BAD_DESCRIPTOR_BLEN, offset);
    std::size_t length = config[offset];
    std::uint8_t type = config[offset + 1];
    if (length < sizeof(USB_COMMON_DESCRIPTOR) || length > config.size() - offset) {
      return fault(USBD_STATUS_BAD_DESCRIPTOR_BLEN, offset);
    }
    switch (type) {
      case USB_INTERFACE_DESCRIPTOR_TYPE: {
        if (length < sizeof(USB_INTERFACE_DESCRIPTOR) || (strict && length != sizeof(USB_INTERFACE_DESCRIPTOR))) {
          return fault(USBD_STATUS_BAD_INTERFACE_DESCRIPTOR, offset);
        }
        if (Fault f = closeSetting(); f.status != USBD_STATUS_SUCCESS) return f;
        std::uint8_t number = config[offset + 2];
        if (!interfaceSeen[number]) {
          interfaceSeen[number] = true;
          ++distinctInterfaces;
          // Level 3: interface numbers appear in order 0, 1, 2, ...
          if (strict && number != previousInterface + 1) return fault(USBD_STATUS_BAD_INTERFACE_DESCRIPTOR, offset);
          previousInterface = number;
        } else if (strict && number != previousInterface) {
          // Alternate settings follow their interface directly.
          return fault(USBD_STATUS_BAD_INTERFACE_DESCRIPTOR, offset);
        }
        settingOffset = offset;
        declaredEndpoints = config[offset + 4];
        foundEndpoints = 0;
        endpointSeen.fill(false);
        break;
      }
      case USB_ENDPOINT_DESCRIPTOR_TYPE: {
        if (length < sizeof(USB_ENDPOINT_DESCRIPTOR) || (strict && length != 7 && length != 9)) {
          return fault(USBD_STATUS_BAD_ENDPOINT_DESCRIPTOR, offset);
        }
        std::uint8_t address = config[offset + 2];
        // Endpoint 0 is the default pipe, never described; bits 6:4 are reserved.
        if ((address & USB_ENDPOINT_ADDRESS_MASK) == 0 || (address & 0x70) != 0 || endpointSeen[address]) {
          return fault(USBD_STATUS_BAD_ENDPOINT_ADDRESS, offset);
        }
        endpointSeen[address] = true;
        ++foundEndpoints;
        break;
      }
      case USB_INTERFACE_ASSOCIATION_DESCRIPTOR_TYPE:
        if (length < sizeof(USB_INTERFACE_ASSOCIATION_DESCRIPTOR) || config[offset + 3] == 0) {
          return fault(USBD_STATUS_BAD_INTERFACE_ASSOC_DESCRIPTOR, offset);
        }
        break;
      case USB_CONFIGURATION_DESCRIPTOR_TYPE:
      case USB_DEVICE_DESCRIPTOR_TYPE:
        // Neither may appear inside a configuration.
        return fault(USBD_STATUS_BAD_DESCRIPTOR_TYPE, offset + 1);
      default:
        break;  // class- and vendor-specific descriptors: only their length matters
    }
    offset += length;
  }
  if (Fault f = closeSetting(); f.status != USBD_STATUS_SUCCESS) return f;
  if (distinctInterfaces != declaredInterfaces) return fault(USBD_STATUS_BAD_NUMBER_OF_INTERFACES, 4);
  return ok();
}

}  // namespace

// IRQL PASSIVE_LEVEL. Level 1 checks the header, 2 every descriptor's length, type and
// endpoint address and the interface count, 3 adds exact lengths, endpoint counts and
// interface order. Tag is unused: nothing is allocated.
extern "C" USBD_STATUS NTAPI USBD_ValidateConfigurationDescriptor(PUSB_CONFIGURATION_DESCRIPTOR ConfigDesc,
                                                                  ULONG BufferLength, USHORT Level, PUCHAR* Offset,
                                                                  ULONG Tag) {
  (void)Tag;
  if (ndishost::nt::Runtime::current() != nullptr) {
    (void)ndishost::nt::checkIrqlAtMost(PASSIVE_LEVEL, "USBD_ValidateConfigurationDescriptor",
                                        __builtin_return_address(0));
  }
  if (ConfigDesc == nullptr || Offset == nullptr || Level < 1 || Level > 3) return USBD_STATUS_INVALID_PARAMETER;
  Bytes buffer(reinterpret_cast<const std::uint8_t*>(ConfigDesc), BufferLength);
  Fault result = validateHeader(buffer);
  if (result.status == USBD_STATUS_SUCCESS && Level >= 2) {
    std::size_t total = buffer[2] | static_cast<std::size_t>(buffer[3]) << 8;
    result = validateBody(buffer.first(total), Level);
  }
  if (result.status != USBD_STATUS_SUCCESS) *Offset = reinterpret_cast<PUCHAR>(ConfigDesc) + result.offset;
  return result.status;
}
