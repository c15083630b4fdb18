// Control devices a miniport registers with NdisRegisterDeviceEx, reached the way a tool
// reaches them (IoGetDeviceObjectPointer by name, IOCTLs from IoBuildDeviceIoControlRequest),
// their attribute checks and deregistration, the leak rule at unload, and NdisMRemoveMiniport.
// The devtest miniport (devtest/devtest.c) registers its control device in DriverEntry and
// deregisters it in MiniportDriverUnload.
#include "ndis_test.hpp"

#include "ndis_test_bed.hpp"

#include <dlfcn.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "devtest_control.h"
#include "ndis/core/ndis_object.hpp"

using namespace ndishost;
using ndishost::ndis::test::NdisTestBed;
using ndishost::ndis::test::NdisTestBedOptions;

namespace {

// The devtest image, mapped before the PnP manager loads it so DevTestControl and the
// exported helpers are reachable (and survive the driver's unload).
struct DevTestImage {
  DEVTEST_CONTROL* control = nullptr;
  NDIS_STATUS (*registerDevice)(ULONG, PDEVICE_OBJECT*, NDIS_HANDLE*) = nullptr;
  VOID (*deregisterDevice)(NDIS_HANDLE) = nullptr;
  NDIS_STATUS (*removeAdapter)() = nullptr;

  static DevTestImage& get() {
    static DevTestImage image = [] {
      DevTestImage loaded;
      void* handle = dlopen(NDISHOST_DEVTEST_DRIVER, RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) throw std::runtime_error(dlerror());
      loaded.control = static_cast<DEVTEST_CONTROL*>(dlsym(handle, "DevTestControl"));
      loaded.registerDevice =
          reinterpret_cast<NDIS_STATUS (*)(ULONG, PDEVICE_OBJECT*, NDIS_HANDLE*)>(dlsym(handle, "DevTestRegister"));
      loaded.deregisterDevice = reinterpret_cast<VOID (*)(NDIS_HANDLE)>(dlsym(handle, "DevTestDeregister"));
      loaded.removeAdapter = reinterpret_cast<NDIS_STATUS (*)()>(dlsym(handle, "DevTestRemoveAdapter"));
      if (!loaded.control || !loaded.registerDevice || !loaded.deregisterDevice || !loaded.removeAdapter)
        throw std::runtime_error("devtest exports missing");
      return loaded;
    }();
    return image;
  }
};

const std::string kHardwareId = DEVTEST_HARDWARE_ID;

UNICODE_STRING counted(const WCHAR* text) {
  UNICODE_STRING s;
  RtlInitUnicodeString(&s, text);
  return s;
}

// An open file object on a named device; closes (IRP_MJ_CLOSE) when it goes.
struct OpenDevice {
  PFILE_OBJECT file = nullptr;
  PDEVICE_OBJECT device = nullptr;
  NTSTATUS status = STATUS_UNSUCCESSFUL;

  explicit OpenDevice(const WCHAR* name) {
    UNICODE_STRING s = counted(name);
    status = IoGetDeviceObjectPointer(&s, FILE_READ_DATA | FILE_WRITE_DATA, &file, &device);
  }
  ~OpenDevice() { close(); }
  void close() {
    if (file != nullptr) ObDereferenceObject(file);
    file = nullptr;
  }
};

NTSTATUS waitFor(PDEVICE_OBJECT device, PIRP irp, KEVENT& event, IO_STATUS_BLOCK& iosb) {
  NTSTATUS status = IoCallDriver(device, irp);
  if (status == STATUS_PENDING) {
    KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
    status = iosb.Status;
  }
  return status;
}

NTSTATUS ioctl(PDEVICE_OBJECT device, ULONG code, const void* in, ULONG inLength, void* out, ULONG outLength,
               ULONG_PTR* information = nullptr) {
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb{};
  PIRP irp = IoBuildDeviceIoControlRequest(code, device, const_cast<void*>(in), inLength, out, outLength, FALSE,
                                           &event, &iosb);
  if (irp == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  NTSTATUS status = waitFor(device, irp, event, iosb);
  if (information != nullptr) *information = iosb.Information;
  return status;
}

class DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::memset(&control, 0, sizeof(control));
    NdisTestBedOptions options;
    options.miniports = {{"devtest", NDISHOST_DEVTEST_DRIVER, kHardwareId, {}}};
    bed = std::make_unique<NdisTestBed>(std::move(options));
  }
  void TearDown() override { bed.reset(); }

  // Plugs an adapter (loading the driver: DriverEntry registers the control device).
  std::string plugDevTest() {
    std::string nic = bed->plugRunning(kHardwareId);
    EXPECT_FALSE(nic.empty());
    EXPECT_EQ(control.RegisterStatus, NDIS_STATUS_SUCCESS);
    return nic;
  }

  DevTestImage& image = DevTestImage::get();
  DEVTEST_CONTROL& control = *DevTestImage::get().control;
  std::unique_ptr<NdisTestBed> bed;
};

TEST_F(DeviceTest, ControlDeviceServesCreateIoctlAndCloseThroughItsName) {
  std::string nic = plugDevTest();
  ASSERT_NE(control.ControlDevice, nullptr);
  ASSERT_NE(control.ReservedExtension, nullptr);
  EXPECT_EQ(NdisGetDeviceReservedExtension(control.ControlDevice), control.ReservedExtension);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(control.ReservedExtension) % MEMORY_ALLOCATION_ALIGNMENT, 0u);

  {
    OpenDevice byLink(DEVTEST_SYMBOLIC_NAME);  // \DosDevices\ name, through the symbolic link
    ASSERT_EQ(byLink.status, STATUS_SUCCESS);
    EXPECT_EQ(byLink.device, control.ControlDevice);
    EXPECT_EQ(control.CreateCalls, 1);
    EXPECT_EQ(control.CleanupCalls, 1);

    const UCHAR input[] = {1, 2, 3, 4, 5};
    UCHAR output[sizeof(input) + sizeof(DEVTEST_IOCTL_REPLY)] = {};
    ULONG_PTR information = 0;
    for (ULONG round = 1; round <= 2; ++round) {
      ASSERT_EQ(ioctl(byLink.device, IOCTL_DEVTEST_ECHO, input, sizeof(input), output, sizeof(output), &information),
                STATUS_SUCCESS);
      EXPECT_EQ(information, sizeof(output));
      const UCHAR reversed[] = {5, 4, 3, 2, 1};
      EXPECT_EQ(std::memcmp(output, reversed, sizeof(reversed)), 0);
      DEVTEST_IOCTL_REPLY reply;
      std::memcpy(&reply, output + sizeof(input), sizeof(reply));
      EXPECT_EQ(reply.Irql, static_cast<ULONG>(PASSIVE_LEVEL));
      EXPECT_EQ(reply.IoctlCount, round);  // kept in the reserved extension
      EXPECT_EQ(reply.ExtensionSeen, 1u);
    }
    // The driver's own answer to a code it does not know, and a too-small output buffer.
    EXPECT_EQ(ioctl(byLink.device, CTL_CODE(FILE_DEVICE_NETWORK, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS), nullptr, 0,
                    nullptr, 0),
              STATUS_INVALID_DEVICE_REQUEST);
    EXPECT_EQ(ioctl(byLink.device, IOCTL_DEVTEST_ECHO, input, sizeof(input), output, 4), STATUS_BUFFER_TOO_SMALL);
    EXPECT_EQ(control.IoctlCalls, 4);

    // A major function the driver left NULL: completed by NDIS, the driver never sees it.
    KEVENT event;
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb{};
    UCHAR buffer[8];
    LARGE_INTEGER offset{};
    PIRP read = IoBuildSynchronousFsdRequest(IRP_MJ_READ, byLink.device, buffer, sizeof(buffer), &offset, &event, &iosb);
    ASSERT_NE(read, nullptr);
    EXPECT_EQ(waitFor(byLink.device, read, event, iosb), STATUS_INVALID_DEVICE_REQUEST);

    OpenDevice byName(DEVTEST_DEVICE_NAME);
    ASSERT_EQ(byName.status, STATUS_SUCCESS);
    EXPECT_EQ(byName.device, control.ControlDevice);
    EXPECT_EQ(control.CreateCalls, 2);
    EXPECT_EQ(control.CloseCalls, 0);
  }
  EXPECT_EQ(control.CloseCalls, 2);

  // Removing the adapter unloads the driver; its unload deregisters the device.
  nt::RecordViolationsScope scope;
  ASSERT_EQ(bed->unplug(nic), STATUS_SUCCESS);
  EXPECT_EQ(control.UnloadCalls, 1);
  EXPECT_TRUE(scope.take().empty());
  OpenDevice gone(DEVTEST_DEVICE_NAME);
  EXPECT_EQ(gone.status, STATUS_OBJECT_NAME_NOT_FOUND);
  OpenDevice linkGone(DEVTEST_SYMBOLIC_NAME);
  EXPECT_EQ(linkGone.status, STATUS_OBJECT_NAME_NOT_FOUND);
  EXPECT_TRUE(bed->shutdown().empty());
}

TEST_F(DeviceTest, AttributesAreCheckedAndNamesMustBeFree) {
  std::string nic = plugDevTest();
  PDEVICE_OBJECT device = reinterpret_cast<PDEVICE_OBJECT>(1);
  NDIS_HANDLE handle = reinterpret_cast<NDIS_HANDLE>(1);
  for (ULONG mode : {DevTestRegisterBadType, DevTestRegisterBadRevision, DevTestRegisterBadSize}) {
    EXPECT_EQ(image.registerDevice(mode, &device, &handle), NDIS_STATUS_INVALID_PARAMETER) << "mode " << mode;
    EXPECT_EQ(device, nullptr);
    EXPECT_EQ(handle, nullptr);
  }
  // The control device's name is taken; so is its symbolic link (and the half-made device goes).
  EXPECT_EQ(image.registerDevice(DevTestRegisterGood, &device, &handle),
            static_cast<NDIS_STATUS>(STATUS_OBJECT_NAME_COLLISION));
  EXPECT_EQ(image.registerDevice(DevTestRegisterSameLink, &device, &handle),
            static_cast<NDIS_STATUS>(STATUS_OBJECT_NAME_COLLISION));
  EXPECT_EQ(OpenDevice(L"\\Device\\NdisDevTest3").status, STATUS_OBJECT_NAME_NOT_FOUND);

  // A second device without link or extension: reachable by name, no reserved extension.
  ASSERT_EQ(image.registerDevice(DevTestRegisterOtherName, &device, &handle), NDIS_STATUS_SUCCESS);
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(NdisGetDeviceReservedExtension(device), nullptr);
  {
    OpenDevice other(L"\\Device\\NdisDevTest2");
    ASSERT_EQ(other.status, STATUS_SUCCESS);
    EXPECT_EQ(other.device, device);
  }
  image.deregisterDevice(handle);
  EXPECT_EQ(OpenDevice(L"\\Device\\NdisDevTest2").status, STATUS_OBJECT_NAME_NOT_FOUND);

  nt::RecordViolationsScope scope;
  // Deregistering twice, and a PnP handler in MajorFunctions (ignored, device still made).
  image.deregisterDevice(handle);
  EXPECT_EQ(ndistest::rules(scope), std::vector<std::string>{"ndis.bad-handle"});
  ASSERT_EQ(image.registerDevice(DevTestRegisterPnpHandler, &device, &handle), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(ndistest::rules(scope), std::vector<std::string>{"ndis.device-pnp-power-handler"});
  image.deregisterDevice(handle);

  // Only a miniport driver handle may register a device.
  ndis::StandaloneHandle standalone("device test handle", nullptr, nullptr);
  NDIS_DEVICE_OBJECT_ATTRIBUTES attributes{};
  EXPECT_EQ(NdisRegisterDeviceEx(standalone.handle(), &attributes, &device, &handle), NDIS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(ndistest::rules(scope), std::vector<std::string>{"ndis.bad-handle"});

  // PASSIVE_LEVEL only.
  KIRQL old = KeRaiseIrqlToDpcLevel();
  NDIS_STATUS atDispatch = image.registerDevice(DevTestRegisterOtherName, &device, &handle);
  KeLowerIrql(old);
  EXPECT_EQ(atDispatch, NDIS_STATUS_FAILURE);
  EXPECT_EQ(ndistest::rules(scope), std::vector<std::string>{"irql.too-high"});

  // Not an NDIS control device: no reserved extension.
  ASSERT_NE(bed->adapter(nic), nullptr);
  EXPECT_EQ(NdisGetDeviceReservedExtension(bed->adapter(nic)->fdo()), nullptr);
  EXPECT_EQ(NdisGetDeviceReservedExtension(nullptr), nullptr);
  EXPECT_TRUE(bed->shutdown().empty());
  EXPECT_TRUE(scope.take().empty());
}

TEST_F(DeviceTest, DeviceLeftAtUnloadIsReportedAndRemoved) {
  control.SkipDeregister = TRUE;
  std::string nic = plugDevTest();
  nt::RecordViolationsScope scope;
  ASSERT_EQ(bed->unplug(nic), STATUS_SUCCESS);
  EXPECT_EQ(control.UnloadCalls, 1);
  EXPECT_EQ(ndistest::rules(scope), std::vector<std::string>{"ndis.device-not-deregistered"});
  EXPECT_EQ(OpenDevice(DEVTEST_DEVICE_NAME).status, STATUS_OBJECT_NAME_NOT_FOUND);
  EXPECT_EQ(OpenDevice(DEVTEST_SYMBOLIC_NAME).status, STATUS_OBJECT_NAME_NOT_FOUND);
  EXPECT_TRUE(bed->shutdown().empty());
}

TEST_F(DeviceTest, RemoveMiniportHasPnpRemoveTheAdapter) {
  std::string nic = plugDevTest();
  ASSERT_NE(control.AdapterHandle, nullptr);
  EXPECT_EQ(image.removeAdapter(), NDIS_STATUS_SUCCESS);
  bool removed = false;
  for (int i = 0; i < 500 && !removed; ++i) {
    bed->settle();
    removed = bed->adapter(nic) == nullptr;
  }
  EXPECT_TRUE(removed);
  EXPECT_EQ(control.HaltCalls, 1);
  EXPECT_EQ(control.UnloadCalls, 1);  // its last adapter gone, the driver unloaded
  EXPECT_TRUE(bed->shutdown().empty());
}

}  // namespace
