// The OID path of an adapter: requests from bindings and from NDIS itself, serialised one at
// a time to MiniportOidRequest (NDIS 6 serialises a miniport's OID requests), synchronous or
// pended completion (NdisMOidRequestComplete), cancellation (MiniportCancelOidRequest),
// the queries NDIS answers from the attributes the miniport set at initialization, and the
// addressing state NDIS keeps for a reset with AddressingReset.
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

// Writes a query answer the way the OID pages describe: the whole value or, when the
// buffer is too small, nothing, BytesNeeded and NDIS_STATUS_BUFFER_TOO_SHORT.
NDIS_STATUS answer(NDIS_OID_REQUEST& request, const void* data, ULONG size) {
  auto& query = request.DATA.QUERY_INFORMATION;
  if (query.InformationBufferLength < size || (size != 0 && query.InformationBuffer == nullptr)) {
    query.BytesWritten = 0;
    query.BytesNeeded = size;
    return NDIS_STATUS_BUFFER_TOO_SHORT;
  }
  if (size != 0) std::memcpy(query.InformationBuffer, data, size);
  query.BytesWritten = size;
  query.BytesNeeded = 0;
  return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS answerUlong(NDIS_OID_REQUEST& request, ULONG value) { return answer(request, &value, sizeof value); }

void traceOid(const Adapter& adapter, const std::string& text) {
  if (nt::traceEnabled()) nt::traceEmit(nt::TraceCategory::Ndis, adapter.describe(), text);
}

}  // namespace

// <= DISPATCH_LEVEL (NdisOidRequest).
NDIS_STATUS AdapterTrafficImpl::oidRequest(UpperBinding& binding, PNDIS_OID_REQUEST request) {
  if (request == nullptr) return NDIS_STATUS_INVALID_PARAMETER;
  if (request->Header.Type != NDIS_OBJECT_TYPE_OID_REQUEST || request->Header.Size < NDIS_SIZEOF_OID_REQUEST_REVISION_1)
    return NDIS_STATUS_INVALID_PARAMETER;
  {
    // NdisOidRequest: NDIS_STATUS_RESET_IN_PROGRESS while the miniport is being reset.
    std::lock_guard guard(lock_);
    if (resetting_) return NDIS_STATUS_RESET_IN_PROGRESS;
  }
  NDIS_STATUS status;
  if (answerFromNdis(binding, *request, status)) {
    std::lock_guard guard(lock_);
    ++counters_.oidsAnsweredByNdis;
    return status;
  }
  return submitOid(&binding, request, nullptr);
}

// The OID pages that say "NDIS handles this OID" for NDIS 6 miniports (queries answered
// from NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES and NDIS's own state).
bool AdapterTrafficImpl::answerFromNdis(UpperBinding& binding, NDIS_OID_REQUEST& request, NDIS_STATUS& status) {
  (void)binding;
  if (request.RequestType != NdisRequestQueryInformation && request.RequestType != NdisRequestQueryStatistics)
    return false;
  std::optional<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES> general;
  std::vector<NDIS_OID> supported;
  {
    std::lock_guard guard(adapter_.attributesLock());
    general = adapter_.attributes().general;
    supported = adapter_.attributes().supportedOids;
  }
  if (!general) return false;
  switch (request.DATA.QUERY_INFORMATION.Oid) {
    case OID_GEN_SUPPORTED_LIST:
      status = answer(request, supported.data(), static_cast<ULONG>(supported.size() * sizeof(NDIS_OID)));
      return true;
    case OID_GEN_MEDIA_SUPPORTED:
    case OID_GEN_MEDIA_IN_USE:
      status = answerUlong(request, static_cast<ULONG>(general->MediaType));
      return true;
    case OID_GEN_PHYSICAL_MEDIUM:
      status = answerUlong(request, static_cast<ULONG>(general->PhysicalMediumType));
      return true;
    case OID_GEN_MAXIMUM_LOOKAHEAD:
      status = answerUlong(request, general->LookaheadSize);
      return true;
    case OID_GEN_MAXIMUM_FRAME_SIZE:
      status = answerUlong(request, general->MtuSize);
      return true;
    case OID_GEN_MAC_OPTIONS:
      status = answerUlong(request, general->MacOptions);
      return true;
    case OID_GEN_DRIVER_VERSION: {
      const auto& c = driver_.characteristics();
      USHORT version = static_cast<USHORT>((c.MajorNdisVersion << 8) | c.MinorNdisVersion);
      status = answer(request, &version, sizeof version);
      return true;
    }
    case OID_GEN_MEDIA_CONNECT_STATUS: {
      NDIS_MEDIA_CONNECT_STATE state;
      {
        std::lock_guard guard(lock_);
        state = mediaConnectState_ != MediaConnectStateUnknown ? mediaConnectState_ : general->MediaConnectState;
      }
      status = answerUlong(request, state == MediaConnectStateConnected ? NdisMediaStateConnected
                                                                        : NdisMediaStateDisconnected);
      return true;
    }
    case OID_GEN_CURRENT_PACKET_FILTER: {  // "the binding filters combined with OR"
      ULONG filter = 0;
      {
        std::lock_guard guard(lock_);
        for (const auto& a : addressing_) filter |= a.packetFilter;
      }
      status = answerUlong(request, filter);
      return true;
    }
    case OID_GEN_CURRENT_LOOKAHEAD: {  // "the largest lookahead size from among all the bindings"
      ULONG lookahead = 0;
      {
        std::lock_guard guard(lock_);
        for (const auto& a : addressing_) lookahead = std::max(lookahead, a.lookahead);
      }
      status = answerUlong(request, lookahead != 0 ? lookahead : general->LookaheadSize);
      return true;
    }
    default:
      return false;
  }
}

NDIS_STATUS AdapterTrafficImpl::submitOid(UpperBinding* binding, PNDIS_OID_REQUEST request, SyncWaiter* waiter) {
  {
    std::lock_guard guard(lock_);
    if (halting_) return NDIS_STATUS_ADAPTER_REMOVED;
    setBook(*request, OidBookkeeping{&oidQueuedMarker_, binding, nullptr, 0, waiter});
    if (oidTail_ != nullptr) {
      OidBookkeeping tail = bookOf(*oidTail_);
      tail.next = request;
      setBook(*oidTail_, tail);
    } else {
      oidHead_ = request;
    }
    oidTail_ = request;
  }
  return pumpOids(request);
}

NDIS_STATUS AdapterTrafficImpl::pumpOids(PNDIS_OID_REQUEST own) {
  NDIS_STATUS ownStatus = NDIS_STATUS_PENDING;
  for (;;) {
    PNDIS_OID_REQUEST request;
    {
      std::lock_guard guard(lock_);
      // Once halting, what is still queued is failed by failQueuedOids, not handed down.
      if (oidCurrent_ != nullptr || oidHead_ == nullptr || halting_) return ownStatus;
      request = oidHead_;
      OidBookkeeping book = bookOf(*request);
      oidHead_ = book.next;
      if (oidHead_ == nullptr) oidTail_ = nullptr;
      book.next = nullptr;
      book.startPeriod = period_;
      setBook(*request, book);
      oidCurrent_ = request;
      oidCurrentReturned_ = false;
      oidCurrentCompletedEarly_ = false;
      ++counters_.oidRequests;
      beginCallLocked();
    }
    traceOid(adapter_, fmt::format("MiniportOidRequest(type {}, OID {:#010x})", static_cast<int>(request->RequestType),
                                   request->DATA.Oid));
    NDIS_STATUS status = driver_.characteristics().OidRequestHandler(adapter_.miniportAdapterContext(), request);
    endCall();
    bool finished = true;
    bool completedTwice = false;
    {
      std::lock_guard guard(lock_);
      if (status == NDIS_STATUS_PENDING) {
        if (oidCurrentCompletedEarly_) {
          status = oidCurrentEarlyStatus_;  // NdisMOidRequestComplete came before the return
        } else {
          oidCurrentReturned_ = true;
          finished = false;
        }
      } else {
        completedTwice = oidCurrentCompletedEarly_;
      }
      if (finished) oidCurrent_ = nullptr;
    }
    if (completedTwice) {
      violation("ndis.oid-complete-twice", NdisBugSubcode::OidComplete, request, request->DATA.Oid,
                reinterpret_cast<const void*>(driver_.characteristics().OidRequestHandler),
                fmt::format("MiniportOidRequest returned {:#x} for OID {:#010x} after calling NdisMOidRequestComplete "
                            "for it; the returned status is used",
                            static_cast<ULONG>(status), request->DATA.Oid));
    }
    if (!finished) continue;  // the miniport completes it later; nothing else may go down now
    // The caller's own request finished inside its NdisOidRequest: it gets the status as the
    // return value (no completion call), whether the miniport returned it or completed early.
    bool synchronousForCaller = request == own;
    finishOid(request, status, !synchronousForCaller);
    if (synchronousForCaller) ownStatus = status;
  }
}

void AdapterTrafficImpl::finishOid(PNDIS_OID_REQUEST request, NDIS_STATUS status, bool deliver) {
  OidBookkeeping book = bookOf(*request);
  {
    std::lock_guard guard(lock_);
    ++counters_.oidCompletions;
    if (status == NDIS_STATUS_SUCCESS && request->RequestType == NdisRequestSetInformation && book.binding != nullptr)
      rememberAddressing(book.binding, *request);
    OidBookkeeping done = book;
    done.marker = &oidCompletedMarker_;
    done.next = nullptr;
    done.waiter = nullptr;
    setBook(*request, done);
  }
  traceOid(adapter_, fmt::format("OID {:#010x} completed with {:#x}", request->DATA.Oid, static_cast<ULONG>(status)));
  if (!deliver) return;
  if (book.waiter != nullptr) {
    book.waiter->status = status;
    KeSetEvent(&book.waiter->done, IO_NO_INCREMENT, FALSE);  // the waiter may be gone after this
  } else if (book.binding != nullptr) {
    book.binding->oidComplete(request, status);
  }
}

// Under lock_. What a reset with AddressingReset must restore, and what NDIS answers
// OID_GEN_CURRENT_PACKET_FILTER / OID_GEN_CURRENT_LOOKAHEAD queries from.
void AdapterTrafficImpl::rememberAddressing(UpperBinding* binding, const NDIS_OID_REQUEST& request) {
  const auto& set = request.DATA.SET_INFORMATION;
  auto entry = [&]() -> BindingAddressing& {
    auto it = std::find_if(addressing_.begin(), addressing_.end(),
                           [&](const BindingAddressing& a) { return a.binding == binding; });
    if (it != addressing_.end()) return *it;
    return addressing_.emplace_back(BindingAddressing{binding, 0, 0});
  };
  switch (set.Oid) {
    case OID_GEN_CURRENT_PACKET_FILTER:
      if (set.InformationBufferLength >= sizeof(ULONG))
        std::memcpy(&entry().packetFilter, set.InformationBuffer, sizeof(ULONG));
      break;
    case OID_GEN_CURRENT_LOOKAHEAD:
      if (set.InformationBufferLength >= sizeof(ULONG))
        std::memcpy(&entry().lookahead, set.InformationBuffer, sizeof(ULONG));
      break;
    case OID_802_3_MULTICAST_LIST: {
      auto* bytes = static_cast<const UCHAR*>(set.InformationBuffer);
      multicastList_.assign(bytes, bytes + (bytes != nullptr ? set.InformationBufferLength : 0));
      multicastSet_ = true;
      break;
    }
    default:
      break;
  }
}

// IRQL <= DISPATCH_LEVEL. NdisMOidRequestComplete for the request at the miniport.
void AdapterTrafficImpl::oidRequestComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status, const void* caller) {
  if (status == NDIS_STATUS_PENDING) {
    violation("ndis.oid-complete-pending", NdisBugSubcode::OidComplete, request, static_cast<ULONG>(status), caller,
              "NdisMOidRequestComplete with NDIS_STATUS_PENDING; ignored (the request stays outstanding)");
    return;
  }
  enum class Outcome { Finish, Early, NotPending, Twice } outcome;
  {
    std::lock_guard guard(lock_);
    if (request == nullptr || request != oidCurrent_) {
      bool completedBefore = request != nullptr && bookOf(*request).marker == &oidCompletedMarker_;
      outcome = completedBefore ? Outcome::Twice : Outcome::NotPending;
    } else if (!oidCurrentReturned_) {
      if (oidCurrentCompletedEarly_) {
        outcome = Outcome::Twice;
      } else {
        oidCurrentCompletedEarly_ = true;
        oidCurrentEarlyStatus_ = status;
        outcome = Outcome::Early;
      }
    } else {
      oidCurrent_ = nullptr;
      outcome = Outcome::Finish;
    }
  }
  switch (outcome) {
    case Outcome::Early:
      return;  // MiniportOidRequest has not returned yet; pumpOids finishes it
    case Outcome::Twice:
      violation("ndis.oid-complete-twice", NdisBugSubcode::OidComplete, request, 0, caller,
                fmt::format("NdisMOidRequestComplete for request {} that was already completed; ignored",
                            static_cast<void*>(request)));
      return;
    case Outcome::NotPending:
      violation("ndis.oid-not-pending", NdisBugSubcode::OidComplete, request, 0, caller,
                fmt::format("NdisMOidRequestComplete for request {}, which NDIS did not pass to MiniportOidRequest "
                            "or which the miniport did not pend; ignored",
                            static_cast<void*>(request)));
      return;
    case Outcome::Finish:
      break;
  }
  finishOid(request, status, true);
  pumpOids(nullptr);
}

// IRQL <= DISPATCH_LEVEL (NdisCancelOidRequest). A request still queued in NDIS is
// completed here with NDIS_STATUS_REQUEST_ABORTED; one at the miniport is passed to
// MiniportCancelOidRequest, which completes it (with NDIS_STATUS_REQUEST_ABORTED).
void AdapterTrafficImpl::cancelOidRequest(UpperBinding& binding, PVOID requestId) {
  PNDIS_OID_REQUEST dequeued = nullptr;
  bool atMiniport = false;
  {
    std::lock_guard guard(lock_);
    PNDIS_OID_REQUEST previous = nullptr;
    for (PNDIS_OID_REQUEST r = oidHead_; r != nullptr; previous = r, r = bookOf(*r).next) {
      OidBookkeeping book = bookOf(*r);
      if (book.binding != &binding || r->RequestId != requestId) continue;
      if (previous != nullptr) {
        OidBookkeeping p = bookOf(*previous);
        p.next = book.next;
        setBook(*previous, p);
      } else {
        oidHead_ = book.next;
      }
      if (oidTail_ == r) oidTail_ = previous;
      dequeued = r;
      break;
    }
    if (dequeued == nullptr && oidCurrent_ != nullptr && bookOf(*oidCurrent_).binding == &binding &&
        oidCurrent_->RequestId == requestId && !halting_)
      atMiniport = true;
    if (atMiniport && driver_.characteristics().CancelOidRequestHandler != nullptr) beginCallLocked();
  }
  if (dequeued != nullptr) {
    finishOid(dequeued, NDIS_STATUS_REQUEST_ABORTED, true);
    return;
  }
  MINIPORT_CANCEL_OID_REQUEST_HANDLER cancel = driver_.characteristics().CancelOidRequestHandler;
  if (atMiniport && cancel != nullptr) {
    cancel(adapter_.miniportAdapterContext(), requestId);
    endCall();
  }
}

void AdapterTrafficImpl::failQueuedOids(NDIS_STATUS status) {
  PNDIS_OID_REQUEST queue;
  {
    std::lock_guard guard(lock_);
    queue = oidHead_;
    oidHead_ = oidTail_ = nullptr;
  }
  while (queue != nullptr) {
    PNDIS_OID_REQUEST next = bookOf(*queue).next;
    finishOid(queue, status, true);
    queue = next;
  }
}

// PASSIVE_LEVEL. NDIS's own request, queued like a binding's, waited for here.
NDIS_STATUS AdapterTrafficImpl::requestSync(NDIS_OID_REQUEST& request) {
  SyncWaiter waiter;
  KeInitializeEvent(&waiter.done, NotificationEvent, FALSE);
  waiter.status = NDIS_STATUS_PENDING;
  NDIS_STATUS status = submitOid(nullptr, &request, &waiter);
  if (status != NDIS_STATUS_PENDING) return status;
  KeWaitForSingleObject(&waiter.done, Executive, KernelMode, FALSE, nullptr);
  return waiter.status;
}

// PASSIVE_LEVEL, adapter Paused (guide: "Power Management for WDM Lower Edge" -> NDIS sends
// the PnP power OIDs). A low-power state is queried first (OID_PNP_QUERY_POWER, never for
// D0), then set (OID_PNP_SET_POWER).
NDIS_STATUS AdapterTrafficImpl::setDevicePower(NDIS_DEVICE_POWER_STATE state) {
  NDIS_DEVICE_POWER_STATE value = state;
  auto make = [&](NDIS_REQUEST_TYPE type, NDIS_OID oid) {
    NDIS_OID_REQUEST request{};
    request.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
    request.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
    request.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
    request.RequestType = type;
    request.DATA.SET_INFORMATION.Oid = oid;  // QUERY and SET share the layout up to BytesNeeded
    request.DATA.SET_INFORMATION.InformationBuffer = &value;
    request.DATA.SET_INFORMATION.InformationBufferLength = sizeof value;
    return request;
  };
  if (state != NdisDeviceStateD0) {
    NDIS_OID_REQUEST query = make(NdisRequestQueryInformation, OID_PNP_QUERY_POWER);
    NDIS_STATUS status = requestSync(query);
    if (status != NDIS_STATUS_SUCCESS) {
      nt::logger("ndis").warn("{}: OID_PNP_QUERY_POWER(D{}) failed with {:#x}", adapter_.describe(),
                              static_cast<int>(state) - 1, static_cast<ULONG>(status));
      return status;
    }
  }
  NDIS_OID_REQUEST set = make(NdisRequestSetInformation, OID_PNP_SET_POWER);
  return requestSync(set);
}

}  // namespace ndishost::ndis::traffic
