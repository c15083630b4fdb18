// The AdapterTraffic behind makeAdapterTraffic: internal to src/ndis/traffic.
//
// Bookkeeping lives in the structures NDIS reserves for itself, as in Windows, so nothing is
// allocated per packet:
//  - an NBL the miniport holds for sending: NdisReserved[0] points at the adapter's send
//    slot for the hang check period it was sent in (which also proves "this adapter's
//    miniport holds it"), NdisReserved[1] keeps the SourceHandle the binding had; the
//    SourceHandle is the UpperBinding while the miniport holds it. After the completion
//    NdisReserved[0] points at completedMarker_, so a second completion is recognised.
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

// BUGCODE_NDIS_DRIVER parameter 1 values for the traffic rules (ndishost's numbering,
// continuing ndis_rules.hpp's; p2 the NBL/request/indication, p3 a detail value; the
// report's text names the adapter; see docs/CHECKS.md).
inline constexpr NdisBugSubcode kSubcodeNblNotOwned = static_cast<NdisBugSubcode>(0x20);
inline constexpr NdisBugSubcode kSubcodeNblCompleteTwice = static_cast<NdisBugSubcode>(0x21);
inline constexpr NdisBugSubcode kSubcodeReceiveState = static_cast<NdisBugSubcode>(0x22);
inline constexpr NdisBugSubcode kSubcodeReceiveFlags = static_cast<NdisBugSubcode>(0x23);
inline constexpr NdisBugSubcode kSubcodeOidComplete = static_cast<NdisBugSubcode>(0x24);
inline constexpr NdisBugSubcode kSubcodeStatusIndication = static_cast<NdisBugSubcode>(0x25);
inline constexpr NdisBugSubcode kSubcodeResetComplete = static_cast<NdisBugSubcode>(0x26);
inline constexpr NdisBugSubcode kSubcodeReturnNotIndicated = static_cast<NdisBugSubcode>(0x27);

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
  void attach(UpperBinding& binding) override;
  void detach(UpperBinding& binding) override;
  void send(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG sendFlags) override;
  void returnNetBufferLists(UpperBinding& binding, PNET_BUFFER_LIST nbls, ULONG returnFlags) override;
  NDIS_STATUS oidRequest(UpperBinding& binding, PNDIS_OID_REQUEST request) override;
  void cancelSend(UpperBinding& binding, PVOID cancelId) override;
  void cancelOidRequest(UpperBinding& binding, PVOID requestId) override;
  TrafficCounters counters() const override;
  void setHangDetectionOptions(const HangDetectionOptions& options) override;
  void setHangHandler(std::function<void(const HangEvent&)> handler) override;
  std::uint32_t checkPeriodMs() const override;
  NDIS_STATUS requestSync(NDIS_OID_REQUEST& request) override;

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
  void signalIfQuiescent();
  bool quiescentLocked() const { return sendsHeld_ == 0 && sendsDelivering_ == 0 && receivesHeld_ == 0; }
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
  void reset(const HangEvent& event);
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
  std::size_t sendsDelivering_ = 0;
  std::size_t receivesHeld_ = 0;
  TrafficCounters counters_;
  char completedMarker_ = 0;
  char receiveMarker_ = 0;
  KEVENT quiescent_;  // set whenever quiescentLocked() may have become true

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
  NDIS_STATUS resetStatus_ = NDIS_STATUS_SUCCESS;
  bool resetAddressing_ = false;
  bool resetPending_ = false;    // MiniportResetEx returned PENDING, NdisMResetComplete not yet
  bool resetCompleted_ = false;  // NdisMResetComplete came for the reset in progress
};

}  // namespace traffic
}  // namespace ndishost::ndis
