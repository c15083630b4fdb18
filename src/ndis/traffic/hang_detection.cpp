// Hang detection and reset of an adapter (guide: "Miniport Adapter Check-for-Hang and Reset
// Operations"; the seed: an NDIS-WDM miniport usually has no MiniportCheckForHangEx and NDIS
// decides from sends and OID requests that time out).
//
// A periodic kernel timer (so the virtual clock drives it in deterministic tests) fires
// every check period; its DPC queues a system work item and the check runs there at
// PASSIVE_LEVEL (MiniportCheckForHangEx's IRQL). Each check advances period_. A hang is:
//  - MiniportCheckForHangEx returned TRUE (when the miniport has one), or
//  - the OID request at the miniport has been there for oidChecks periods (slowOidChecks for
//    the OIDs the host lists as slow), or
//  - a send the miniport holds was sent sendChecks or more periods ago.
// Then: NDIS_STATUS_RESET_START to the bindings, MiniportResetEx (synchronous, or PENDING
// and NdisMResetComplete), the bindings' packet filter, lookahead and multicast list sent
// again when AddressingReset is TRUE, NDIS_STATUS_RESET_END. A miniport without
// MiniportResetEx is reported (log, counter, hang handler) and left to the host's policy,
// and so is one whose pended reset has not completed after resetChecks periods
// ("reset-timeout"; NDIS keeps waiting for it until the adapter is halted).
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "ndis/miniport/adapter.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "ndis/traffic/traffic_impl.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::ndis::traffic {
namespace {

OidBookkeeping bookOf(const NDIS_OID_REQUEST& request) {
  OidBookkeeping book;
  std::memcpy(&book, request.NdisReserved, sizeof book);
  return book;
}

void setBook(NDIS_OID_REQUEST& request, const OidBookkeeping& book) {
  std::memcpy(request.NdisReserved, &book, sizeof book);
}

NDIS_OID_REQUEST makeSet(NDIS_OID oid, void* buffer, ULONG length) {
  NDIS_OID_REQUEST request{};
  request.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
  request.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
  request.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
  request.RequestType = NdisRequestSetInformation;
  request.DATA.SET_INFORMATION.Oid = oid;
  request.DATA.SET_INFORMATION.InformationBuffer = buffer;
  request.DATA.SET_INFORMATION.InformationBufferLength = length;
  return request;
}

}  // namespace

void AdapterTrafficImpl::setHangDetectionOptions(const HangDetectionOptions& options) {
  std::lock_guard guard(lock_);
  hangOptions_ = options;
}

HangDetectionOptions AdapterTrafficImpl::hangDetectionOptions() const {
  std::lock_guard guard(lock_);
  return hangOptions_;
}

void AdapterTrafficImpl::setHangHandler(std::function<void(const HangEvent&)> handler) {
  std::lock_guard guard(lock_);
  hangHandler_ = std::move(handler);
}

// NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES.CheckForHangTimeInSeconds: 0 means 2 s; the
// interval "is always a multiple of 2 seconds" (5 gives about 4), so odd values round down.
std::uint32_t AdapterTrafficImpl::checkPeriodMs() const {
  {
    std::lock_guard guard(lock_);
    if (hangOptions_.periodOverrideMs != 0) return hangOptions_.periodOverrideMs;
  }
  UINT seconds = 0;
  {
    std::lock_guard guard(adapter_.attributesLock());
    if (adapter_.attributes().registration) seconds = adapter_.attributes().registration->CheckForHangTimeInSeconds;
  }
  seconds -= seconds % 2;
  if (seconds < 2) seconds = 2;
  return seconds * 1000u;
}

void AdapterTrafficImpl::startHangTimer() {
  {
    std::lock_guard guard(lock_);
    if (!hangOptions_.enabled) return;
  }
  std::uint32_t periodMs = checkPeriodMs();
  LARGE_INTEGER due;
  due.QuadPart = -static_cast<LONGLONG>(periodMs) * 10000;  // relative, 100 ns units
  KeSetTimerEx(&hangTimer_, due, static_cast<LONG>(periodMs), &hangDpc_);
  nt::logger("ndis").debug("{}: hang detection every {} ms ({})", adapter_.describe(), periodMs,
                           driver_.characteristics().CheckForHangHandlerEx != nullptr ? "MiniportCheckForHangEx"
                                                                                      : "send and OID time-outs");
}

// PASSIVE_LEVEL. After this no check runs or is queued (until startHangTimer).
void AdapterTrafficImpl::stopHangTimer() {
  bool started;
  {
    std::lock_guard guard(lock_);
    started = timerStarted_;
  }
  if (!started) return;
  KeCancelTimer(&hangTimer_);
  KeFlushQueuedDpcs();
  KeSetEvent(&resetDone_, IO_NO_INCREMENT, FALSE);  // a check waiting for a reset gives up
  KeWaitForSingleObject(&hangWorkIdle_, Executive, KernelMode, FALSE, nullptr);
  std::lock_guard guard(lock_);
  timerStarted_ = false;
}

VOID NTAPI AdapterTrafficImpl::hangTimerDpc(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2) {
  (void)dpc;
  (void)arg1;
  (void)arg2;
  auto* self = static_cast<AdapterTrafficImpl*>(context);
  {
    std::lock_guard guard(self->lock_);
    if (self->halting_ || self->hangWorkQueued_) return;  // a slow check skips a period
    self->hangWorkQueued_ = true;
  }
  KeClearEvent(&self->hangWorkIdle_);
  ExQueueWorkItem(&self->hangWork_, DelayedWorkQueue);
}

VOID NTAPI AdapterTrafficImpl::hangWorker(PVOID context) {
  auto* self = static_cast<AdapterTrafficImpl*>(context);
  self->checkForHang();
  {
    std::lock_guard guard(self->lock_);
    self->hangWorkQueued_ = false;
  }
  KeSetEvent(&self->hangWorkIdle_, IO_NO_INCREMENT, FALSE);
}

void AdapterTrafficImpl::checkForHang() {
  HangEvent event{nullptr, 0, false, false};
  {
    std::lock_guard guard(lock_);
    if (halting_ || resetting_) return;
    ++period_;
    SendSlot& fresh = sendSlots_[period_ % kSendSlots];
    if (fresh.held == 0) fresh.period = period_;  // else it keeps its older period (still stuck)
    if (oidCurrent_ != nullptr) {
      OidBookkeeping book = bookOf(*oidCurrent_);
      const auto& slow = hangOptions_.slowOids;
      std::uint32_t limit = std::find(slow.begin(), slow.end(), oidCurrent_->DATA.Oid) != slow.end()
                                ? hangOptions_.slowOidChecks
                                : hangOptions_.oidChecks;
      if (period_ - book.startPeriod >= limit) {
        event = {"oid-timeout", oidCurrent_->DATA.Oid, false, false};
        book.startPeriod = period_;  // re-armed: another full time-out before the next report
        setBook(*oidCurrent_, book);
      }
    }
    for (SendSlot& slot : sendSlots_) {
      if (slot.held != 0 && period_ - slot.period >= hangOptions_.sendChecks) {
        if (event.reason == nullptr) event = {"send-timeout", 0, false, false};
        slot.period = period_;
      }
    }
  }
  MINIPORT_CHECK_FOR_HANG_HANDLER checkForHang = driver_.characteristics().CheckForHangHandlerEx;
  if (checkForHang != nullptr && event.reason == nullptr) {
    if (checkForHang(adapter_.miniportAdapterContext())) event = {"check-for-hang", 0, false, false};
  }
  if (event.reason == nullptr) return;

  bool canReset = driver_.characteristics().ResetHandlerEx != nullptr;
  event.resetHandled = canReset;
  std::function<void(const HangEvent&)> handler;
  {
    std::lock_guard guard(lock_);
    ++counters_.hangsDetected;
    if (!canReset) ++counters_.hangsWithoutReset;
    event.restartRequested = !canReset && hangOptions_.restartWithoutResetHandler;
    handler = hangHandler_;
  }
  if (canReset) {
    nt::logger("ndis").warn("{}: the miniport stopped responding ({}{}); resetting it", adapter_.describe(),
                            event.reason, event.oid != 0 ? fmt::format(", OID {:#010x}", event.oid) : "");
    reset(event);
    std::lock_guard guard(lock_);
    if (halting_) return;  // the halt ended a reset that never completed: nothing left to tell
  } else {
    nt::logger("ndis").error("{}: the miniport stopped responding ({}{}) and has no MiniportResetEx; {}",
                             adapter_.describe(), event.reason,
                             event.oid != 0 ? fmt::format(", OID {:#010x}", event.oid) : "",
                             event.restartRequested ? "asking the host to restart the adapter" : "reported only");
  }
  if (handler) handler(event);
}

// PASSIVE_LEVEL.
NDIS_STATUS AdapterTrafficImpl::resetFromHost() {
  if (driver_.characteristics().ResetHandlerEx == nullptr) return NDIS_STATUS_NOT_SUPPORTED;
  nt::logger("ndis").info("{}: reset requested by the host", adapter_.describe());
  return reset(HangEvent{"host-request", 0, true, false});
}

// PASSIVE_LEVEL, on the hang-check worker or the host's thread (resetFromHost).
NDIS_STATUS AdapterTrafficImpl::reset(const HangEvent& event) {
  (void)event;
  std::lock_guard gate(resetGate_);
  // Cleared before halting_ is looked at: stopHangTimer sets halting_ first and the event
  // after, so either this sees halting_ or the wait below sees the event.
  KeClearEvent(&resetDone_);
  {
    std::lock_guard guard(lock_);
    if (halting_) return NDIS_STATUS_ADAPTER_REMOVED;
    resetting_ = true;
    resetPending_ = false;
    resetCompleted_ = false;
    ++counters_.resets;
  }
  indicateNdisStatus(NDIS_STATUS_RESET_START, nullptr, 0);

  BOOLEAN addressingReset = FALSE;
  if (nt::traceEnabled()) nt::traceEmit(nt::TraceCategory::Ndis, adapter_.describe(), "MiniportResetEx");
  NDIS_STATUS status = driver_.characteristics().ResetHandlerEx(adapter_.miniportAdapterContext(), &addressingReset);
  bool completedEarly = false;
  {
    std::lock_guard guard(lock_);
    if (status == NDIS_STATUS_PENDING) {
      resetPending_ = !resetCompleted_;
      completedEarly = resetCompleted_;
    }
  }
  if (status == NDIS_STATUS_PENDING) {
    if (!completedEarly) waitForResetComplete();
    std::lock_guard guard(lock_);
    if (!resetCompleted_) {  // halting gave up waiting
      resetting_ = false;
      return NDIS_STATUS_ADAPTER_REMOVED;
    }
    status = resetStatus_;
    addressingReset = resetAddressing_ ? TRUE : FALSE;
  }
  nt::logger("ndis").info("{}: MiniportResetEx finished with {:#x} (AddressingReset {})", adapter_.describe(),
                          static_cast<ULONG>(status), addressingReset ? "TRUE" : "FALSE");
  if (status == NDIS_STATUS_SUCCESS && addressingReset) replayAddressing();
  {
    std::lock_guard guard(lock_);
    resetting_ = false;
    resetPending_ = false;
  }
  indicateNdisStatus(NDIS_STATUS_RESET_END, &status, sizeof status);
  return status;
}

// PASSIVE_LEVEL, on the hang-check worker: waits for NdisMResetComplete (or the halt giving
// up). A miniport that lets resetChecks periods pass is reported once, then waited for still:
// NDIS cannot take the adapter back from a reset in progress, only the host can (restart).
void AdapterTrafficImpl::waitForResetComplete() {
  std::uint32_t checks;
  {
    std::lock_guard guard(lock_);
    checks = hangOptions_.resetChecks;
  }
  if (checks != 0) {
    LARGE_INTEGER timeout;
    timeout.QuadPart = -static_cast<LONGLONG>(checkPeriodMs()) * checks * 10000;
    NTSTATUS waited = KeWaitForSingleObject(&resetDone_, Executive, KernelMode, FALSE, &timeout);
    if (waited != STATUS_TIMEOUT) return;
    HangEvent event{"reset-timeout", 0, true, false};
    std::function<void(const HangEvent&)> handler;
    {
      std::lock_guard guard(lock_);
      ++counters_.resetsOverdue;
      event.restartRequested = hangOptions_.restartWithoutResetHandler;
      handler = hangHandler_;
    }
    nt::logger("ndis").error("{}: MiniportResetEx pended and NdisMResetComplete has not come after {} checks; the "
                             "adapter stays in reset{}",
                             adapter_.describe(), checks,
                             event.restartRequested ? ", asking the host to restart it" : " (reported only)");
    if (handler) handler(event);
  }
  KeWaitForSingleObject(&resetDone_, Executive, KernelMode, FALSE, nullptr);
}

// IRQL <= DISPATCH_LEVEL. NdisMResetComplete for a MiniportResetEx that returned PENDING.
void AdapterTrafficImpl::resetComplete(NDIS_STATUS status, BOOLEAN addressingReset, const void* caller) {
  bool ok = false;
  bool twice = false;
  {
    std::lock_guard guard(lock_);
    if (resetting_ && !resetCompleted_) {
      resetCompleted_ = true;
      resetStatus_ = status;
      resetAddressing_ = addressingReset != FALSE;
      ok = true;
    } else {
      twice = resetting_;
    }
  }
  if (ok) {
    KeSetEvent(&resetDone_, IO_NO_INCREMENT, FALSE);
    return;
  }
  violation(twice ? "ndis.reset-complete-twice" : "ndis.reset-not-pending", NdisBugSubcode::ResetComplete, nullptr,
            static_cast<ULONG>(status), caller,
            twice ? "NdisMResetComplete called twice for one reset; ignored"
                  : "NdisMResetComplete without a reset in progress (NDIS did not call MiniportResetEx); ignored");
}

// Sends the addressing state the bindings set back down (MiniportResetEx's AddressingReset).
void AdapterTrafficImpl::replayAddressing() {
  ULONG filter = 0;
  ULONG lookahead = 0;
  bool haveFilter = false;
  bool haveLookahead = false;
  std::vector<UCHAR> multicast;
  bool haveMulticast;
  {
    std::lock_guard guard(lock_);
    for (const auto& a : addressing_) {
      filter |= a.packetFilter;
      lookahead = std::max(lookahead, a.lookahead);
      haveFilter = true;
      haveLookahead = haveLookahead || a.lookahead != 0;
    }
    multicast = multicastList_;
    haveMulticast = multicastSet_;
  }
  auto replay = [&](NDIS_OID oid, void* buffer, ULONG length) {
    NDIS_OID_REQUEST request = makeSet(oid, buffer, length);
    NDIS_STATUS status = requestSync(request);
    if (status != NDIS_STATUS_SUCCESS)
      nt::logger("ndis").warn("{}: restoring OID {:#010x} after the reset failed with {:#x}", adapter_.describe(), oid,
                              static_cast<ULONG>(status));
  };
  if (haveFilter) replay(OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof filter);
  if (haveLookahead) replay(OID_GEN_CURRENT_LOOKAHEAD, &lookahead, sizeof lookahead);
  if (haveMulticast) replay(OID_802_3_MULTICAST_LIST, multicast.data(), static_cast<ULONG>(multicast.size()));
}

// A status NDIS itself indicates to the bindings (reset start/end).
void AdapterTrafficImpl::indicateNdisStatus(NDIS_STATUS code, PVOID buffer, ULONG size) {
  NDIS_STATUS_INDICATION indication{};
  indication.Header.Type = NDIS_OBJECT_TYPE_STATUS_INDICATION;
  indication.Header.Revision = NDIS_STATUS_INDICATION_REVISION_1;
  indication.Header.Size = NDIS_SIZEOF_STATUS_INDICATION_REVISION_1;
  indication.SourceHandle = adapter_.handle();
  indication.StatusCode = code;
  indication.StatusBuffer = buffer;
  indication.StatusBufferSize = size;
  BindingSet targets;
  {
    std::lock_guard guard(lock_);
    targets = bindings_;
  }
  for (UpperBinding* binding : targets) binding->status(indication);
}

}  // namespace ndishost::ndis::traffic
