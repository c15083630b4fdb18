// USBD_CreateConfigurationRequestEx and USBD_GetUSBDIVersion: the URB builders of the USBD
// library that need no bus driver. The select-configuration URB is allocated from the pool
// on behalf of the calling driver, so an URB the driver never frees shows in its leak
// report, and the driver releases it with ExFreePool as documented.
//
// The interface descriptors come from the device: each one must lie wholly inside the
// configuration (wTotalLength) and claim no more endpoints than an interface can have, or
// no URB is built.
#include <wdm.h>
#include <usbdlib.h>

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nt/ex/pool.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/support/driver_image.hpp"
#include "nt/support/log.hpp"

namespace {

// Endpoints 1..15 in each direction: what one interface setting can hold.
constexpr std::size_t kMaximumEndpointsPerInterface = 30;
// Interfaces of one configuration: bNumInterfaces is one byte.
constexpr std::size_t kMaximumInterfaces = 255;
// "USBD", the tag of URBs this library allocates for a driver.
constexpr std::uint32_t kUrbTag = 0x44425355;

void checkIrql(KIRQL maximum, const char* ddi, const void* caller) {
  if (ndishost::nt::Runtime::current() == nullptr) return;
  (void)ndishost::nt::checkIrqlAtMost(maximum, ddi, caller);
}

// Bytes of one USBD_INTERFACE_INFORMATION with `pipes` pipes (GET_USBD_INTERFACE_SIZE,
// which the macro cannot give for zero pipes without unsigned wrap-around).
constexpr std::size_t interfaceInformationSize(std::size_t pipes) {
  return offsetof(USBD_INTERFACE_INFORMATION, Pipes) + pipes * sizeof(USBD_PIPE_INFORMATION);
}

// The interface descriptor of a list entry, when it is a complete interface descriptor
// inside the configuration's wTotalLength bytes.
const USB_INTERFACE_DESCRIPTOR* interfaceInside(const USB_CONFIGURATION_DESCRIPTOR* configuration,
                                                const USB_INTERFACE_DESCRIPTOR* interface) {
  auto begin = reinterpret_cast<std::uintptr_t>(configuration);
  auto address = reinterpret_cast<std::uintptr_t>(interface);
  std::size_t total = configuration->wTotalLength;
  if (address < begin || address - begin > total || total - (address - begin) < sizeof(USB_INTERFACE_DESCRIPTOR)) {
    return nullptr;
  }
  if (interface->bLength < sizeof(USB_INTERFACE_DESCRIPTOR) ||
      interface->bDescriptorType != USB_INTERFACE_DESCRIPTOR_TYPE ||
      interface->bLength > total - (address - begin)) {
    return nullptr;
  }
  return interface;
}

PURB refuse(const void* caller, const std::string& why) {
  ndishost::nt::logger("usb").warn("{}: USBD_CreateConfigurationRequestEx refused: {}",
                                   ndishost::nt::describeCaller(caller), why);
  return nullptr;
}

}  // namespace

// IRQL <= DISPATCH_LEVEL (both arguments in nonpaged memory; < DISPATCH_LEVEL otherwise).
// Allocates a select-configuration URB with one USBD_INTERFACE_INFORMATION per entry of
// InterfaceList (up to the entry whose InterfaceDescriptor is NULL), points each entry's
// Interface at its information and returns the URB; NULL when an argument is invalid or
// the pool is exhausted. The caller frees it with ExFreePool.
extern "C" PURB NTAPI USBD_CreateConfigurationRequestEx(PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor,
                                                        PUSBD_INTERFACE_LIST_ENTRY InterfaceList) {
  const void* caller = __builtin_return_address(0);
  checkIrql(DISPATCH_LEVEL, "USBD_CreateConfigurationRequestEx", caller);
  if (ConfigurationDescriptor == nullptr || InterfaceList == nullptr) {
    return refuse(caller, "NULL configuration descriptor or interface list");
  }
  if (ConfigurationDescriptor->bLength < sizeof(USB_CONFIGURATION_DESCRIPTOR) ||
      ConfigurationDescriptor->wTotalLength < ConfigurationDescriptor->bLength) {
    return refuse(caller, "the configuration descriptor's bLength or wTotalLength is too small");
  }

  std::size_t interfaces = 0;
  std::size_t size = offsetof(struct _URB_SELECT_CONFIGURATION, Interface);
  for (; InterfaceList[interfaces].InterfaceDescriptor != nullptr; ++interfaces) {
    if (interfaces == kMaximumInterfaces) return refuse(caller, "more than 255 interfaces in the list");
    const USB_INTERFACE_DESCRIPTOR* interface =
        interfaceInside(ConfigurationDescriptor, InterfaceList[interfaces].InterfaceDescriptor);
    if (interface == nullptr) {
      return refuse(caller, fmt::format("interface list entry {} is not a complete interface descriptor inside the "
                                        "configuration's {} bytes",
                                        interfaces, ConfigurationDescriptor->wTotalLength));
    }
    if (interface->bNumEndpoints > kMaximumEndpointsPerInterface) {
      return refuse(caller, fmt::format("interface {} claims {} endpoints", interface->bInterfaceNumber,
                                        interface->bNumEndpoints));
    }
    size += interfaceInformationSize(interface->bNumEndpoints);
  }
  if (interfaces == 0) return refuse(caller, "the interface list is empty");
  // The structure holds one interface with one pipe; never return less than it.
  if (size < sizeof(struct _URB_SELECT_CONFIGURATION)) size = sizeof(struct _URB_SELECT_CONFIGURATION);
  if (size > 0xFFFF) return refuse(caller, fmt::format("the URB would be {} bytes, beyond Hdr.Length", size));

  auto* urb = static_cast<PURB>(ndishost::nt::pool::allocate(
      {.size = size, .tag = kUrbTag, .paged = false, .cacheAligned = false, .zeroed = true, .caller = caller}));
  if (urb == nullptr) return nullptr;

  urb->UrbSelectConfiguration.Hdr.Function = URB_FUNCTION_SELECT_CONFIGURATION;
  urb->UrbSelectConfiguration.Hdr.Length = static_cast<USHORT>(size);
  urb->UrbSelectConfiguration.ConfigurationDescriptor = ConfigurationDescriptor;

  auto* cursor = reinterpret_cast<PUCHAR>(&urb->UrbSelectConfiguration.Interface);
  for (std::size_t i = 0; i < interfaces; ++i) {
    const USB_INTERFACE_DESCRIPTOR* interface = InterfaceList[i].InterfaceDescriptor;
    auto* information = reinterpret_cast<PUSBD_INTERFACE_INFORMATION>(cursor);
    information->Length = static_cast<USHORT>(interfaceInformationSize(interface->bNumEndpoints));
    information->InterfaceNumber = interface->bInterfaceNumber;
    information->AlternateSetting = interface->bAlternateSetting;
    information->Class = interface->bInterfaceClass;
    information->SubClass = interface->bInterfaceSubClass;
    information->Protocol = interface->bInterfaceProtocol;
    information->NumberOfPipes = interface->bNumEndpoints;
    // Pipes[] is a flexible tail here; index it through a pointer to stay in bounds.
    PUSBD_PIPE_INFORMATION pipes = information->Pipes;
    for (std::size_t pipe = 0; pipe < interface->bNumEndpoints; ++pipe) {
      pipes[pipe].MaximumTransferSize = USBD_DEFAULT_MAXIMUM_TRANSFER_SIZE;
      pipes[pipe].PipeFlags = 0;
    }
    InterfaceList[i].Interface = information;
    cursor += information->Length;
  }
  return urb;
}

// IRQL <= DISPATCH_LEVEL (VersionInformation in nonpaged memory). Reports the USBDI
// version of this stack (USBDI_VERSION) and USB 2.0 as the supported USB version (bcd).
extern "C" VOID NTAPI USBD_GetUSBDIVersion(PUSBD_VERSION_INFORMATION VersionInformation) {
  checkIrql(DISPATCH_LEVEL, "USBD_GetUSBDIVersion", __builtin_return_address(0));
  if (VersionInformation == nullptr) return;
  VersionInformation->USBDI_Version = USBDI_VERSION;
  VersionInformation->Supported_USB_Version = 0x200;
}
