#include "io_test_support.hpp"

#include <algorithm>
#include <new>

namespace iotest {
namespace {

constexpr std::size_t kTestDeviceSize = (sizeof(TestDevice) + 15) & ~std::size_t{15};

NTSTATUS NTAPI routeToHandler(PDEVICE_OBJECT device, PIRP irp) { return testDevice(device).handler(device, irp); }

}  // namespace

TestDevice& testDevice(PDEVICE_OBJECT device) { return *static_cast<TestDevice*>(device->DeviceExtension); }

void* extraExtension(PDEVICE_OBJECT device) { return static_cast<char*>(device->DeviceExtension) + kTestDeviceSize; }

TestDriver::TestDriver(std::u16string serviceName)
    : driver_(ndishost::nt::createDriverObject(serviceName, nullptr, nullptr)) {
  for (auto& dispatch : driver_->MajorFunction) dispatch = &routeToHandler;
}

TestDriver::~TestDriver() {
  while (!devices_.empty()) deleteDevice(devices_.back());
}

PDEVICE_OBJECT TestDriver::createDevice(std::string name, Handler handler, PDEVICE_OBJECT attachTo, ULONG extraBytes,
                                        ULONG flags, PUNICODE_STRING deviceName) {
  PDEVICE_OBJECT device = nullptr;
  NTSTATUS status = IoCreateDevice(driver_.get(), static_cast<ULONG>(kTestDeviceSize + extraBytes), deviceName,
                                   FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
  EXPECT_EQ(status, STATUS_SUCCESS);
  if (!NT_SUCCESS(status)) return nullptr;
  auto* test = new (device->DeviceExtension) TestDevice;
  test->name = name;
  test->self = device;
  test->handler = std::move(handler);
  ndishost::nt::deviceRuntime(device).traceName = name;
  if (attachTo != nullptr) test->lower = IoAttachDeviceToDeviceStack(device, attachTo);
  device->Flags |= flags;
  device->Flags &= ~static_cast<ULONG>(DO_DEVICE_INITIALIZING);
  devices_.push_back(device);
  return device;
}

void TestDriver::deleteDevice(PDEVICE_OBJECT device) {
  auto it = std::find(devices_.begin(), devices_.end(), device);
  if (it == devices_.end()) return;
  devices_.erase(it);
  TestDevice& test = testDevice(device);
  if (test.lower != nullptr) IoDetachDevice(test.lower);
  test.~TestDevice();
  IoDeleteDevice(device);
}

NTSTATUS passDown(PDEVICE_OBJECT device, PIRP irp) {
  IoSkipCurrentIrpStackLocation(irp);
  return IoCallDriver(testDevice(device).lower, irp);
}

NTSTATUS completeWith(PIRP irp, NTSTATUS status, ULONG_PTR information) {
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return status;
}

NTSTATUS NTAPI probeCompletion(PDEVICE_OBJECT device, PIRP irp, PVOID context) {
  return static_cast<CompletionProbe*>(context)->routine(device, irp);
}

bool Event::wait(int milliseconds) {
  LARGE_INTEGER timeout;
  timeout.QuadPart = -10000LL * milliseconds;
  return KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &timeout) == STATUS_SUCCESS;
}

}  // namespace iotest
