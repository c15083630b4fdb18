// A tiny WDM client driver for the bus driver tests: a driver object with one FDO attached
// above a device's PDO, sending URBs down the way a USB client driver does
// (IoBuildDeviceIoControlRequest + IoCallDriver, or IoAllocateIrp with a completion routine),
// and a fixture that plugs an emulated CDC-NCM, CDC-ECM or RNDIS function into a UsbBus.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <tuple>
#include <utility>
#include <wdm.h>
#include <usb.h>
#include <usbioctl.h>

#include "../device/test_support.hpp"
#include "nt/io/io_manager.hpp"
#include "nt/ke/runtime.hpp"
#include "usb/bus/usb_bus.hpp"
#include "usb/device/cdc_ecm_function.hpp"
#include "usb/device/cdc_ncm_function.hpp"
#include "usb/device/emulated_device.hpp"
#include "usb/device/rndis_function.hpp"

namespace usbbus_test {

using namespace std::chrono_literals;
using ndishost::usb::device::test::Bytes;

// One URB IRP in flight, sent with IoAllocateIrp and a completion routine.
struct AsyncUrb {
  URB urb{};
  PIRP irp = nullptr;
  std::atomic<bool> done{false};
  NTSTATUS status = STATUS_PENDING;
  KIRQL completionIrql = PASSIVE_LEVEL;
  std::atomic<int> order{0};  // completion sequence number (1-based)
  std::vector<std::byte> buffer;
  std::atomic<int>* sequence = nullptr;  // the client's completion counter

  bool wait(std::chrono::milliseconds timeout = 3s) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done.load()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(200us);
    }
    return true;
  }
};

class Client {
 public:
  explicit Client(PDEVICE_OBJECT pdo) {
    driver_ = ndishost::nt::createDriverObject(u"usbbustest", nullptr, nullptr);
    NTSTATUS status = IoCreateDevice(driver_.get(), 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo_);
    EXPECT_TRUE(NT_SUCCESS(status));
    lower_ = IoAttachDeviceToDeviceStack(fdo_, pdo);
    EXPECT_NE(lower_, nullptr);
    fdo_->Flags &= ~DO_DEVICE_INITIALIZING;
  }
  ~Client() { detach(); }

  void detach() {
    if (fdo_ == nullptr) return;
    if (lower_ != nullptr) IoDetachDevice(lower_);
    IoDeleteDevice(fdo_);
    fdo_ = nullptr;
    lower_ = nullptr;
  }

  PDEVICE_OBJECT lower() const { return lower_; }

  // IOCTL_INTERNAL_USB_* with Argument1 = `argument`, waited for on an event.
  NTSTATUS ioctl(ULONG code, void* argument) {
    KEVENT event;
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb{};
    PIRP irp = IoBuildDeviceIoControlRequest(code, lower_, nullptr, 0, nullptr, 0, TRUE, &event, &iosb);
    if (irp == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
    IoGetNextIrpStackLocation(irp)->Parameters.Others.Argument1 = argument;
    NTSTATUS status = IoCallDriver(lower_, irp);
    if (status == STATUS_PENDING) {
      KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
      status = iosb.Status;
    }
    return status;
  }

  NTSTATUS submit(URB& urb) { return ioctl(IOCTL_INTERNAL_USB_SUBMIT_URB, &urb); }

  void submitAsync(AsyncUrb& request) {
    request.done = false;
    request.status = STATUS_PENDING;
    request.irp = IoAllocateIrp(lower_->StackSize, FALSE);
    ASSERT_NE(request.irp, nullptr);
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(request.irp);
    next->MajorFunction = IRP_MJ_INTERNAL_DEVICE_CONTROL;
    next->Parameters.DeviceIoControl.IoControlCode = IOCTL_INTERNAL_USB_SUBMIT_URB;
    next->Parameters.Others.Argument1 = &request.urb;
    request.sequence = &sequence_;
    IoSetCompletionRoutine(request.irp, onComplete, &request, TRUE, TRUE, TRUE);
    IoCallDriver(lower_, request.irp);
  }

  // Frees the IRPs of completed async requests.
  void reap(AsyncUrb& request) {
    if (request.irp != nullptr) IoFreeIrp(request.irp);
    request.irp = nullptr;
  }

 private:
  static NTSTATUS NTAPI onComplete(PDEVICE_OBJECT, PIRP irp, PVOID context) {
    auto* request = static_cast<AsyncUrb*>(context);
    request->status = irp->IoStatus.Status;
    request->completionIrql = KeGetCurrentIrql();
    request->order = ++*request->sequence;
    request->done = true;      // last touch: the test may free the request from here on
    return STATUS_MORE_PROCESSING_REQUIRED;  // the test frees the IRP
  }

  ndishost::nt::DriverObjectHandle driver_;
  PDEVICE_OBJECT fdo_ = nullptr;
  PDEVICE_OBJECT lower_ = nullptr;
  std::atomic<int> sequence_{0};
};

// A buffer in nonpaged pool with an MDL describing it.
class PoolMdl {
 public:
  explicit PoolMdl(ULONG length) : length_(length) {
    buffer_ = ExAllocatePool2(POOL_FLAG_NON_PAGED, length == 0 ? 1 : length, 'tsbU');
    mdl_ = IoAllocateMdl(buffer_, length, FALSE, FALSE, nullptr);
    MmBuildMdlForNonPagedPool(mdl_);
  }
  ~PoolMdl() {
    IoFreeMdl(mdl_);
    ExFreePool(buffer_);
  }
  PoolMdl(const PoolMdl&) = delete;
  PoolMdl& operator=(const PoolMdl&) = delete;
  PMDL mdl() const { return mdl_; }
  std::byte* data() const { return static_cast<std::byte*>(buffer_); }
  ULONG length() const { return length_; }

 private:
  ULONG length_;
  PVOID buffer_ = nullptr;
  PMDL mdl_ = nullptr;
};

enum class Function { Ncm, Ecm, Rndis };

inline const char* functionName(Function f) {
  switch (f) {
    case Function::Ncm: return "Ncm";
    case Function::Ecm: return "Ecm";
    case Function::Rndis: return "Rndis";
  }
  return "?";
}

// The configuration's interfaces: (number, alternate) -> endpoint count, parsed by the test
// itself so the bus driver's answers are checked against the raw descriptor.
struct InterfaceInfo {
  std::uint8_t number, alternate, cls, subClass, protocol;
  std::vector<std::uint8_t> endpoints;
};

inline std::vector<InterfaceInfo> parseInterfaces(const Bytes& configuration) {
  std::vector<InterfaceInfo> out;
  for (std::size_t at = 0; at + 2 <= configuration.size();) {
    auto length = std::to_integer<std::size_t>(configuration[at]);
    if (length < 2) break;
    auto type = std::to_integer<std::uint8_t>(configuration[at + 1]);
    if (type == 4) {
      out.push_back({std::to_integer<std::uint8_t>(configuration[at + 2]),
                     std::to_integer<std::uint8_t>(configuration[at + 3]),
                     std::to_integer<std::uint8_t>(configuration[at + 5]),
                     std::to_integer<std::uint8_t>(configuration[at + 6]),
                     std::to_integer<std::uint8_t>(configuration[at + 7]), {}});
    } else if (type == 5 && !out.empty()) {
      out.back().endpoints.push_back(std::to_integer<std::uint8_t>(configuration[at + 2]));
    }
    at += length;
  }
  return out;
}

// A select-configuration URB for alternate setting 0 of every interface.
class SelectConfigurationUrb {
 public:
  explicit SelectConfigurationUrb(const Bytes& configuration) : configuration_(configuration) {
    auto interfaces = parseInterfaces(configuration_);
    std::size_t size = offsetof(_URB_SELECT_CONFIGURATION, Interface);
    for (const auto& i : interfaces) {
      if (i.alternate != 0) continue;
      std::size_t length = offsetof(USBD_INTERFACE_INFORMATION, Pipes) + i.endpoints.size() * sizeof(USBD_PIPE_INFORMATION);
      selected_.push_back({i, size, length});
      size += length;
    }
    storage_.assign(size + 16, std::byte{0});
    urb()->UrbHeader.Length = static_cast<USHORT>(size);
    urb()->UrbHeader.Function = URB_FUNCTION_SELECT_CONFIGURATION;
    urb()->UrbSelectConfiguration.ConfigurationDescriptor =
        reinterpret_cast<PUSB_CONFIGURATION_DESCRIPTOR>(configuration_.data());
    for (const auto& s : selected_) {
      auto* info = interfaceAt(s.offset);
      info->Length = static_cast<USHORT>(s.length);
      info->InterfaceNumber = s.info.number;
      info->AlternateSetting = 0;
    }
  }
  PURB urb() { return reinterpret_cast<PURB>(storage_.data()); }
  std::size_t interfaceCount() const { return selected_.size(); }
  PUSBD_INTERFACE_INFORMATION interface(std::size_t index) { return interfaceAt(selected_[index].offset); }

 private:
  struct Selected {
    InterfaceInfo info;
    std::size_t offset, length;
  };
  PUSBD_INTERFACE_INFORMATION interfaceAt(std::size_t offset) {
    return reinterpret_cast<PUSBD_INTERFACE_INFORMATION>(storage_.data() + offset);
  }
  Bytes configuration_;
  std::vector<Selected> selected_;
  std::vector<std::byte> storage_;
};

// Runtime + emulated device + bus + client; the device's network side is a FakeFramePort.
class BusFixture {
 public:
  explicit BusFixture(Function function, ndishost::usb::bus::UsbBusOptions options = {},
                      ndishost::usb::device::RndisInterfaceClass rndisClass =
                          ndishost::usb::device::RndisInterfaceClass::WirelessController)
      : function_(function) {
    using namespace ndishost::usb::device;
    runtime_ = std::make_unique<ndishost::nt::Runtime>();
    std::unique_ptr<UsbFunction> impl;
    switch (function) {
      case Function::Ncm: {
        CdcNcmConfig config;
        auto f = std::make_unique<CdcNcmFunction>(config, port_);
        ncm_ = f.get();
        impl = std::move(f);
        break;
      }
      case Function::Ecm: {
        CdcEcmConfig config;
        impl = std::make_unique<CdcEcmFunction>(config, port_);
        break;
      }
      case Function::Rndis: {
        RndisConfig config;
        config.interfaceClass = rndisClass;
        impl = std::make_unique<RndisFunction>(config, port_);
        break;
      }
    }
    DeviceIdentity identity;
    identity.productId = 0x0100 + static_cast<std::uint16_t>(function);
    device_ = std::make_shared<EmulatedUsbDevice>(identity, Speed::High, std::move(impl));
    bus_ = std::make_unique<ndishost::usb::bus::UsbBus>(std::move(options));
    portNumber_ = bus_->attach(device_);
    client_ = std::make_unique<Client>(bus_->devicePdo(portNumber_));
  }

  ~BusFixture() {
    client_.reset();
    bus_.reset();
    device_.reset();
    runtime_.reset();
  }

  ndishost::usb::bus::UsbBus& bus() { return *bus_; }
  Client& client() { return *client_; }
  ndishost::usb::device::EmulatedUsbDevice& device() { return *device_; }
  ndishost::usb::device::test::FakeFramePort& network() { return port_; }
  unsigned portNumber() const { return portNumber_; }
  Function function() const { return function_; }

  // GET_DESCRIPTOR_FROM_DEVICE through the bus, into a plain buffer.
  Bytes getDescriptor(UCHAR type, UCHAR index, USHORT length, USBD_STATUS* status = nullptr) {
    Bytes buffer(length);
    URB urb{};
    urb.UrbHeader.Length = sizeof(_URB_CONTROL_DESCRIPTOR_REQUEST);
    urb.UrbHeader.Function = URB_FUNCTION_GET_DESCRIPTOR_FROM_DEVICE;
    urb.UrbControlDescriptorRequest.TransferBuffer = buffer.data();
    urb.UrbControlDescriptorRequest.TransferBufferLength = length;
    urb.UrbControlDescriptorRequest.DescriptorType = type;
    urb.UrbControlDescriptorRequest.Index = index;
    client_->submit(urb);
    if (status != nullptr) *status = urb.UrbHeader.Status;
    buffer.resize(urb.UrbControlDescriptorRequest.TransferBufferLength);
    return buffer;
  }

  Bytes configurationDescriptor() {
    Bytes head = getDescriptor(USB_CONFIGURATION_DESCRIPTOR_TYPE, 0, 9);
    if (head.size() < 9) return {};
    auto total = static_cast<USHORT>(std::to_integer<unsigned>(head[2]) | (std::to_integer<unsigned>(head[3]) << 8));
    return getDescriptor(USB_CONFIGURATION_DESCRIPTOR_TYPE, 0, total);
  }

  // Selects the configuration, then alternate setting 1 of the data interface when it has
  // one (NCM, ECM); returns the pipes by endpoint address.
  struct Pipes {
    USBD_PIPE_HANDLE bulkIn = nullptr, bulkOut = nullptr, interruptIn = nullptr;
    USBD_CONFIGURATION_HANDLE configuration = nullptr;
  };
  Pipes configure() {
    Pipes pipes;
    Bytes configuration = configurationDescriptor();
    SelectConfigurationUrb select(configuration);
    EXPECT_EQ(client_->submit(*select.urb()), STATUS_SUCCESS);
    EXPECT_EQ(select.urb()->UrbHeader.Status, USBD_STATUS_SUCCESS);
    pipes.configuration = select.urb()->UrbSelectConfiguration.ConfigurationHandle;
    auto collect = [&](PUSBD_INTERFACE_INFORMATION info) {
      for (ULONG i = 0; i < info->NumberOfPipes; ++i) {
        const USBD_PIPE_INFORMATION& pipe = info->Pipes[i];
        if (pipe.PipeType == UsbdPipeTypeInterrupt) pipes.interruptIn = pipe.PipeHandle;
        if (pipe.PipeType == UsbdPipeTypeBulk && (pipe.EndpointAddress & 0x80)) pipes.bulkIn = pipe.PipeHandle;
        if (pipe.PipeType == UsbdPipeTypeBulk && !(pipe.EndpointAddress & 0x80)) pipes.bulkOut = pipe.PipeHandle;
      }
    };
    for (std::size_t i = 0; i < select.interfaceCount(); ++i) collect(select.interface(i));
    for (const auto& i : parseInterfaces(configuration)) {
      if (i.alternate != 1) continue;
      std::vector<std::byte> storage(offsetof(_URB_SELECT_INTERFACE, Interface) + offsetof(USBD_INTERFACE_INFORMATION, Pipes) +
                                     i.endpoints.size() * sizeof(USBD_PIPE_INFORMATION));
      auto* urb = reinterpret_cast<PURB>(storage.data());
      urb->UrbHeader.Length = static_cast<USHORT>(storage.size());
      urb->UrbHeader.Function = URB_FUNCTION_SELECT_INTERFACE;
      urb->UrbSelectInterface.ConfigurationHandle = pipes.configuration;
      urb->UrbSelectInterface.Interface.Length =
          static_cast<USHORT>(storage.size() - offsetof(_URB_SELECT_INTERFACE, Interface));
      urb->UrbSelectInterface.Interface.InterfaceNumber = i.number;
      urb->UrbSelectInterface.Interface.AlternateSetting = 1;
      EXPECT_EQ(client_->submit(*urb), STATUS_SUCCESS);
      EXPECT_EQ(urb->UrbHeader.Status, USBD_STATUS_SUCCESS);
      collect(&urb->UrbSelectInterface.Interface);
    }
    return pipes;
  }

  // A class request to an interface, through URB_FUNCTION_CLASS_INTERFACE.
  NTSTATUS classInterface(bool in, UCHAR request, USHORT value, USHORT index, void* data, ULONG length,
                          ULONG* transferred = nullptr, USBD_STATUS* usbd = nullptr) {
    URB urb{};
    urb.UrbHeader.Length = sizeof(_URB_CONTROL_VENDOR_OR_CLASS_REQUEST);
    urb.UrbHeader.Function = URB_FUNCTION_CLASS_INTERFACE;
    urb.UrbControlVendorClassRequest.TransferFlags = in ? USBD_TRANSFER_DIRECTION_IN : 0;
    urb.UrbControlVendorClassRequest.TransferBuffer = data;
    urb.UrbControlVendorClassRequest.TransferBufferLength = length;
    urb.UrbControlVendorClassRequest.Request = request;
    urb.UrbControlVendorClassRequest.Value = value;
    urb.UrbControlVendorClassRequest.Index = index;
    NTSTATUS status = client_->submit(urb);
    if (transferred != nullptr) *transferred = urb.UrbControlVendorClassRequest.TransferBufferLength;
    if (usbd != nullptr) *usbd = urb.UrbHeader.Status;
    return status;
  }

  static void buildBulk(URB& urb, USBD_PIPE_HANDLE pipe, bool in, void* buffer, PMDL mdl, ULONG length,
                        ULONG flags = 0) {
    urb = URB{};
    urb.UrbHeader.Length = sizeof(_URB_BULK_OR_INTERRUPT_TRANSFER);
    urb.UrbHeader.Function = URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER;
    urb.UrbBulkOrInterruptTransfer.PipeHandle = pipe;
    urb.UrbBulkOrInterruptTransfer.TransferFlags = flags | (in ? USBD_TRANSFER_DIRECTION_IN : 0);
    urb.UrbBulkOrInterruptTransfer.TransferBuffer = buffer;
    urb.UrbBulkOrInterruptTransfer.TransferBufferMDL = mdl;
    urb.UrbBulkOrInterruptTransfer.TransferBufferLength = length;
  }

 private:
  Function function_;
  std::unique_ptr<ndishost::nt::Runtime> runtime_;
  ndishost::usb::device::test::FakeFramePort port_;
  ndishost::usb::device::CdcNcmFunction* ncm_ = nullptr;
  std::shared_ptr<ndishost::usb::device::EmulatedUsbDevice> device_;
  std::unique_ptr<ndishost::usb::bus::UsbBus> bus_;
  unsigned portNumber_ = 0;
  std::unique_ptr<Client> client_;
};

// A CDC-NCM NTB16 with the given datagrams (NTH16, then one NDP16, then the datagrams,
// each on a 4-byte boundary).
inline Bytes buildNtb16(const std::vector<Bytes>& datagrams, std::uint16_t sequence) {
  auto put16 = [](Bytes& b, std::size_t at, unsigned v) {
    b[at] = static_cast<std::byte>(v & 0xFF);
    b[at + 1] = static_cast<std::byte>((v >> 8) & 0xFF);
  };
  std::size_t ndpLength = 8 + (datagrams.size() + 1) * 4;
  std::size_t at = 12 + ndpLength;
  at = (at + 3) & ~std::size_t{3};
  std::vector<std::pair<std::size_t, std::size_t>> places;
  for (const auto& d : datagrams) {
    places.emplace_back(at, d.size());
    at = (at + d.size() + 3) & ~std::size_t{3};
  }
  std::size_t total = places.empty() ? at : places.back().first + places.back().second;
  Bytes ntb(total);
  std::memcpy(ntb.data(), "NCMH", 4);
  put16(ntb, 4, 12);
  put16(ntb, 6, sequence);
  put16(ntb, 8, static_cast<unsigned>(total));
  put16(ntb, 10, 12);
  std::memcpy(ntb.data() + 12, "NCM0", 4);
  put16(ntb, 16, static_cast<unsigned>(ndpLength));
  put16(ntb, 18, 0);
  for (std::size_t i = 0; i < datagrams.size(); ++i) {
    put16(ntb, 20 + i * 4, static_cast<unsigned>(places[i].first));
    put16(ntb, 22 + i * 4, static_cast<unsigned>(places[i].second));
    std::memcpy(ntb.data() + places[i].first, datagrams[i].data(), datagrams[i].size());
  }
  return ntb;
}

}  // namespace usbbus_test
