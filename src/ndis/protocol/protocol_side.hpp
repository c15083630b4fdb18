// The protocol side of NDIS: the registered protocol drivers, the adapters they can bind to
// (BindTargets) and the bindings between them, driven as NDIS 6 orders it:
//
//   target arrives (adapter Paused)      -> ProtocolBindAdapterEx for every protocol the
//                                           bind policy allows (and a restart if it runs)
//   protocol registers                   -> binds to every target there is
//   target restarted (adapter Running)   -> NetEventRestart to each Paused binding
//   target pausing                       -> NetEventPause to each Running binding, waiting
//                                           for its sends and receives
//   target departing / protocol leaves   -> pause if needed, ProtocolUnbindAdapterEx
//   target queried for removal/stop      -> NetEventQueryRemoveDevice to every binding; the
//                                           first failure is the answer (a veto), but every
//                                           binding is asked
//   removal/stop cancelled               -> NetEventCancelRemoveDevice to every binding
//
// Every operation runs at PASSIVE_LEVEL and returns when the bindings are done (pended
// protocol work included). Operations are serialised; the protocol's own DDI calls made from
// inside its handlers (NdisOpenAdapterEx, NdisCloseAdapterEx, NdisCompleteXxx, sends, OIDs)
// never wait for that serialisation.
//
// The adapter observer (adapter_observer.hpp) feeds miniport adapters in as targets; the
// host or a test can add its own targets.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ndis/protocol/binding.hpp"

namespace ndishost::ndis {

class BindTarget;
class ProtocolDriver;

// A snapshot of one binding (host status, tests).
struct BindingInfo {
  NDIS_HANDLE bindingHandle;
  NDIS_HANDLE protocolHandle;
  std::string name;  // "<protocol> on <adapter>"
  BindingState state;
  BindTarget* target;
};

// Decides whether a protocol binds to a target (an INF's LowerRange/UpperRange on Windows).
using BindPolicy = std::function<bool(const ProtocolDriver& protocol, const BindTarget& target)>;

class ProtocolSide {
 public:
  static ProtocolSide& instance();

  // NdisRegisterProtocolDriver after validation: takes ownership and binds to every target.
  void addProtocol(std::unique_ptr<ProtocolDriver> protocol);
  // NdisDeregisterProtocolDriver: unbinds every binding of `protocol`, then deletes it.
  void removeProtocol(ProtocolDriver& protocol);

  void targetArrived(BindTarget& target);
  void targetRestarted(BindTarget& target);
  void targetPausing(BindTarget& target);
  // Unbinds everything bound to `target`; afterwards the side holds no reference to it.
  void targetDeparting(BindTarget& target);
  NDIS_STATUS targetQueryRemove(BindTarget& target);
  void targetCancelRemove(BindTarget& target);

  // Null or empty: every protocol binds to every target.
  void setBindPolicy(BindPolicy policy);

  std::vector<BindingInfo> bindings() const;
  std::size_t protocolCount() const;

 private:
  ProtocolSide() = default;
  void bindLocked(ProtocolDriver& protocol, BindTarget& target);
  // Unbinds and deletes the bindings `which` selects.
  void unbindLocked(const std::function<bool(const Binding&)>& which);
  std::vector<Binding*> bindingsOf(const BindTarget& target) const;

  std::mutex operations_;  // one bind/unbind/pause/restart sequence at a time
  mutable std::mutex lists_;
  std::vector<std::unique_ptr<ProtocolDriver>> protocols_;
  std::vector<BindTarget*> targets_;
  std::vector<std::unique_ptr<Binding>> bindings_;
  BindPolicy policy_;
};

}  // namespace ndishost::ndis
