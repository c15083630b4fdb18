// LoopbackTarget: an adapter as the protocol side sees it (BindTarget) with its own traffic
// (BindingTraffic), so the protocol side can be tested without a miniport: sends are
// recorded (frame bytes) and completed at once or held; receives are indicated from test
// frames at DISPATCH_LEVEL, with or without NDIS_RECEIVE_FLAGS_RESOURCES; OID requests are
// answered synchronously or held pending; status indications go to every binding.
// Include after ndis_test.hpp.
#pragma once

#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ndis/protocol/bind_target.hpp"

namespace ndistest {

class LoopbackTarget final : public ndishost::ndis::BindTarget, public ndishost::ndis::BindingTraffic {
 public:
  using UpperBinding = ndishost::ndis::UpperBinding;

  LoopbackTarget(std::u16string name, NET_IFINDEX ifIndex) : name_(std::move(name)), ifIndex_(ifIndex) {
    std::memset(&general_, 0, sizeof(general_));
    general_.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    general_.Header.Revision = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2;
    general_.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2;
    general_.MediaType = NdisMedium802_3;
    general_.PhysicalMediumType = NdisPhysicalMedium802_3;
    general_.MtuSize = 1500;
    general_.MaxXmitLinkSpeed = general_.XmitLinkSpeed = 1000000000ull;
    general_.MaxRcvLinkSpeed = general_.RcvLinkSpeed = 1000000000ull;
    general_.MediaConnectState = MediaConnectStateConnected;
    general_.MediaDuplexState = MediaDuplexStateFull;
    general_.LookaheadSize = 1500;
    general_.MacAddressLength = 6;
    const UCHAR mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, static_cast<UCHAR>(ifIndex)};
    std::memcpy(general_.PermanentMacAddress, mac, 6);
    std::memcpy(general_.CurrentMacAddress, mac, 6);
    general_.SupportedPacketFilters = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST |
                                      NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_PROMISCUOUS;
    general_.MaxMulticastListSize = 32;
    general_.AccessType = NET_IF_ACCESS_BROADCAST;
    general_.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    general_.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    general_.IfType = IF_TYPE_ETHERNET_CSMACD;
    general_.IfConnectorPresent = TRUE;
    NET_BUFFER_LIST_POOL_PARAMETERS p = {};
    p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    p.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    p.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    p.fAllocateNetBuffer = TRUE;
    p.PoolTag = 'pbLT';
    pool_ = NdisAllocateNetBufferListPool(nullptr, &p);
  }
  ~LoopbackTarget() override { NdisFreeNetBufferListPool(pool_); }

  // --- BindTarget -----------------------------------------------------------------------
  std::string describe() const override { return "loopback " + std::to_string(ifIndex_); }
  std::u16string adapterName() const override { return name_; }
  PDEVICE_OBJECT physicalDeviceObject() const override { return pdo_; }
  NET_IFINDEX ifIndex() const override { return ifIndex_; }
  std::optional<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES> generalAttributes() const override { return general_; }
  bool running() const override { return running_; }
  BindingTraffic& traffic() override { return *this; }

  // --- BindingTraffic -------------------------------------------------------------------
  void attach(UpperBinding& binding) override {
    std::lock_guard guard(lock_);
    attached_.push_back(&binding);
    ++attaches_;
  }
  void detach(UpperBinding& binding) override {
    std::lock_guard guard(lock_);
    std::erase(attached_, &binding);
    ++detaches_;
  }
  void send(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER, ULONG sendFlags) override {
    {
      std::lock_guard guard(lock_);
      for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != nullptr; nb = NET_BUFFER_NEXT_NB(nb)) {
          std::vector<UCHAR> frame(NET_BUFFER_DATA_LENGTH(nb));
          PVOID data = NdisGetDataBuffer(nb, static_cast<ULONG>(frame.size()), frame.data(), 1, 0);
          if (data != nullptr && data != frame.data()) std::memcpy(frame.data(), data, frame.size());
          sent_.push_back(std::move(frame));
        }
        sentSources_.push_back(nbl->SourceHandle);
      }
      if (holdSends_) {
        held_.emplace_back(&binding, nbls);
        return;
      }
    }
    completeSends(binding, nbls, sendFlags);
  }
  void returnNetBufferLists(UpperBinding&, PNET_BUFFER_LIST nbls, ULONG) override {
    while (nbls != nullptr) {
      PNET_BUFFER_LIST next = NET_BUFFER_LIST_NEXT_NBL(nbls);
      NET_BUFFER_LIST_NEXT_NBL(nbls) = nullptr;
      freeReceive(nbls);
      ++returned_;
      nbls = next;
    }
  }
  NDIS_STATUS oidRequest(UpperBinding& binding, PNDIS_OID_REQUEST request) override {
    std::lock_guard guard(lock_);
    ++oidRequests_;
    NDIS_OID oid = request->DATA.Oid;
    if (oid == pendOid_) {
      pendingOid_ = {&binding, request};
      return NDIS_STATUS_PENDING;
    }
    if (request->RequestType == NdisRequestQueryInformation && oid == OID_802_3_CURRENT_ADDRESS) {
      if (request->DATA.QUERY_INFORMATION.InformationBufferLength < 6) {
        request->DATA.QUERY_INFORMATION.BytesNeeded = 6;
        return NDIS_STATUS_BUFFER_TOO_SHORT;
      }
      std::memcpy(request->DATA.QUERY_INFORMATION.InformationBuffer, general_.CurrentMacAddress, 6);
      request->DATA.QUERY_INFORMATION.BytesWritten = 6;
      return NDIS_STATUS_SUCCESS;
    }
    if (request->RequestType == NdisRequestSetInformation && oid == OID_GEN_CURRENT_PACKET_FILTER) {
      ULONG filter;
      std::memcpy(&filter, request->DATA.SET_INFORMATION.InformationBuffer, sizeof(ULONG));
      packetFilter_ = filter;
      request->DATA.SET_INFORMATION.BytesRead = sizeof(ULONG);
      return NDIS_STATUS_SUCCESS;
    }
    return NDIS_STATUS_NOT_SUPPORTED;
  }
  void cancelSend(UpperBinding&, PVOID cancelId) override {
    std::lock_guard guard(lock_);
    cancelledSendIds_.push_back(cancelId);
  }
  void cancelOidRequest(UpperBinding&, PVOID requestId) override {
    std::lock_guard guard(lock_);
    cancelledOidIds_.push_back(requestId);
  }

  // --- the test's side ---------------------------------------------------------------------
  void setRunning(bool running) { running_ = running; }
  void setHoldSends(bool hold) { holdSends_ = hold; }
  void setPendOid(NDIS_OID oid) { pendOid_ = oid; }
  void setMedium(NDIS_MEDIUM medium) { general_.MediaType = medium; }
  void setPdo(PDEVICE_OBJECT pdo) { pdo_ = pdo; }

  // Completes the held sends with `status` (at DISPATCH_LEVEL, as a miniport's DPC would).
  void completeHeldSends(NDIS_STATUS status = NDIS_STATUS_SUCCESS) {
    std::vector<std::pair<UpperBinding*, PNET_BUFFER_LIST>> held;
    {
      std::lock_guard guard(lock_);
      held.swap(held_);
    }
    for (auto& [binding, nbls] : held) {
      for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        NET_BUFFER_LIST_STATUS(nbl) = status;
      KIRQL old;
      KeRaiseIrql(DISPATCH_LEVEL, &old);
      binding->sendComplete(nbls, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
      KeLowerIrql(old);
    }
  }
  void completePendingOid(NDIS_STATUS status) {
    std::pair<UpperBinding*, PNDIS_OID_REQUEST> pending;
    {
      std::lock_guard guard(lock_);
      pending = pendingOid_;
      pendingOid_ = {nullptr, nullptr};
    }
    if (pending.first != nullptr) pending.first->oidComplete(pending.second, status);
  }

  // Indicates `frame` to every attached binding (one NBL each) at DISPATCH_LEVEL.
  void indicate(const std::vector<UCHAR>& frame, ULONG extraFlags = 0) {
    std::vector<UpperBinding*> bindings;
    {
      std::lock_guard guard(lock_);
      bindings = attached_;
    }
    for (UpperBinding* binding : bindings) {
      PNET_BUFFER_LIST nbl = makeReceive(frame);
      ++indicated_;
      KIRQL old;
      KeRaiseIrql(DISPATCH_LEVEL, &old);
      binding->receive(nbl, NDIS_DEFAULT_PORT_NUMBER, 1, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL | extraFlags);
      KeLowerIrql(old);
      if ((extraFlags & NDIS_RECEIVE_FLAGS_RESOURCES) != 0) {
        freeReceive(nbl);
        ++returned_;
      }
    }
  }
  void indicateLinkState(NDIS_MEDIA_CONNECT_STATE state) {
    NDIS_LINK_STATE link = {};
    link.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    link.Header.Revision = NDIS_LINK_STATE_REVISION_1;
    link.Header.Size = NDIS_SIZEOF_LINK_STATE_REVISION_1;
    link.MediaConnectState = state;
    NDIS_STATUS_INDICATION indication = {};
    indication.Header.Type = NDIS_OBJECT_TYPE_STATUS_INDICATION;
    indication.Header.Revision = NDIS_STATUS_INDICATION_REVISION_1;
    indication.Header.Size = NDIS_SIZEOF_STATUS_INDICATION_REVISION_1;
    indication.StatusCode = NDIS_STATUS_LINK_STATE;
    indication.StatusBuffer = &link;
    indication.StatusBufferSize = sizeof(link);
    std::vector<UpperBinding*> bindings;
    {
      std::lock_guard guard(lock_);
      bindings = attached_;
    }
    for (UpperBinding* binding : bindings) binding->status(indication);
  }

  std::size_t attachedCount() {
    std::lock_guard guard(lock_);
    return attached_.size();
  }
  std::vector<std::vector<UCHAR>> sentFrames() {
    std::lock_guard guard(lock_);
    return sent_;
  }
  std::vector<NDIS_HANDLE> sentSources() {
    std::lock_guard guard(lock_);
    return sentSources_;
  }
  int attaches() const { return attaches_; }
  int detaches() const { return detaches_; }
  int indicated() const { return indicated_; }
  int returned() const { return returned_; }
  int oidRequests() const { return oidRequests_; }
  ULONG packetFilter() const { return packetFilter_; }
  std::vector<PVOID> cancelledOidIds() {
    std::lock_guard guard(lock_);
    return cancelledOidIds_;
  }

 private:
  void completeSends(UpperBinding& binding, PNET_BUFFER_LIST nbls, ULONG sendFlags) {
    for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
      NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
    binding.sendComplete(nbls, (sendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) != 0
                                   ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
                                   : 0);
  }
  struct RxBuffer {
    std::vector<UCHAR> bytes;
    PMDL mdl;
  };
  PNET_BUFFER_LIST makeReceive(const std::vector<UCHAR>& frame) {
    auto buffer = std::make_unique<RxBuffer>();
    buffer->bytes = frame;
    buffer->mdl = IoAllocateMdl(buffer->bytes.data(), static_cast<ULONG>(frame.size()), FALSE, FALSE, nullptr);
    MmBuildMdlForNonPagedPool(buffer->mdl);
    PNET_BUFFER_LIST nbl =
        NdisAllocateNetBufferAndNetBufferList(pool_, 0, 0, buffer->mdl, 0, static_cast<ULONG>(frame.size()));
    std::lock_guard guard(lock_);
    receives_[nbl] = std::move(buffer);
    return nbl;
  }
  void freeReceive(PNET_BUFFER_LIST nbl) {
    std::unique_ptr<RxBuffer> buffer;
    {
      std::lock_guard guard(lock_);
      auto it = receives_.find(nbl);
      if (it == receives_.end()) return;
      buffer = std::move(it->second);
      receives_.erase(it);
    }
    NdisFreeNetBufferList(nbl);
    IoFreeMdl(buffer->mdl);
  }

  std::u16string name_;
  NET_IFINDEX ifIndex_;
  PDEVICE_OBJECT pdo_ = nullptr;
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES general_;
  NDIS_HANDLE pool_ = nullptr;
  std::atomic<bool> running_{false};
  std::atomic<bool> holdSends_{false};
  NDIS_OID pendOid_ = 0;

  std::mutex lock_;
  std::vector<UpperBinding*> attached_;
  std::vector<std::vector<UCHAR>> sent_;
  std::vector<NDIS_HANDLE> sentSources_;
  std::vector<std::pair<UpperBinding*, PNET_BUFFER_LIST>> held_;
  std::pair<UpperBinding*, PNDIS_OID_REQUEST> pendingOid_{nullptr, nullptr};
  std::map<PNET_BUFFER_LIST, std::unique_ptr<RxBuffer>> receives_;
  std::vector<PVOID> cancelledSendIds_;
  std::vector<PVOID> cancelledOidIds_;
  std::atomic<int> attaches_{0};
  std::atomic<int> detaches_{0};
  std::atomic<int> indicated_{0};
  std::atomic<int> returned_{0};
  std::atomic<int> oidRequests_{0};
  std::atomic<ULONG> packetFilter_{0};
};

}  // namespace ndistest
