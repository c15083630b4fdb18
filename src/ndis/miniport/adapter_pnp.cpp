// NDIS's AddDevice and IRP dispatch for a miniport adapter's FDO (guide: "Starting a NIC",
// "Stopping a NIC", "Processing the Surprise Removal of a NIC (Windows 7 and Later)",
// "Power Management for WDM Lower Edge"). Every IRP arrives on the PnP worker at
// PASSIVE_LEVEL (the FDO is DO_POWER_PAGABLE).
//
// IRP_MJ_PNP:
//   START_DEVICE      forwarded down first (completion routine + event), then
//                     MiniportInitializeEx; START completes with its status (NDIS_STATUS
//                     errors are NTSTATUS errors; any other failure is STATUS_UNSUCCESSFUL).
//                     Then the stack above binds (adapterArrived, adapter Paused) and NDIS
//                     restarts the adapter (MiniportRestart), before the dispatch returns.
//   QUERY_REMOVE / QUERY_STOP   NetEventQueryRemoveDevice to every bound protocol ("Removing a
//                     NIC", "Stopping a NIC"); a protocol that fails it vetoes: the IRP fails
//                     with its status (the PnP manager then cancels, the adapter stays as it
//                     was). Otherwise succeeded and passed down.
//   CANCEL_REMOVE / CANCEL_STOP   passed down and waited for, then NetEventCancelRemoveDevice
//                     to every bound protocol.
//   QUERY_PNP_DEVICE_STATE   passed down and waited for; PNP_DEVICE_FAILED is added once the
//                     miniport called NdisMRemoveMiniport, so the PnP manager removes it.
//   STOP_DEVICE       pause, MiniportHaltEx(NdisHaltDeviceStopped), passed down; the FDO
//                     stays and a later START initializes the adapter again.
//   SURPRISE_REMOVAL  MiniportDevicePnPEventNotify(NdisDevicePnPEventSurpriseRemoved), pause,
//                     MiniportHaltEx(NdisHaltDeviceSurpriseRemoved), then passed down.
//   REMOVE_DEVICE     an adapter still initialized is paused and halted
//                     (NdisHaltDeviceDisabled); REMOVE is passed down; the FDO is detached
//                     and deleted with the adapter. A Shutdown adapter is not halted ("cannot
//                     be used until the system is shut down and restarted").
//   anything else     passed down untouched.
// IRP_MJ_POWER (PoStartNextPowerIrp, PoCallDriver):
//   SET_POWER D1-D3   the adapter is paused, AdapterTraffic::setDevicePower (OID_PNP_QUERY_POWER,
//                     OID_PNP_SET_POWER), then passed down.
//   SET_POWER D0      passed down and waited for, AdapterTraffic::setDevicePower(D0), restart.
//   SET_POWER S1-S4   NDIS is the power policy owner: it requests D3 (PoRequestPowerIrp), then
//                     passes the system IRP down; S0 passes it down, then requests D0.
//   SET_POWER S5      MiniportShutdownEx(NdisShutdownPowerOff) (adapter Shutdown), passed down.
//   QUERY_POWER       succeeded and passed down.
// IRP_MJ_SYSTEM_CONTROL: passed down. Other majors: STATUS_NOT_SUPPORTED (a miniport's device
//   interface is a control device from NdisRegisterDeviceEx, device_ddi.cpp, not the FDO).
//
// NdisMRemoveMiniport (any IRQL <= DISPATCH_LEVEL) marks the adapter failed and calls
// IoInvalidateDeviceState on its PDO; the PnP manager then queries the device state, sees
// PNP_DEVICE_FAILED and removes the device (surprise removal, then remove), halting the adapter.
#include "ndis/miniport/adapter_pnp.hpp"

#include <atomic>
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/miniport/adapter.hpp"
#include "ndis/miniport/adapter_lifecycle.hpp"
#include "ndis/miniport/adapter_observer.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "nt/io/io_manager.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::ndis {
namespace {

std::atomic<NET_IFINDEX> nextIfIndex{1};

// Adapters whose miniport called NdisMRemoveMiniport; forgotten when the FDO goes.
struct FailedAdapters {
  std::mutex lock;
  std::unordered_set<const Adapter*> adapters;
};
FailedAdapters& failedAdapters() {
  static FailedAdapters instance;
  return instance;
}
bool failedByMiniport(const Adapter& adapter) {
  std::lock_guard guard(failedAdapters().lock);
  return failedAdapters().adapters.contains(&adapter);
}

NTSTATUS NTAPI signalForwardedIrp(PDEVICE_OBJECT device, PIRP irp, PVOID context) {
  (void)device;
  (void)irp;
  KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;  // the IRP is ours again; we complete it
}

// Sends the current IRP down and waits for the lower drivers to finish it.
NTSTATUS forwardAndWait(Adapter& adapter, PIRP irp) {
  KEVENT done;
  KeInitializeEvent(&done, NotificationEvent, FALSE);
  IoCopyCurrentIrpStackLocationToNext(irp);
  IoSetCompletionRoutine(irp, signalForwardedIrp, &done, TRUE, TRUE, TRUE);
  NTSTATUS status = IoCallDriver(adapter.lowerDevice(), irp);
  if (status == STATUS_PENDING) {
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
  }
  return irp->IoStatus.Status;
}

NTSTATUS passDown(Adapter& adapter, PIRP irp) {
  IoSkipCurrentIrpStackLocation(irp);
  return IoCallDriver(adapter.lowerDevice(), irp);
}

NTSTATUS complete(PIRP irp, NTSTATUS status) {
  irp->IoStatus.Status = status;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return status;
}

void tracePnp(const Adapter& adapter, const std::string& text) {
  if (nt::traceEnabled()) nt::traceEmit(nt::TraceCategory::Ndis, adapter.describe(), text);
}

NTSTATUS toNtStatus(NDIS_STATUS status) {
  // NDIS_STATUS codes are NTSTATUS codes; a non-error that is not success cannot start a device.
  if (status == NDIS_STATUS_SUCCESS) return STATUS_SUCCESS;
  return NT_ERROR(status) ? static_cast<NTSTATUS>(status) : STATUS_UNSUCCESSFUL;
}

NTSTATUS startDevice(Adapter& adapter, PIRP irp) {
  NTSTATUS status = forwardAndWait(adapter, irp);
  if (!NT_SUCCESS(status)) {
    nt::logger("ndis").error("{}: the lower drivers failed IRP_MN_START_DEVICE with {}", adapter.describe(),
                             nt::statusName(status));
    return complete(irp, status);
  }
  status = toNtStatus(initializeAdapter(adapter));
  irp->IoStatus.Information = 0;
  complete(irp, status);
  tracePnp(adapter, fmt::format("IRP_MN_START_DEVICE completed with {}", nt::statusName(status)));
  if (NT_SUCCESS(status)) {
    adapter.setDevicePower(PowerDeviceD0);
    notifyAdapterArrived(adapter);  // bindings are made while the adapter is Paused
    restartAdapter(adapter);
  }
  return status;
}

NTSTATUS stopDevice(Adapter& adapter, PIRP irp) {
  if (bringToPaused(adapter, NDIS_PAUSE_NDIS_INTERNAL)) haltAdapter(adapter, NdisHaltDeviceStopped);
  irp->IoStatus.Status = STATUS_SUCCESS;
  return passDown(adapter, irp);
}

NTSTATUS surpriseRemoval(Adapter& adapter, PIRP irp) {
  adapter.setSurpriseRemoved();
  AdapterState state = adapter.state();
  if (state != AdapterState::Halted && state != AdapterState::Shutdown) {
    bool surpriseRemoveOk;
    {
      std::lock_guard guard(adapter.attributesLock());
      const auto& registration = adapter.attributes().registration;
      surpriseRemoveOk =
          registration && (registration->AttributeFlags & NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK) != 0;
    }
    if (!surpriseRemoveOk)
      nt::logger("ndis").warn("{}: surprise-removed, but the miniport did not set "
                              "NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK (it may not handle it)",
                              adapter.describe());
    adapter.traffic().onSurpriseRemoved();
    notifyDevicePnPEvent(adapter, NdisDevicePnPEventSurpriseRemoved);
    if (bringToPaused(adapter, NDIS_PAUSE_MINIPORT_DEVICE_REMOVE))
      haltAdapter(adapter, NdisHaltDeviceSurpriseRemoved);
  }
  irp->IoStatus.Status = STATUS_SUCCESS;
  return passDown(adapter, irp);
}

NTSTATUS removeDevice(Adapter& adapter, PIRP irp) {
  if (adapter.state() != AdapterState::Halted && adapter.state() != AdapterState::Shutdown &&
      bringToPaused(adapter, NDIS_PAUSE_MINIPORT_DEVICE_REMOVE))
    haltAdapter(adapter, NdisHaltDeviceDisabled);

  irp->IoStatus.Status = STATUS_SUCCESS;
  PDEVICE_OBJECT fdo = adapter.fdo();
  PDEVICE_OBJECT lower = adapter.lowerDevice();
  NTSTATUS status = passDown(adapter, irp);
  tracePnp(adapter, "IRP_MN_REMOVE_DEVICE: FDO detached and deleted");
  nt::logger("ndis").info("{}: removed", adapter.describe());
  IoDetachDevice(lower);
  auto* block = static_cast<AdapterBlock*>(fdo->DeviceExtension);
  {
    std::lock_guard guard(failedAdapters().lock);
    failedAdapters().adapters.erase(block->adapter);
  }
  std::unique_ptr<Adapter> owned(block->adapter);  // the adapter block owned it since AddDevice
  block->magic = 0;
  block->adapter = nullptr;
  owned.reset();
  IoDeleteDevice(fdo);
  return status;
}

NTSTATUS queryPnpDeviceState(Adapter& adapter, PIRP irp) {
  NTSTATUS status = forwardAndWait(adapter, irp);
  if (failedByMiniport(adapter)) {
    if (status == STATUS_NOT_SUPPORTED) {  // nobody below answered: the state is ours alone
      status = STATUS_SUCCESS;
      irp->IoStatus.Information = 0;
    }
    if (NT_SUCCESS(status)) irp->IoStatus.Information |= PNP_DEVICE_FAILED;
    tracePnp(adapter, "IRP_MN_QUERY_PNP_DEVICE_STATE: PNP_DEVICE_FAILED (NdisMRemoveMiniport)");
  }
  return complete(irp, status);
}

// NDIS_STATUS codes are NTSTATUS codes; a protocol's non-error refusal still fails the IRP.
NTSTATUS vetoStatus(NDIS_STATUS status) {
  return NT_ERROR(status) ? static_cast<NTSTATUS>(status) : STATUS_UNSUCCESSFUL;
}

NTSTATUS queryRemove(Adapter& adapter, PIRP irp) {
  const char* irpName = IoGetCurrentIrpStackLocation(irp)->MinorFunction == IRP_MN_QUERY_STOP_DEVICE
                            ? "IRP_MN_QUERY_STOP_DEVICE"
                            : "IRP_MN_QUERY_REMOVE_DEVICE";
  NDIS_STATUS answer = notifyAdapterQueryRemove(adapter);
  if (answer != NDIS_STATUS_SUCCESS) {
    nt::logger("ndis").info("{}: {} vetoed by a bound protocol ({:#010x})", adapter.describe(), irpName,
                            static_cast<ULONG>(answer));
    tracePnp(adapter, fmt::format("{}: vetoed by a protocol (NetEventQueryRemoveDevice failed)", irpName));
    irp->IoStatus.Information = 0;
    return complete(irp, vetoStatus(answer));
  }
  irp->IoStatus.Status = STATUS_SUCCESS;
  return passDown(adapter, irp);
}

NTSTATUS cancelRemove(Adapter& adapter, PIRP irp) {
  irp->IoStatus.Status = STATUS_SUCCESS;  // as every driver of the stack must for a cancel
  NTSTATUS status = forwardAndWait(adapter, irp);
  if (status == STATUS_NOT_SUPPORTED) status = STATUS_SUCCESS;  // nobody below minded: cancelled
  notifyAdapterCancelRemove(adapter);
  return complete(irp, status);
}

NTSTATUS dispatchPnp(Adapter& adapter, PIRP irp) {
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
  switch (stack->MinorFunction) {
    case IRP_MN_START_DEVICE:
      return startDevice(adapter, irp);
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
      return queryRemove(adapter, irp);
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
      return cancelRemove(adapter, irp);
    case IRP_MN_STOP_DEVICE:
      return stopDevice(adapter, irp);
    case IRP_MN_QUERY_PNP_DEVICE_STATE:
      return queryPnpDeviceState(adapter, irp);
    case IRP_MN_SURPRISE_REMOVAL:
      return surpriseRemoval(adapter, irp);
    case IRP_MN_REMOVE_DEVICE:
      return removeDevice(adapter, irp);
    default:
      return passDown(adapter, irp);
  }
}

// ---- power ----------------------------------------------------------------------------

NDIS_DEVICE_POWER_STATE toNdisPower(DEVICE_POWER_STATE state) {
  switch (state) {
    case PowerDeviceD0: return NdisDeviceStateD0;
    case PowerDeviceD1: return NdisDeviceStateD1;
    case PowerDeviceD2: return NdisDeviceStateD2;
    default: return NdisDeviceStateD3;
  }
}

bool isInitialized(AdapterState state) {
  return state == AdapterState::Paused || state == AdapterState::Restarting || state == AdapterState::Running ||
         state == AdapterState::Pausing;
}

// D0 -> Dx: the adapter is paused, then the miniport is told (OIDs) while Paused.
void powerDown(Adapter& adapter, DEVICE_POWER_STATE target) {
  if (adapter.devicePower() == target) return;
  if (isInitialized(adapter.state()) && adapter.devicePower() == PowerDeviceD0 &&
      bringToPaused(adapter, NDIS_PAUSE_NDIS_INTERNAL)) {
    NDIS_STATUS status = adapter.traffic().setDevicePower(toNdisPower(target));
    if (status != NDIS_STATUS_SUCCESS)
      nt::logger("ndis").error("{}: the miniport failed the power change to D{} with {:#010x}", adapter.describe(),
                               static_cast<int>(target) - 1, static_cast<ULONG>(status));
  }
  adapter.setDevicePower(target);
}

// Dx -> D0, after the stack below is powered: the miniport is told, then restarted.
void powerUp(Adapter& adapter) {
  if (adapter.devicePower() == PowerDeviceD0) return;
  adapter.setDevicePower(PowerDeviceD0);
  if (adapter.state() != AdapterState::Paused) return;
  NDIS_STATUS status = adapter.traffic().setDevicePower(NdisDeviceStateD0);
  if (status != NDIS_STATUS_SUCCESS) {
    nt::logger("ndis").error("{}: the miniport failed the power change to D0 with {:#010x}; it stays paused",
                             adapter.describe(), static_cast<ULONG>(status));
    return;
  }
  restartAdapter(adapter);
}

NTSTATUS NTAPI signalForwardedPowerIrp(PDEVICE_OBJECT device, PIRP irp, PVOID context) {
  (void)device;
  (void)irp;
  KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS forwardPowerAndWait(Adapter& adapter, PIRP irp) {
  KEVENT done;
  KeInitializeEvent(&done, NotificationEvent, FALSE);
  IoCopyCurrentIrpStackLocationToNext(irp);
  IoSetCompletionRoutine(irp, signalForwardedPowerIrp, &done, TRUE, TRUE, TRUE);
  if (PoCallDriver(adapter.lowerDevice(), irp) == STATUS_PENDING)
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
  return irp->IoStatus.Status;
}

NTSTATUS passPowerDown(Adapter& adapter, PIRP irp) {
  PoStartNextPowerIrp(irp);
  IoSkipCurrentIrpStackLocation(irp);
  return PoCallDriver(adapter.lowerDevice(), irp);
}

struct DevicePowerRequest {
  KEVENT done;
  NTSTATUS status;
};

VOID NTAPI devicePowerRequestDone(PDEVICE_OBJECT device, UCHAR minorFunction, POWER_STATE state, PVOID context,
                                  PIO_STATUS_BLOCK ioStatus) {
  (void)device;
  (void)minorFunction;
  (void)state;
  auto* request = static_cast<DevicePowerRequest*>(context);
  request->status = ioStatus->Status;
  KeSetEvent(&request->done, IO_NO_INCREMENT, FALSE);
}

// As the power policy owner: a device power IRP to the whole stack, waited for.
NTSTATUS requestDevicePower(Adapter& adapter, DEVICE_POWER_STATE state) {
  DevicePowerRequest request;
  KeInitializeEvent(&request.done, NotificationEvent, FALSE);
  request.status = STATUS_PENDING;
  POWER_STATE power;
  power.DeviceState = state;
  NTSTATUS status =
      PoRequestPowerIrp(adapter.pdo(), IRP_MN_SET_POWER, power, devicePowerRequestDone, &request, nullptr);
  if (status != STATUS_PENDING) return status;
  KeWaitForSingleObject(&request.done, Executive, KernelMode, FALSE, nullptr);
  return request.status;
}

NTSTATUS setPower(Adapter& adapter, PIRP irp) {
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
  if (stack->Parameters.Power.Type == DevicePowerState) {
    DEVICE_POWER_STATE target = stack->Parameters.Power.State.DeviceState;
    tracePnp(adapter, fmt::format("IRP_MN_SET_POWER D{}", static_cast<int>(target) - 1));
    if (target != PowerDeviceD0) {
      powerDown(adapter, target);
      PoSetPowerState(adapter.fdo(), DevicePowerState, stack->Parameters.Power.State);
      irp->IoStatus.Status = STATUS_SUCCESS;
      return passPowerDown(adapter, irp);
    }
    NTSTATUS status = forwardPowerAndWait(adapter, irp);
    if (NT_SUCCESS(status)) {
      PoSetPowerState(adapter.fdo(), DevicePowerState, stack->Parameters.Power.State);
      powerUp(adapter);
    }
    PoStartNextPowerIrp(irp);
    return complete(irp, status);
  }

  SYSTEM_POWER_STATE system = stack->Parameters.Power.State.SystemState;
  tracePnp(adapter, fmt::format("IRP_MN_SET_POWER S{}", static_cast<int>(system) - 1));
  if (system == PowerSystemShutdown) {
    shutdownAdapter(adapter, NdisShutdownPowerOff);
  } else if (system != PowerSystemWorking && adapter.devicePower() == PowerDeviceD0 &&
             isInitialized(adapter.state())) {
    requestDevicePower(adapter, PowerDeviceD3);
    adapter.setSleepingForSystem(true);
  } else if (system == PowerSystemWorking && adapter.sleepingForSystem()) {
    NTSTATUS status = forwardPowerAndWait(adapter, irp);
    adapter.setSleepingForSystem(false);
    if (NT_SUCCESS(status)) requestDevicePower(adapter, PowerDeviceD0);
    PoStartNextPowerIrp(irp);
    return complete(irp, status);
  }
  irp->IoStatus.Status = STATUS_SUCCESS;
  return passPowerDown(adapter, irp);
}

NTSTATUS dispatchPower(Adapter& adapter, PIRP irp) {
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
  switch (stack->MinorFunction) {
    case IRP_MN_SET_POWER:
      return setPower(adapter, irp);
    case IRP_MN_QUERY_POWER:
      irp->IoStatus.Status = STATUS_SUCCESS;
      return passPowerDown(adapter, irp);
    default:
      return passPowerDown(adapter, irp);
  }
}

}  // namespace

NTSTATUS addAdapterDevice(MiniportDriver& driver, PDEVICE_OBJECT pdo) {
  auto& log = nt::logger("ndis");
  if (pdo == nullptr) {
    log.error("{}: AddDevice without a physical device object", driver.describe());
    return STATUS_INVALID_PARAMETER;
  }
  PDEVICE_OBJECT fdo = nullptr;
  NTSTATUS status = IoCreateDevice(driver.driverObject(), sizeof(AdapterBlock), nullptr, FILE_DEVICE_PHYSICAL_NETCARD,
                                   FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
  if (!NT_SUCCESS(status)) {
    log.error("{}: IoCreateDevice for the adapter failed with {}", driver.describe(), nt::statusName(status));
    return status;
  }
  auto adapter = std::make_unique<Adapter>(driver, pdo, nextIfIndex.fetch_add(1));
  PDEVICE_OBJECT lower = IoAttachDeviceToDeviceStack(fdo, pdo);
  if (lower == nullptr) {
    log.error("{}: cannot attach to the PDO's stack", adapter->describe());
    IoDeleteDevice(fdo);
    return STATUS_NO_SUCH_DEVICE;
  }
  adapter->setDevices(fdo, lower);
  // Power IRPs at PASSIVE_LEVEL, as the stack below (a USB stack) expects.
  fdo->Flags |= DO_POWER_PAGABLE;
  provideAdapterConfiguration(*adapter);
  auto* block = static_cast<AdapterBlock*>(fdo->DeviceExtension);
  block->adapter = adapter.release();
  block->magic = kAdapterBlockMagic;
  fdo->Flags &= ~DO_DEVICE_INITIALIZING;
  log.info("{}: FDO {} attached above {}", block->adapter->describe(), static_cast<void*>(fdo), nt::describeDevice(lower));
  tracePnp(*block->adapter, "AddDevice: FDO attached");
  return STATUS_SUCCESS;
}

NTSTATUS dispatchAdapterIrp(PDEVICE_OBJECT device, PIRP irp) {
  Adapter* adapter = Adapter::fromFdo(device);
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
  if (adapter == nullptr) {
    nt::logger("ndis").error("{} reached NDIS but is no adapter FDO; failing it",
                             nt::majorFunctionName(stack->MajorFunction));
    if (stack->MajorFunction == IRP_MJ_POWER) PoStartNextPowerIrp(irp);
    return complete(irp, STATUS_INVALID_DEVICE_REQUEST);
  }
  switch (stack->MajorFunction) {
    case IRP_MJ_PNP:
      return dispatchPnp(*adapter, irp);
    case IRP_MJ_POWER:
      return dispatchPower(*adapter, irp);
    case IRP_MJ_SYSTEM_CONTROL:
      return passDown(*adapter, irp);
    default:
      irp->IoStatus.Information = 0;
      return complete(irp, STATUS_NOT_SUPPORTED);
  }
}

}  // namespace ndishost::ndis

// IRQL <= DISPATCH_LEVEL. The miniport found the adapter unrecoverable: NDIS has PnP remove
// it (asynchronously, on the PnP manager's thread; MiniportHaltEx follows as for a surprise
// removal).
extern "C" NDIS_STATUS NTAPI NdisMRemoveMiniport(NDIS_HANDLE MiniportHandle) {
  using namespace ndishost::ndis;
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisMRemoveMiniport", caller);
  Adapter* adapter = Adapter::fromHandle(MiniportHandle);
  if (adapter == nullptr) {
    reportNdisViolation("ndis.bad-handle", NdisBugSubcode::BadHandle, MiniportHandle, 0, caller,
                        fmt::format("NdisMRemoveMiniport was passed {}, which is not a live miniport adapter handle",
                                    MiniportHandle));
    return NDIS_STATUS_FAILURE;
  }
  {
    std::lock_guard guard(failedAdapters().lock);
    failedAdapters().adapters.insert(adapter);
  }
  ndishost::nt::logger("ndis").warn("{}: the miniport reports the adapter unrecoverable (NdisMRemoveMiniport); "
                                    "removing it",
                                    adapter->describe());
  tracePnp(*adapter, "NdisMRemoveMiniport: IoInvalidateDeviceState");
  IoInvalidateDeviceState(adapter->pdo());
  return NDIS_STATUS_SUCCESS;
}
