// MiniportDriver and the entry points NDIS installs in a miniport's driver object.
//
// AddDevice and the IRP routines are the adapter's (adapter_pnp.cpp). DriverUnload calls
// the miniport's MiniportDriverUnload, which deregisters.
#include "ndis/miniport/miniport_driver.hpp"

#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/miniport/adapter_pnp.hpp"
#include "ndis/miniport/control_device.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {
namespace {

std::mutex driversLock;
std::unordered_map<PDRIVER_OBJECT, MiniportDriver*> drivers;

// IRQL PASSIVE_LEVEL (the PnP manager's thread).
NTSTATUS NTAPI ndisAddDevice(PDRIVER_OBJECT driverObject, PDEVICE_OBJECT physicalDeviceObject) {
  MiniportDriver* driver = MiniportDriver::fromDriverObject(driverObject);
  if (driver == nullptr) {
    nt::logger("ndis").error("AddDevice for PDO {}: the driver object has no registered miniport driver",
                             static_cast<void*>(physicalDeviceObject));
    return STATUS_NO_SUCH_DEVICE;
  }
  return addAdapterDevice(*driver, physicalDeviceObject);
}

NTSTATUS NTAPI ndisDispatch(PDEVICE_OBJECT deviceObject, PIRP irp) { return dispatchAdapterIrp(deviceObject, irp); }

VOID NTAPI ndisUnload(PDRIVER_OBJECT driverObject) {
  MiniportDriver* driver = MiniportDriver::fromDriverObject(driverObject);
  if (driver == nullptr) return;
  std::string name = driver->describe();
  MINIPORT_UNLOAD_HANDLER unload = driver->characteristics().UnloadHandler;
  nt::logger("ndis").info("{}: calling MiniportDriverUnload", name);
  unload(driverObject);  // PASSIVE_LEVEL; the miniport calls NdisMDeregisterMiniportDriver here
  deregisterLeftoverDevices(driverObject, reinterpret_cast<const void*>(unload));
  if (MiniportDriver* left = MiniportDriver::fromDriverObject(driverObject); left != nullptr) {
    reportNdisViolation("ndis.unload-without-deregister", NdisBugSubcode::BadHandle, left, 0,
                        reinterpret_cast<const void*>(unload),
                        fmt::format("{}: MiniportDriverUnload returned without calling NdisMDeregisterMiniportDriver",
                                    name));
    delete left;
  }
}

}  // namespace

MiniportDriver::MiniportDriver(PDRIVER_OBJECT driverObject, NDIS_HANDLE driverContext,
                               const NDIS_MINIPORT_DRIVER_CHARACTERISTICS& characteristics, std::string name)
    : NdisObject(NdisObjectKind::MiniportDriver),
      driverObject_(driverObject),
      driverContext_(driverContext),
      characteristics_(characteristics),
      name_(std::move(name)),
      configuration_(std::make_shared<ConfigurationStore>()) {
  std::lock_guard guard(driversLock);
  drivers[driverObject] = this;
}

MiniportDriver::~MiniportDriver() {
  std::lock_guard guard(driversLock);
  auto it = drivers.find(driverObject_);
  if (it != drivers.end() && it->second == this) drivers.erase(it);
}

MiniportDriver* MiniportDriver::fromDriverObject(PDRIVER_OBJECT driverObject) {
  std::lock_guard guard(driversLock);
  auto it = drivers.find(driverObject);
  return it != drivers.end() ? it->second : nullptr;
}

MiniportDriver* MiniportDriver::fromHandle(NDIS_HANDLE handle) {
  NdisObject* object = NdisObject::fromHandle(handle);
  return object != nullptr && object->kind() == NdisObjectKind::MiniportDriver ? static_cast<MiniportDriver*>(object)
                                                                               : nullptr;
}

void takeOverDriverObject(PDRIVER_OBJECT driverObject) {
  if (driverObject->DriverExtension != nullptr) driverObject->DriverExtension->AddDevice = ndisAddDevice;
  driverObject->DriverUnload = ndisUnload;
  for (auto& routine : driverObject->MajorFunction) routine = ndisDispatch;
}

}  // namespace ndishost::ndis
