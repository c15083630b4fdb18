// The USB bus driver under the real PnP manager: "usbhub" is a builtin driver serving
// ROOT\USB; an emulated CDC-NCM device plugged into the bus becomes a devnode whose
// function driver (usbpnptest.so, matched by USB\VID_xxxx&PID_xxxx) starts, reads the
// descriptors, selects the configuration and keeps a bulk IN read pending; unplugging
// sends it surprise removal and removal; replugging and CYCLE_PORT make new devnodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <tuple>
#include <utility>
#include <wdm.h>
#include <usb.h>

#include "../device/test_support.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/pnp/pnp_manager.hpp"
#include "usb/bus/usb_bus.hpp"
#include "usb/device/cdc_ncm_function.hpp"
#include "usb/device/emulated_device.hpp"
#include "usbpnptest/usbpnptest_ioctl.h"

namespace {

using namespace ndishost;
using nt::pnp::DeviceNodeState;
using nt::pnp::Manifest;
using nt::pnp::ManifestDevice;
using nt::pnp::ManifestDriver;
using nt::pnp::PnpEvent;
using nt::pnp::PnpEventKind;
using nt::pnp::PnpManager;

constexpr char kDeviceId[] = "USB\\VID_1209&PID_0A01";
constexpr char kInstancePath[] = "USB\\VID_1209&PID_0A01\\PNP0001";

// The manifest a host that runs a USB miniport builds: the builtin hub on ROOT\USB, the
// client driver on the device's VID/PID hardware ID.
Manifest usbManifest() {
  Manifest manifest;
  ManifestDriver hub;
  hub.name = "usbhub";
  hub.builtin = true;
  hub.ids = {"ROOT\\USB"};
  manifest.addDriver(hub);
  ManifestDriver client;
  client.name = "usbpnptest";
  client.path = NDISHOST_TEST_USBPNPTEST_DRIVER;
  client.ids = {kDeviceId};
  manifest.addDriver(client);
  return manifest;
}

std::shared_ptr<usb::device::EmulatedUsbDevice> makeNcmDevice(usb::device::test::FakeFramePort& port) {
  using namespace usb::device;
  DeviceIdentity identity;
  identity.vendorId = 0x1209;
  identity.productId = 0x0A01;
  identity.bcdDevice = 0x0102;
  identity.serialNumber = "PNP0001";
  return std::make_shared<EmulatedUsbDevice>(identity, Speed::High,
                                             std::make_unique<CdcNcmFunction>(CdcNcmConfig{}, port));
}

// IOCTL to the top of a devnode's stack (the client FDO), waited for.
NTSTATUS clientIoctl(PDEVICE_OBJECT top, ULONG code, USBPNPTEST_STATE* state) {
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb{};
  PIRP irp = IoBuildDeviceIoControlRequest(code, top, nullptr, 0, state, state != nullptr ? sizeof(*state) : 0,
                                           FALSE, &event, &iosb);
  if (irp == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  NTSTATUS status = IoCallDriver(top, irp);
  if (status == STATUS_PENDING) {
    KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
    status = iosb.Status;
  }
  return status;
}

std::optional<USBPNPTEST_STATE> queryClient(PnpManager& pnp, const std::string& path) {
  PDEVICE_OBJECT top = pnp.referenceTopOfStack(path);
  if (top == nullptr) return std::nullopt;
  USBPNPTEST_STATE state{};
  NTSTATUS status = clientIoctl(top, IOCTL_USBPNPTEST_QUERY_STATE, &state);
  ObDereferenceObject(top);
  if (!NT_SUCCESS(status)) return std::nullopt;
  return state;
}

// Records events, and what the client saw when the PnP manager reported its surprise
// removal (between IRP_MN_SURPRISE_REMOVAL and IRP_MN_REMOVE_DEVICE).
struct Recorder {
  std::mutex lock;
  std::vector<PnpEvent> events;
  std::vector<USBPNPTEST_STATE> atSurpriseRemoval;

  void onEvent(PnpManager& pnp, const PnpEvent& event) {
    std::optional<USBPNPTEST_STATE> state;
    if (event.kind == PnpEventKind::SurpriseRemoved) state = queryClient(pnp, event.instancePath);
    std::lock_guard guard(lock);
    events.push_back(event);
    if (state) atSurpriseRemoval.push_back(*state);
  }
  std::vector<std::string> kinds(const std::string& path) {
    std::lock_guard guard(lock);
    std::vector<std::string> out;
    for (const auto& event : events) {
      if (event.instancePath != path) continue;
      switch (event.kind) {
        case PnpEventKind::DeviceStarted: out.push_back("started"); break;
        case PnpEventKind::SurpriseRemoved: out.push_back("surprise"); break;
        case PnpEventKind::DeviceRemoved: out.push_back("removed"); break;
        default: break;
      }
    }
    return out;
  }
};

class UsbBusPnp : public ::testing::Test {
 protected:
  void SetUp() override {
    pnp_ = std::make_unique<PnpManager>(usbManifest());
    subscription_ = pnp_->subscribe([this](const PnpEvent& event) { recorder_.onEvent(*pnp_, event); });
    bus_ = std::make_unique<usb::bus::UsbBus>();
    pnp_->registerBuiltinDriver("usbhub", bus_->driverObject());
    hubPath_ = pnp_->addRootDevice(ManifestDevice{{"ROOT\\USB"}, {}, "USB root hub"});
  }
  void TearDown() override {
    // Order: the PnP manager removes every stack (hub last) before the bus goes.
    if (pnp_) {
      auto reports = pnp_->shutdown();
      for (const auto& report : reports) EXPECT_TRUE(report.empty()) << report.format();
      for (const auto& report : pnp_->leakReports()) EXPECT_TRUE(report.empty()) << report.format();
    }
    subscription_.reset();
    bus_.reset();
    pnp_.reset();
  }

  DeviceNodeState stateOf(const std::string& path) {
    auto info = pnp_->device(path);
    return info ? info->state : DeviceNodeState::Enumerated;
  }

  nt::Runtime runtime_;
  usb::device::test::FakeFramePort network_;
  std::unique_ptr<PnpManager> pnp_;
  Recorder recorder_;
  std::unique_ptr<PnpManager::Subscription> subscription_;
  std::unique_ptr<usb::bus::UsbBus> bus_;
  std::string hubPath_;
};

TEST_F(UsbBusPnp, TheBuiltinHubStartsOnRootUsb) {
  auto hub = pnp_->device(hubPath_);
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->state, DeviceNodeState::Started) << hub->problem;
  EXPECT_EQ(hub->driver, "usbhub");
  EXPECT_EQ(bus_->presentPdos().size(), 0u);
}

TEST_F(UsbBusPnp, AnAttachedDeviceIsEnumeratedMatchedAndStartedWithTheDocumentedIds) {
  unsigned port = bus_->attach(makeNcmDevice(network_));
  pnp_->waitForIdle();
  auto info = pnp_->device(kInstancePath);
  ASSERT_TRUE(info) << pnp_->formatTree();
  EXPECT_EQ(info->state, DeviceNodeState::Started) << info->problem;
  EXPECT_EQ(info->driver, "usbpnptest");
  EXPECT_EQ(info->parentInstancePath, hubPath_);
  EXPECT_EQ(info->deviceId, kDeviceId);
  EXPECT_EQ(info->instanceId, "PNP0001");
  EXPECT_EQ(info->hardwareIds, (std::vector<std::string>{"USB\\VID_1209&PID_0A01&REV_0102", kDeviceId}));
  // NCM declares its class at device level (02/00/00), so the device descriptor's triple.
  EXPECT_EQ(info->compatibleIds,
            (std::vector<std::string>{"USB\\Class_02&SubClass_00&Prot_00", "USB\\Class_02&SubClass_00", "USB\\Class_02"}));
  EXPECT_EQ(info->location, "Port_#0001.Hub_#0001");
  EXPECT_EQ(port, 1u);

  auto state = queryClient(*pnp_, kInstancePath);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->Started, 1u);
  EXPECT_EQ(state->IdVendor, 0x1209);
  EXPECT_EQ(state->IdProduct, 0x0A01);
  EXPECT_EQ(state->ConfigurationValue, 1);
  EXPECT_TRUE(USB_ENDPOINT_DIRECTION_IN(state->BulkInEndpoint));
  EXPECT_EQ(state->ReadPending, 1u);
  EXPECT_EQ(state->ReadStatus, STATUS_PENDING);
}

TEST_F(UsbBusPnp, DetachSurpriseRemovesThenRemovesAndReattachStartsANewDevnode) {
  unsigned port = bus_->attach(makeNcmDevice(network_));
  pnp_->waitForIdle();
  ASSERT_EQ(stateOf(kInstancePath), DeviceNodeState::Started) << pnp_->formatTree();

  bus_->detach(port);
  pnp_->waitForIdle();
  // The devnode is gone with its PDO; the client saw surprise removal with its read failed.
  EXPECT_FALSE(pnp_->device(kInstancePath)) << pnp_->formatTree();
  EXPECT_EQ(recorder_.kinds(kInstancePath), (std::vector<std::string>{"started", "surprise", "removed"}));
  {
    std::lock_guard guard(recorder_.lock);
    ASSERT_EQ(recorder_.atSurpriseRemoval.size(), 1u);
    const USBPNPTEST_STATE& seen = recorder_.atSurpriseRemoval[0];
    EXPECT_EQ(seen.SurpriseRemoved, 1u);
    EXPECT_EQ(seen.ReadPending, 0u);
    EXPECT_EQ(seen.ReadStatus, STATUS_DEVICE_NOT_CONNECTED);
    EXPECT_EQ(static_cast<USBD_STATUS>(seen.ReadUsbdStatus), USBD_STATUS_DEVICE_GONE);
  }
  // The client's last device went: it unloaded, having freed everything (REMOVE reached it).
  auto reports = pnp_->leakReports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].driver, "usbpnptest");
  EXPECT_TRUE(reports[0].empty()) << reports[0].format();

  bus_->attach(makeNcmDevice(network_));
  pnp_->waitForIdle();
  EXPECT_EQ(stateOf(kInstancePath), DeviceNodeState::Started) << pnp_->formatTree();
  auto state = queryClient(*pnp_, kInstancePath);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->Started, 1u);
  EXPECT_EQ(state->SurpriseRemoved, 0u);
  EXPECT_EQ(state->ReadPending, 1u);
}

TEST_F(UsbBusPnp, CyclePortReplacesTheDevnode) {
  unsigned port = bus_->attach(makeNcmDevice(network_));
  pnp_->waitForIdle();
  ASSERT_EQ(stateOf(kInstancePath), DeviceNodeState::Started) << pnp_->formatTree();
  PDEVICE_OBJECT oldPdo = bus_->devicePdo(port);

  PDEVICE_OBJECT top = pnp_->referenceTopOfStack(kInstancePath);
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(clientIoctl(top, IOCTL_USBPNPTEST_CYCLE_PORT, nullptr), STATUS_SUCCESS);
  ObDereferenceObject(top);
  pnp_->waitForIdle();

  EXPECT_NE(bus_->devicePdo(port), nullptr);
  EXPECT_NE(bus_->devicePdo(port), oldPdo);
  EXPECT_EQ(recorder_.kinds(kInstancePath),
            (std::vector<std::string>{"started", "surprise", "removed", "started"}));
  auto state = queryClient(*pnp_, kInstancePath);
  ASSERT_TRUE(state) << pnp_->formatTree();
  EXPECT_EQ(state->Started, 1u);
  EXPECT_EQ(state->ReadPending, 1u);
}

TEST_F(UsbBusPnp, ShutdownWithADeviceStartedRemovesEverythingWithoutLeaks) {
  bus_->attach(makeNcmDevice(network_));
  pnp_->waitForIdle();
  ASSERT_EQ(stateOf(kInstancePath), DeviceNodeState::Started) << pnp_->formatTree();
  auto reports = pnp_->shutdown();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].driver, "usbpnptest");
  EXPECT_TRUE(reports[0].empty()) << reports[0].format();
  // The hub's PDOs are deleted by the bus only; nothing above them is left.
  for (PDEVICE_OBJECT pdo : bus_->presentPdos()) EXPECT_EQ(IoGetAttachedDevice(pdo), pdo);
}

}  // namespace
