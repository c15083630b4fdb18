// How the protocol side (src/ndis/protocol) learns about adapters, so the stack above a
// miniport follows the miniport's lifecycle as NDIS 6 orders it:
//   after MiniportInitializeEx succeeds (adapter Paused)   -> bind protocols (BindAdapterEx)
//   after MiniportRestart completes (adapter Running)      -> restart bindings (NetEventRestart)
//   before MiniportPause                                   -> pause bindings (NetEventPause)
//   before MiniportHaltEx (adapter Paused)                 -> unbind (UnbindAdapterEx)
//   IRP_MN_QUERY_REMOVE_DEVICE / _QUERY_STOP_DEVICE        -> NetEventQueryRemoveDevice (answer: a veto)
//   IRP_MN_CANCEL_REMOVE_DEVICE / _CANCEL_STOP_DEVICE      -> NetEventCancelRemoveDevice
// Every call is at PASSIVE_LEVEL on the PnP worker, and each returns only when the bindings
// have finished (pended protocol operations included), because the next miniport call
// depends on it.
#pragma once

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

class Adapter;

class AdapterObserver {
 public:
  virtual ~AdapterObserver() = default;
  virtual void adapterArrived(Adapter& adapter) = 0;
  virtual void adapterRestarted(Adapter& adapter) = 0;
  virtual void adapterPausing(Adapter& adapter) = 0;
  virtual void adapterDeparting(Adapter& adapter) = 0;
  // NDIS_STATUS_SUCCESS lets the removal (or stop) go on; anything else vetoes it.
  virtual NDIS_STATUS adapterQueryRemove(Adapter& adapter) {
    (void)adapter;
    return NDIS_STATUS_SUCCESS;
  }
  virtual void adapterCancelRemove(Adapter& adapter) { (void)adapter; }
};

// The one observer (the protocol side installs itself; null removes it). The lifecycle code
// calls notifyAdapter* which do nothing when none is installed.
void setAdapterObserver(AdapterObserver* observer);
void notifyAdapterArrived(Adapter& adapter);
void notifyAdapterRestarted(Adapter& adapter);
void notifyAdapterPausing(Adapter& adapter);
void notifyAdapterDeparting(Adapter& adapter);
NDIS_STATUS notifyAdapterQueryRemove(Adapter& adapter);  // SUCCESS when no observer
void notifyAdapterCancelRemove(Adapter& adapter);

}  // namespace ndishost::ndis
