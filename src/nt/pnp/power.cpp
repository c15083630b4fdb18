// The power manager's DDIs: PoSetPowerState, PoStartNextPowerIrp, PoCallDriver and
// PoRequestPowerIrp.
#include <memory>
#include <mutex>
#include <unordered_map>
#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/pnp/power_records.hpp"
#include "nt/support/trace.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::pnp {
namespace {

struct PowerRecords {
  std::mutex lock;
  std::unordered_map<PDEVICE_OBJECT, DEVICE_POWER_STATE> states;
};

PowerRecords& records() {
  static PowerRecords instance;
  return instance;
}

std::string deviceStateName(DEVICE_POWER_STATE state) {
  if (state == PowerDeviceUnspecified) return "unspecified";
  return fmt::format("D{}", static_cast<int>(state) - 1);
}

// One PoRequestPowerIrp call in flight: what its completion routine needs.
struct PowerRequest {
  WORK_QUEUE_ITEM work;          // to send from a worker when requested above PASSIVE_LEVEL
  PDEVICE_OBJECT device;         // as the caller passed it (for the callback)
  PDEVICE_OBJECT top;            // top of the stack, referenced until completion
  PIRP irp;
  UCHAR minor;
  POWER_STATE state;
  PREQUEST_POWER_COMPLETE callback;
  PVOID context;
};

// IRQL: <= DISPATCH_LEVEL (wherever the last driver completed the IRP).
NTSTATUS NTAPI powerRequestCompleted(PDEVICE_OBJECT, PIRP irp, PVOID context) {
  std::unique_ptr<PowerRequest> request(static_cast<PowerRequest*>(context));
  if (request->callback != nullptr) {
    request->callback(request->device, request->minor, request->state, request->context, &irp->IoStatus);
  }
  IoFreeIrp(irp);
  ObDereferenceObject(request->top);
  // The power manager owns the IRP: nothing above us may touch it.
  return STATUS_MORE_PROCESSING_REQUIRED;
}

// IRQL: PASSIVE_LEVEL.
void NTAPI sendPowerRequest(PVOID context) {
  auto* request = static_cast<PowerRequest*>(context);
  (void)IoCallDriver(request->top, request->irp);
}

}  // namespace

DEVICE_POWER_STATE recordedPowerState(PDEVICE_OBJECT device) {
  auto& r = records();
  std::lock_guard guard(r.lock);
  auto it = r.states.find(device);
  return it == r.states.end() ? PowerDeviceUnspecified : it->second;
}

DEVICE_POWER_STATE recordPowerState(PDEVICE_OBJECT device, DEVICE_POWER_STATE state) {
  auto& r = records();
  std::lock_guard guard(r.lock);
  auto [it, inserted] = r.states.try_emplace(device, PowerDeviceUnspecified);
  DEVICE_POWER_STATE previous = it->second;
  it->second = state;
  return previous;
}

void forgetPowerState(PDEVICE_OBJECT device) {
  auto& r = records();
  std::lock_guard guard(r.lock);
  r.states.erase(device);
}

}  // namespace ndishost::nt::pnp

using namespace ndishost::nt;
using namespace ndishost::nt::pnp;

// IRQL: <= APC_LEVEL, or <= DISPATCH_LEVEL when setting D0.
extern "C" POWER_STATE NTAPI PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type, POWER_STATE State) {
  const void* caller = __builtin_return_address(0);
  bool toD0 = Type == DevicePowerState && State.DeviceState == PowerDeviceD0;
  checkIrqlAtMost(toD0 ? DISPATCH_LEVEL : APC_LEVEL, "PoSetPowerState", caller);
  POWER_STATE previous;
  if (Type != DevicePowerState) {
    // Drivers must pass DevicePowerState; a system state is not the device's to record.
    previous.SystemState = State.SystemState;
    return previous;
  }
  previous.DeviceState = recordPowerState(DeviceObject, State.DeviceState);
  if (traceEnabled() && previous.DeviceState != State.DeviceState) {
    traceEmit(TraceCategory::Power, describeDevice(DeviceObject),
              fmt::format("PoSetPowerState {} -> {}", deviceStateName(previous.DeviceState),
                          deviceStateName(State.DeviceState)));
  }
  return previous;
}

// IRQL: <= DISPATCH_LEVEL. Power IRPs are not serialised per device (Vista and later), so
// there is nothing to start; the call stays legal for drivers that support older systems.
extern "C" void NTAPI PoStartNextPowerIrp(PIRP Irp) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "PoStartNextPowerIrp", caller);
  if (Irp != nullptr && IoGetCurrentIrpStackLocation(Irp)->MajorFunction != IRP_MJ_POWER) {
    reportViolation({"power.start-next-not-power-irp", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(Irp)},
                    caller,
                    fmt::format("PoStartNextPowerIrp on an IRP whose current stack location is {}, not IRP_MJ_POWER",
                                majorFunctionName(IoGetCurrentIrpStackLocation(Irp)->MajorFunction)));
  }
}

// IRQL: PASSIVE_LEVEL for DO_POWER_PAGABLE devices, else <= DISPATCH_LEVEL.
extern "C" NTSTATUS NTAPI PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  const void* caller = __builtin_return_address(0);
  bool pageable = (DeviceObject->Flags & DO_POWER_PAGABLE) != 0;
  checkIrqlAtMost(pageable ? PASSIVE_LEVEL : DISPATCH_LEVEL, "PoCallDriver", caller);
  return IoCallDriver(DeviceObject, Irp);
}

// IRQL: <= DISPATCH_LEVEL.
extern "C" NTSTATUS NTAPI PoRequestPowerIrp(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction, POWER_STATE PowerState,
                                            PREQUEST_POWER_COMPLETE CompletionFunction, PVOID Context, PIRP* Irp) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "PoRequestPowerIrp", caller);
  if (MinorFunction != IRP_MN_SET_POWER && MinorFunction != IRP_MN_QUERY_POWER && MinorFunction != IRP_MN_WAIT_WAKE) {
    return STATUS_INVALID_PARAMETER_2;
  }

  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(DeviceObject);
  PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
  if (irp == nullptr) {
    ObDereferenceObject(top);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  auto request = std::make_unique<PowerRequest>(
      PowerRequest{{}, DeviceObject, top, irp, MinorFunction, PowerState, CompletionFunction, Context});

  // A power IRP no driver handles comes back "not supported", as Windows presets it.
  irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
  irp->IoStatus.Information = 0;
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = IRP_MJ_POWER;
  next->MinorFunction = MinorFunction;
  if (MinorFunction == IRP_MN_WAIT_WAKE) {
    next->Parameters.WaitWake.PowerState = PowerState.SystemState;
  } else {
    next->Parameters.Power.Type = DevicePowerState;  // PoRequestPowerIrp sends device IRPs
    next->Parameters.Power.State = PowerState;
    next->Parameters.Power.ShutdownType = PowerActionNone;
  }
  if (traceEnabled()) {
    traceEmit(TraceCategory::Power, describeDevice(top),
              fmt::format("PoRequestPowerIrp {} {}", minorFunctionName(IRP_MJ_POWER, MinorFunction),
                          MinorFunction == IRP_MN_WAIT_WAKE ? fmt::format("S{}", static_cast<int>(PowerState.SystemState) - 1)
                                                            : deviceStateName(PowerState.DeviceState)));
  }
  IoSetCompletionRoutine(irp, powerRequestCompleted, request.get(), TRUE, TRUE, TRUE);
  if (Irp != nullptr) *Irp = irp;

  // Drivers handle device power IRPs at PASSIVE_LEVEL when their devices are pageable:
  // sent from here when the caller is at PASSIVE_LEVEL, else from a system worker thread.
  PowerRequest* sent = request.release();
  if (KeGetCurrentIrql() == PASSIVE_LEVEL) {
    sendPowerRequest(sent);
  } else {
    ExInitializeWorkItem(&sent->work, sendPowerRequest, sent);
    ExQueueWorkItem(&sent->work, DelayedWorkQueue);
  }
  return STATUS_PENDING;
}
