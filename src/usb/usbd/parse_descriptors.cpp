// The USBD descriptor parsers: pure walks over a configuration descriptor's bytes as the
// device returned them (a configuration header followed by interface, endpoint and
// class-specific descriptors, each starting with bLength/bDescriptorType).
//
// The bytes come from a device, so nothing is trusted: a descriptor counts only if all
// bLength bytes of it lie inside the buffer, and a zero bLength (which would never advance)
// or a descriptor running past the end stops the walk.
#include <wdm.h>
#include <usbdlib.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "nt/io/irql_rules.hpp"
#include "nt/ke/runtime.hpp"

namespace {

using Bytes = std::span<const std::uint8_t>;

// The IRQL rule a parser states. Without a runtime (unit tests of the pure parsing) there is
// no IRQL model and the caller counts as PASSIVE_LEVEL.
void checkIrql(KIRQL maximum, const char* ddi, const void* caller) {
  if (ndishost::nt::Runtime::current() == nullptr) return;
  // Reported through the violation machinery; the parsers read memory only, so they carry
  // on either way.
  (void)ndishost::nt::checkIrqlAtMost(maximum, ddi, caller);
}

// Offset of `position` inside `buffer`, or nothing when it points outside [begin, end).
bool offsetWithin(Bytes buffer, const void* position, std::size_t& offset) {
  auto address = reinterpret_cast<std::uintptr_t>(position);
  auto begin = reinterpret_cast<std::uintptr_t>(buffer.data());
  if (address < begin || address - begin >= buffer.size()) return false;
  offset = address - begin;
  return true;
}

// Length of the whole descriptor at `offset`, or 0 when its header or body does not fit
// (or claims zero length): the walk ends there.
std::size_t descriptorLengthAt(Bytes buffer, std::size_t offset) {
  if (buffer.size() - offset < sizeof(USB_COMMON_DESCRIPTOR)) return 0;
  std::size_t length = buffer[offset];
  if (length < sizeof(USB_COMMON_DESCRIPTOR) || length > buffer.size() - offset) return 0;
  return length;
}

// First complete descriptor of `type` at or after `offset`; buffer.size() when none.
std::size_t findDescriptor(Bytes buffer, std::size_t offset, std::uint8_t type) {
  while (offset < buffer.size()) {
    std::size_t length = descriptorLengthAt(buffer, offset);
    if (length == 0) break;
    if (buffer[offset + 1] == type) return offset;
    offset += length;
  }
  return buffer.size();
}

bool matches(LONG wanted, UCHAR actual) { return wanted == -1 || wanted == static_cast<LONG>(actual); }

// The configuration as the device described it: wTotalLength bytes from its start.
Bytes configurationBytes(const USB_CONFIGURATION_DESCRIPTOR* configuration) {
  return Bytes(reinterpret_cast<const std::uint8_t*>(configuration), configuration->wTotalLength);
}

PUSB_INTERFACE_DESCRIPTOR parseInterface(PUSB_CONFIGURATION_DESCRIPTOR configuration, PVOID startPosition,
                                         LONG interfaceNumber, LONG alternateSetting, LONG interfaceClass,
                                         LONG interfaceSubClass, LONG interfaceProtocol) {
  Bytes buffer = configurationBytes(configuration);
  std::size_t offset = 0;
  if (!offsetWithin(buffer, startPosition, offset)) return nullptr;
  for (;;) {
    offset = findDescriptor(buffer, offset, USB_INTERFACE_DESCRIPTOR_TYPE);
    if (offset == buffer.size()) return nullptr;
    std::size_t length = buffer[offset];
    // A short interface descriptor has no fields to match against.
    if (length >= sizeof(USB_INTERFACE_DESCRIPTOR)) {
      auto* candidate = reinterpret_cast<PUSB_INTERFACE_DESCRIPTOR>(reinterpret_cast<PUCHAR>(configuration) + offset);
      if (matches(interfaceNumber, candidate->bInterfaceNumber) &&
          matches(alternateSetting, candidate->bAlternateSetting) &&
          matches(interfaceClass, candidate->bInterfaceClass) &&
          matches(interfaceSubClass, candidate->bInterfaceSubClass) &&
          matches(interfaceProtocol, candidate->bInterfaceProtocol)) {
        return candidate;
      }
    }
    offset += length;
  }
}

}  // namespace

// IRQL < DISPATCH_LEVEL. First descriptor of DescriptorType at or after StartPosition
// inside DescriptorBuffer[0, TotalLength); NULL when there is none or StartPosition lies
// outside the buffer.
extern "C" PUSB_COMMON_DESCRIPTOR NTAPI USBD_ParseDescriptors(PVOID DescriptorBuffer, ULONG TotalLength,
                                                              PVOID StartPosition, LONG DescriptorType) {
  checkIrql(APC_LEVEL, "USBD_ParseDescriptors", __builtin_return_address(0));
  if (DescriptorBuffer == nullptr || DescriptorType < 0 || DescriptorType > 0xFF) return nullptr;
  Bytes buffer(static_cast<const std::uint8_t*>(DescriptorBuffer), TotalLength);
  std::size_t offset = 0;
  if (!offsetWithin(buffer, StartPosition, offset)) return nullptr;
  offset = findDescriptor(buffer, offset, static_cast<std::uint8_t>(DescriptorType));
  if (offset == buffer.size()) return nullptr;
  return reinterpret_cast<PUSB_COMMON_DESCRIPTOR>(static_cast<PUCHAR>(DescriptorBuffer) + offset);
}

// IRQL < DISPATCH_LEVEL. First interface descriptor at or after StartPosition matching
// every criterion that is not -1; the search covers wTotalLength bytes.
extern "C" PUSB_INTERFACE_DESCRIPTOR NTAPI USBD_ParseConfigurationDescriptorEx(
    PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor, PVOID StartPosition, LONG InterfaceNumber,
    LONG AlternateSetting, LONG InterfaceClass, LONG InterfaceSubClass, LONG InterfaceProtocol) {
  checkIrql(APC_LEVEL, "USBD_ParseConfigurationDescriptorEx", __builtin_return_address(0));
  if (ConfigurationDescriptor == nullptr) return nullptr;
  return parseInterface(ConfigurationDescriptor, StartPosition, InterfaceNumber, AlternateSetting, InterfaceClass,
                        InterfaceSubClass, InterfaceProtocol);
}

// Deprecated form: interface number and alternate setting from the start of the
// configuration. The reference gives no IRQL; it is held to its successor's rule.
extern "C" PUSB_INTERFACE_DESCRIPTOR NTAPI USBD_ParseConfigurationDescriptor(
    PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor, UCHAR InterfaceNumber, UCHAR AlternateSetting) {
  checkIrql(APC_LEVEL, "USBD_ParseConfigurationDescriptor", __builtin_return_address(0));
  if (ConfigurationDescriptor == nullptr) return nullptr;
  return parseInterface(ConfigurationDescriptor, ConfigurationDescriptor, InterfaceNumber, AlternateSetting, -1, -1,
                        -1);
}

// IRQL PASSIVE_LEVEL. Bytes from InterfaceDescriptor up to (not including) the next
// interface descriptor or BufferEnd: the interface with its endpoint and class-specific
// descriptors. A descriptor that would run past BufferEnd is not counted.
extern "C" ULONG NTAPI USBD_GetInterfaceLength(PUSB_INTERFACE_DESCRIPTOR InterfaceDescriptor, PUCHAR BufferEnd) {
  checkIrql(PASSIVE_LEVEL, "USBD_GetInterfaceLength", __builtin_return_address(0));
  auto begin = reinterpret_cast<std::uintptr_t>(InterfaceDescriptor);
  auto end = reinterpret_cast<std::uintptr_t>(BufferEnd);
  if (InterfaceDescriptor == nullptr || end <= begin) return 0;
  Bytes buffer(reinterpret_cast<const std::uint8_t*>(InterfaceDescriptor), end - begin);
  std::size_t offset = descriptorLengthAt(buffer, 0);  // the interface descriptor itself
  if (offset == 0) return 0;
  while (offset < buffer.size()) {
    std::size_t length = descriptorLengthAt(buffer, offset);
    if (length == 0 || buffer[offset + 1] == USB_INTERFACE_DESCRIPTOR_TYPE) break;
    offset += length;
  }
  return static_cast<ULONG>(offset);
}
