// One binding of a protocol driver to an adapter: what NdisOpenAdapterEx's NdisBindingHandle
// points at, and the UpperBinding the adapter's traffic delivers to.
//
// It runs the protocol binding state machine of the guide ("Binding States of a Protocol
// Driver", "Protocol Binding States and Operations"):
//
//   Unbound -> Opening -> Paused <-> Restarting -> Running -> Pausing -> Paused -> Closing -> Unbound
//   (Opening -> Unbound when the bind fails; Restarting -> Paused when the restart fails)
//
// The ProtocolSide drives the transitions at PASSIVE_LEVEL (bind, restart, pause, unbind, each
// waiting for whatever the protocol pended), and every protocol call is checked against the
// state: NdisOpenAdapterEx only inside the bind, NdisCloseAdapterEx only inside the bind or
// the unbind, sends only while Running or Pausing (otherwise "ndis.protocol-send-not-running"
// and the NBLs come back with NDIS_STATUS_PAUSED), OID requests only while open, completions
// only for what was pended.
//
// Three handles point into a Binding: the NdisBindingHandle (the object), the BindContext of
// ProtocolBindAdapterEx and the UnbindContext of ProtocolUnbindAdapterEx (tokens inside it),
// so passing one where another is expected is caught.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "ndis/core/ndis_object.hpp"
#include "ndis/traffic/adapter_traffic.hpp"

namespace ndishost::ndis {

class BindTarget;
class ProtocolDriver;

enum class BindingState : std::uint8_t { Unbound, Opening, Paused, Restarting, Running, Pausing, Closing };

const char* toString(BindingState state);

// How NDIS completes opens and closes. Windows may pend either; a protocol must handle both,
// so tests (and a host wanting to shake out a protocol) can make NDIS pend them, completing
// from a system worker thread at PASSIVE_LEVEL.
struct BindingCompletionModes {
  bool pendOpens = false;
  bool pendCloses = false;
};
void setBindingCompletionModes(BindingCompletionModes modes);
BindingCompletionModes bindingCompletionModes();

class Binding final : public NdisObject, public UpperBinding {
 public:
  Binding(ProtocolDriver& protocol, BindTarget& target);
  // Detaches from the traffic if the protocol never closed (reported by unbind()).
  ~Binding() override;

  PVOID ioObject() const override { return nullptr; }
  ConfigurationStore* configuration() const override { return nullptr; }
  std::string describe() const override { return name_; }

  ProtocolDriver& protocol() const { return protocol_; }
  BindTarget& target() const { return target_; }
  BindingState state() const { return state_.load(std::memory_order_acquire); }
  NDIS_HANDLE protocolBindingContext() const { return protocolBindingContext_; }

  // --- the ProtocolSide (PASSIVE_LEVEL, one operation at a time per binding) -------------
  // ProtocolBindAdapterEx; true when the binding ended Paused (open), false when Unbound.
  bool bind();
  // NetEventRestart; true when Running.
  bool restart();
  // NetEventPause, then waits for the binding's sends to complete and its receives to return.
  void pause();
  // ProtocolUnbindAdapterEx (the binding must be Paused); ends Unbound.
  void unbind();
  // NetEventQueryRemoveDevice (IRP_MN_QUERY_REMOVE_DEVICE or _QUERY_STOP_DEVICE reached the
  // adapter); the protocol's answer (NDIS_STATUS_FAILURE: it cannot let the adapter go).
  // An open that is not Paused or Running (mid-bind or mid-unbind) is not asked: SUCCESS.
  NDIS_STATUS queryRemove();
  // NetEventCancelRemoveDevice (the removal or stop was cancelled). A protocol should
  // always succeed it; a failure is logged.
  void cancelRemove();

  // --- the DDIs (caller = the driver's return address, for reports) --------------------
  NDIS_STATUS open(NDIS_HANDLE protocolBindingContext, PNDIS_OPEN_PARAMETERS parameters, const void* caller);
  NDIS_STATUS close(const void* caller);
  void completeBind(NDIS_STATUS status, const void* caller);
  void completeUnbind(const void* caller);
  void completeNetPnPEvent(PNET_PNP_EVENT_NOTIFICATION notification, NDIS_STATUS status, const void* caller);
  void send(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG sendFlags, const void* caller);
  void returnNetBufferLists(PNET_BUFFER_LIST nbls, ULONG returnFlags, const void* caller);
  NDIS_STATUS oidRequest(PNDIS_OID_REQUEST request, const void* caller);
  void cancelSend(PVOID cancelId, const void* caller);
  void cancelOidRequest(PVOID requestId, const void* caller);

  // --- UpperBinding (the adapter's traffic, <= DISPATCH_LEVEL) ---------------------------
  void receive(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count, ULONG receiveFlags) override;
  void sendComplete(PNET_BUFFER_LIST nbls, ULONG sendCompleteFlags) override;
  void oidComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status) override;
  void status(const NDIS_STATUS_INDICATION& indication) override;

  // NdisCloseAdapterEx was called (or NDIS closed it): the handle is dead to the protocol.
  bool closed() const { return closed_.load(); }

  NDIS_HANDLE bindContext() { return &bindToken_; }
  NDIS_HANDLE unbindContext() { return &unbindToken_; }

  // Outstanding work the protocol started (or holds) on this binding.
  std::size_t sendsOutstanding() const { return sends_.load(); }
  std::size_t receivesHeld() const { return receives_.load(); }
  std::size_t oidsOutstanding() const { return oids_.load(); }

  // The live binding each kind of handle belongs to, or null. Never dereferences the handle
  // unless it is registered.
  static Binding* fromHandle(NDIS_HANDLE bindingHandle);
  static Binding* fromBindContext(NDIS_HANDLE bindContext);
  static Binding* fromUnbindContext(NDIS_HANDLE unbindContext);

 private:
  struct Token {
    Binding* owner;
  };

  bool transition(BindingState from, BindingState to, const char* why);
  void setState(BindingState to, const char* why);
  // Calls ProtocolNetPnPEvent and waits for NdisCompleteNetPnPEvent if it pended.
  NDIS_STATUS netPnPEvent(NET_PNP_EVENT_CODE code, PVOID buffer, ULONG bufferLength);
  // Waits (PASSIVE_LEVEL) until `done` holds, warning now and then while it does not.
  template <typename Predicate>
  void waitFor(const char* what, Predicate done);
  void signal();
  void upcallReturned();  // a completion handler returned: upcalls_ down, waiters woken
  // NDIS's own close when the protocol left the binding open (bind failure, unbind).
  void forceClose();
  void finishOpen(NDIS_STATUS status);   // ProtocolOpenAdapterCompleteEx (pended opens)
  void finishClose();                    // ProtocolCloseAdapterCompleteEx (pended closes)
  static VOID NTAPI openCompletionWorker(PVOID context);
  static VOID NTAPI closeCompletionWorker(PVOID context);
  void completeSendsLocally(PNET_BUFFER_LIST nbls, NDIS_STATUS status, ULONG sendFlags);

  ProtocolDriver& protocol_;
  BindTarget& target_;
  std::string name_;
  Token bindToken_{this};
  Token unbindToken_{this};
  std::atomic<BindingState> state_{BindingState::Unbound};
  NDIS_HANDLE protocolBindingContext_ = nullptr;

  std::mutex lock_;
  std::condition_variable changed_;
  bool inBind_ = false;          // from ProtocolBindAdapterEx until the bind completes
  bool bindPending_ = false;     // BindAdapterEx returned NDIS_STATUS_PENDING
  bool bindCompleted_ = false;
  NDIS_STATUS bindStatus_ = NDIS_STATUS_SUCCESS;
  bool inUnbind_ = false;        // from ProtocolUnbindAdapterEx until the unbind completes
  bool unbindPending_ = false;
  bool unbindCompleted_ = false;
  bool opened_ = false;          // NdisOpenAdapterEx succeeded (or pended) and no close yet
  bool openPending_ = false;     // until ProtocolOpenAdapterCompleteEx returned
  NDIS_STATUS openStatus_ = NDIS_STATUS_SUCCESS;
  std::atomic<bool> closed_{false};  // NdisCloseAdapterEx called: the handle is dead to the protocol
  std::atomic<bool> open_{false};    // open completed successfully and not closed: status goes up
  bool closePending_ = false;    // until ProtocolCloseAdapterCompleteEx returned
  bool attached_ = false;        // attached to the target's traffic
  PNET_PNP_EVENT_NOTIFICATION pnpPending_ = nullptr;
  bool pnpCompleted_ = false;
  NDIS_STATUS pnpStatus_ = NDIS_STATUS_SUCCESS;
  WORK_QUEUE_ITEM completionItem_{};

  std::atomic<std::size_t> sends_{0};
  std::atomic<std::size_t> receives_{0};
  std::atomic<std::size_t> oids_{0};
  // Completion handlers of the protocol running now. A send or OID request is the
  // protocol's again once its completion handler is called (it may close the binding from
  // there or right after), so sends_/oids_ drop before the call; the object itself must
  // outlive the call, so the destructor waits for this to reach zero.
  std::atomic<std::size_t> upcalls_{0};
};

}  // namespace ndishost::ndis
