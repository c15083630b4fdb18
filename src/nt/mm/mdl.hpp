// MDL allocation for the runtime's other layers (the NDIS library's NdisAllocateMdl, the
// I/O manager), with the driver's call site passed explicitly so the MDL is charged to the
// driver rather than to the layer that called IoAllocateMdl on its behalf.
#pragma once

#include "nt/rtl/ddk.hpp"

#include <cstddef>

namespace ndishost::nt::mm {

// IoAllocateMdl with an explicit call site (attribution and leak reports).
PMDL allocateMdl(PVOID virtualAddress, ULONG length, bool secondaryBuffer, PIRP irp, const void* caller);
// IoFreeMdl with an explicit call site.
void freeMdl(PMDL mdl, const void* caller);
// True when `mdl` came from IoAllocateMdl/allocateMdl and is not freed yet.
bool isAllocatedMdl(const MDL* mdl);

// MDLs describing up to this many pages come from a recycled cache (no heap allocation).
inline constexpr std::size_t kCachedMdlPages = 17;

struct MdlStatistics {
  std::size_t live = 0;         // allocated and not freed
  std::size_t cached = 0;       // small MDL blocks waiting for reuse
  std::size_t cacheHits = 0;    // small allocations served from the cache
  std::size_t allocations = 0;  // every IoAllocateMdl that succeeded
};
MdlStatistics mdlStatistics();

}  // namespace ndishost::nt::mm
