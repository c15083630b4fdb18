// Miniport adapters as bind targets: the protocol side's AdapterObserver, installed when the
// library loads, turns each adapter the lifecycle code announces into a BindTarget and
// passes the lifecycle on to the ProtocolSide (adapter_observer.hpp says when each call comes).
#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "ndis/miniport/adapter.hpp"
#include "ndis/miniport/adapter_observer.hpp"
#include "ndis/protocol/bind_target.hpp"
#include "ndis/protocol/protocol_side.hpp"

namespace ndishost::ndis {
namespace {

class AdapterBindTarget final : public BindTarget, public BindingTraffic {
 public:
  explicit AdapterBindTarget(Adapter& adapter) : adapter_(adapter) {
    // NDIS names adapters "\DEVICE\{interface GUID}"; ndishost's GUID spells "NDIS" and the
    // interface index, so the name is stable for an adapter's lifetime and unique.
    std::string name = fmt::format("\\DEVICE\\{{4E444953-0000-0000-0000-{:012X}}}", adapter.ifIndex());
    name_.assign(name.begin(), name.end());
  }

  std::string describe() const override { return adapter_.describe(); }
  std::u16string adapterName() const override { return name_; }
  PDEVICE_OBJECT physicalDeviceObject() const override { return adapter_.pdo(); }
  NET_IFINDEX ifIndex() const override { return adapter_.ifIndex(); }
  std::optional<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES> generalAttributes() const override {
    std::lock_guard guard(adapter_.attributesLock());
    return adapter_.attributes().general;
  }
  std::optional<OffloadBlock> offloadConfiguration() const override {
    std::lock_guard guard(adapter_.attributesLock());
    return adapter_.attributes().currentOffload;
  }
  bool running() const override { return adapter_.state() == AdapterState::Running; }
  std::uint32_t pauseDrainMs() const override { return adapter_.traffic().hangDetectionOptions().pauseDrainMs; }
  BindingTraffic& traffic() override { return *this; }

  void attach(UpperBinding& binding) override { adapter_.traffic().attach(binding); }
  void detach(UpperBinding& binding) override { adapter_.traffic().detach(binding); }
  void send(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG sendFlags) override {
    adapter_.traffic().send(binding, nbls, port, sendFlags);
  }
  void returnNetBufferLists(UpperBinding& binding, PNET_BUFFER_LIST nbls, ULONG returnFlags) override {
    adapter_.traffic().returnNetBufferLists(binding, nbls, returnFlags);
  }
  NDIS_STATUS oidRequest(UpperBinding& binding, PNDIS_OID_REQUEST request) override {
    return adapter_.traffic().oidRequest(binding, request);
  }
  void cancelSend(UpperBinding& binding, PVOID cancelId) override { adapter_.traffic().cancelSend(binding, cancelId); }
  void cancelOidRequest(UpperBinding& binding, PVOID requestId) override {
    adapter_.traffic().cancelOidRequest(binding, requestId);
  }

 private:
  Adapter& adapter_;
  std::u16string name_;
};

class ProtocolAdapterObserver final : public AdapterObserver {
 public:
  ProtocolAdapterObserver() { setAdapterObserver(this); }

  void adapterArrived(Adapter& adapter) override {
    BindTarget* target;
    {
      std::lock_guard guard(lock_);
      auto& slot = targets_[&adapter];
      if (!slot) slot = std::make_unique<AdapterBindTarget>(adapter);
      target = slot.get();
    }
    ProtocolSide::instance().targetArrived(*target);
  }
  void adapterRestarted(Adapter& adapter) override {
    if (BindTarget* target = find(adapter)) ProtocolSide::instance().targetRestarted(*target);
  }
  void adapterPausing(Adapter& adapter) override {
    if (BindTarget* target = find(adapter)) ProtocolSide::instance().targetPausing(*target);
  }
  void adapterDeparting(Adapter& adapter) override {
    BindTarget* target = find(adapter);
    if (target == nullptr) return;
    ProtocolSide::instance().targetDeparting(*target);
    std::lock_guard guard(lock_);
    targets_.erase(&adapter);
  }
  NDIS_STATUS adapterQueryRemove(Adapter& adapter) override {
    BindTarget* target = find(adapter);
    return target != nullptr ? ProtocolSide::instance().targetQueryRemove(*target) : NDIS_STATUS_SUCCESS;
  }
  void adapterCancelRemove(Adapter& adapter) override {
    if (BindTarget* target = find(adapter)) ProtocolSide::instance().targetCancelRemove(*target);
  }

 private:
  BindTarget* find(Adapter& adapter) {
    std::lock_guard guard(lock_);
    auto it = targets_.find(&adapter);
    return it == targets_.end() ? nullptr : it->second.get();
  }

  std::mutex lock_;
  std::map<Adapter*, std::unique_ptr<AdapterBindTarget>> targets_;
};

// Installed for the library's lifetime (never destroyed: adapters may depart during exit).
[[maybe_unused]] ProtocolAdapterObserver* const installedObserver = new ProtocolAdapterObserver;

}  // namespace
}  // namespace ndishost::ndis
