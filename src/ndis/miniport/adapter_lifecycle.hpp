// The NDIS calls into the miniport that move an adapter through its states (guide: "Adapter
// States of a Miniport Driver"), each at PASSIVE_LEVEL on the thread handling the PnP or
// power IRP (the PnP worker), with the protocol side (adapter_observer.hpp) and the traffic
// paths (AdapterTraffic) told at the documented points:
//   initializeAdapter  Halted -> Initializing -> Paused (or back to Halted)
//   restartAdapter     Paused -> Restarting -> Running (or Paused); waits for a pended restart,
//                      then AdapterTraffic::onRunning and adapterRestarted
//   pauseAdapter       adapterPausing, Running -> Pausing (AdapterTraffic::onPausing),
//                      MiniportPause, waits for a pended pause, AdapterTraffic::waitQuiescent
//   haltAdapter        adapterDeparting, AdapterTraffic::onHalting, Paused -> Halted
//   shutdownAdapter    Paused/Restarting/Running/Pausing -> Shutdown (MiniportShutdownEx)
// finishRestart/finishPause end a pended restart/pause (NdisMRestartComplete,
// NdisMPauseComplete, any thread at IRQL <= DISPATCH_LEVEL).
#pragma once

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

class Adapter;

NDIS_STATUS initializeAdapter(Adapter& adapter);
// True when the adapter ends Running.
bool restartAdapter(Adapter& adapter);
void pauseAdapter(Adapter& adapter, ULONG pauseReason);
// Pauses a Running adapter (waiting out a restart or pause in progress first) so it is
// Paused; true if it is Paused afterwards.
bool bringToPaused(Adapter& adapter, ULONG pauseReason);
void haltAdapter(Adapter& adapter, NDIS_HALT_ACTION action);
void shutdownAdapter(Adapter& adapter, NDIS_SHUTDOWN_ACTION action);
void notifyDevicePnPEvent(Adapter& adapter, NDIS_DEVICE_PNP_EVENT event);

void finishRestart(Adapter& adapter, NDIS_STATUS status);
void finishPause(Adapter& adapter);

const char* haltActionName(NDIS_HALT_ACTION action);

}  // namespace ndishost::ndis
