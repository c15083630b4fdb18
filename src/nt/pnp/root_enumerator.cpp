#include <cstring>
#include <new>
#include <stdexcept>
#include <fmt/format.h>

#include "nt/pnp/root_enumerator.hpp"
#include "nt/pnp/driver_loader.hpp"

namespace ndishost::nt::pnp {

// What a root PDO's device extension points at.
struct RootDevice {
  ManifestDevice spec;
  std::string instanceId;
  ULONG index = 0;
};

namespace {

constexpr ULONG kRootPoolTag = 'tooR';  // "Root" in pool dumps

RootDevice& rootDevice(PDEVICE_OBJECT pdo) { return **static_cast<RootDevice**>(pdo->DeviceExtension); }

// A string list as the PnP IRPs return it, in paged pool the caller frees: one string, or
// a MULTI_SZ (each string terminated, then one more terminator).
PWCHAR allocateStrings(const std::vector<std::string>& strings, bool multiSz) {
  std::size_t chars = multiSz ? 1 : 0;
  for (const auto& s : strings) chars += s.size() + 1;
  auto* buffer = static_cast<PWCHAR>(ExAllocatePool2(POOL_FLAG_PAGED, chars * sizeof(WCHAR), kRootPoolTag));
  if (buffer == nullptr) return nullptr;
  PWCHAR next = buffer;
  for (const auto& s : strings) {
    for (unsigned char c : s) *next++ = static_cast<WCHAR>(c);
    *next++ = 0;
  }
  if (multiSz) *next = 0;
  return buffer;
}

NTSTATUS completeWith(PIRP irp, NTSTATUS status) {
  irp->IoStatus.Status = status;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return status;
}

// IRQL: PASSIVE_LEVEL.
NTSTATUS NTAPI rootDispatchPnp(PDEVICE_OBJECT pdo, PIRP irp) {
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
  RootDevice& device = rootDevice(pdo);
  NTSTATUS status = irp->IoStatus.Status;
  PWCHAR buffer = nullptr;

  switch (stack->MinorFunction) {
    case IRP_MN_QUERY_ID:
      switch (stack->Parameters.QueryId.IdType) {
        case BusQueryDeviceID: buffer = allocateStrings({device.spec.hardwareIds.front()}, false); break;
        case BusQueryHardwareIDs: buffer = allocateStrings(device.spec.hardwareIds, true); break;
        case BusQueryCompatibleIDs:
          if (device.spec.compatibleIds.empty()) return completeWith(irp, status);
          buffer = allocateStrings(device.spec.compatibleIds, true);
          break;
        case BusQueryInstanceID: buffer = allocateStrings({device.instanceId}, false); break;
        default: return completeWith(irp, status);
      }
      if (buffer == nullptr) return completeWith(irp, STATUS_INSUFFICIENT_RESOURCES);
      irp->IoStatus.Information = reinterpret_cast<ULONG_PTR>(buffer);
      return completeWith(irp, STATUS_SUCCESS);

    case IRP_MN_QUERY_DEVICE_TEXT:
      if (stack->Parameters.QueryDeviceText.DeviceTextType != DeviceTextDescription) return completeWith(irp, status);
      buffer = allocateStrings({device.spec.description}, false);
      if (buffer == nullptr) return completeWith(irp, STATUS_INSUFFICIENT_RESOURCES);
      irp->IoStatus.Information = reinterpret_cast<ULONG_PTR>(buffer);
      return completeWith(irp, STATUS_SUCCESS);

    case IRP_MN_QUERY_CAPABILITIES: {
      PDEVICE_CAPABILITIES caps = stack->Parameters.DeviceCapabilities.Capabilities;
      if (caps->Version != 1 || caps->Size < sizeof(DEVICE_CAPABILITIES)) return completeWith(irp, STATUS_UNSUCCESSFUL);
      caps->DeviceState[PowerSystemWorking] = PowerDeviceD0;
      for (int s = PowerSystemSleeping1; s < PowerSystemMaximum; ++s) caps->DeviceState[s] = PowerDeviceD3;
      caps->SystemWake = PowerSystemUnspecified;
      caps->DeviceWake = PowerDeviceUnspecified;
      caps->Removable = FALSE;  // a root device is part of the machine
      caps->SurpriseRemovalOK = FALSE;
      caps->UniqueID = FALSE;
      caps->SilentInstall = TRUE;
      caps->Address = device.index;
      caps->UINumber = device.index;
      return completeWith(irp, STATUS_SUCCESS);
    }

    case IRP_MN_QUERY_DEVICE_RELATIONS: {
      if (stack->Parameters.QueryDeviceRelations.Type != TargetDeviceRelation) return completeWith(irp, status);
      auto* relations =
          static_cast<PDEVICE_RELATIONS>(ExAllocatePool2(POOL_FLAG_PAGED, sizeof(DEVICE_RELATIONS), kRootPoolTag));
      if (relations == nullptr) return completeWith(irp, STATUS_INSUFFICIENT_RESOURCES);
      relations->Count = 1;
      relations->Objects[0] = pdo;
      ObReferenceObject(pdo);
      irp->IoStatus.Information = reinterpret_cast<ULONG_PTR>(relations);
      return completeWith(irp, STATUS_SUCCESS);
    }

    case IRP_MN_START_DEVICE: {
      POWER_STATE on;
      on.DeviceState = PowerDeviceD0;
      PoSetPowerState(pdo, DevicePowerState, on);
      return completeWith(irp, STATUS_SUCCESS);
    }

    case IRP_MN_REMOVE_DEVICE: {
      POWER_STATE off;
      off.DeviceState = PowerDeviceD3;
      PoSetPowerState(pdo, DevicePowerState, off);
      return completeWith(irp, STATUS_SUCCESS);
    }

    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
      // Nothing to switch on or off; the PDO itself lives until the PnP manager deletes it.
      return completeWith(irp, STATUS_SUCCESS);

    default:
      return completeWith(irp, status);
  }
}

// IRQL: PASSIVE_LEVEL (root PDOs are DO_POWER_PAGABLE).
NTSTATUS NTAPI rootDispatchPower(PDEVICE_OBJECT pdo, PIRP irp) {
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
  NTSTATUS status = irp->IoStatus.Status;
  if (stack->MinorFunction == IRP_MN_SET_POWER) {
    if (stack->Parameters.Power.Type == DevicePowerState) {
      PoSetPowerState(pdo, DevicePowerState, stack->Parameters.Power.State);
    }
    status = STATUS_SUCCESS;
  } else if (stack->MinorFunction == IRP_MN_QUERY_POWER) {
    status = STATUS_SUCCESS;
  }
  PoStartNextPowerIrp(irp);
  return completeWith(irp, status);
}

// IRQL: PASSIVE_LEVEL.
NTSTATUS NTAPI rootDriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
  driver->MajorFunction[IRP_MJ_PNP] = rootDispatchPnp;
  driver->MajorFunction[IRP_MJ_POWER] = rootDispatchPower;
  return STATUS_SUCCESS;
}

}  // namespace

RootEnumerator::RootEnumerator() {
  driver_ = createDriverObject(u"PnpManager", rootDriverEntry, nullptr);
  if (!driver_) throw std::runtime_error("cannot create the root enumerator's driver object");
  NTSTATUS status = callDriverEntry(driver_.get(), serviceRegistryPath("PnpManager"));
  if (!NT_SUCCESS(status)) throw std::runtime_error("the root enumerator's DriverEntry failed");
}

RootEnumerator::~RootEnumerator() {
  for (PDEVICE_OBJECT pdo : driverDevices(driver_.get())) deleteDevice(pdo);
}

PDEVICE_OBJECT RootEnumerator::createDevice(const ManifestDevice& spec) {
  PDEVICE_OBJECT pdo = nullptr;
  NTSTATUS status = IoCreateDevice(driver_.get(), sizeof(RootDevice*), nullptr, FILE_DEVICE_CONTROLLER,
                                   FILE_AUTOGENERATED_DEVICE_NAME | FILE_DEVICE_SECURE_OPEN, FALSE, &pdo);
  if (!NT_SUCCESS(status)) {
    throw std::runtime_error(fmt::format("cannot create a root PDO for {}: {}", spec.hardwareIds.front(), statusName(status)));
  }
  unsigned& next = nextInstance_[spec.hardwareIds.front()];
  auto device = std::make_unique<RootDevice>(RootDevice{spec, fmt::format("{:04}", next), next});
  ++next;
  *static_cast<RootDevice**>(pdo->DeviceExtension) = device.get();
  devices_.emplace(pdo, std::move(device));
  pdo->Flags |= DO_POWER_PAGABLE | DO_BUS_ENUMERATED_DEVICE;
  pdo->Flags &= ~DO_DEVICE_INITIALIZING;
  return pdo;
}

void RootEnumerator::deleteDevice(PDEVICE_OBJECT pdo) {
  *static_cast<RootDevice**>(pdo->DeviceExtension) = nullptr;
  devices_.erase(pdo);
  IoDeleteDevice(pdo);
}

}  // namespace ndishost::nt::pnp
