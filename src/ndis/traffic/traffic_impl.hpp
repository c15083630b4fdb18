// The AdapterTraffic behind makeAdapterTraffic: internal to src/ndis/traffic.
//
// Bookkeeping lives in the structures NDIS reserves for itself, as in Windows, so nothing is
// allocated per packet:
//  - an NBL the miniport holds for sending: NdisReserved[0] points at the adapter's send
//    slot for the hang check period it was sent in (which also proves "this adapter's
//    miniport holds it"), NdisReserved[1] keeps the SourceHandle the binding had; the
//    SourceHandle is the UpperBinding while the miniport holds it. After the completion
//    NdisReserved[0] points at completedMarker_, so a second completion is recognised.
//    While held, the NBL is also on the adapter's list of held sends (heldSends_), linked
//    through its first NET_BUFFER's NdisReserved (previous, next NBL), so a halt can complete
//    what the miniport strands without a search or an allocation.
//  - an NBL indicated to a binding that may keep it: NdisReserved[0] is receiveMarker_.
//  - an NDIS_OID_REQUEST from a binding: its NdisReserved holds an OidBookkeeping (queue link,
//    binding, period it reached the miniport, ...).
//
// Locking: lock_ (a std::mutex) guards all of it and is never held across a call into the
// miniport, a binding or a kernel routine that can switch threads (KeSetEvent, waits): in
// deterministic mode a thread switch while holding it would stall every other thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/traffic/adapter_traffic.hpp"

namespace ndishost::ndis {

class MiniportDriver;

namespace traffic {

// What NDIS keeps in NDIS_OID_REQUEST.NdisReserved while a request is in its hands.
struct OidBookkeeping {
  const void* marker;          // &AdapterTrafficImpl::oidQueuedMarker_ / oidCompletedMarker_
  UpperBinding* binding;       // null: an internal request (requestSync)
  PNDIS_OID_REQUEST next;      // queue link
  std::uint64_t startPeriod;   // check period it reached the miniport in
  struct SyncWaiter* waiter;   // requestSync's
};
static_assert(sizeof(OidBookkeeping) <= sizeof(NDIS_OID_REQUEST{}.NdisReserved));

struct SyncWaiter {
  KEVENT done;
  NDIS_STATUS status;
};

// The bindings above one adapter, by value: a snapshot taken under the lock is a plain copy,
// so indications need no allocation.
struct BindingSet {
  static constexpr std::size_t kCapacity = 8;
  std::array<UpperBinding*, kCapacity> items{};
  std::size_t count = 0;
  UpperBinding* const* begin() const { return items.data(); }
  UpperBinding* const* end() const { return items.data() + count; }
  bool contains(const UpperBinding* binding) const {
    for (UpperBinding* b : *this)
      if (b == binding) return true;
    return false;
  }
};

class AdapterTrafficImpl final : public AdapterTraffic {
 public:
  explicit AdapterTrafficImpl(Adapter& adapter);
  ~AdapterTrafficImpl() override;

  // The traffic of a live adapter.
  static AdapterTrafficImpl& of(Adapter& adapter);

  // AdapterTraffic
  void onRunning() override;
  void onPausing() override;
  void waitQuiescent() override;
  void onHalting() override;
  void onSurpriseRemoved() override;
  NDIS_STATUS setDevicePower(NDIS_DEVICE_POWER_STATE state) override;
  std::size_t sendsHeld() const override;
  std::size_t completeStrandedSends(NDIS_STATUS status) override;
  void attach(UpperBinding& binding) override;
  void detach(UpperBinding& binding) override;
  void send(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG sendFlags) override;
  void returnNetBufferLists(UpperBinding& binding, PNET_BUFFER_LIST nbls, ULONG returnFlags) override;
  NDIS_STATUS oidRequest(UpperBinding& binding, PNDIS_OID_REQUEST request) override;
  void cancelSend(UpperBinding& binding, PVOID cancelId) override;
  void cancelOidRequest(UpperBinding& binding, PVOID requestId) override;
  TrafficCounters counters() const override;
  void setHangDetectionOptions(const HangDetectionOptions& options) override;
  HangDetectionOptions hangDetectionOptions() const override;
  void setHangHandler(std::function<void(const HangEvent&)> handler) override;
  std::uint32_t checkPeriodMs() const override;
  NDIS_STATUS requestSync(NDIS_OID_REQUEST& request) override;
  NDIS_STATUS resetFromHost() override;

  // The miniport-side DDIs (traffic_ddi.cpp validated the handle and IRQL).
  void sendComplete(PNET_BUFFER_LIST nbls, ULONG flags, const void* caller);
  void indicateReceive(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count, ULONG flags, const void* caller);
  void oidRequestComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status, const void* caller);
  void indicateStatus(const NDIS_STATUS_INDICATION& indication, const void* caller);
  void resetComplete(NDIS_STATUS status, BOOLEAN addressingReset, const void* caller);

 private:
  struct SendSlot {
    std::uint64_t period = 0;  // the oldest check period an NBL counted here was sent in
    std::size_t held = 0;
  };
  static constexpr std::size_t kSendSlots = 16;

  // --- sends / receives (adapter_traffic.cpp) ---
  void completeRefused(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_STATUS status);
  // The list of held sends (under lock_). An NBL without a NET_BUFFER cannot be listed.
  void linkHeldLocked(PNET_BUFFER_LIST nbl);
  void unlinkHeldLocked(PNET_BUFFER_LIST nbl);
  // Takes an owned, held NBL back from the miniport (under lock_): counts, SourceHandle
  // restored, marked completed, its binding parked in NdisReserved[1] for deliverCompleted.
  void takeBackLocked(PNET_BUFFER_LIST nbl);
  // Hands NBLs prepared by takeBackLocked (linked by Next) to their bindings, in runs of one
  // binding, then lets waiters see sendsDelivering_ drop by `count`.
  void deliverCompleted(PNET_BUFFER_LIST head, std::size_t count, ULONG flags);
  // Wakes waitQuiescent/onHalting when `wake` was decided under lock_ with wakesInFlight_ raised.
  void wakeWaiters();
  // PASSIVE_LEVEL. Waits until done() holds (checked under lock_); with a non-zero
  // `limitMs`, gives up once only held sends are left and that time passed (false).
  bool waitUntil(bool (AdapterTrafficImpl::*done)() const, std::uint32_t limitMs);
  bool nothingInProgressLocked() const { return callsInProgress_ == 0 && sendsDelivering_ == 0; }
  // Only a pause (quiescing_) or a halt waits on quiescent_; both raise their flag under
  // lock_ before they first look at the counts, so a running adapter's sends and
  // completions never pay for a KeSetEvent.
  bool wakeWantedLocked() const { return quiescing_ || halting_; }
  bool quiescentLocked() const {
    return sendsHeld_ == 0 && sendsDelivering_ == 0 && receivesHeld_ == 0 && callsInProgress_ == 0;
  }
  // Only the sends the miniport holds are left (what pauseDrainMs bounds).
  bool onlyHeldSendsLeftLocked() const {
    return sendsDelivering_ == 0 && receivesHeld_ == 0 && callsInProgress_ == 0;
  }
  // A call NDIS makes into the miniport (or to the bindings on the miniport's behalf) on the
  // data path is outstanding from the moment NDIS decides to make it until it returns:
  // pause waits for it and halt does not free the adapter under it. begin under lock_.
  void beginCallLocked() { ++callsInProgress_; }
  void endCall();
  void returnToMiniport(PNET_BUFFER_LIST nbls);
  bool bindingAttachedLocked(const UpperBinding* binding) const;
  void violation(std::string_view rule, NdisBugSubcode subcode, const void* object, std::uint64_t detail,
                 const void* caller, std::string text);

  // --- OIDs (oid_path.cpp) ---
  NDIS_STATUS submitOid(UpperBinding* binding, PNDIS_OID_REQUEST request, SyncWaiter* waiter);
  bool answerFromNdis(UpperBinding& binding, NDIS_OID_REQUEST& request, NDIS_STATUS& status);
  // Hands queued requests to the miniport one at a time while none is outstanding there.
  // Returns the status of `own` when it completed synchronously during this call.
  NDIS_STATUS pumpOids(PNDIS_OID_REQUEST own);
  // Called once the miniport finished `request`; delivers it (binding, waiter).
  void finishOid(PNDIS_OID_REQUEST request, NDIS_STATUS status, bool deliver);
  void rememberAddressing(UpperBinding* binding, const NDIS_OID_REQUEST& request);
  void failQueuedOids(NDIS_STATUS status);

  // --- hang detection and reset (hang_detection.cpp) ---
  void startHangTimer();
  void stopHangTimer();
  static VOID NTAPI hangTimerDpc(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2);
  static VOID NTAPI hangWorker(PVOID context);
  void checkForHang();
  // Returns the reset's status (NDIS_STATUS_ADAPTER_REMOVED when halting ended it).
  NDIS_STATUS reset(const HangEvent& event);
  void waitForResetComplete();
  void replayAddressing();
  void indicateNdisStatus(NDIS_STATUS code, PVOID buffer, ULONG size);

  Adapter& adapter_;
  MiniportDriver& driver_;

  mutable std::mutex lock_;
  bool running_ = false;
  bool surpriseRemoved_ = false;
  bool halting_ = false;
  bool resetting_ = false;
  bool quiescing_ = false;  // between waitQuiescent and the next onRunning: no receives
  BindingSet bindings_;
  std::array<SendSlot, kSendSlots> sendSlots_{};
  std::size_t sendsHeld_ = 0;
  PNET_BUFFER_LIST heldSends_ = nullptr;  // the NBLs counted in sendsHeld_ that have a NET_BUFFER
  std::size_t sendsDelivering_ = 0;
  std::size_t receivesHeld_ = 0;
  std::size_t callsInProgress_ = 0;  // beginCallLocked/endCall
  // Wakes of quiescent_ decided under lock_ and not yet done: the waiters' last step waits
  // for none to be left, so no KeSetEvent touches an adapter its pause or halt let go.
  std::atomic<int> wakesInFlight_{0};
  TrafficCounters counters_;
  char completedMarker_ = 0;
  char receiveMarker_ = 0;
  KEVENT quiescent_;  // set whenever a count above dropped while a pause or halt may be waiting

  // OIDs
  char oidQueuedMarker_ = 0;
  char oidCompletedMarker_ = 0;
  PNDIS_OID_REQUEST oidHead_ = nullptr;
  PNDIS_OID_REQUEST oidTail_ = nullptr;
  PNDIS_OID_REQUEST oidCurrent_ = nullptr;  // at the miniport
  bool oidCurrentReturned_ = false;         // MiniportOidRequest returned PENDING for it
  bool oidCurrentCompletedEarly_ = false;   // NdisMOidRequestComplete came before that
  NDIS_STATUS oidCurrentEarlyStatus_ = NDIS_STATUS_SUCCESS;
  bool oidPumping_ = false;
  // Addressing state NDIS replays after a reset with AddressingReset (and answers queries
  // for): per-binding packet filters and lookaheads, the last multicast list set.
  struct BindingAddressing {
    UpperBinding* binding;
    ULONG packetFilter;
    ULONG lookahead;
  };
  std::vector<BindingAddressing> addressing_;
  std::vector<UCHAR> multicastList_;
  bool multicastSet_ = false;
  NDIS_MEDIA_CONNECT_STATE mediaConnectState_ = MediaConnectStateUnknown;

  // Hang detection
  HangDetectionOptions hangOptions_;
  std::function<void(const HangEvent&)> hangHandler_;
  std::uint64_t period_ = 0;  // check periods elapsed
  KTIMER hangTimer_;
  KDPC hangDpc_;
  WORK_QUEUE_ITEM hangWork_;
  bool timerStarted_ = false;
  bool hangWorkQueued_ = false;  // under lock_
  KEVENT hangWorkIdle_;
  KEVENT resetDone_;
  std::mutex resetGate_;  // one reset at a time: the hang worker's or the host's
  NDIS_STATUS resetStatus_ = NDIS_STATUS_SUCCESS;
  bool resetAddressing_ = false;
  bool resetPending_ = false;    // MiniportResetEx returned PENDING, NdisMResetComplete not yet
  bool resetCompleted_ = false;  // NdisMResetComplete came for the reset in progress
};

}  // namespace traffic
}  // namespace ndishost::ndis
