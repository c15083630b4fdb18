// NdisAllocateMemoryWithTagPriority / NdisFreeMemoryWithTagPriority / NdisFreeMemory over
// the executive pool, charged to the calling driver (leaks reported at unload).
#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "nt/ex/pool.hpp"

using namespace ndishost;

// IRQL <= DISPATCH_LEVEL. NdisHandle: any non-NULL NDIS handle (a miniport driver or
// adapter handle, ...); this step does not yet check that it names a live object, because
// the adapter handles drivers pass most often do not exist yet. Priority is accepted as
// documented; the pool does not fail low-priority requests early.
extern "C" PVOID NTAPI NdisAllocateMemoryWithTagPriority(NDIS_HANDLE NdisHandle, UINT Length, ULONG Tag,
                                                         EX_POOL_PRIORITY Priority) {
  const void* caller = __builtin_return_address(0);
  (void)Priority;
  ndis::checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateMemoryWithTagPriority", caller);
  if (NdisHandle == nullptr) {
    ndis::reportNdisViolation("ndis.bad-handle", ndis::NdisBugSubcode::BadHandle, nullptr, 0, caller,
                              "NdisAllocateMemoryWithTagPriority was passed a NULL NdisHandle");
    return nullptr;
  }
  nt::pool::Request request;
  request.size = Length;
  request.tag = Tag;
  request.caller = caller;
  return nt::pool::allocate(request);
}

// IRQL <= DISPATCH_LEVEL. Tag must be the allocation's ("pool.tag-mismatch").
extern "C" VOID NTAPI NdisFreeMemoryWithTagPriority(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, ULONG Tag) {
  const void* caller = __builtin_return_address(0);
  (void)NdisHandle;
  ndis::checkIrqlAtMost(DISPATCH_LEVEL, "NdisFreeMemoryWithTagPriority", caller);
  nt::pool::free(VirtualAddress, &Tag, caller);
}

// IRQL <= DISPATCH_LEVEL; PASSIVE_LEVEL for NDIS_MEMORY_CONTIGUOUS / NDIS_MEMORY_NONCACHED.
extern "C" VOID NTAPI NdisFreeMemory(PVOID VirtualAddress, UINT Length, UINT MemoryFlags) {
  const void* caller = __builtin_return_address(0);
  (void)Length;
  bool special = (MemoryFlags & (NDIS_MEMORY_CONTIGUOUS | NDIS_MEMORY_NONCACHED)) != 0;
  ndis::checkIrqlAtMost(special ? PASSIVE_LEVEL : DISPATCH_LEVEL, "NdisFreeMemory", caller);
  nt::pool::free(VirtualAddress, nullptr, caller);
}
