// The PnP manager with the sample drivers: enumeration, I/O through the stacks, surprise
// removal with reads in flight, orderly removal and its veto, power, a child plugged in at
// run time, and shutdown with empty leak reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "nt/io/io_manager.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/pnp/pnp_manager.hpp"
#include "nt/support/trace.hpp"
#include "nt/support/violation.hpp"
#include "sample_ioctl.h"

using namespace ndishost::nt;
using namespace ndishost::nt::pnp;

namespace {

const std::string kBus = "ROOT\\SAMPLEBUS\\0000";
const std::string kChild1 = "SAMPLEBUS\\VID_5AB1&PID_0001\\01";
const std::string kChild2 = "SAMPLEBUS\\VID_5AB1&PID_0001\\02";
const std::string kChild3 = "SAMPLEBUS\\VID_5AB1&PID_0001\\03";

// IRP_MJ_DEVICE_CONTROL to the top of a device's stack, as an application's
// DeviceIoControl would arrive; waits for completion.
NTSTATUS deviceIoControl(PnpManager& pnp, const std::string& device, ULONG code, const void* in, ULONG inLength,
                         void* out, ULONG outLength, ULONG_PTR* information = nullptr) {
  PDEVICE_OBJECT top = pnp.referenceTopOfStack(device);
  if (top == nullptr) return STATUS_NO_SUCH_DEVICE;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb{};
  PIRP irp = IoBuildDeviceIoControlRequest(code, top, const_cast<void*>(in), inLength, out, outLength, FALSE, &event,
                                           &iosb);
  NTSTATUS status = STATUS_INSUFFICIENT_RESOURCES;
  if (irp != nullptr) {
    status = IoCallDriver(top, irp);
    if (status == STATUS_PENDING) {
      KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
      status = iosb.Status;
    }
    if (information != nullptr) *information = iosb.Information;
  }
  ObDereferenceObject(top);
  return status;
}

SAMPLEFUNC_STATISTICS statistics(PnpManager& pnp, const std::string& device) {
  SAMPLEFUNC_STATISTICS stats{};
  EXPECT_EQ(deviceIoControl(pnp, device, IOCTL_SAMPLEFUNC_GET_STATISTICS, nullptr, 0, &stats, sizeof(stats)),
            STATUS_SUCCESS);
  return stats;
}

// Polls until `done` holds (the sample bus completes reads from a 2 ms timer).
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

NTSTATUS busIoctl(PnpManager& pnp, ULONG code, ULONG serial, ULONG* result = nullptr) {
  ULONG buffer = serial;
  NTSTATUS status = deviceIoControl(pnp, kBus, code, &buffer, sizeof(buffer), &buffer, sizeof(buffer));
  if (result != nullptr) *result = buffer;
  return status;
}

class PnpManagerTest : public ::testing::Test {
 protected:
  Runtime runtime{RuntimeOptions{.processors = 2}};
  PnpManager pnp{Manifest::load(std::string(NDISHOST_TEST_SAMPLE_DIR) + "/samples.toml")};

  void SetUp() override {
    auto roots = pnp.addRootDevicesFromManifest();
    ASSERT_EQ(roots, std::vector<std::string>{kBus});
  }

  // Every driver unloads without leaks.
  void expectCleanShutdown() {
    auto reports = pnp.shutdown();
    ASSERT_EQ(reports.size(), 2u);
    for (const auto& report : reports) EXPECT_TRUE(report.empty()) << report.format();
    EXPECT_TRUE(pnp.devices().empty());
  }
};

}  // namespace

TEST_F(PnpManagerTest, EnumeratesTheBusAndStartsEachChildWithItsFunctionDriver) {
  auto devices = pnp.devices();
  ASSERT_EQ(devices.size(), 3u) << pnp.formatTree();
  EXPECT_EQ(devices[0].instancePath, kBus);
  EXPECT_EQ(devices[0].driver, "samplebus");
  EXPECT_EQ(devices[0].state, DeviceNodeState::Started);
  EXPECT_EQ(devices[0].description, "ndishost sample bus enumerator");

  const DeviceInfo& child = devices[1];
  EXPECT_EQ(child.instancePath, kChild1);
  EXPECT_EQ(child.parentInstancePath, kBus);
  EXPECT_EQ(child.depth, 1u);
  EXPECT_EQ(child.driver, "samplefunc");
  EXPECT_EQ(child.state, DeviceNodeState::Started) << child.problem;
  EXPECT_EQ(child.hardwareIds,
            (std::vector<std::string>{"SAMPLEBUS\\VID_5AB1&PID_0001&REV_0100", "SAMPLEBUS\\VID_5AB1&PID_0001"}));
  EXPECT_EQ(child.compatibleIds, std::vector<std::string>{"SAMPLEBUS\\CLASS_ECHO"});
  EXPECT_EQ(child.location, "Sample bus slot 01");
  EXPECT_EQ(child.powerState, PowerDeviceD0);
  EXPECT_EQ(child.stack, (std::vector<std::string>{"FDO samplefunc", "PDO samplebus"}));
  EXPECT_EQ(devices[2].instancePath, kChild2);

  std::string tree = pnp.formatTree();
  EXPECT_NE(tree.find(kChild2), std::string::npos) << tree;

  // The function driver keeps its reads pending at the bus, and they complete.
  EXPECT_TRUE(eventually([&] { return statistics(pnp, kChild1).ReadsCompleted > 10; }));
  auto stats = statistics(pnp, kChild1);
  EXPECT_EQ(stats.SerialNo, 1u);  // from IoGetDeviceProperty(DevicePropertyAddress) in AddDevice
  EXPECT_EQ(stats.ReadsFailed, 0u);
  expectCleanShutdown();
}

TEST_F(PnpManagerTest, IoGetDevicePropertyAnswersFromTheDevnode) {
  PDEVICE_OBJECT top = pnp.referenceTopOfStack(kChild1);
  ASSERT_NE(top, nullptr);
  PDEVICE_OBJECT pdo = IoGetLowerDeviceObject(top);
  ASSERT_NE(pdo, nullptr);

  ULONG length = 0;
  EXPECT_EQ(IoGetDeviceProperty(pdo, DevicePropertyHardwareID, 0, nullptr, &length), STATUS_BUFFER_TOO_SMALL);
  std::vector<WCHAR> ids(length / sizeof(WCHAR));
  ASSERT_EQ(IoGetDeviceProperty(pdo, DevicePropertyHardwareID, length, ids.data(), &length), STATUS_SUCCESS);
  std::u16string text(reinterpret_cast<const char16_t*>(ids.data()), ids.size());
  EXPECT_EQ(text, std::u16string(u"SAMPLEBUS\\VID_5AB1&PID_0001&REV_0100\0SAMPLEBUS\\VID_5AB1&PID_0001\0\0", 66));

  ULONG address = 0;
  EXPECT_EQ(IoGetDeviceProperty(pdo, DevicePropertyAddress, sizeof(address), &address, &length), STATUS_SUCCESS);
  EXPECT_EQ(address, 1u);
  GUID busType{};
  EXPECT_EQ(IoGetDeviceProperty(pdo, DevicePropertyBusTypeGuid, sizeof(busType), &busType, &length), STATUS_SUCCESS);
  EXPECT_EQ(busType.Data1, 0x5ab1c0deu);
  WCHAR enumerator[16] = {};
  EXPECT_EQ(IoGetDeviceProperty(pdo, DevicePropertyEnumeratorName, sizeof(enumerator), enumerator, &length),
            STATUS_SUCCESS);
  EXPECT_EQ(std::u16string(reinterpret_cast<const char16_t*>(enumerator)), u"SAMPLEBUS");
  // Properties ndishost does not keep fail as the reference documents; an FDO is no PDO.
  EXPECT_EQ(IoGetDeviceProperty(pdo, DevicePropertyClassGuid, sizeof(enumerator), enumerator, &length),
            STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(IoGetDeviceProperty(top, DevicePropertyAddress, sizeof(address), &address, &length),
            STATUS_INVALID_DEVICE_REQUEST);
  ObDereferenceObject(pdo);
  ObDereferenceObject(top);
  expectCleanShutdown();
}

TEST_F(PnpManagerTest, EchoTravelsDownTheStackAndBack) {
  const char message[] = "hello, bus";
  char reply[sizeof(message)] = {};
  ULONG_PTR information = 0;
  ASSERT_EQ(deviceIoControl(pnp, kChild2, IOCTL_SAMPLEFUNC_ECHO, message, sizeof(message), reply, sizeof(reply),
                            &information),
            STATUS_SUCCESS);
  EXPECT_EQ(information, sizeof(message));
  EXPECT_STREQ(reply, message);
  EXPECT_EQ(statistics(pnp, kChild2).EchoRequests, 1u);
  expectCleanShutdown();
}

TEST_F(PnpManagerTest, UnpluggedChildIsSurpriseRemovedWithReadsInFlightThenRemoved) {
  ASSERT_TRUE(eventually([&] { return statistics(pnp, kChild1).ReadsCompleted > 5; }));
  RecordViolationsScope violations;

  std::mutex lock;
  std::vector<std::string> pnpIrps;  // child 1's PnP IRPs, in the order sent
  TraceSubscription trace([&](const TraceEvent& event) {
    if (event.category == TraceCategory::Pnp && event.source.find(kChild1) != std::string::npos &&
        event.text.rfind("IRP_MN_", 0) == 0) {
      std::lock_guard guard(lock);
      pnpIrps.push_back(event.text.substr(0, event.text.find(' ')));
    }
  });

  // Between the two IRPs the stack is still there: look at it from a PnP listener.
  std::vector<PnpEventKind> events;
  SAMPLEFUNC_STATISTICS between{};
  NTSTATUS echoBetween = STATUS_SUCCESS;
  auto subscription = pnp.subscribe([&](const PnpEvent& event) {
    if (event.instancePath != kChild1) return;
    events.push_back(event.kind);
    if (event.kind != PnpEventKind::SurpriseRemoved) return;
    // Cancelled reads may still be completing on a DPC thread: wait for the last one.
    eventually([&] { return statistics(pnp, kChild1).ReadsOutstanding == 0; });
    between = statistics(pnp, kChild1);
    char byte = 'x';
    echoBetween = deviceIoControl(pnp, kChild1, IOCTL_SAMPLEFUNC_ECHO, &byte, 1, &byte, 1);
  });

  ASSERT_EQ(busIoctl(pnp, IOCTL_SAMPLEBUS_UNPLUG, 1), STATUS_SUCCESS);
  pnp.waitForIdle();

  EXPECT_EQ(events, (std::vector<PnpEventKind>{PnpEventKind::SurpriseRemoved, PnpEventKind::DeviceRemoved}));
  EXPECT_EQ(between.SurpriseRemoved, 1u);
  EXPECT_EQ(between.ReadsOutstanding, 0);
  // Every slot's read was pending at the unplugged device; each completed exactly once,
  // cancelled, and none was re-posted.
  EXPECT_EQ(between.ReadsFailed, between.PendingReadSlots);
  EXPECT_EQ(echoBetween, STATUS_NO_SUCH_DEVICE);
  {
    std::lock_guard guard(lock);
    auto surprise = std::find(pnpIrps.begin(), pnpIrps.end(), "IRP_MN_SURPRISE_REMOVAL");
    auto remove = std::find(pnpIrps.begin(), pnpIrps.end(), "IRP_MN_REMOVE_DEVICE");
    ASSERT_NE(surprise, pnpIrps.end());
    ASSERT_NE(remove, pnpIrps.end());
    EXPECT_LT(surprise, remove);
  }

  EXPECT_FALSE(pnp.device(kChild1));
  ASSERT_TRUE(pnp.device(kChild2));
  EXPECT_EQ(pnp.device(kChild2)->state, DeviceNodeState::Started);
  EXPECT_TRUE(violations.take().empty());
  subscription.reset();
  expectCleanShutdown();
}

TEST_F(PnpManagerTest, ChildPluggedInAtRunTimeIsEnumeratedAndStarted) {
  ULONG serial = 0;
  ASSERT_EQ(busIoctl(pnp, IOCTL_SAMPLEBUS_PLUG_IN, 0, &serial), STATUS_SUCCESS);
  EXPECT_EQ(serial, 3u);
  pnp.waitForIdle();
  auto child = pnp.device(kChild3);
  ASSERT_TRUE(child) << pnp.formatTree();
  EXPECT_EQ(child->state, DeviceNodeState::Started);
  EXPECT_EQ(child->driver, "samplefunc");
  EXPECT_TRUE(eventually([&] { return statistics(pnp, kChild3).ReadsCompleted > 0; }));
  // A serial number in use is refused.
  EXPECT_EQ(busIoctl(pnp, IOCTL_SAMPLEBUS_PLUG_IN, 2), STATUS_OBJECT_NAME_COLLISION);
  expectCleanShutdown();
}

TEST_F(PnpManagerTest, OrderlyRemovalHonoursAVetoThenRemovesChildrenFirst) {
  ULONG veto = 1;
  ASSERT_EQ(deviceIoControl(pnp, kChild1, IOCTL_SAMPLEFUNC_SET_REMOVAL_VETO, &veto, sizeof(veto), nullptr, 0),
            STATUS_SUCCESS);
  RemoveResult result = pnp.requestRemove(kBus);
  EXPECT_FALSE(result.removed);
  EXPECT_EQ(result.vetoedBy, kChild1);
  EXPECT_EQ(result.status, STATUS_DEVICE_BUSY);
  // Everyone went back to work.
  for (const auto& device : pnp.devices()) EXPECT_EQ(device.state, DeviceNodeState::Started) << device.instancePath;
  ULONG before = statistics(pnp, kChild2).ReadsCompleted;
  EXPECT_TRUE(eventually([&] { return statistics(pnp, kChild2).ReadsCompleted > before; }));

  // A single child: its stack goes, its devnode stays (the bus still reports it).
  result = pnp.requestRemove(kChild2);
  EXPECT_TRUE(result.removed);
  auto child = pnp.device(kChild2);
  ASSERT_TRUE(child);
  EXPECT_EQ(child->state, DeviceNodeState::Removed);
  EXPECT_EQ(child->stack, std::vector<std::string>{"PDO samplebus"});

  veto = 0;
  ASSERT_EQ(deviceIoControl(pnp, kChild1, IOCTL_SAMPLEFUNC_SET_REMOVAL_VETO, &veto, sizeof(veto), nullptr, 0),
            STATUS_SUCCESS);
  result = pnp.requestRemove(kBus);
  EXPECT_TRUE(result.removed);
  auto devices = pnp.devices();
  ASSERT_EQ(devices.size(), 1u) << pnp.formatTree();
  EXPECT_EQ(devices[0].state, DeviceNodeState::Removed);
  // Both drivers lost their last device and were unloaded, leaving nothing behind.
  auto reports = pnp.leakReports();
  ASSERT_EQ(reports.size(), 2u);
  for (const auto& report : reports) EXPECT_TRUE(report.empty()) << report.format();
}

TEST_F(PnpManagerTest, DevicePowerD3StopsTheReadsAndD0ResumesThem) {
  ASSERT_TRUE(eventually([&] { return statistics(pnp, kChild1).ReadsCompleted > 0; }));
  ASSERT_EQ(pnp.setDevicePower(kChild1, PowerDeviceD3), STATUS_SUCCESS);
  auto stats = statistics(pnp, kChild1);
  EXPECT_EQ(stats.DevicePowerState, static_cast<ULONG>(PowerDeviceD3));
  EXPECT_EQ(stats.ReadsOutstanding, 0);
  EXPECT_EQ(pnp.device(kChild1)->powerState, PowerDeviceD3);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(statistics(pnp, kChild1).ReadsCompleted, stats.ReadsCompleted);  // asleep: no data

  ASSERT_EQ(pnp.setDevicePower(kChild1, PowerDeviceD0), STATUS_SUCCESS);
  EXPECT_EQ(statistics(pnp, kChild1).DevicePowerState, static_cast<ULONG>(PowerDeviceD0));
  EXPECT_TRUE(eventually([&] { return statistics(pnp, kChild1).ReadsCompleted > stats.ReadsCompleted; }));
  expectCleanShutdown();
}

TEST_F(PnpManagerTest, SystemSleepTakesEveryPolicyOwnerToD3AndBack) {
  ASSERT_EQ(pnp.setSystemPower(PowerSystemSleeping3), STATUS_SUCCESS);
  EXPECT_EQ(pnp.systemPowerState(), PowerSystemSleeping3);
  // samplefunc requested D3 with PoRequestPowerIrp for each child.
  EXPECT_EQ(statistics(pnp, kChild1).DevicePowerState, static_cast<ULONG>(PowerDeviceD3));
  EXPECT_EQ(statistics(pnp, kChild2).DevicePowerState, static_cast<ULONG>(PowerDeviceD3));
  EXPECT_EQ(pnp.device(kChild2)->powerState, PowerDeviceD3);

  ASSERT_EQ(pnp.setSystemPower(PowerSystemWorking), STATUS_SUCCESS);
  EXPECT_EQ(statistics(pnp, kChild1).DevicePowerState, static_cast<ULONG>(PowerDeviceD0));
  ULONG before = statistics(pnp, kChild2).ReadsCompleted;
  EXPECT_TRUE(eventually([&] { return statistics(pnp, kChild2).ReadsCompleted > before; }));
  expectCleanShutdown();
}

TEST(PnpManagerProblems, DevicesWithoutAWorkingDriverSayWhy) {
  Runtime runtime{RuntimeOptions{.processors = 1}};
  std::string manifest = fmt::format(R"([[driver]]
name = "failing"
path = "{}"
ids = ["ROOT\\FAILING"]
)",
                                     NDISHOST_TEST_FAILING_DRIVER);
  PnpManager pnp(Manifest::parse(manifest, "problems.toml", "/"));
  std::string failing = pnp.addRootDevice(ManifestDevice{{"ROOT\\FAILING"}, {}, "fails"});
  std::string orphan = pnp.addRootDevice(ManifestDevice{{"ROOT\\NOBODY"}, {"GENERIC\\NOBODY"}, "orphan"});
  EXPECT_EQ(failing, "ROOT\\FAILING\\0000");

  auto device = pnp.device(failing);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->state, DeviceNodeState::DriverFailed);
  EXPECT_NE(device->problem.find("STATUS_DEVICE_NOT_CONNECTED"), std::string::npos) << device->problem;

  device = pnp.device(orphan);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->state, DeviceNodeState::NoDriver);
  EXPECT_NE(device->problem.find("ROOT\\NOBODY"), std::string::npos) << device->problem;
  EXPECT_TRUE(pnp.shutdown().empty());
}

TEST(PnpManagerProblems, AFunctionDriverThatStaysAttachedAfterRemoveIsReported) {
  Runtime runtime{RuntimeOptions{.processors = 1}};
  std::string manifest = fmt::format(R"([[driver]]
name = "stubborn"
path = "{}"
ids = ["ROOT\\STUBBORN"]
)",
                                     NDISHOST_TEST_STUBBORN_DRIVER);
  PnpManager pnp(Manifest::parse(manifest, "stubborn.toml", "/"));

  std::mutex lock;
  std::vector<std::string> pnpTrace;
  TraceSubscription trace([&](const TraceEvent& event) {
    if (event.category != TraceCategory::Pnp) return;
    std::lock_guard guard(lock);
    pnpTrace.push_back(event.text);
  });
  std::string path = pnp.addRootDevice(ManifestDevice{{"ROOT\\STUBBORN"}, {}, "stubborn"});
  ASSERT_EQ(pnp.device(path)->state, DeviceNodeState::Started);
  {
    std::lock_guard guard(lock);
    EXPECT_NE(std::find(pnpTrace.begin(), pnpTrace.end(), "AddDevice left DO_DEVICE_INITIALIZING set"), pnpTrace.end());
  }

  PDEVICE_OBJECT fdo = pnp.referenceTopOfStack(path);
  PDEVICE_OBJECT pdo = IoGetLowerDeviceObject(fdo);
  {
    RecordViolationsScope scope;
    EXPECT_TRUE(pnp.requestRemove(path).removed);
    auto violations = scope.take();
    ASSERT_EQ(violations.size(), 2u);
    EXPECT_EQ(violations[0].rule, "pnp.remove-left-device");
    EXPECT_EQ(violations[0].driver, "stubborn");
    EXPECT_NE(violations[0].detail.find("IoDetachDevice"), std::string::npos) << violations[0].detail;
    // Its last device "removed", the PnP manager tries to unload it: refused.
    EXPECT_EQ(violations[1].rule, "driver.unload-with-devices");
  }
  // Do what the driver should have done; then it unloads cleanly at shutdown.
  IoDetachDevice(pdo);
  IoDeleteDevice(fdo);
  ObDereferenceObject(pdo);
  ObDereferenceObject(fdo);
  auto reports = pnp.shutdown();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].empty()) << reports[0].format();
}

// A driver built into the host (as the USB bus driver is): a minimal function driver whose
// driver object the test creates and registers, instead of a .so the PnP manager loads.
namespace builtin {

struct Extension {
  PDEVICE_OBJECT lower;
};
std::atomic<int> starts{0};
std::atomic<int> removes{0};

NTSTATUS NTAPI addDevice(PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo) {
  PDEVICE_OBJECT fdo = nullptr;
  NTSTATUS status = IoCreateDevice(driver, sizeof(Extension), nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
  if (!NT_SUCCESS(status)) return status;
  static_cast<Extension*>(fdo->DeviceExtension)->lower = IoAttachDeviceToDeviceStack(fdo, pdo);
  fdo->Flags &= ~DO_DEVICE_INITIALIZING;
  return STATUS_SUCCESS;
}

NTSTATUS NTAPI dispatchPnp(PDEVICE_OBJECT fdo, PIRP irp) {
  auto* extension = static_cast<Extension*>(fdo->DeviceExtension);
  UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
  if (minor == IRP_MN_START_DEVICE) starts++;
  if (minor == IRP_MN_REMOVE_DEVICE) removes++;
  // Function drivers say yes to the IRPs that need an answer and pass the rest on untouched.
  if (minor == IRP_MN_START_DEVICE || minor == IRP_MN_QUERY_REMOVE_DEVICE || minor == IRP_MN_REMOVE_DEVICE ||
      minor == IRP_MN_SURPRISE_REMOVAL)
    irp->IoStatus.Status = STATUS_SUCCESS;
  IoSkipCurrentIrpStackLocation(irp);
  NTSTATUS status = IoCallDriver(extension->lower, irp);
  if (minor == IRP_MN_REMOVE_DEVICE) {
    IoDetachDevice(extension->lower);
    IoDeleteDevice(fdo);
  }
  return status;
}

NTSTATUS NTAPI driverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
  driver->DriverExtension->AddDevice = addDevice;
  driver->MajorFunction[IRP_MJ_PNP] = dispatchPnp;
  return STATUS_SUCCESS;
}

}  // namespace builtin

TEST(PnpManagerBuiltinDrivers, ARegisteredBuiltinDriverServesItsDevicesAndIsNeverUnloaded) {
  Runtime runtime{RuntimeOptions{.processors = 1}};
  DriverObjectHandle driver = createDriverObject(u"hostbuiltin", builtin::driverEntry, nullptr);
  ASSERT_EQ(callDriverEntry(driver.get(), u"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\hostbuiltin"),
            STATUS_SUCCESS);
  PnpManager pnp(Manifest::parse("[[driver]]\nname = \"hostbuiltin\"\nbuiltin = true\nids = [\"ROOT\\\\HOSTBUILTIN\"]\n",
                                 "builtin.toml", "/"));
  EXPECT_THROW(pnp.registerBuiltinDriver("nosuchdriver", driver.get()), std::invalid_argument);
  pnp.registerBuiltinDriver("hostbuiltin", driver.get());
  builtin::starts = 0;
  builtin::removes = 0;

  std::string path = pnp.addRootDevice(ManifestDevice{{"ROOT\\HOSTBUILTIN"}, {}, "built in"});
  auto device = pnp.device(path);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->state, DeviceNodeState::Started) << device->problem;
  EXPECT_EQ(device->driver, "hostbuiltin");
  EXPECT_EQ(builtin::starts.load(), 1);

  EXPECT_TRUE(pnp.requestRemove(path).removed);
  EXPECT_EQ(builtin::removes.load(), 1);
  // The host owns the driver object: nothing was unloaded, no leak report is made for it.
  EXPECT_TRUE(pnp.shutdown().empty());
  EXPECT_TRUE(driverDevices(driver.get()).empty());
}

TEST(PnpManagerBuiltinDrivers, AnUnregisteredBuiltinDriverLeavesItsDeviceFailedWithAReason) {
  Runtime runtime{RuntimeOptions{.processors = 1}};
  PnpManager pnp(Manifest::parse("[[driver]]\nname = \"usbhub\"\nbuiltin = true\nids = [\"ROOT\\\\USB\"]\n",
                                 "builtin.toml", "/"));
  std::string path = pnp.addRootDevice(ManifestDevice{{"ROOT\\USB"}, {}, "usb"});
  auto device = pnp.device(path);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->state, DeviceNodeState::DriverFailed);
  EXPECT_NE(device->problem.find("builtin driver usbhub is not registered"), std::string::npos) << device->problem;
  EXPECT_TRUE(pnp.shutdown().empty());
}
