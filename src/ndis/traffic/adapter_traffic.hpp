// What moves through a running adapter: sends, receives, OID requests and status
// indications, between the miniport below and the bindings (protocol opens) above.
//
// The Adapter owns one AdapterTraffic (Adapter::traffic(), made by makeAdapterTraffic). The lifecycle code
// (adapter_lifecycle.cpp) tells it about state changes; the miniport-side DDIs
// (NdisMSendNetBufferListsComplete, NdisMIndicateReceiveNetBufferLists,
// NdisMOidRequestComplete, NdisMIndicateStatusEx, NdisMResetComplete) and the protocol side
// (src/ndis/protocol) go through it. It also runs the adapter's hang detection
// (send and OID time-outs, or MiniportCheckForHangEx, then MiniportResetEx).
//
// NDIS semantics kept here:
//  - A binding sees receives, send completions, OID completions and status through
//    UpperBinding; a send completion goes to the binding that sent the NBL (NDIS sets
//    NET_BUFFER_LIST.SourceHandle to the binding on the way down and restores it).
//  - Sends to an adapter that is not Running are completed by NDIS with NDIS_STATUS_PAUSED
//    (NDIS_STATUS_ADAPTER_REMOVED after surprise removal or once halting,
//    NDIS_STATUS_RESET_IN_PROGRESS during a reset) without reaching the miniport.
//  - OID requests are serialised: one at a time reaches MiniportOidRequest; the queries the
//    OID pages say "NDIS handles" are answered from the general attributes; a binding's
//    request during a reset fails with NDIS_STATUS_RESET_IN_PROGRESS.
//  - A receive goes up as-is to a single binding, which may keep the NBLs and return them
//    later; with several bindings each gets it under NDIS_RECEIVE_FLAGS_RESOURCES (copy
//    semantics) and NDIS hands the NBLs back to the miniport itself.
//  - At most BindingSet::kCapacity (8) bindings per adapter; a binding is detached only when
//    it has nothing outstanding.
//  - Pause waits (PASSIVE_LEVEL) until every send the miniport holds has been completed,
//    every receive indicated without NDIS_RECEIVE_FLAGS_RESOURCES has been returned and
//    every call NDIS makes into the miniport on the data path (MiniportSendNetBufferLists,
//    MiniportReturnNetBufferLists, MiniportOidRequest, MiniportCancelSend,
//    MiniportCancelOidRequest) and every indication it passes up has returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

class Adapter;

// One binding above the adapter (a protocol's open, or the host's TAP binding).
// Called at the IRQL the NDIS documentation gives for the matching Protocol* handler
// (receive/send-complete/status at <= DISPATCH_LEVEL, OID completion at <= DISPATCH_LEVEL).
class UpperBinding {
 public:
  virtual ~UpperBinding() = default;
  // NDIS_RECEIVE_FLAGS_* in receiveFlags; with NDIS_RECEIVE_FLAGS_RESOURCES the NBLs are
  // the miniport's again when this returns, otherwise the binding must hand each one back
  // with AdapterTraffic::returnNetBufferLists.
  virtual void receive(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count, ULONG receiveFlags) = 0;
  virtual void sendComplete(PNET_BUFFER_LIST nbls, ULONG sendCompleteFlags) = 0;
  virtual void oidComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status) = 0;
  virtual void status(const NDIS_STATUS_INDICATION& indication) = 0;
};

// What the host reads about an adapter's traffic (AdapterTraffic::counters()).
struct TrafficCounters {
  std::uint64_t sends = 0;            // NBLs handed to MiniportSendNetBufferLists
  std::uint64_t sendsRefused = 0;     // NBLs NDIS completed itself (paused, removed, resetting)
  std::uint64_t sendCompletions = 0;  // NBLs the miniport completed (NdisMSendNetBufferListsComplete)
  std::uint64_t sendCancels = 0;      // MiniportCancelSend calls
  std::uint64_t receives = 0;         // NBLs indicated (NdisMIndicateReceiveNetBufferLists)
  std::uint64_t returns = 0;          // NBLs handed back to MiniportReturnNetBufferLists
  std::uint64_t oidRequests = 0;      // requests passed to MiniportOidRequest
  std::uint64_t oidsAnsweredByNdis = 0;
  std::uint64_t oidCompletions = 0;   // requests finished by the miniport (sync or pended)
  std::uint64_t statusIndications = 0;
  std::uint64_t hangsDetected = 0;    // time-outs or MiniportCheckForHangEx == TRUE
  std::uint64_t resets = 0;           // MiniportResetEx calls
  std::uint64_t hangsWithoutReset = 0;  // hangs of a miniport with no MiniportResetEx
  std::uint64_t resetsOverdue = 0;      // pended resets not completed within resetChecks periods
  std::uint64_t violations = 0;       // NDIS rules the miniport broke on these paths
};

// Hang detection time-outs (issue 3 item 6; docs: "Miniport Adapter Check-for-Hang and Reset
// Operations", NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES.CheckForHangTimeInSeconds).
struct HangDetectionOptions {
  bool enabled = true;
  // 0: the period the miniport set (CheckForHangTimeInSeconds; 0 there means 2 s; NDIS uses a
  // multiple of 2 s, rounded down, never below 2 s). Non-zero overrides it (milliseconds).
  std::uint32_t periodOverrideMs = 0;
  // An OID request the miniport has not completed after this many checks is a hang ("within
  // two successive calls"), or slowOidChecks for the OIDs in slowOids ("for some OID
  // requests ... four"; the reference does not list them, so the host names them).
  std::uint32_t oidChecks = 2;
  std::uint32_t slowOidChecks = 4;
  std::vector<NDIS_OID> slowOids;
  // A send the miniport has held for this many checks is a hang.
  std::uint32_t sendChecks = 2;
  // How long a pause waits, once the miniport completed it, for sends the miniport still
  // holds (milliseconds; 0: as long as it takes, as Windows does). The guide ("Pausing an
  // Adapter") says the miniport completes every send before it completes the pause; one that
  // does not would block the PnP worker for ever. After this time the pause finishes anyway
  // and a halt that follows reports "ndis.halt-outstanding". Calls in progress and receives
  // the bindings hold are always waited for.
  std::uint32_t pauseDrainMs = 0;
  // A MiniportResetEx that returned NDIS_STATUS_PENDING and has not called NdisMResetComplete
  // after this many check periods is reported (log, counter, hang handler with reason
  // "reset-timeout"); NDIS keeps waiting (the adapter stays in reset: sends and requests fail
  // with NDIS_STATUS_RESET_IN_PROGRESS) until the completion or the adapter's halt.
  std::uint32_t resetChecks = 2;
  // A halt (the data-path calls in progress, then MiniportHaltEx) that has not finished
  // after this many milliseconds is reported (error log, Ndis trace event); NDIS keeps
  // waiting, as Windows does. 0: never reported.
  std::uint32_t haltReportMs = 0;
  // What to do when a miniport without MiniportResetEx hangs: only report (event, counter,
  // log), or also ask the host to restart the adapter (restartHandler below).
  bool restartWithoutResetHandler = false;
};

// Reported to the host when hang detection fires (after the counter and log).
struct HangEvent {
  const char* reason;      // "oid-timeout", "send-timeout", "check-for-hang", "reset-timeout"
  NDIS_OID oid;            // for "oid-timeout"
  bool resetHandled;       // MiniportResetEx exists and was called
  // HangDetectionOptions::restartWithoutResetHandler and either no MiniportResetEx or a
  // reset that never completed ("reset-timeout")
  bool restartRequested;
};

class AdapterTraffic {
 public:
  virtual ~AdapterTraffic() = default;

  // --- the lifecycle code (PASSIVE_LEVEL, PnP worker) -----------------------------------
  virtual void onRunning() = 0;       // Restarting -> Running done: sends may reach the miniport
  virtual void onPausing() = 0;       // Running -> Pausing: new sends are refused
  // Blocks until no send is held (or HangDetectionOptions::pauseDrainMs passed), no receive
  // is outstanding and no NDIS call into the miniport's data-path handlers is in progress.
  virtual void waitQuiescent() = 0;
  // Before MiniportHaltEx: stops hang detection, fails queued OIDs, waits for the data-path
  // calls in progress (a request or cancel reaching a Paused adapter) to return.
  virtual void onHalting() = 0;
  virtual void onSurpriseRemoved() = 0;
  // OID_PNP_QUERY_POWER then OID_PNP_SET_POWER to the miniport for a device power change
  // (power-management-for-wdm-lower-edge.md), while the adapter is Paused.
  virtual NDIS_STATUS setDevicePower(NDIS_DEVICE_POWER_STATE state) = 0;
  // Outstanding work MiniportHaltEx would strand ("ndis.halt-outstanding" if non-zero).
  virtual std::size_t sendsHeld() const = 0;
  // PASSIVE_LEVEL, before the bindings go (halt): completes every send the miniport still
  // holds to the binding that sent it, once, with `status`. Each NBL is marked completed, so
  // a completion the miniport makes later is reported ("ndis.nbl-complete-twice") and not
  // delivered again. Returns how many NBLs were completed.
  virtual std::size_t completeStrandedSends(NDIS_STATUS status) = 0;

  // --- bindings (the protocol side) -----------------------------------------------------
  virtual void attach(UpperBinding& binding) = 0;
  virtual void detach(UpperBinding& binding) = 0;
  // NdisSendNetBufferLists on behalf of `binding`; <= DISPATCH_LEVEL.
  virtual void send(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG sendFlags) = 0;
  // NdisReturnNetBufferLists; <= DISPATCH_LEVEL.
  virtual void returnNetBufferLists(UpperBinding& binding, PNET_BUFFER_LIST nbls, ULONG returnFlags) = 0;
  // NdisOidRequest on behalf of `binding`; returns NDIS_STATUS_PENDING or the final status
  // (then oidComplete is not called). <= DISPATCH_LEVEL for query/set as documented.
  virtual NDIS_STATUS oidRequest(UpperBinding& binding, PNDIS_OID_REQUEST request) = 0;
  virtual void cancelSend(UpperBinding& binding, PVOID cancelId) = 0;
  virtual void cancelOidRequest(UpperBinding& binding, PVOID requestId) = 0;

  // --- the host and NDIS itself ---------------------------------------------------------
  virtual TrafficCounters counters() const = 0;
  // Takes effect at the next check (call before the adapter runs to change the period).
  virtual void setHangDetectionOptions(const HangDetectionOptions& options) = 0;
  virtual HangDetectionOptions hangDetectionOptions() const = 0;
  // Called (at PASSIVE_LEVEL, on a system worker) whenever a hang is detected; for a
  // miniport without MiniportResetEx and restartWithoutResetHandler, the host restarts the
  // adapter from here (or from elsewhere later). Empty: no handler.
  virtual void setHangHandler(std::function<void(const HangEvent&)> handler) = 0;
  // The period NDIS checks this adapter at (milliseconds), per the registration attributes.
  virtual std::uint32_t checkPeriodMs() const = 0;
  // An OID request NDIS itself issues and waits for at PASSIVE_LEVEL (reset replay, power):
  // queued behind bindings' requests like any other, never answered from NDIS's own data.
  virtual NDIS_STATUS requestSync(NDIS_OID_REQUEST& request) = 0;
  // PASSIVE_LEVEL. A reset the host asks for (`ndishost reset`), done exactly as after a
  // detected hang: NDIS_STATUS_RESET_START, MiniportResetEx, waiting for
  // NdisMResetComplete if it pends, the addressing replay after an AddressingReset,
  // NDIS_STATUS_RESET_END. Returns the reset's status; NDIS_STATUS_NOT_SUPPORTED for a
  // miniport without MiniportResetEx; NDIS_STATUS_ADAPTER_REMOVED once the adapter halts.
  // Resets never overlap: one detected meanwhile waits for this one.
  virtual NDIS_STATUS resetFromHost() = 0;
};

std::unique_ptr<AdapterTraffic> makeAdapterTraffic(Adapter& adapter);

}  // namespace ndishost::ndis
