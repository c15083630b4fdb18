#include "ndis/miniport/adapter_lifecycle.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/miniport/adapter.hpp"
#include "ndis/miniport/adapter_observer.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::ndis {
namespace {

void traceCall(const Adapter& adapter, const std::string& text) {
  if (nt::traceEnabled()) nt::traceEmit(nt::TraceCategory::Ndis, adapter.describe(), text);
}

// Reports a halt that has not finished after HangDetectionOptions::haltReportMs (the host's
// halt time-out): which driver holds up the removal. NDIS keeps waiting, as Windows does.
class HaltWatch {
 public:
  HaltWatch(const Adapter& adapter, const char* action, std::uint32_t limitMs) {
    if (limitMs == 0) return;
    watcher_ = std::thread([this, &adapter, action, limitMs] {
      std::unique_lock lock(mutex_);
      if (finished_.wait_for(lock, std::chrono::milliseconds(limitMs), [this] { return done_; })) return;
      const std::string text = fmt::format("MiniportHaltEx({}) has not returned after {} ms (the halt time-out); still waiting",
                                           action, limitMs);
      nt::logger("ndis").error("{}: {}", adapter.describe(), text);
      traceCall(adapter, text);
    });
  }
  ~HaltWatch() {
    if (!watcher_.joinable()) return;
    {
      std::lock_guard guard(mutex_);
      done_ = true;
    }
    finished_.notify_all();
    watcher_.join();
  }
  HaltWatch(const HaltWatch&) = delete;
  HaltWatch& operator=(const HaltWatch&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
  std::thread watcher_;
};

const char* pnpEventName(NDIS_DEVICE_PNP_EVENT event) {
  switch (event) {
    case NdisDevicePnPEventQueryRemoved: return "NdisDevicePnPEventQueryRemoved";
    case NdisDevicePnPEventRemoved: return "NdisDevicePnPEventRemoved";
    case NdisDevicePnPEventSurpriseRemoved: return "NdisDevicePnPEventSurpriseRemoved";
    case NdisDevicePnPEventQueryStopped: return "NdisDevicePnPEventQueryStopped";
    case NdisDevicePnPEventStopped: return "NdisDevicePnPEventStopped";
    case NdisDevicePnPEventPowerProfileChanged: return "NdisDevicePnPEventPowerProfileChanged";
    case NdisDevicePnPEventFilterListChanged: return "NdisDevicePnPEventFilterListChanged";
    default: return "?";
  }
}

// The attributes MiniportInitializeEx must have set when it returns success (guide:
// "Initializing a Miniport Adapter": registration attributes, then general attributes).
// A miniport without registration attributes gave NDIS no MiniportAdapterContext, so NDIS
// cannot even halt it; one without general attributes is halted
// (NdisHaltDeviceInitializationFailed) so it frees what it allocated.
NDIS_STATUS checkInitializeResult(Adapter& adapter, const void* initializeHandler) {
  bool hasRegistration;
  bool hasGeneral;
  {
    std::lock_guard guard(adapter.attributesLock());
    hasRegistration = adapter.attributes().registration.has_value();
    hasGeneral = adapter.attributes().general.has_value();
  }
  if (hasRegistration && hasGeneral) return NDIS_STATUS_SUCCESS;
  reportNdisViolation("ndis.init-missing-attributes", NdisBugSubcode::MissingAttributes, adapter.handle(),
                      hasRegistration ? NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES
                                      : NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
                      initializeHandler,
                      fmt::format("{}: MiniportInitializeEx returned NDIS_STATUS_SUCCESS without setting {} "
                                  "attributes with NdisMSetMiniportAttributes; the initialization fails",
                                  adapter.describe(), hasRegistration ? "general" : "registration"));
  if (hasRegistration) {
    MINIPORT_HALT_HANDLER halt = adapter.driver().characteristics().HaltHandlerEx;
    traceCall(adapter, "MiniportHaltEx(NdisHaltDeviceInitializationFailed)");
    halt(adapter.miniportAdapterContext(), NdisHaltDeviceInitializationFailed);
  }
  return NDIS_STATUS_FAILURE;
}

}  // namespace

const char* haltActionName(NDIS_HALT_ACTION action) {
  switch (action) {
    case NdisHaltDeviceDisabled: return "NdisHaltDeviceDisabled";
    case NdisHaltDeviceInstanceDeInitialized: return "NdisHaltDeviceInstanceDeInitialized";
    case NdisHaltDevicePoweredDown: return "NdisHaltDevicePoweredDown";
    case NdisHaltDeviceSurpriseRemoved: return "NdisHaltDeviceSurpriseRemoved";
    case NdisHaltDeviceFailed: return "NdisHaltDeviceFailed";
    case NdisHaltDeviceInitializationFailed: return "NdisHaltDeviceInitializationFailed";
    case NdisHaltDeviceStopped: return "NdisHaltDeviceStopped";
  }
  return "?";
}

NDIS_STATUS initializeAdapter(Adapter& adapter) {
  if (!adapter.transition(AdapterState::Halted, AdapterState::Initializing, "MiniportInitializeEx"))
    return NDIS_STATUS_FAILURE;
  MiniportDriver& driver = adapter.driver();

  // AllocatedResources is NULL: an NDIS-WDM miniport's device has no hardware resources (the
  // bus PDO assigns none; the miniport reaches its hardware through IRPs to
  // NextDeviceObject). IfIndex and NetLuid are ndishost's own (there is no interface
  // provider): IfIndex numbers adapters from 1, NetLuid is {IfType IF_TYPE_ETHERNET_CSMACD,
  // NetLuidIndex = IfIndex}. The default port is not 802.1X-controlled: uncontrolled in both
  // directions, authorization unknown.
  NDIS_PORT_AUTHENTICATION_PARAMETERS defaultPortAuthStates = {};
  defaultPortAuthStates.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  defaultPortAuthStates.Header.Revision = NDIS_PORT_AUTHENTICATION_PARAMETERS_REVISION_1;
  defaultPortAuthStates.Header.Size = NDIS_SIZEOF_PORT_AUTHENTICATION_PARAMETERS_REVISION_1;
  defaultPortAuthStates.SendControlState = NdisPortControlStateUncontrolled;
  defaultPortAuthStates.RcvControlState = NdisPortControlStateUncontrolled;
  defaultPortAuthStates.SendAuthorizationState = NdisPortAuthorizationUnknown;
  defaultPortAuthStates.RcvAuthorizationState = NdisPortAuthorizationUnknown;

  NDIS_MINIPORT_INIT_PARAMETERS parameters = {};
  parameters.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS;
  parameters.Header.Revision = NDIS_MINIPORT_INIT_PARAMETERS_REVISION_1;
  parameters.Header.Size = NDIS_SIZEOF_MINIPORT_INIT_PARAMETER_REVISION_1;
  parameters.Flags = 0;
  parameters.AllocatedResources = nullptr;
  parameters.IMDeviceInstanceContext = nullptr;
  parameters.MiniportAddDeviceContext = nullptr;  // no MiniportAddDevice handler
  parameters.IfIndex = adapter.ifIndex();
  parameters.NetLuid.Value = 0;
  parameters.NetLuid.Info.IfType = IF_TYPE_ETHERNET_CSMACD;
  parameters.NetLuid.Info.NetLuidIndex = adapter.ifIndex();
  parameters.DefaultPortAuthStates = &defaultPortAuthStates;
  parameters.PciDeviceCustomProperties = nullptr;

  MINIPORT_INITIALIZE_HANDLER initialize = driver.characteristics().InitializeHandlerEx;
  traceCall(adapter, "MiniportInitializeEx");
  NDIS_STATUS status = initialize(adapter.handle(), driver.driverContext(), &parameters);
  traceCall(adapter, fmt::format("MiniportInitializeEx returned {:#010x}", static_cast<ULONG>(status)));
  if (status == NDIS_STATUS_SUCCESS) {
    status = checkInitializeResult(adapter, reinterpret_cast<const void*>(initialize));
  } else if (!NT_ERROR(status)) {
    // MiniportInitializeEx completes synchronously (no NdisMInitializeComplete in NDIS 6):
    // anything but success or an error is a failure.
    nt::logger("ndis").error("{}: MiniportInitializeEx returned {:#010x}, which is neither success nor an error; "
                             "treating it as NDIS_STATUS_FAILURE",
                             adapter.describe(), static_cast<ULONG>(status));
    status = NDIS_STATUS_FAILURE;
  }
  if (status != NDIS_STATUS_SUCCESS) {
    std::lock_guard guard(adapter.attributesLock());
    adapter.attributes() = {};
  }
  adapter.transition(AdapterState::Initializing,
                     status == NDIS_STATUS_SUCCESS ? AdapterState::Paused : AdapterState::Halted,
                     status == NDIS_STATUS_SUCCESS ? "MiniportInitializeEx succeeded" : "MiniportInitializeEx failed");
  if (status != NDIS_STATUS_SUCCESS)
    nt::logger("ndis").error("{}: MiniportInitializeEx failed with {:#010x}", adapter.describe(),
                             static_cast<ULONG>(status));
  return status;
}

bool restartAdapter(Adapter& adapter) {
  if (!adapter.transition(AdapterState::Paused, AdapterState::Restarting, "MiniportRestart")) return false;
  // No restart attributes yet: RestartAttributes is a list and an empty one is NULL.
  NDIS_MINIPORT_RESTART_PARAMETERS parameters = {};
  parameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  parameters.Header.Revision = NDIS_MINIPORT_RESTART_PARAMETERS_REVISION_1;
  parameters.Header.Size = NDIS_SIZEOF_MINIPORT_RESTART_PARAMETERS_REVISION_1;
  parameters.RestartAttributes = nullptr;
  parameters.Flags = 0;
  traceCall(adapter, "MiniportRestart");
  NDIS_STATUS status = adapter.driver().characteristics().RestartHandler(adapter.miniportAdapterContext(), &parameters);
  if (status == NDIS_STATUS_PENDING) {
    traceCall(adapter, "MiniportRestart pending");
  } else {
    finishRestart(adapter, status);
  }
  // NDIS restarts the stack above only once the miniport is Running.
  if (adapter.waitWhileTransitioning() != AdapterState::Running) return false;
  adapter.traffic().onRunning();
  notifyAdapterRestarted(adapter);
  return true;
}

void finishRestart(Adapter& adapter, NDIS_STATUS status) {
  if (status == NDIS_STATUS_PENDING) {
    nt::logger("ndis").error("{}: NdisMRestartComplete with NDIS_STATUS_PENDING; treating it as a failure",
                             adapter.describe());
    status = NDIS_STATUS_FAILURE;
  }
  adapter.setLastRestartStatus(status);
  if (status != NDIS_STATUS_SUCCESS)
    nt::logger("ndis").error("{}: MiniportRestart failed with {:#010x}; the adapter stays paused", adapter.describe(),
                             static_cast<ULONG>(status));
  adapter.transition(AdapterState::Restarting,
                     status == NDIS_STATUS_SUCCESS ? AdapterState::Running : AdapterState::Paused,
                     status == NDIS_STATUS_SUCCESS ? "restart complete" : "restart failed");
}

void pauseAdapter(Adapter& adapter, ULONG pauseReason) {
  if (adapter.state() != AdapterState::Running) {
    nt::logger("ndis").error("{}: not pausing: the adapter is {}, not Running", adapter.describe(),
                             toString(adapter.state()));
    return;
  }
  // The stack above pauses first (its sends complete before the miniport is asked).
  notifyAdapterPausing(adapter);
  if (!adapter.transition(AdapterState::Running, AdapterState::Pausing, "MiniportPause")) return;
  adapter.traffic().onPausing();
  NDIS_MINIPORT_PAUSE_PARAMETERS parameters = {};
  parameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  parameters.Header.Revision = NDIS_MINIPORT_PAUSE_PARAMETERS_REVISION_1;
  parameters.Header.Size = NDIS_SIZEOF_MINIPORT_PAUSE_PARAMETERS_REVISION_1;
  parameters.Flags = 0;
  parameters.PauseReason = pauseReason;
  traceCall(adapter, "MiniportPause");
  NDIS_STATUS status = adapter.driver().characteristics().PauseHandler(adapter.miniportAdapterContext(), &parameters);
  if (status == NDIS_STATUS_PENDING) {
    traceCall(adapter, "MiniportPause pending");
  } else {
    if (status != NDIS_STATUS_SUCCESS) {
      // MiniportPause cannot fail: it returns NDIS_STATUS_SUCCESS or NDIS_STATUS_PENDING.
      nt::logger("ndis").error("{}: MiniportPause returned {:#010x} (only SUCCESS or PENDING are allowed); "
                               "treating the adapter as paused",
                               adapter.describe(), static_cast<ULONG>(status));
    }
    finishPause(adapter);
  }
  adapter.waitWhileTransitioning();  // a pended pause ends with NdisMPauseComplete
  adapter.traffic().waitQuiescent();
}

bool bringToPaused(Adapter& adapter, ULONG pauseReason) {
  AdapterState state = adapter.waitWhileTransitioning();
  if (state == AdapterState::Running) pauseAdapter(adapter, pauseReason);
  return adapter.state() == AdapterState::Paused;
}

void finishPause(Adapter& adapter) {
  adapter.transition(AdapterState::Pausing, AdapterState::Paused, "pause complete");
}

void haltAdapter(Adapter& adapter, NDIS_HALT_ACTION action) {
  if (adapter.state() != AdapterState::Paused) {
    nt::logger("ndis").error("{}: not halting: the adapter is {}, not Paused", adapter.describe(),
                             toString(adapter.state()));
    return;
  }
  AdapterTraffic& traffic = adapter.traffic();
  MINIPORT_HALT_HANDLER halt = adapter.driver().characteristics().HaltHandlerEx;
  if (std::size_t held = traffic.sendsHeld(); held != 0) {
    // NDIS never halts an adapter with sends outstanding; a miniport that completed its
    // pause while holding sends strands them here. Reported, then NDIS completes each to
    // its binding once (NDIS_STATUS_ADAPTER_REMOVED, as for sends refused while halting),
    // before the bindings are unbound: no protocol waits for them for ever.
    reportNdisViolation("ndis.halt-outstanding", NdisBugSubcode::HaltWithOutstanding, adapter.handle(), held,
                        reinterpret_cast<const void*>(halt),
                        fmt::format("{}: MiniportHaltEx({}) with {} send(s) the miniport never completed (it "
                                    "completed its pause while still holding them)",
                                    adapter.describe(), haltActionName(action), held));
    std::size_t completed = traffic.completeStrandedSends(NDIS_STATUS_ADAPTER_REMOVED);
    nt::logger("ndis").warn("{}: NDIS completed {} stranded send(s) to their bindings with "
                            "NDIS_STATUS_ADAPTER_REMOVED; a later completion by the miniport is reported",
                            adapter.describe(), completed);
  }
  // The stack above unbinds first; then nothing new reaches the miniport.
  notifyAdapterDeparting(adapter);
  const HaltWatch watch(adapter, haltActionName(action), traffic.hangDetectionOptions().haltReportMs);
  traffic.onHalting();
  traceCall(adapter, fmt::format("MiniportHaltEx({})", haltActionName(action)));
  halt(adapter.miniportAdapterContext(), action);
  adapter.transition(AdapterState::Paused, AdapterState::Halted, haltActionName(action));
  std::lock_guard guard(adapter.attributesLock());
  adapter.attributes() = {};
}

void shutdownAdapter(Adapter& adapter, NDIS_SHUTDOWN_ACTION action) {
  // A pended restart or pause finishes first, so its completion finds the state it expects.
  AdapterState state = adapter.waitWhileTransitioning();
  if (state == AdapterState::Halted || state == AdapterState::Initializing || state == AdapterState::Shutdown) {
    nt::logger("ndis").debug("{}: no MiniportShutdownEx: the adapter is {}", adapter.describe(), toString(state));
    return;
  }
  traceCall(adapter, fmt::format("MiniportShutdownEx({})",
                                 action == NdisShutdownPowerOff ? "NdisShutdownPowerOff" : "NdisShutdownBugCheck"));
  adapter.driver().characteristics().ShutdownHandlerEx(adapter.miniportAdapterContext(), action);
  // Whatever it was doing, the adapter cannot be used again until the system restarts.
  adapter.transition(adapter.state(), AdapterState::Shutdown, "MiniportShutdownEx");
}

void notifyDevicePnPEvent(Adapter& adapter, NDIS_DEVICE_PNP_EVENT event) {
  MINIPORT_DEVICE_PNP_EVENT_NOTIFY_HANDLER notify = adapter.driver().characteristics().DevicePnPEventNotifyHandler;
  if (notify == nullptr) return;
  NET_DEVICE_PNP_EVENT pnpEvent = {};
  pnpEvent.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  pnpEvent.Header.Revision = NET_DEVICE_PNP_EVENT_REVISION_1;
  pnpEvent.Header.Size = NDIS_SIZEOF_NET_DEVICE_PNP_EVENT_REVISION_1;
  pnpEvent.PortNumber = NDIS_DEFAULT_PORT_NUMBER;
  pnpEvent.DevicePnPEvent = event;
  pnpEvent.InformationBuffer = nullptr;
  pnpEvent.InformationBufferLength = 0;
  traceCall(adapter, fmt::format("MiniportDevicePnPEventNotify({})", pnpEventName(event)));
  notify(adapter.miniportAdapterContext(), &pnpEvent);
}

}  // namespace ndishost::ndis
