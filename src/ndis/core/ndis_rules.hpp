// The rules the NDIS library checks, and how it reports them.
//
// Each broken rule goes through nt::reportViolation with a stable rule name
// ("ndis.nbl-double-free", ...). Pool and object misuse uses bug check 0x7C
// (BUGCODE_NDIS_DRIVER) with an ndishost subcode in parameter 1 (the reference does not
// list Windows' subcodes), the object in parameter 2 and a detail value in parameter 3.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

// BUGCODE_NDIS_DRIVER parameter 1 values (ndishost's own numbering; docs/CHECKS.md).
enum class NdisBugSubcode : std::uint64_t {
  PoolFreeWithOutstanding = 0x01,  // p2 pool, p3 outstanding count
  BadFree = 0x02,                  // p2 object, p3 the pool handle it claimed
  DoubleFree = 0x03,               // p2 object, p3 pool
  WrongPoolKind = 0x04,            // p2 object, p3 pool (NBL vs NB pool, preallocated NB)
  BadParameters = 0x05,            // p2 structure, p3 offending value
  ContextMisuse = 0x06,            // p2 NBL, p3 size
  BadHandle = 0x07,                // p2 handle
  TimerMisuse = 0x08,              // p2 timer
  WorkItemMisuse = 0x09,           // p2 work item
  LockMisuse = 0x0A,               // p2 lock
  MdlMisuse = 0x0B,                // p2 MDL
  AdapterState = 0x0C,             // p2 adapter handle, p3 the adapter's AdapterState
  MissingAttributes = 0x0D,        // p2 adapter handle, p3 the missing attributes' NDIS_OBJECT_TYPE
  HaltWithOutstanding = 0x0E,      // p2 adapter handle, p3 sends the miniport still holds
  DeregisterWithAdapters = 0x0F,   // p2 miniport driver handle, p3 adapters still present
  DeviceNotDeregistered = 0x10,    // p2 NdisDeviceHandle: still registered when MiniportDriverUnload returned

  // The traffic paths of an adapter (src/ndis/traffic); the report's text names the adapter.
  NblNotOwned = 0x20,         // p2 NBL: NdisMSendNetBufferListsComplete of an NBL NDIS did not send to the miniport
  NblCompleteTwice = 0x21,    // p2 NBL: the same send completed a second time
  ReceiveState = 0x22,        // p2 NBL chain, p3 the adapter's AdapterState: a receive while not Running
  ReceiveFlags = 0x23,        // p2 NBL chain, p3 real count or IRQL: NumberOfNetBufferLists or flags wrong
  OidComplete = 0x24,         // p2 NDIS_OID_REQUEST, p3 OID or status: a completion NDIS did not expect
  StatusIndication = 0x25,    // p2 NDIS_STATUS_INDICATION, p3 the wrong header value or size
  ResetComplete = 0x26,       // p3 the status: NdisMResetComplete without a pended reset, or twice
  ReturnNotIndicated = 0x27,  // p2 first bad NBL, p3 how many: NdisReturnNetBufferLists of NBLs not held

  // The protocol side (src/ndis/protocol); p2 the binding or protocol handle unless noted.
  ProtocolBadHandle = 0x30,   // p2 the handle: not a live protocol/binding/bind or unbind context, or closed
  ProtocolBindUnbind = 0x31,  // p3 the status: ProtocolBindAdapterEx/UnbindAdapterEx left the open in the wrong state
  ProtocolOpenClose = 0x32,   // p3 a detail value: NdisOpenAdapterEx/NdisCloseAdapterEx at the wrong time or twice
  ProtocolCompletion = 0x33,  // p3 the status: an Ndis*Complete* for nothing pended, or with NDIS_STATUS_PENDING
  ProtocolPnPEvent = 0x34,    // p3 the status: ProtocolNetPnPEvent failed a pause
  ProtocolSend = 0x35,        // p2 the NBL chain or binding: a send with a wrong SourceHandle or while not Running
  ProtocolReturn = 0x36,      // p2 the NBL chain, p3 how many: NdisReturnNetBufferLists of NBLs not indicated
};

// Reports `rule` as BUGCODE_NDIS_DRIVER(subcode, object, detailValue). Returns only in
// Record mode (then the DDI takes its documented safe way out).
void reportNdisViolation(std::string_view rule, NdisBugSubcode subcode, const void* object, std::uint64_t detailValue,
                         const void* caller, std::string detail);

// Reports "irql.too-high" when the caller runs above `maximum` (see nt::checkIrqlAtMost).
bool checkIrqlAtMost(KIRQL maximum, const char* ddi, const void* caller);
// Reports "irql.too-high" / "irql.too-low" when the caller does not run at exactly `required`.
bool checkIrqlExactly(KIRQL required, const char* ddi, const void* caller);

}  // namespace ndishost::ndis
