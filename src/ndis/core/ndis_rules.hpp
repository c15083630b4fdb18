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
