// The miniport-side traffic DDIs: NdisMSendNetBufferListsComplete,
// NdisMIndicateReceiveNetBufferLists, NdisMOidRequestComplete, NdisMIndicateStatusEx,
// NdisMResetComplete. Each checks the IRQL rule and the adapter handle, then hands over to
// the adapter's AdapterTrafficImpl.
#include <fmt/format.h>

#include "ndis/miniport/adapter.hpp"
#include "ndis/traffic/traffic_impl.hpp"
#include "nt/ex/current_irql.hpp"

namespace ndishost::ndis::traffic {
namespace {

AdapterTrafficImpl* trafficFor(NDIS_HANDLE handle, const char* ddi, const void* caller) {
  Adapter* adapter = Adapter::fromHandle(handle);
  if (adapter == nullptr) {
    reportNdisViolation("ndis.bad-handle", NdisBugSubcode::BadHandle, handle, 0, caller,
                        fmt::format("{} was passed {}, which is not a live miniport adapter handle", ddi, handle));
    return nullptr;
  }
  return &AdapterTrafficImpl::of(*adapter);
}

}  // namespace
}  // namespace ndishost::ndis::traffic

using namespace ndishost;
using namespace ndishost::ndis;
using namespace ndishost::ndis::traffic;

// IRQL <= DISPATCH_LEVEL. Every NBL must be one NDIS passed to MiniportSendNetBufferLists and
// not completed yet ("ndis.nbl-not-owned", "ndis.nbl-complete-twice"; those are skipped).
extern "C" VOID NTAPI NdisMSendNetBufferListsComplete(NDIS_HANDLE MiniportAdapterHandle, PNET_BUFFER_LIST NetBufferList,
                                                     ULONG SendCompleteFlags) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisMSendNetBufferListsComplete", caller);
  AdapterTrafficImpl* traffic = trafficFor(MiniportAdapterHandle, "NdisMSendNetBufferListsComplete", caller);
  if (traffic == nullptr || NetBufferList == nullptr) return;
  // NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL claims the caller runs at DISPATCH_LEVEL; the
  // bindings get the flag as it really is.
  SendCompleteFlags &= ~ULONG(NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
  if (nt::currentIrqlOrPassive() == DISPATCH_LEVEL) SendCompleteFlags |= NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL;
  traffic->sendComplete(NetBufferList, SendCompleteFlags, caller);
}

// IRQL <= DISPATCH_LEVEL (NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL set only at DISPATCH_LEVEL).
extern "C" VOID NTAPI NdisMIndicateReceiveNetBufferLists(NDIS_HANDLE MiniportAdapterHandle,
                                                        PNET_BUFFER_LIST NetBufferList, NDIS_PORT_NUMBER PortNumber,
                                                        ULONG NumberOfNetBufferLists, ULONG ReceiveFlags) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisMIndicateReceiveNetBufferLists", caller);
  AdapterTrafficImpl* traffic = trafficFor(MiniportAdapterHandle, "NdisMIndicateReceiveNetBufferLists", caller);
  if (traffic == nullptr) return;
  traffic->indicateReceive(NetBufferList, PortNumber, NumberOfNetBufferLists, ReceiveFlags, caller);
}

// IRQL <= DISPATCH_LEVEL. Only for the request MiniportOidRequest returned PENDING for, once,
// and never with NDIS_STATUS_PENDING.
extern "C" VOID NTAPI NdisMOidRequestComplete(NDIS_HANDLE MiniportAdapterHandle, PNDIS_OID_REQUEST OidRequest,
                                             NDIS_STATUS Status) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisMOidRequestComplete", caller);
  AdapterTrafficImpl* traffic = trafficFor(MiniportAdapterHandle, "NdisMOidRequestComplete", caller);
  if (traffic == nullptr) return;
  traffic->oidRequestComplete(OidRequest, Status, caller);
}

// IRQL <= DISPATCH_LEVEL. From the registration attributes on until MiniportHaltEx.
extern "C" VOID NTAPI NdisMIndicateStatusEx(NDIS_HANDLE MiniportAdapterHandle, PNDIS_STATUS_INDICATION StatusIndication) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisMIndicateStatusEx", caller);
  AdapterTrafficImpl* traffic = trafficFor(MiniportAdapterHandle, "NdisMIndicateStatusEx", caller);
  if (traffic == nullptr) return;
  if (StatusIndication == nullptr) {
    reportNdisViolation("ndis.status-bad-header", NdisBugSubcode::StatusIndication, nullptr, 0, caller,
                        "NdisMIndicateStatusEx: StatusIndication is NULL");
    return;
  }
  traffic->indicateStatus(*StatusIndication, caller);
}

// IRQL <= DISPATCH_LEVEL. Only after MiniportResetEx returned PENDING, once.
extern "C" VOID NTAPI NdisMResetComplete(NDIS_HANDLE MiniportAdapterHandle, NDIS_STATUS Status,
                                        BOOLEAN AddressingReset) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisMResetComplete", caller);
  AdapterTrafficImpl* traffic = trafficFor(MiniportAdapterHandle, "NdisMResetComplete", caller);
  if (traffic == nullptr) return;
  traffic->resetComplete(Status, AddressingReset, caller);
}
