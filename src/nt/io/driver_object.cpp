// Driver objects: created by the loader for each driver image, handed to DriverEntry,
// retired after Unload once the driver's last device object is gone.
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "nt/io/io_objects.hpp"
#include "nt/rtl/text_codec.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::nt {
namespace {

constexpr std::size_t kDriverExtensionOffset = alignObjectPart(sizeof(DRIVER_OBJECT));
constexpr std::size_t kDriverRuntimeOffset = kDriverExtensionOffset + alignObjectPart(sizeof(DRIVER_EXTENSION));
constexpr std::size_t kDriverBodySize = kDriverRuntimeOffset + sizeof(DriverRuntime);

char* bodyBytes(PDRIVER_OBJECT driver) { return reinterpret_cast<char*>(driver); }

// What Windows installs in every MajorFunction slot a driver leaves alone.
NTSTATUS NTAPI invalidDeviceRequest(PDEVICE_OBJECT, PIRP irp) {
  irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
  irp->IoStatus.Information = 0;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return STATUS_INVALID_DEVICE_REQUEST;
}

void deleteDriverObject(ObjectHeader& header) {
  auto* driver = static_cast<PDRIVER_OBJECT>(header.body());
  DriverRuntime& runtime = driverRuntime(driver);
  logger("io").debug("driver object {} deleted", runtime.serviceName8);
  runtime.~DriverRuntime();
  freeObjectMemory(header);
}

UNICODE_STRING countedString(std::u16string& text) {
  UNICODE_STRING s;
  s.Length = static_cast<USHORT>(text.size() * sizeof(WCHAR));
  s.MaximumLength = static_cast<USHORT>(s.Length + sizeof(WCHAR));
  s.Buffer = reinterpret_cast<PWCH>(text.data());
  return s;
}

}  // namespace

DriverRuntime& driverRuntime(PDRIVER_OBJECT driver) {
  return *std::launder(reinterpret_cast<DriverRuntime*>(bodyBytes(driver) + kDriverRuntimeOffset));
}

std::string narrow(std::u16string_view text) { return rtl::toUtf8(text); }

void DriverObjectRelease::operator()(PDRIVER_OBJECT driver) const {
  ObjectHeader* header = objectHeaderOf(driver, ObjectType::Driver);
  if (header == nullptr) return;
  if (driver->DeviceObject != nullptr) {
    logger("io").warn("driver {} retired with device objects still present; its object lives until they are deleted",
                      driverRuntime(driver).serviceName8);
  }
  dereferenceObject(*header);
}

DriverObjectHandle createDriverObject(std::u16string_view serviceName, PDRIVER_INITIALIZE entry,
                                      const DriverImage* image) {
  if (serviceName.empty() || serviceName.size() > 200) return nullptr;
  ObjectHeader& header = allocateObject(ObjectType::Driver, kDriverBodySize, &deleteDriverObject);
  auto* driver = static_cast<PDRIVER_OBJECT>(header.body());
  auto* extension = reinterpret_cast<PDRIVER_EXTENSION>(bodyBytes(driver) + kDriverExtensionOffset);
  auto* runtime = new (bodyBytes(driver) + kDriverRuntimeOffset) DriverRuntime;

  runtime->serviceName = serviceName;
  runtime->driverName = u"\\Driver\\" + std::u16string(serviceName);
  runtime->serviceName8 = narrow(serviceName);
  runtime->image = image;

  driver->Type = IO_TYPE_DRIVER;
  driver->Size = sizeof(DRIVER_OBJECT);
  driver->DriverExtension = extension;
  driver->DriverName = countedString(runtime->driverName);
  driver->DriverInit = entry;
  if (image != nullptr) {
    driver->DriverStart = reinterpret_cast<PVOID>(image->base);
    driver->DriverSize = static_cast<ULONG>(image->end - image->base);
  }
  for (auto& dispatch : driver->MajorFunction) dispatch = &invalidDeviceRequest;
  extension->DriverObject = driver;
  extension->ServiceKeyName = countedString(runtime->serviceName);

  logger("io").debug("driver object {} created", runtime->serviceName8);
  return DriverObjectHandle(driver);
}

NTSTATUS callDriverEntry(PDRIVER_OBJECT driver, std::u16string_view registryPath) {
  checkIrqlAtMost(PASSIVE_LEVEL, "DriverEntry", __builtin_return_address(0));
  DriverRuntime& runtime = driverRuntime(driver);
  if (driver->DriverInit == nullptr) return STATUS_INVALID_PARAMETER;
  runtime.registryPath = registryPath;
  UNICODE_STRING path = countedString(runtime.registryPath);

  NTSTATUS status = driver->DriverInit(driver, &path);

  {
    // Windows finishes initialising the device objects a driver created in DriverEntry;
    // those a PnP driver creates later in AddDevice it must finish itself.
    std::lock_guard guard(ioDatabaseLock());
    for (PDEVICE_OBJECT device = driver->DeviceObject; device != nullptr; device = device->NextDevice) {
      device->Flags &= ~static_cast<ULONG>(DO_DEVICE_INITIALIZING);
    }
  }
  logger("io").info("{}: DriverEntry returned {}", runtime.serviceName8, statusName(status));
  if (traceEnabled()) {
    traceEmit(TraceCategory::Driver, runtime.serviceName8, fmt::format("DriverEntry -> {}", statusName(status)));
  }
  return status;
}

bool callDriverUnload(PDRIVER_OBJECT driver) {
  checkIrqlAtMost(PASSIVE_LEVEL, "DriverUnload", __builtin_return_address(0));
  if (driver->DriverUnload == nullptr) return false;
  driver->DriverUnload(driver);
  if (traceEnabled()) traceEmit(TraceCategory::Driver, driverRuntime(driver).serviceName8, "Unload");
  return true;
}

std::vector<PDEVICE_OBJECT> driverDevices(PDRIVER_OBJECT driver) {
  std::vector<PDEVICE_OBJECT> devices;
  std::lock_guard guard(ioDatabaseLock());
  for (PDEVICE_OBJECT device = driver->DeviceObject; device != nullptr; device = device->NextDevice) {
    devices.push_back(device);
  }
  return devices;
}

const DriverImage* driverImage(PDRIVER_OBJECT driver) { return driverRuntime(driver).image; }

std::string driverServiceName(PDRIVER_OBJECT driver) { return driverRuntime(driver).serviceName8; }

}  // namespace ndishost::nt
