// The URB functions: validation, the pipe table (select configuration/interface), control
// requests on the default pipe, bulk/interrupt transfers and the pipe requests.
//
// Conventions (what Windows' USB stack does, see usbd_status.hpp for the status pairs):
//   - Hdr.Length shorter than the function's structure: USBD_STATUS_INVALID_PARAMETER.
//   - An unknown function: USBD_STATUS_INVALID_URB_FUNCTION; a known one this host
//     controller has no hardware for (isochronous, streams, frame length control):
//     USBD_STATUS_NOT_SUPPORTED.
//   - A pipe handle this port did not hand out, or one closed by a later selection:
//     USBD_STATUS_INVALID_PIPE_HANDLE.
//   - A transfer whose buffer (TransferBuffer/MDL) does not cover TransferBufferLength:
//     USBD_STATUS_INVALID_PARAMETER; an interface information too short for its pipes:
//     USBD_STATUS_BUFFER_TOO_SMALL.
//   - The direction of a bulk/interrupt transfer is the endpoint's; short IN transfers
//     succeed with the length received whether or not USBD_SHORT_TRANSFER_OK is set (the
//     EHCI/xHCI behaviour the reference describes).
//   - Control requests' wLength is TransferBufferLength.
#include <cstddef>
#include <cstring>

#include "link/pcap_writer.hpp"
#include "usb/bus/usb_bus.hpp"
#include "usb/bus/usb_port.hpp"
#include "usb/bus/usbd_status.hpp"

namespace ndishost::usb::bus {
namespace {

constexpr std::size_t kInterfaceHeaderSize = offsetof(USBD_INTERFACE_INFORMATION, Pipes);

std::uint16_t readUnaligned16(const std::byte* p) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) | (std::to_integer<unsigned>(p[1]) << 8));
}

bool lengthAtLeast(PURB urb, std::size_t size) { return urb->UrbHeader.Length >= size; }

std::size_t endpointIndex(std::uint8_t address) {
  return (address & 0x0F) | (device::isInEndpoint(address) ? 16u : 0u);
}

// One interface alternate setting inside a configuration descriptor.
struct InterfaceView {
  const std::byte* descriptor = nullptr;  // the interface descriptor
  std::vector<const std::byte*> endpoints;
};

bool findInterface(std::span<const std::byte> configuration, std::uint8_t number, std::uint8_t alternate,
                   InterfaceView& view) {
  bool inside = false;
  for (std::size_t at = 0; at + 2 <= configuration.size();) {
    std::size_t length = std::to_integer<std::size_t>(configuration[at]);
    if (length < 2 || at + length > configuration.size()) break;
    std::uint8_t type = std::to_integer<std::uint8_t>(configuration[at + 1]);
    if (type == device::descriptor_type::Interface && length >= 9) {
      if (inside) return true;
      if (std::to_integer<std::uint8_t>(configuration[at + 2]) == number &&
          std::to_integer<std::uint8_t>(configuration[at + 3]) == alternate) {
        inside = true;
        view.descriptor = &configuration[at];
      }
    } else if (inside && type == device::descriptor_type::Endpoint && length >= 7) {
      view.endpoints.push_back(&configuration[at]);
    }
    at += length;
  }
  return inside;
}

// The data buffer of a transfer URB (TransferBuffer or a single MDL).
std::byte* transferData(PVOID buffer, PMDL mdl, ULONG length, bool& ok) {
  ok = true;
  if (mdl != nullptr) {
    if (MmGetMdlByteCount(mdl) < length) {
      ok = false;
      return nullptr;
    }
    auto* data = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority));
    ok = data != nullptr || length == 0;
    return data;
  }
  if (buffer == nullptr && length != 0) ok = false;
  return static_cast<std::byte*>(buffer);
}

}  // namespace

NTSTATUS UsbPort::completeNow(PIRP irp, PURB urb, USBD_STATUS status) {
  UrbContext* context = allocateContext();
  if (context == nullptr) {
    // Out of contexts: say so at once (the one completion not made from the DPC).
    urb->UrbHeader.Status = USBD_STATUS_INSUFFICIENT_RESOURCES;
    irp->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  context->irp = irp;
  context->urb = urb;
  context->isTransfer = false;
  context->status = status;
  IoMarkIrpPending(irp);
  queueCompletion(*context);
  return STATUS_PENDING;
}

Pipe* UsbPort::pipeFromHandle(USBD_PIPE_HANDLE handle) {
  auto address = reinterpret_cast<std::uintptr_t>(handle);
  auto first = reinterpret_cast<std::uintptr_t>(pipes_.data());
  auto end = reinterpret_cast<std::uintptr_t>(pipes_.data() + pipes_.size());
  if (address < first || address >= end || (address - first) % sizeof(Pipe) != 0) return nullptr;
  Pipe* pipe = static_cast<Pipe*>(handle);
  return pipe->open ? pipe : nullptr;
}

NTSTATUS UsbPort::submitUrb(PIRP irp, PURB urb) {
  if (urb->UrbHeader.Length < sizeof(_URB_HEADER)) return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
  urb->UrbHeader.Status = USBD_STATUS_PENDING;
  if (gone_.load(std::memory_order_acquire)) return completeNow(irp, urb, USBD_STATUS_DEVICE_GONE);

  using device::Recipient;
  using device::RequestType;
  auto classOrVendor = [&](RequestType type, Recipient recipient) {
    if (!lengthAtLeast(urb, sizeof(_URB_CONTROL_VENDOR_OR_CLASS_REQUEST))) {
      return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    }
    auto& r = urb->UrbControlVendorClassRequest;
    bool in = (r.TransferFlags & USBD_TRANSFER_DIRECTION_IN) != 0;
    device::SetupPacket setup{device::SetupPacket::requestType(in, type, recipient), r.Request, r.Value, r.Index, 0};
    return controlRequest(irp, urb, setup, &r.TransferBufferLength, r.TransferBuffer, r.TransferBufferMDL);
  };
  auto descriptor = [&](Recipient recipient, bool get) {
    if (!lengthAtLeast(urb, sizeof(_URB_CONTROL_DESCRIPTOR_REQUEST))) {
      return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    }
    auto& r = urb->UrbControlDescriptorRequest;
    device::SetupPacket setup{device::SetupPacket::requestType(get, RequestType::Standard, recipient),
                              get ? device::standard_request::GetDescriptor : device::standard_request::SetDescriptor,
                              static_cast<std::uint16_t>((r.DescriptorType << 8) | r.Index), r.LanguageId, 0};
    return controlRequest(irp, urb, setup, &r.TransferBufferLength, r.TransferBuffer, r.TransferBufferMDL);
  };
  auto getStatus = [&](Recipient recipient) {
    if (!lengthAtLeast(urb, sizeof(_URB_CONTROL_GET_STATUS_REQUEST))) {
      return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    }
    auto& r = urb->UrbControlGetStatusRequest;
    device::SetupPacket setup{device::SetupPacket::requestType(true, RequestType::Standard, recipient),
                              device::standard_request::GetStatus, 0, r.Index, 0};
    return controlRequest(irp, urb, setup, &r.TransferBufferLength, r.TransferBuffer, r.TransferBufferMDL);
  };
  auto feature = [&](Recipient recipient, bool set) {
    if (!lengthAtLeast(urb, sizeof(_URB_CONTROL_FEATURE_REQUEST))) {
      return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    }
    auto& r = urb->UrbControlFeatureRequest;
    device::SetupPacket setup{device::SetupPacket::requestType(false, RequestType::Standard, recipient),
                              set ? device::standard_request::SetFeature : device::standard_request::ClearFeature,
                              r.FeatureSelector, r.Index, 0};
    ULONG none = 0;
    return controlRequest(irp, urb, setup, &none, nullptr, nullptr);
  };

  switch (urb->UrbHeader.Function) {
    case URB_FUNCTION_SELECT_CONFIGURATION: return selectConfiguration(irp, urb);
    case URB_FUNCTION_SELECT_INTERFACE: return selectInterface(irp, urb);
    case URB_FUNCTION_ABORT_PIPE:
    case URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL:
    case URB_FUNCTION_SYNC_RESET_PIPE:
    case URB_FUNCTION_SYNC_CLEAR_STALL:
      return pipeRequest(irp, urb);
    case URB_FUNCTION_GET_CURRENT_FRAME_NUMBER:
      if (!lengthAtLeast(urb, sizeof(_URB_GET_CURRENT_FRAME_NUMBER))) {
        return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
      }
      urb->UrbGetCurrentFrameNumber.FrameNumber = bus_.currentFrameNumber();
      return completeNow(irp, urb, USBD_STATUS_SUCCESS);
    case URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER:
    case URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER_USING_CHAINED_MDL:
      return bulkOrInterrupt(irp, urb);
    case URB_FUNCTION_CONTROL_TRANSFER:
    case URB_FUNCTION_CONTROL_TRANSFER_EX: {
      bool ex = urb->UrbHeader.Function == URB_FUNCTION_CONTROL_TRANSFER_EX;
      if (!lengthAtLeast(urb, ex ? sizeof(_URB_CONTROL_TRANSFER_EX) : sizeof(_URB_CONTROL_TRANSFER))) {
        return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
      }
      // Both forms share every field up to hca; SetupPacket sits at the same offset.
      static_assert(offsetof(_URB_CONTROL_TRANSFER, SetupPacket) == offsetof(_URB_CONTROL_TRANSFER_EX, SetupPacket));
      static_assert(offsetof(_URB_CONTROL_TRANSFER, TransferBufferMDL) ==
                    offsetof(_URB_CONTROL_TRANSFER_EX, TransferBufferMDL));
      auto& r = urb->UrbControlTransfer;
      if ((r.TransferFlags & USBD_DEFAULT_PIPE_TRANSFER) == 0 && r.PipeHandle != nullptr) {
        // Only the default pipe is a control pipe on these devices.
        bool known;
        {
          std::lock_guard guard(pipesLock_);
          known = pipeFromHandle(r.PipeHandle) != nullptr;
        }
        if (!known) return completeNow(irp, urb, USBD_STATUS_INVALID_PIPE_HANDLE);
        return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
      }
      std::array<std::byte, 8> bytes;
      std::memcpy(bytes.data(), r.SetupPacket, 8);
      device::SetupPacket setup = device::SetupPacket::fromBytes(bytes);
      return controlRequest(irp, urb, setup, &r.TransferBufferLength, r.TransferBuffer, r.TransferBufferMDL);
    }
    case URB_FUNCTION_GET_DESCRIPTOR_FROM_DEVICE: return descriptor(Recipient::Device, true);
    case URB_FUNCTION_GET_DESCRIPTOR_FROM_INTERFACE: return descriptor(Recipient::Interface, true);
    case URB_FUNCTION_GET_DESCRIPTOR_FROM_ENDPOINT: return descriptor(Recipient::Endpoint, true);
    case URB_FUNCTION_SET_DESCRIPTOR_TO_DEVICE: return descriptor(Recipient::Device, false);
    case URB_FUNCTION_SET_DESCRIPTOR_TO_INTERFACE: return descriptor(Recipient::Interface, false);
    case URB_FUNCTION_SET_DESCRIPTOR_TO_ENDPOINT: return descriptor(Recipient::Endpoint, false);
    case URB_FUNCTION_GET_STATUS_FROM_DEVICE: return getStatus(Recipient::Device);
    case URB_FUNCTION_GET_STATUS_FROM_INTERFACE: return getStatus(Recipient::Interface);
    case URB_FUNCTION_GET_STATUS_FROM_ENDPOINT: return getStatus(Recipient::Endpoint);
    case URB_FUNCTION_GET_STATUS_FROM_OTHER: return getStatus(Recipient::Other);
    case URB_FUNCTION_SET_FEATURE_TO_DEVICE: return feature(Recipient::Device, true);
    case URB_FUNCTION_SET_FEATURE_TO_INTERFACE: return feature(Recipient::Interface, true);
    case URB_FUNCTION_SET_FEATURE_TO_ENDPOINT: return feature(Recipient::Endpoint, true);
    case URB_FUNCTION_SET_FEATURE_TO_OTHER: return feature(Recipient::Other, true);
    case URB_FUNCTION_CLEAR_FEATURE_TO_DEVICE: return feature(Recipient::Device, false);
    case URB_FUNCTION_CLEAR_FEATURE_TO_INTERFACE: return feature(Recipient::Interface, false);
    case URB_FUNCTION_CLEAR_FEATURE_TO_ENDPOINT: return feature(Recipient::Endpoint, false);
    case URB_FUNCTION_CLEAR_FEATURE_TO_OTHER: return feature(Recipient::Other, false);
    case URB_FUNCTION_GET_CONFIGURATION: {
      if (!lengthAtLeast(urb, sizeof(_URB_CONTROL_GET_CONFIGURATION_REQUEST))) {
        return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
      }
      auto& r = urb->UrbControlGetConfigurationRequest;
      device::SetupPacket setup{0x80, device::standard_request::GetConfiguration, 0, 0, 0};
      return controlRequest(irp, urb, setup, &r.TransferBufferLength, r.TransferBuffer, r.TransferBufferMDL);
    }
    case URB_FUNCTION_GET_INTERFACE: {
      if (!lengthAtLeast(urb, sizeof(_URB_CONTROL_GET_INTERFACE_REQUEST))) {
        return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
      }
      auto& r = urb->UrbControlGetInterfaceRequest;
      device::SetupPacket setup{0x81, device::standard_request::GetInterface, 0, r.Interface, 0};
      return controlRequest(irp, urb, setup, &r.TransferBufferLength, r.TransferBuffer, r.TransferBufferMDL);
    }
    case URB_FUNCTION_VENDOR_DEVICE: return classOrVendor(RequestType::Vendor, Recipient::Device);
    case URB_FUNCTION_VENDOR_INTERFACE: return classOrVendor(RequestType::Vendor, Recipient::Interface);
    case URB_FUNCTION_VENDOR_ENDPOINT: return classOrVendor(RequestType::Vendor, Recipient::Endpoint);
    case URB_FUNCTION_VENDOR_OTHER: return classOrVendor(RequestType::Vendor, Recipient::Other);
    case URB_FUNCTION_CLASS_DEVICE: return classOrVendor(RequestType::Class, Recipient::Device);
    case URB_FUNCTION_CLASS_INTERFACE: return classOrVendor(RequestType::Class, Recipient::Interface);
    case URB_FUNCTION_CLASS_ENDPOINT: return classOrVendor(RequestType::Class, Recipient::Endpoint);
    case URB_FUNCTION_CLASS_OTHER: return classOrVendor(RequestType::Class, Recipient::Other);
    case URB_FUNCTION_ISOCH_TRANSFER:
    case URB_FUNCTION_ISOCH_TRANSFER_USING_CHAINED_MDL:
    case URB_FUNCTION_TAKE_FRAME_LENGTH_CONTROL:
    case URB_FUNCTION_RELEASE_FRAME_LENGTH_CONTROL:
    case URB_FUNCTION_GET_FRAME_LENGTH:
    case URB_FUNCTION_SET_FRAME_LENGTH:
    case URB_FUNCTION_OPEN_STATIC_STREAMS:
    case URB_FUNCTION_CLOSE_STATIC_STREAMS:
    case URB_FUNCTION_GET_ISOCH_PIPE_TRANSFER_PATH_DELAYS:
    case URB_FUNCTION_GET_MS_FEATURE_DESCRIPTOR:
      return completeNow(irp, urb, USBD_STATUS_NOT_SUPPORTED);
    default:
      return completeNow(irp, urb, USBD_STATUS_INVALID_URB_FUNCTION);
  }
}

NTSTATUS UsbPort::controlRequest(PIRP irp, PURB urb, const device::SetupPacket& request, ULONG* transferLength,
                                 PVOID transferBuffer, PMDL transferMdl) {
  ULONG length = *transferLength;
  if (length > 0xFFFF) return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
  bool ok = true;
  std::byte* data = transferData(transferBuffer, transferMdl, length, ok);
  if (!ok) return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
  UrbContext* context = allocateContext();
  if (context == nullptr) return completeNow(irp, urb, USBD_STATUS_INSUFFICIENT_RESOURCES);
  context->irp = irp;
  context->urb = urb;
  context->isTransfer = false;

  device::SetupPacket setup = request;
  setup.wLength = static_cast<std::uint16_t>(length);
  std::span<std::byte> stage(data, length);
  device::ControlResult result = control(reinterpret_cast<std::uintptr_t>(urb), setup, stage);
  context->status = usbdStatusOf(result.status);
  *transferLength = static_cast<ULONG>(result.length);
  IoMarkIrpPending(irp);
  queueCompletion(*context);
  return STATUS_PENDING;
}

// ---- the pipe table ---------------------------------------------------------------------

void UsbPort::closePipesOf(std::uint8_t interfaceNumber) {
  for (Pipe& pipe : pipes_) {
    if (pipe.open && pipe.interfaceNumber == interfaceNumber) pipe.open = false;
  }
}

void UsbPort::closeAllPipes() {
  for (Pipe& pipe : pipes_) pipe.open = false;
  alternates_.fill(0);
}

// Checks (available = the info's room, from its Length) and, with pipesLock_ held, fills
// one interface information from the cached configuration and opens its pipes.
USBD_STATUS UsbPort::fillInterface(PUSBD_INTERFACE_INFORMATION info, std::size_t available) {
  InterfaceView view;
  if (!findInterface(configurationDescriptor_, info->InterfaceNumber, info->AlternateSetting, view)) {
    return USBD_STATUS_INTERFACE_NOT_FOUND;
  }
  std::size_t needed = kInterfaceHeaderSize + view.endpoints.size() * sizeof(USBD_PIPE_INFORMATION);
  if (available < needed) return USBD_STATUS_BUFFER_TOO_SMALL;
  info->Class = std::to_integer<UCHAR>(view.descriptor[5]);
  info->SubClass = std::to_integer<UCHAR>(view.descriptor[6]);
  info->Protocol = std::to_integer<UCHAR>(view.descriptor[7]);
  info->InterfaceHandle = &interfaceHandles_[info->InterfaceNumber & 0x1F];
  info->NumberOfPipes = static_cast<ULONG>(view.endpoints.size());
  closePipesOf(info->InterfaceNumber);
  alternates_[info->InterfaceNumber & 0x1F] = info->AlternateSetting;
  for (std::size_t i = 0; i < view.endpoints.size(); ++i) {
    const std::byte* endpoint = view.endpoints[i];
    std::uint8_t address = std::to_integer<std::uint8_t>(endpoint[2]);
    auto type = static_cast<device::EndpointType>(std::to_integer<unsigned>(endpoint[3]) & 0x3);
    Pipe& pipe = pipes_[endpointIndex(address)];
    pipe.open = true;
    pipe.address = address;
    pipe.interfaceNumber = info->InterfaceNumber;
    pipe.type = type;
    pipe.maxPacketSize = static_cast<std::uint16_t>(readUnaligned16(endpoint + 4) & 0x7FF);
    pipe.interval = std::to_integer<std::uint8_t>(endpoint[6]);
    USBD_PIPE_INFORMATION& out = info->Pipes[i];
    out.MaximumPacketSize = readUnaligned16(endpoint + 4);
    out.EndpointAddress = address;
    out.Interval = pipe.interval;
    out.PipeType = static_cast<USBD_PIPE_TYPE>(type);
    out.PipeHandle = &pipe;
    out.MaximumTransferSize = USBD_DEFAULT_MAXIMUM_TRANSFER_SIZE;
  }
  return USBD_STATUS_SUCCESS;
}

NTSTATUS UsbPort::selectConfiguration(PIRP irp, PURB urb) {
  auto& r = urb->UrbSelectConfiguration;
  constexpr std::size_t kFixed = offsetof(_URB_SELECT_CONFIGURATION, Interface);
  if (!lengthAtLeast(urb, kFixed)) return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);

  if (r.ConfigurationDescriptor == nullptr) {  // deconfigure
    device::ControlResult result =
        control(reinterpret_cast<std::uintptr_t>(urb), {0x00, device::standard_request::SetConfiguration, 0, 0, 0}, {});
    if (!result.succeeded()) return completeNow(irp, urb, usbdStatusOf(result.status));
    std::lock_guard guard(pipesLock_);
    closeAllPipes();
    configurationValue_ = 0;
    r.ConfigurationHandle = nullptr;
    return completeNow(irp, urb, USBD_STATUS_SUCCESS);
  }

  const USB_CONFIGURATION_DESCRIPTOR* requested = r.ConfigurationDescriptor;
  const std::uint8_t value = std::to_integer<std::uint8_t>(configurationDescriptor_[5]);
  const std::uint8_t interfaces = std::to_integer<std::uint8_t>(configurationDescriptor_[4]);
  if (requested->bDescriptorType != USB_CONFIGURATION_DESCRIPTOR_TYPE || requested->bLength < 9 ||
      requested->bConfigurationValue != value) {
    return completeNow(irp, urb, USBD_STATUS_INAVLID_CONFIGURATION_DESCRIPTOR);
  }

  // Validate every interface information before the device sees anything.
  auto* base = reinterpret_cast<std::byte*>(urb);
  std::size_t total = urb->UrbHeader.Length;
  std::vector<PUSBD_INTERFACE_INFORMATION> infos;  // select configuration is not a hot path
  std::size_t at = kFixed;
  for (unsigned i = 0; i < interfaces; ++i) {
    if (at + kInterfaceHeaderSize > total) return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    auto* info = reinterpret_cast<PUSBD_INTERFACE_INFORMATION>(base + at);
    if (info->Length < kInterfaceHeaderSize || at + info->Length > total) {
      return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    }
    InterfaceView view;
    if (!findInterface(configurationDescriptor_, info->InterfaceNumber, info->AlternateSetting, view)) {
      return completeNow(irp, urb, USBD_STATUS_INTERFACE_NOT_FOUND);
    }
    if (info->Length < kInterfaceHeaderSize + view.endpoints.size() * sizeof(USBD_PIPE_INFORMATION)) {
      return completeNow(irp, urb, USBD_STATUS_BUFFER_TOO_SMALL);
    }
    infos.push_back(info);
    at += info->Length;
  }

  device::ControlResult result =
      control(reinterpret_cast<std::uintptr_t>(urb), {0x00, device::standard_request::SetConfiguration, value, 0, 0}, {});
  if (!result.succeeded()) {
    return completeNow(irp, urb, result.status == device::TransferStatus::DeviceGone ? USBD_STATUS_DEVICE_GONE
                                                                                      : USBD_STATUS_SET_CONFIG_FAILED);
  }
  for (PUSBD_INTERFACE_INFORMATION info : infos) {
    if (info->AlternateSetting == 0) continue;
    result = control(reinterpret_cast<std::uintptr_t>(urb), 
        {0x01, device::standard_request::SetInterface, info->AlternateSetting, info->InterfaceNumber, 0}, {});
    if (!result.succeeded()) return completeNow(irp, urb, usbdStatusOf(result.status));
  }
  std::lock_guard guard(pipesLock_);
  closeAllPipes();
  configurationValue_ = value;
  for (PUSBD_INTERFACE_INFORMATION info : infos) fillInterface(info, info->Length);
  r.ConfigurationHandle = &configurationHandle_;
  return completeNow(irp, urb, USBD_STATUS_SUCCESS);
}

NTSTATUS UsbPort::selectInterface(PIRP irp, PURB urb) {
  auto& r = urb->UrbSelectInterface;
  constexpr std::size_t kFixed = offsetof(_URB_SELECT_INTERFACE, Interface);
  if (!lengthAtLeast(urb, kFixed + kInterfaceHeaderSize) || r.Interface.Length < kInterfaceHeaderSize ||
      kFixed + r.Interface.Length > urb->UrbHeader.Length) {
    return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
  }
  {
    std::lock_guard guard(pipesLock_);
    if (configurationValue_ == 0 || r.ConfigurationHandle != &configurationHandle_) {
      return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    }
  }
  InterfaceView view;
  if (!findInterface(configurationDescriptor_, r.Interface.InterfaceNumber, r.Interface.AlternateSetting, view)) {
    return completeNow(irp, urb, USBD_STATUS_INTERFACE_NOT_FOUND);
  }
  if (r.Interface.Length < kInterfaceHeaderSize + view.endpoints.size() * sizeof(USBD_PIPE_INFORMATION)) {
    return completeNow(irp, urb, USBD_STATUS_BUFFER_TOO_SMALL);
  }
  device::ControlResult result = control(reinterpret_cast<std::uintptr_t>(urb), 
      {0x01, device::standard_request::SetInterface, r.Interface.AlternateSetting, r.Interface.InterfaceNumber, 0}, {});
  if (!result.succeeded()) return completeNow(irp, urb, usbdStatusOf(result.status));
  std::lock_guard guard(pipesLock_);
  USBD_STATUS status = fillInterface(&r.Interface, r.Interface.Length);
  return completeNow(irp, urb, status);
}

// ---- pipe requests ------------------------------------------------------------------------

NTSTATUS UsbPort::pipeRequest(PIRP irp, PURB urb) {
  if (!lengthAtLeast(urb, sizeof(_URB_PIPE_REQUEST))) return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
  Pipe* pipe;
  std::uint8_t address;
  {
    std::lock_guard guard(pipesLock_);
    pipe = pipeFromHandle(urb->UrbPipeRequest.PipeHandle);
    if (pipe == nullptr) return completeNow(irp, urb, USBD_STATUS_INVALID_PIPE_HANDLE);
    address = pipe->address;
  }
  switch (urb->UrbHeader.Function) {
    case URB_FUNCTION_ABORT_PIPE: return abortPipe(irp, urb, *pipe);
    case URB_FUNCTION_SYNC_RESET_PIPE:
      // Host side only: the endpoint's toggle and state in the controller (not modelled).
      return completeNow(irp, urb, USBD_STATUS_SUCCESS);
    default: {  // SYNC_CLEAR_STALL, SYNC_RESET_PIPE_AND_CLEAR_STALL: CLEAR_FEATURE(ENDPOINT_HALT)
      device::SetupPacket setup{0x02, device::standard_request::ClearFeature, device::feature_selector::EndpointHalt,
                                address, 0};
      device::ControlResult result = control(reinterpret_cast<std::uintptr_t>(urb), setup, {});
      return completeNow(irp, urb, usbdStatusOf(result.status));
    }
  }
}

NTSTATUS UsbPort::abortPipe(PIRP irp, PURB urb, Pipe& pipe) {
  device_->abortEndpoint(pipe.address);
  {
    std::lock_guard guard(pipesLock_);
    if (pipe.inFlight > 0) {
      // Completes from the DPC once the last aborted transfer has been completed.
      irp->Tail.Overlay.DriverContext[1] = pipe.abortWaiters;
      irp->Tail.Overlay.DriverContext[2] = urb;
      pipe.abortWaiters = irp;
      IoMarkIrpPending(irp);
      return STATUS_PENDING;
    }
  }
  return completeNow(irp, urb, USBD_STATUS_SUCCESS);
}

// ---- bulk and interrupt transfers -----------------------------------------------------------

NTSTATUS UsbPort::bulkOrInterrupt(PIRP irp, PURB urb) {
  if (!lengthAtLeast(urb, sizeof(_URB_BULK_OR_INTERRUPT_TRANSFER))) {
    return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
  }
  auto& r = urb->UrbBulkOrInterruptTransfer;
  Pipe* pipe;
  std::uint8_t address;
  device::EndpointType type;
  std::uint8_t interval;
  {
    std::lock_guard guard(pipesLock_);
    pipe = pipeFromHandle(r.PipeHandle);
    if (pipe == nullptr) return completeNow(irp, urb, USBD_STATUS_INVALID_PIPE_HANDLE);
    address = pipe->address;
    type = pipe->type;
    interval = pipe->interval;
  }
  if (type != device::EndpointType::Bulk && type != device::EndpointType::Interrupt) {
    return completeNow(irp, urb, USBD_STATUS_INVALID_PIPE_HANDLE);
  }
  const bool in = device::isInEndpoint(address);
  const ULONG length = r.TransferBufferLength;

  UrbContext* context = allocateContext();
  if (context == nullptr) return completeNow(irp, urb, USBD_STATUS_INSUFFICIENT_RESOURCES);
  context->scatterMdl = nullptr;
  std::span<std::byte> buffer;
  PMDL mdl = r.TransferBufferMDL;
  if (mdl != nullptr && mdl->Next != nullptr) {
    // A chain: one transfer over several buffers, through the context's bounce buffer.
    std::size_t available = 0;
    for (PMDL piece = mdl; piece != nullptr; piece = piece->Next) available += MmGetMdlByteCount(piece);
    if (available < length) {
      freeContext(context);
      return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    }
    if (context->bounce.size() < length) context->bounce.resize(length);
    buffer = std::span<std::byte>(context->bounce.data(), length);
    std::size_t copied = 0;
    for (PMDL piece = mdl; piece != nullptr && copied < length; piece = piece->Next) {
      auto* source = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(piece, NormalPagePriority));
      std::size_t part = std::min<std::size_t>(MmGetMdlByteCount(piece), length - copied);
      if (source == nullptr) {
        freeContext(context);
        return completeNow(irp, urb, USBD_STATUS_INSUFFICIENT_RESOURCES);
      }
      if (!in) std::memcpy(buffer.data() + copied, source, part);
      copied += part;
    }
    if (in) context->scatterMdl = mdl;
  } else {
    bool ok = true;
    std::byte* data = transferData(r.TransferBuffer, mdl, length, ok);
    if (!ok) {
      freeContext(context);
      return completeNow(irp, urb, USBD_STATUS_INVALID_PARAMETER);
    }
    buffer = std::span<std::byte>(data, length);
  }

  context->irp = irp;
  context->urb = urb;
  context->isTransfer = true;
  context->pipeIndex = static_cast<std::uint8_t>(endpointIndex(address));
  device::Transfer& transfer = context->transfer;
  transfer.endpoint = address;
  transfer.buffer = buffer;
  transfer.zeroLengthPacket = false;
  transfer.completion = transferDone;
  transfer.context = context;
  transfer.status = device::TransferStatus::Success;
  transfer.actualLength = 0;
  std::uint32_t flags = in ? link::usbmon_flags::kDirectionIn : 0;
  if (in && (r.TransferFlags & USBD_SHORT_TRANSFER_OK) == 0) flags |= link::usbmon_flags::kShortNotOk;
  context->monitor = {reinterpret_cast<std::uintptr_t>(urb),
                      bus_.busNumber(),
                      static_cast<std::uint8_t>(number_),
                      address,
                      type == device::EndpointType::Bulk ? link::UsbTransferType::Bulk : link::UsbTransferType::Interrupt,
                      interval,
                      flags};
  if (link::PcapWriter* capture = this->capture()) {
    capture->append(link::UsbmonEvent::submit(context->monitor, length, in ? std::span<const std::byte>{} : buffer));
  }
  {
    std::lock_guard guard(pipesLock_);
    ++pipes_[context->pipeIndex].inFlight;
  }

  enum : int { Idle = 0, Submitting = 1, Submitted = 2, CancelledIdle = 3 };
  context->references.store(3, std::memory_order_relaxed);  // submitter, device, cancel routine
  context->phase.store(Idle, std::memory_order_relaxed);
  irp->Tail.Overlay.DriverContext[0] = context;
  IoMarkIrpPending(irp);
  IoSetCancelRoutine(irp, cancelTransfer);
  if (__atomic_load_n(&irp->Cancel, __ATOMIC_ACQUIRE) && IoSetCancelRoutine(irp, nullptr) != nullptr) {
    // Cancelled before we got here, and the cancel routine will never run: do its part.
    cancelBody(*context);
    release(*context);
  }
  int phase = Idle;
  if (context->phase.compare_exchange_strong(phase, Submitting)) {
    device_->submit(transfer);
    phase = Submitting;
    if (!context->phase.compare_exchange_strong(phase, Submitted)) {
      // The cancel routine ran while we were submitting: finish its work now.
      device_->cancel(transfer);
    }
  } else {
    // Cancelled before it reached the device: it completes as cancelled, with no data.
    transfer.status = device::TransferStatus::Cancelled;
    release(*context);  // the device's reference: no completion will come from there
  }
  release(*context);  // the submitter's
  return STATUS_PENDING;
}

}  // namespace ndishost::usb::bus
