// How the protocol side (src/ndis/protocol) learns about adapters, so the stack above a
// miniport follows the miniport's lifecycle as NDIS 6 orders it:
//   after MiniportInitializeEx succeeds (adapter Paused)   -> bind protocols (BindAdapterEx)
//   after MiniportRestart completes (adapter Running)      -> restart bindings (NetEventRestart)
//   before MiniportPause                                   -> pause bindings (NetEventPause)
//   before MiniportHaltEx (adapter Paused)                 -> unbind (UnbindAdapterEx)
// Every call is at PASSIVE_LEVEL on the PnP worker, and each returns only when the bindings
// have finished (pended protocol operations included), because the next miniport call
// depends on it.
#pragma once

namespace ndishost::ndis {

class Adapter;

class AdapterObserver {
 public:
  virtual ~AdapterObserver() = default;
  virtual void adapterArrived(Adapter& adapter) = 0;
  virtual void adapterRestarted(Adapter& adapter) = 0;
  virtual void adapterPausing(Adapter& adapter) = 0;
  virtual void adapterDeparting(Adapter& adapter) = 0;
};

// The one observer (the protocol side installs itself; null removes it). The lifecycle code
// calls notifyAdapter* which do nothing when none is installed.
void setAdapterObserver(AdapterObserver* observer);
void notifyAdapterArrived(Adapter& adapter);
void notifyAdapterRestarted(Adapter& adapter);
void notifyAdapterPausing(Adapter& adapter);
void notifyAdapterDeparting(Adapter& adapter);

}  // namespace ndishost::ndis
