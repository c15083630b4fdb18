// NdisAllocateMdl / NdisFreeMdl: MDLs over nonpaged memory, charged to the calling driver.
#include "ndis/core/ndis_rules.hpp"
#include "nt/mm/mdl.hpp"

using namespace ndishost;

// IRQL <= DISPATCH_LEVEL. The MDL maps VirtualAddress..+Length (nonpaged memory only) and
// is ready for MmGetSystemAddressForMdlSafe.
extern "C" PMDL NTAPI NdisAllocateMdl(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, UINT Length) {
  const void* caller = __builtin_return_address(0);
  (void)NdisHandle;  // any NDIS handle: the MDL is charged to the calling driver
  ndis::checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateMdl", caller);
  PMDL mdl = nt::mm::allocateMdl(VirtualAddress, Length, false, nullptr, caller);
  if (mdl != nullptr) MmBuildMdlForNonPagedPool(mdl);
  return mdl;
}

// IRQL <= DISPATCH_LEVEL. Only MDLs from NdisAllocateMdl ("mdl.bad-free" otherwise).
extern "C" VOID NTAPI NdisFreeMdl(PMDL Mdl) {
  const void* caller = __builtin_return_address(0);
  ndis::checkIrqlAtMost(DISPATCH_LEVEL, "NdisFreeMdl", caller);
  nt::mm::freeMdl(Mdl, caller);
}
