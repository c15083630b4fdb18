// Sends, receives, bindings and the lifecycle hooks of an adapter's traffic
// (traffic_impl.hpp explains the bookkeeping and the locking).
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "ndis/miniport/adapter.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "ndis/traffic/traffic_impl.hpp"
#include "nt/ex/current_irql.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::ndis {

std::unique_ptr<AdapterTraffic> makeAdapterTraffic(Adapter& adapter) {
  return std::make_unique<traffic::AdapterTrafficImpl>(adapter);
}

namespace traffic {
namespace {

ULONG dispatchFlagFor(ULONG flag) { return nt::currentIrqlOrPassive() >= DISPATCH_LEVEL ? flag : 0; }

// The held-sends list link in a sent NBL's first NET_BUFFER (NDIS's own NdisReserved).
PNET_BUFFER_LIST heldPrevious(PNET_BUFFER_LIST nbl) {
  return static_cast<PNET_BUFFER_LIST>(nbl->FirstNetBuffer->NdisReserved[0]);
}
PNET_BUFFER_LIST heldNext(PNET_BUFFER_LIST nbl) { return static_cast<PNET_BUFFER_LIST>(nbl->FirstNetBuffer->NdisReserved[1]); }
void setHeldPrevious(PNET_BUFFER_LIST nbl, PNET_BUFFER_LIST previous) { nbl->FirstNetBuffer->NdisReserved[0] = previous; }
void setHeldNext(PNET_BUFFER_LIST nbl, PNET_BUFFER_LIST next) { nbl->FirstNetBuffer->NdisReserved[1] = next; }

}  // namespace

AdapterTrafficImpl::AdapterTrafficImpl(Adapter& adapter) : adapter_(adapter), driver_(adapter.driver()) {
  KeInitializeEvent(&quiescent_, NotificationEvent, TRUE);
  KeInitializeEvent(&hangWorkIdle_, NotificationEvent, TRUE);
  KeInitializeEvent(&resetDone_, NotificationEvent, FALSE);
  KeInitializeTimerEx(&hangTimer_, NotificationTimer);
  KeInitializeDpc(&hangDpc_, hangTimerDpc, this);
  ExInitializeWorkItem(&hangWork_, hangWorker, this);
}

AdapterTrafficImpl::~AdapterTrafficImpl() {
  {
    std::lock_guard guard(lock_);
    halting_ = true;
  }
  stopHangTimer();
}

// makeAdapterTraffic is the only maker of AdapterTraffic objects.
AdapterTrafficImpl& AdapterTrafficImpl::of(Adapter& adapter) { return static_cast<AdapterTrafficImpl&>(adapter.traffic()); }

void AdapterTrafficImpl::violation(std::string_view rule, NdisBugSubcode subcode, const void* object,
                                   std::uint64_t detail, const void* caller, std::string text) {
  {
    std::lock_guard guard(lock_);
    ++counters_.violations;
  }
  reportNdisViolation(rule, subcode, object, detail, caller, fmt::format("{}: {}", adapter_.describe(), text));
}

// --- lifecycle ------------------------------------------------------------------------

void AdapterTrafficImpl::onRunning() {
  bool start = false;
  {
    std::lock_guard guard(lock_);
    running_ = true;
    halting_ = false;  // an adapter halted and initialized again (power cycle) runs again
    quiescing_ = false;
    start = !timerStarted_ && !halting_;
    timerStarted_ = timerStarted_ || start;
  }
  if (start) startHangTimer();
}

void AdapterTrafficImpl::onPausing() {
  std::lock_guard guard(lock_);
  running_ = false;
}

bool AdapterTrafficImpl::waitUntil(bool (AdapterTrafficImpl::*done)() const, std::uint32_t limitMs) {
  const ULONGLONG deadline = KeQueryInterruptTime() + ULONGLONG{limitMs} * 10000;
  bool reached = true;
  // Clear, re-check, wait: whoever lowers a count after the check sets the event after our
  // clear, so the wait cannot miss it.
  for (;;) {
    KeClearEvent(&quiescent_);
    bool timedOut = false;
    {
      std::lock_guard guard(lock_);
      if ((this->*done)()) break;
      timedOut = limitMs != 0 && onlyHeldSendsLeftLocked() && KeQueryInterruptTime() >= deadline;
    }
    if (timedOut) {
      reached = false;
      break;
    }
    LARGE_INTEGER remaining;
    ULONGLONG now = KeQueryInterruptTime();
    remaining.QuadPart = -static_cast<LONGLONG>(now < deadline ? deadline - now : 10000);
    KeWaitForSingleObject(&quiescent_, Executive, KernelMode, FALSE, limitMs != 0 ? &remaining : nullptr);
  }
  // A waker that decided to wake us may still be inside KeSetEvent on this adapter's event.
  while (wakesInFlight_.load(std::memory_order_acquire) != 0) {
    LARGE_INTEGER tick;
    tick.QuadPart = -10000;  // 1 ms: a scheduling point in deterministic mode as well
    KeDelayExecutionThread(KernelMode, FALSE, &tick);
  }
  return reached;
}

void AdapterTrafficImpl::waitQuiescent() {
  std::uint32_t limitMs;
  {
    std::lock_guard guard(lock_);
    quiescing_ = true;
    limitMs = hangOptions_.pauseDrainMs;
  }
  if (!waitUntil(&AdapterTrafficImpl::quiescentLocked, limitMs)) {
    nt::logger("ndis").error("{}: the miniport completed its pause but still holds {} send(s) after {} ms; the pause "
                             "ends without them (a halt now reports ndis.halt-outstanding)",
                             adapter_.describe(), sendsHeld(), limitMs);
  }
}

void AdapterTrafficImpl::onHalting() {
  {
    std::lock_guard guard(lock_);
    halting_ = true;
    running_ = false;
  }
  // Queued requests first: a reset's replay waiting for one of them must end before the
  // hang-check worker can be waited for.
  failQueuedOids(NDIS_STATUS_REQUEST_ABORTED);
  stopHangTimer();
  // A request, cancel or completion NDIS is still passing on (the adapter was Paused, not
  // quiescing) returns before MiniportHaltEx and before the adapter can be freed.
  waitUntil(&AdapterTrafficImpl::nothingInProgressLocked, 0);
}

void AdapterTrafficImpl::onSurpriseRemoved() {
  std::lock_guard guard(lock_);
  surpriseRemoved_ = true;
}

std::size_t AdapterTrafficImpl::sendsHeld() const {
  std::lock_guard guard(lock_);
  return sendsHeld_ + sendsDelivering_;
}

TrafficCounters AdapterTrafficImpl::counters() const {
  std::lock_guard guard(lock_);
  return counters_;
}

// --- bindings -------------------------------------------------------------------------

// PASSIVE_LEVEL (binding open). A binding must not be detached while it has sends or
// receives outstanding (the protocol side closes a binding only after pausing it).
void AdapterTrafficImpl::attach(UpperBinding& binding) {
  bool full = false;
  {
    std::lock_guard guard(lock_);
    if (bindingAttachedLocked(&binding)) return;
    full = bindings_.count == BindingSet::kCapacity;
    if (!full) bindings_.items[bindings_.count++] = &binding;
  }
  if (full)
    nt::logger("ndis").error("{}: more than {} bindings; this one gets no traffic", adapter_.describe(),
                             BindingSet::kCapacity);
}

void AdapterTrafficImpl::detach(UpperBinding& binding) {
  std::lock_guard guard(lock_);
  auto* end = std::remove(bindings_.items.begin(), bindings_.items.begin() + bindings_.count, &binding);
  bindings_.count = static_cast<std::size_t>(end - bindings_.items.begin());
  std::erase_if(addressing_, [&](const BindingAddressing& a) { return a.binding == &binding; });
}

bool AdapterTrafficImpl::bindingAttachedLocked(const UpperBinding* binding) const {
  return bindings_.contains(binding);
}

// --- sends ----------------------------------------------------------------------------

void AdapterTrafficImpl::completeRefused(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_STATUS status) {
  ULONG count = 0;
  for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = nbl->Next) {
    nbl->Status = status;
    ++count;
  }
  {
    std::lock_guard guard(lock_);
    counters_.sendsRefused += count;
  }
  binding.sendComplete(nbls, dispatchFlagFor(NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL));
}

// IRQL <= DISPATCH_LEVEL (NdisSendNetBufferLists).
void AdapterTrafficImpl::send(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG sendFlags) {
  if (nbls == nullptr) return;
  NDIS_STATUS refusal = NDIS_STATUS_SUCCESS;
  {
    std::lock_guard guard(lock_);
    // Guide, "Sending Network Data" / adapter states: NDIS completes sends itself when the
    // adapter is not Running; after surprise removal with NDIS_STATUS_ADAPTER_REMOVED;
    // during a reset with NDIS_STATUS_RESET_IN_PROGRESS.
    if (surpriseRemoved_ || halting_)
      refusal = NDIS_STATUS_ADAPTER_REMOVED;
    else if (!running_)
      refusal = NDIS_STATUS_PAUSED;
    else if (resetting_)
      refusal = NDIS_STATUS_RESET_IN_PROGRESS;  // "aborted ... due to a reset" (send completion statuses)
    if (refusal == NDIS_STATUS_SUCCESS) {
      SendSlot& slot = sendSlots_[period_ % kSendSlots];
      if (slot.held == 0) slot.period = period_;
      for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = nbl->Next) {
        nbl->NdisReserved[0] = &slot;
        nbl->NdisReserved[1] = nbl->SourceHandle;
        nbl->SourceHandle = &binding;
        linkHeldLocked(nbl);
        ++slot.held;
        ++sendsHeld_;
        ++counters_.sends;
      }
      // The miniport may complete every NBL before its handler returns; the call itself
      // still keeps the adapter from pausing or halting under it.
      beginCallLocked();
    }
  }
  if (refusal != NDIS_STATUS_SUCCESS) {
    completeRefused(binding, nbls, refusal);
    return;
  }
  driver_.characteristics().SendNetBufferListsHandler(adapter_.miniportAdapterContext(), nbls, port, sendFlags);
  endCall();
}

// NdisMSendNetBufferListsComplete: hands each NBL back to the binding that sent it, in runs
// of consecutive NBLs of one binding.
void AdapterTrafficImpl::sendComplete(PNET_BUFFER_LIST nbls, ULONG flags, const void* caller) {
  struct Bad {
    PNET_BUFFER_LIST nbl;
    bool twice;
  };
  std::array<Bad, 8> bad{};
  std::size_t badCount = 0;
  std::size_t badTotal = 0;
  PNET_BUFFER_LIST head = nullptr;
  PNET_BUFFER_LIST* tail = &head;
  std::size_t accepted = 0;
  {
    std::lock_guard guard(lock_);
    PNET_BUFFER_LIST next = nullptr;
    for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = next) {
      next = nbl->Next;
      auto* slot = static_cast<SendSlot*>(nbl->NdisReserved[0]);
      bool owned = slot >= sendSlots_.data() && slot < sendSlots_.data() + kSendSlots &&
                   bindingAttachedLocked(static_cast<UpperBinding*>(nbl->SourceHandle));
      if (!owned) {
        // Not this miniport's to complete: leave the NBL alone (it belongs to someone else).
        if (badCount < bad.size()) bad[badCount++] = {nbl, nbl->NdisReserved[0] == &completedMarker_};
        ++badTotal;
        continue;
      }
      takeBackLocked(nbl);
      ++accepted;
      *tail = nbl;
      tail = &nbl->Next;
    }
    counters_.sendCompletions += accepted;
    counters_.violations += badTotal;
  }
  for (std::size_t i = 0; i < badCount; ++i) {
    if (bad[i].twice)
      reportNdisViolation("ndis.nbl-complete-twice", NdisBugSubcode::NblCompleteTwice, bad[i].nbl, 0, caller,
                          fmt::format("{}: NdisMSendNetBufferListsComplete: NBL {} was already completed; ignored",
                                      adapter_.describe(), static_cast<void*>(bad[i].nbl)));
    else
      reportNdisViolation("ndis.nbl-not-owned", NdisBugSubcode::NblNotOwned, bad[i].nbl, 0, caller,
                          fmt::format("{}: NdisMSendNetBufferListsComplete: NBL {} was not sent to this miniport "
                                      "(or its SourceHandle was changed); ignored",
                                      adapter_.describe(), static_cast<void*>(bad[i].nbl)));
  }
  deliverCompleted(head, accepted, flags);
}

void AdapterTrafficImpl::linkHeldLocked(PNET_BUFFER_LIST nbl) {
  if (nbl->FirstNetBuffer == nullptr) return;
  setHeldPrevious(nbl, nullptr);
  setHeldNext(nbl, heldSends_);
  if (heldSends_ != nullptr) setHeldPrevious(heldSends_, nbl);
  heldSends_ = nbl;
}

void AdapterTrafficImpl::unlinkHeldLocked(PNET_BUFFER_LIST nbl) {
  if (nbl->FirstNetBuffer == nullptr) return;
  PNET_BUFFER_LIST previous = heldPrevious(nbl);
  PNET_BUFFER_LIST next = heldNext(nbl);
  if (previous != nullptr) {
    setHeldNext(previous, next);
  } else if (heldSends_ == nbl) {
    heldSends_ = next;
  }
  if (next != nullptr) setHeldPrevious(next, previous);
  setHeldPrevious(nbl, nullptr);
  setHeldNext(nbl, nullptr);
}

void AdapterTrafficImpl::takeBackLocked(PNET_BUFFER_LIST nbl) {
  auto* slot = static_cast<SendSlot*>(nbl->NdisReserved[0]);
  unlinkHeldLocked(nbl);
  --slot->held;
  --sendsHeld_;
  ++sendsDelivering_;
  auto* binding = static_cast<UpperBinding*>(nbl->SourceHandle);
  nbl->SourceHandle = nbl->NdisReserved[1];
  nbl->NdisReserved[0] = &completedMarker_;
  nbl->NdisReserved[1] = binding;  // until delivered
  nbl->Next = nullptr;
}

// PASSIVE_LEVEL (haltAdapter, before the bindings are unbound).
std::size_t AdapterTrafficImpl::completeStrandedSends(NDIS_STATUS status) {
  PNET_BUFFER_LIST head = nullptr;
  PNET_BUFFER_LIST* tail = &head;
  std::size_t taken = 0;
  {
    std::lock_guard guard(lock_);
    PNET_BUFFER_LIST next = nullptr;
    for (PNET_BUFFER_LIST nbl = heldSends_; nbl != nullptr; nbl = next) {
      next = heldNext(nbl);
      // A binding already detached has nobody to take its NBLs: they stay the miniport's.
      if (!bindingAttachedLocked(static_cast<UpperBinding*>(nbl->SourceHandle))) continue;
      takeBackLocked(nbl);
      nbl->Status = status;
      ++taken;
      *tail = nbl;
      tail = &nbl->Next;
    }
    counters_.sendsRefused += taken;
  }
  deliverCompleted(head, taken, dispatchFlagFor(NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL));
  return taken;
}

void AdapterTrafficImpl::deliverCompleted(PNET_BUFFER_LIST head, std::size_t count, ULONG flags) {
  // Deliver runs; each binding owns its NBLs from the moment it is called.
  PNET_BUFFER_LIST run = head;
  while (run != nullptr) {
    auto* binding = static_cast<UpperBinding*>(run->NdisReserved[1]);
    PNET_BUFFER_LIST last = run;
    run->NdisReserved[1] = nullptr;
    while (last->Next != nullptr && last->Next->NdisReserved[1] == binding) {
      last = last->Next;
      last->NdisReserved[1] = nullptr;
    }
    PNET_BUFFER_LIST nextRun = last->Next;
    last->Next = nullptr;
    binding->sendComplete(run, flags);
    run = nextRun;
  }
  if (count != 0) {
    bool wake;
    {
      std::lock_guard guard(lock_);
      sendsDelivering_ -= count;
      wake = wakeWantedLocked();
      if (wake) wakesInFlight_.fetch_add(1, std::memory_order_relaxed);
    }
    if (wake) wakeWaiters();
  }
}

void AdapterTrafficImpl::endCall() {
  bool wake;
  {
    std::lock_guard guard(lock_);
    --callsInProgress_;
    wake = wakeWantedLocked();
    if (wake) wakesInFlight_.fetch_add(1, std::memory_order_relaxed);
  }
  if (wake) wakeWaiters();
}

void AdapterTrafficImpl::wakeWaiters() {
  KeSetEvent(&quiescent_, IO_NO_INCREMENT, FALSE);
  wakesInFlight_.fetch_sub(1, std::memory_order_release);  // the last touch of this adapter
}

// IRQL <= DISPATCH_LEVEL. Documented: NDIS passes the cancel ID to MiniportCancelSend; the
// miniport completes the matching NBLs with NDIS_STATUS_SEND_ABORTED.
void AdapterTrafficImpl::cancelSend(UpperBinding& binding, PVOID cancelId) {
  (void)binding;
  MINIPORT_CANCEL_SEND_HANDLER cancel = driver_.characteristics().CancelSendHandler;
  {
    std::lock_guard guard(lock_);
    if (sendsHeld_ == 0 || cancel == nullptr || halting_) return;
    ++counters_.sendCancels;
    beginCallLocked();
  }
  cancel(adapter_.miniportAdapterContext(), cancelId);
  endCall();
}

// --- receives -------------------------------------------------------------------------

// Within an indication the miniport is making (counted by indicateReceive).
void AdapterTrafficImpl::returnToMiniport(PNET_BUFFER_LIST nbls) {
  if (nbls == nullptr) return;
  driver_.characteristics().ReturnNetBufferListsHandler(adapter_.miniportAdapterContext(), nbls,
                                                        dispatchFlagFor(NDIS_RETURN_FLAGS_DISPATCH_LEVEL));
}

// NdisMIndicateReceiveNetBufferLists. With one binding the chain goes up as it is; with
// several, each gets it with NDIS_RECEIVE_FLAGS_RESOURCES (they copy what they keep), so
// no binding can hold an NBL another binding also holds, and NDIS returns the NBLs itself.
void AdapterTrafficImpl::indicateReceive(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count, ULONG flags,
                                         const void* caller) {
  ULONG actual = 0;
  for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = nbl->Next) ++actual;
  bool keepsOwnership = (flags & NDIS_RECEIVE_FLAGS_RESOURCES) != 0;

  if (actual != count) {
    violation("ndis.receive-count-mismatch", NdisBugSubcode::ReceiveFlags, nbls, actual, caller,
              fmt::format("NdisMIndicateReceiveNetBufferLists: NumberOfNetBufferLists is {} but the chain has {} "
                          "NBLs; the chain's length is used",
                          count, actual));
    count = actual;
  }
  KIRQL irql = nt::currentIrqlOrPassive();
  if ((flags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) != 0 && irql != DISPATCH_LEVEL) {
    violation("ndis.receive-dispatch-flag", NdisBugSubcode::ReceiveFlags, nbls, irql, caller,
              fmt::format("NdisMIndicateReceiveNetBufferLists: NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL is set but the "
                          "caller runs at IRQL {}; the flag is cleared",
                          irql));
    flags &= ~ULONG(NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
  }
  if (nbls == nullptr) return;

  AdapterState state = adapter_.state();
  bool accepting;
  bool quiescing;
  UpperBinding* single = nullptr;
  std::size_t bindingCount;
  {
    std::lock_guard guard(lock_);
    // Until the indication returns NDIS is calling bindings and the miniport for it.
    beginCallLocked();
    // Guide, "Adapter States of a Miniport Driver": receives are indicated while Running and
    // while Pausing until the pause is under way; never Paused/Halted/Initializing/Shutdown.
    accepting = !halting_ && (state == AdapterState::Running || state == AdapterState::Restarting ||
                              (state == AdapterState::Pausing && !quiescing_));
    bindingCount = bindings_.count;
    quiescing = quiescing_;
    if (accepting) {
      counters_.receives += count;
      if (bindingCount == 1 && !keepsOwnership) {
        single = bindings_.items[0];
        for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = nbl->Next) nbl->NdisReserved[0] = &receiveMarker_;
        receivesHeld_ += count;
      }
    }
  }
  struct EndCall {
    AdapterTrafficImpl* self;
    ~EndCall() { self->endCall(); }
  } endCallOnReturn{this};
  if (!accepting) {
    violation("ndis.receive-while-paused", NdisBugSubcode::ReceiveState, nbls, static_cast<std::uint64_t>(state), caller,
              fmt::format("NdisMIndicateReceiveNetBufferLists while the adapter is {}{}; the {} NBLs are not "
                          "indicated",
                          toString(state), quiescing ? " (pause waiting for outstanding receives)" : "", count));
    if (!keepsOwnership) returnToMiniport(nbls);
    return;
  }
  if (single != nullptr) {
    single->receive(nbls, port, count, flags);
    return;
  }
  // No binding, several bindings, or the miniport keeps the NBLs: indicate under
  // NDIS_RECEIVE_FLAGS_RESOURCES semantics and give them back here.
  if (bindingCount != 0) {
    BindingSet targets;
    {
      std::lock_guard guard(lock_);
      targets = bindings_;
    }
    for (UpperBinding* binding : targets) {
      binding->receive(nbls, port, count, flags | NDIS_RECEIVE_FLAGS_RESOURCES);
    }
  }
  if (!keepsOwnership) {
    {
      std::lock_guard guard(lock_);
      counters_.returns += count;
    }
    returnToMiniport(nbls);
  }
}

// NdisReturnNetBufferLists: NBLs a binding kept go back to the miniport.
void AdapterTrafficImpl::returnNetBufferLists(UpperBinding& binding, PNET_BUFFER_LIST nbls, ULONG returnFlags) {
  (void)binding;
  PNET_BUFFER_LIST head = nullptr;
  PNET_BUFFER_LIST* tail = &head;
  std::size_t returned = 0;
  std::size_t bad = 0;
  PNET_BUFFER_LIST firstBad = nullptr;
  {
    std::lock_guard guard(lock_);
    PNET_BUFFER_LIST next = nullptr;
    for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = next) {
      next = nbl->Next;
      if (nbl->NdisReserved[0] != &receiveMarker_) {
        if (firstBad == nullptr) firstBad = nbl;
        ++bad;
        continue;
      }
      nbl->NdisReserved[0] = nullptr;
      nbl->Next = nullptr;
      *tail = nbl;
      tail = &nbl->Next;
      ++returned;
    }
    receivesHeld_ -= returned;
    counters_.returns += returned;
    counters_.violations += bad;
    // Counted before receivesHeld_ can look drained to a pause: the handler call is ahead.
    if (head != nullptr) beginCallLocked();
  }
  if (bad != 0) {
    reportNdisViolation("ndis.return-not-indicated", NdisBugSubcode::ReturnNotIndicated, firstBad, bad,
                        __builtin_return_address(0),
                        fmt::format("{}: NdisReturnNetBufferLists: {} NBL(s) (first {}) were not indicated to a "
                                    "binding or were returned already; ignored",
                                    adapter_.describe(), bad, static_cast<void*>(firstBad)));
  }
  if (head != nullptr) {
    driver_.characteristics().ReturnNetBufferListsHandler(
        adapter_.miniportAdapterContext(), head,
        (returnFlags & NDIS_RETURN_FLAGS_DISPATCH_LEVEL) | dispatchFlagFor(NDIS_RETURN_FLAGS_DISPATCH_LEVEL));
    endCall();
  }
}

// --- status indications -----------------------------------------------------------------

// NdisMIndicateStatusEx: checked, remembered where NDIS answers OIDs (link state) or binds
// (the current offload configuration) from it, and passed to every binding's ProtocolStatusEx.
void AdapterTrafficImpl::indicateStatus(const NDIS_STATUS_INDICATION& indication, const void* caller) {
  const NDIS_OBJECT_HEADER& header = indication.Header;
  if (header.Type != NDIS_OBJECT_TYPE_STATUS_INDICATION || header.Revision < NDIS_STATUS_INDICATION_REVISION_1 ||
      header.Size < NDIS_SIZEOF_STATUS_INDICATION_REVISION_1) {
    violation("ndis.status-bad-header", NdisBugSubcode::StatusIndication, &indication, header.Type, caller,
              fmt::format("NdisMIndicateStatusEx: Header is Type {:#x} Revision {} Size {}, expected "
                          "NDIS_OBJECT_TYPE_STATUS_INDICATION, revision 1, size >= {}; not indicated",
                          header.Type, header.Revision, header.Size, NDIS_SIZEOF_STATUS_INDICATION_REVISION_1));
    return;
  }
  if (indication.StatusBufferSize != 0 && indication.StatusBuffer == nullptr) {
    violation("ndis.status-bad-header", NdisBugSubcode::StatusIndication, &indication, indication.StatusBufferSize, caller,
              fmt::format("NdisMIndicateStatusEx: status {:#x} has StatusBufferSize {} but no StatusBuffer; not "
                          "indicated",
                          static_cast<ULONG>(indication.StatusCode), indication.StatusBufferSize));
    return;
  }
  if (indication.StatusCode == NDIS_STATUS_RESET_START || indication.StatusCode == NDIS_STATUS_RESET_END) {
    // NDIS_STATUS_RESET_END page: miniports should not indicate these; NDIS does.
    nt::logger("ndis").warn("{}: the miniport indicated {} itself; NDIS indicates reset start/end, ignored",
                            adapter_.describe(),
                            indication.StatusCode == NDIS_STATUS_RESET_START ? "NDIS_STATUS_RESET_START"
                                                                             : "NDIS_STATUS_RESET_END");
    return;
  }
  // NDIS's copy first: a protocol that binds after this indication gets the new configuration.
  if (indication.StatusCode == NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG &&
      !keepOffloadCurrentConfig(adapter_, indication, caller))
    return;
  BindingSet targets;
  {
    std::lock_guard guard(lock_);
    if (halting_) {
      nt::logger("ndis").warn("{}: NdisMIndicateStatusEx({:#x}) while halting; not indicated", adapter_.describe(),
                              static_cast<ULONG>(indication.StatusCode));
      return;
    }
    ++counters_.statusIndications;
    if (indication.StatusCode == NDIS_STATUS_LINK_STATE && indication.StatusBufferSize >= sizeof(NDIS_LINK_STATE)) {
      NDIS_LINK_STATE link;
      std::memcpy(&link, indication.StatusBuffer, sizeof link);
      mediaConnectState_ = link.MediaConnectState;
    }
    targets = bindings_;
    beginCallLocked();
  }
  NDIS_STATUS_INDICATION forwarded = indication;
  forwarded.SourceHandle = adapter_.handle();
  for (UpperBinding* binding : targets) binding->status(forwarded);
  endCall();
}

}  // namespace traffic
}  // namespace ndishost::ndis
