// The NET_BUFFER data DDIs: retreat/advance of the data start (NB and NBL forms),
// NdisGetDataBuffer, NdisCopyFromNetBufferToNetBuffer, NdisQueryNetBufferPhysicalCount.
// IRQL <= DISPATCH_LEVEL for all of them.
//
// A NET_BUFFER's data is DataLength bytes starting DataOffset bytes into its MDL chain;
// CurrentMdl/CurrentMdlOffset point at the same byte. When a retreat needs more room than
// the unused space in front of the data, a new MDL goes in front of the chain: its buffer
// holds the missing bytes at its end (so the data stays contiguous across the old chain's
// unused space, which is consumed first) and DataBackFill spare bytes in front of them.
#include "ndis/nbl/nb_data.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/nbl/unit_pool.hpp"
#include "nt/ex/pool.hpp"

namespace ndishost::ndis {
namespace {

// Tag of the MDL+buffer blocks a retreat allocates when the caller gives no allocator.
constexpr ULONG kRetreatTag = nt::poolTag("NdRb");

ULONG byteCount(PMDL mdl) { return MmGetMdlByteCount(mdl); }

// The MDL storage in front of a retreat block's data (room for any page span).
std::size_t retreatMdlStorage(std::size_t dataSize) {
  return (sizeof(MDL) + sizeof(PFN_NUMBER) * (dataSize / PAGE_SIZE + 2) + 15) / 16 * 16;
}

PMDL allocateRetreatMdl(ULONG size, const void* caller) {
  nt::pool::Request request;
  request.size = retreatMdlStorage(size) + size;
  request.tag = kRetreatTag;
  request.caller = caller;
  auto* block = static_cast<PUCHAR>(nt::pool::allocate(request));
  if (block == nullptr) return nullptr;
  auto mdl = reinterpret_cast<PMDL>(block);
  PUCHAR data = block + retreatMdlStorage(size);
  MmInitializeMdl(mdl, data, size);
  MmBuildMdlForNonPagedPool(mdl);
  return mdl;
}

bool isRetreatMdl(PMDL mdl) { return nt::pool::isLiveBlock(mdl) && nt::pool::blockTag(mdl) == kRetreatTag; }

// True when `mdl` is the data MDL embedded in a pool unit (never freed by an advance).
bool isPoolDataMdl(PNET_BUFFER nb, PMDL mdl) {
  PacketPool* pool = PacketPool::fromHandle(nb->NdisPoolHandle);
  if (pool == nullptr) return false;
  UnitHeader* unit = pool->unitOfNb(nb);
  return unit != nullptr && pool->mdlOf(unit) == mdl;
}

// Moves a position `by` bytes on, skipping MDLs it reaches the end of; {null, 0} when it
// runs off the chain.
MdlPosition step(MdlPosition position, ULONG by) {
  PMDL mdl = position.mdl;
  ULONG remaining = position.offset + by;
  while (mdl != nullptr && remaining >= byteCount(mdl)) {
    remaining -= byteCount(mdl);
    mdl = mdl->Next;
  }
  return {mdl, mdl != nullptr ? remaining : 0};
}

// Copies up to `bytes` from `from` to `to`, MDL piece by MDL piece; stops when either chain
// ends. Returns the bytes copied; *mapFailed when a buffer could not be mapped.
ULONG copyChains(MdlPosition from, MdlPosition to, ULONG bytes, bool* mapFailed) {
  ULONG copied = 0;
  from = step(from, 0);
  to = step(to, 0);
  while (bytes != 0 && from.mdl != nullptr && to.mdl != nullptr) {
    ULONG chunk = std::min({bytes, byteCount(from.mdl) - from.offset, byteCount(to.mdl) - to.offset});
    PUCHAR source = mdlAddress(from.mdl);
    PUCHAR destination = mdlAddress(to.mdl);
    if (source == nullptr || destination == nullptr) {
      *mapFailed = true;
      break;
    }
    std::memmove(destination + to.offset, source + from.offset, chunk);
    copied += chunk;
    bytes -= chunk;
    from = step(from, chunk);
    to = step(to, chunk);
  }
  return copied;
}

NDIS_STATUS retreat(PNET_BUFFER nb, ULONG delta, ULONG backFill, NET_BUFFER_ALLOCATE_MDL_HANDLER allocateMdl,
                    const void* caller) {
  if (delta <= nb->DataOffset) {
    nb->DataOffset -= delta;
    nb->DataLength += delta;
    syncCurrentMdl(nb);
    return NDIS_STATUS_SUCCESS;
  }
  ULONG missing = delta - nb->DataOffset;
  if (std::uint64_t(missing) + backFill > 0xFFFFFFFFull) return NDIS_STATUS_FAILURE;
  ULONG wanted = missing + backFill;
  PMDL mdl = nullptr;
  if (allocateMdl != nullptr) {
    ULONG size = wanted;
    mdl = allocateMdl(&size);
    if (mdl == nullptr) return NDIS_STATUS_RESOURCES;
    if (byteCount(mdl) < missing) {
      reportNdisViolation("ndis.nb-retreat-short-mdl", NdisBugSubcode::MdlMisuse, mdl, byteCount(mdl), caller,
                          fmt::format("NetAllocateMdl returned an MDL of {} bytes for a request of {}", byteCount(mdl),
                                      wanted));
      return NDIS_STATUS_FAILURE;
    }
  } else {
    mdl = allocateRetreatMdl(wanted, caller);
    if (mdl == nullptr) return NDIS_STATUS_RESOURCES;
  }
  mdl->Next = nb->MdlChain;
  nb->MdlChain = mdl;
  nb->DataOffset = byteCount(mdl) - missing;
  nb->DataLength += delta;
  syncCurrentMdl(nb);
  return NDIS_STATUS_SUCCESS;
}

void advance(PNET_BUFFER nb, ULONG delta, BOOLEAN freeMdl, NET_BUFFER_FREE_MDL_HANDLER freeMdlHandler,
             const void* caller) {
  if (delta > nb->DataLength) {
    reportNdisViolation("ndis.nb-advance-past-end", NdisBugSubcode::BadParameters, nb, delta, caller,
                        fmt::format("NdisAdvanceNetBufferDataStart by {} bytes, but the NET_BUFFER has only {} bytes "
                                    "of data",
                                    delta, nb->DataLength));
    delta = nb->DataLength;
  }
  nb->DataOffset += delta;
  nb->DataLength -= delta;
  if (freeMdl) {
    // Free MDLs a retreat put in front that are now wholly unused: the library's own, or
    // (with a handler) the ones the caller's NetAllocateMdl made.
    while (nb->MdlChain != nullptr && byteCount(nb->MdlChain) <= nb->DataOffset) {
      PMDL first = nb->MdlChain;
      bool own = isRetreatMdl(first);
      if (!own && (freeMdlHandler == nullptr || isPoolDataMdl(nb, first))) break;
      nb->MdlChain = first->Next;
      nb->DataOffset -= byteCount(first);
      first->Next = nullptr;
      if (own) {
        nt::pool::free(first, &kRetreatTag, caller);
      } else {
        freeMdlHandler(first);
      }
    }
  }
  syncCurrentMdl(nb);
}

}  // namespace

MdlPosition locateInChain(PMDL chain, ULONG offset) {
  PMDL last = nullptr;
  ULONG remaining = offset;
  for (PMDL mdl = chain; mdl != nullptr; mdl = mdl->Next) {
    if (remaining < byteCount(mdl)) return {mdl, remaining};
    remaining -= byteCount(mdl);
    last = mdl;
  }
  if (last == nullptr) return {};
  return {last, byteCount(last) + remaining};
}

void syncCurrentMdl(PNET_BUFFER nb) {
  MdlPosition position = locateInChain(nb->MdlChain, nb->DataOffset);
  nb->CurrentMdl = position.mdl;
  nb->CurrentMdlOffset = position.offset;
}

PUCHAR mdlAddress(PMDL mdl) { return static_cast<PUCHAR>(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority)); }

}  // namespace ndishost::ndis

using namespace ndishost::ndis;

// IRQL <= DISPATCH_LEVEL. Uses unused data space first; otherwise prepends an MDL of the
// missing bytes + DataBackFill, from AllocateMdlHandler or the library.
extern "C" NDIS_STATUS NTAPI NdisRetreatNetBufferDataStart(PNET_BUFFER NetBuffer, ULONG DataOffsetDelta,
                                                          ULONG DataBackFill,
                                                          NET_BUFFER_ALLOCATE_MDL_HANDLER AllocateMdlHandler) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisRetreatNetBufferDataStart", caller);
  return retreat(NetBuffer, DataOffsetDelta, DataBackFill, AllocateMdlHandler, caller);
}

// IRQL <= DISPATCH_LEVEL. FreeMdl: free the MDLs a retreat added that are now unused.
extern "C" VOID NTAPI NdisAdvanceNetBufferDataStart(PNET_BUFFER NetBuffer, ULONG DataOffsetDelta, BOOLEAN FreeMdl,
                                                   NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAdvanceNetBufferDataStart", caller);
  advance(NetBuffer, DataOffsetDelta, FreeMdl, FreeMdlHandler, caller);
}

// IRQL <= DISPATCH_LEVEL. All or nothing: NET_BUFFERs already retreated are advanced back
// (freeing what was allocated, through FreeMdlHandler when given) when one fails.
extern "C" NDIS_STATUS NTAPI NdisRetreatNetBufferListDataStart(PNET_BUFFER_LIST NetBufferList, ULONG DataOffsetDelta,
                                                              ULONG DataBackFill,
                                                              NET_BUFFER_ALLOCATE_MDL_HANDLER AllocateMdlHandler,
                                                              NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisRetreatNetBufferListDataStart", caller);
  for (PNET_BUFFER nb = NetBufferList->FirstNetBuffer; nb != nullptr; nb = nb->Next) {
    NDIS_STATUS status = retreat(nb, DataOffsetDelta, DataBackFill, AllocateMdlHandler, caller);
    if (status != NDIS_STATUS_SUCCESS) {
      for (PNET_BUFFER done = NetBufferList->FirstNetBuffer; done != nb; done = done->Next) {
        advance(done, DataOffsetDelta, TRUE, FreeMdlHandler, caller);
      }
      return status;
    }
  }
  return NDIS_STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI NdisAdvanceNetBufferListDataStart(PNET_BUFFER_LIST NetBufferList, ULONG DataOffsetDelta,
                                                       BOOLEAN FreeMdl, NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAdvanceNetBufferListDataStart", caller);
  for (PNET_BUFFER nb = NetBufferList->FirstNetBuffer; nb != nullptr; nb = nb->Next) {
    advance(nb, DataOffsetDelta, FreeMdl, FreeMdlHandler, caller);
  }
}

// IRQL <= DISPATCH_LEVEL. A pointer into the MDL when the BytesNeeded bytes at the data
// start are contiguous (and aligned as asked); otherwise a copy in Storage, or NULL when
// there is no Storage, DataLength < BytesNeeded or a buffer cannot be mapped.
extern "C" PVOID NTAPI NdisGetDataBuffer(PNET_BUFFER NetBuffer, ULONG BytesNeeded, PVOID Storage, UINT AlignMultiple,
                                        UINT AlignOffset) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisGetDataBuffer", caller);
  if (NetBuffer == nullptr || BytesNeeded > NetBuffer->DataLength) return nullptr;
  MdlPosition start{NetBuffer->CurrentMdl, NetBuffer->CurrentMdlOffset};
  MdlPosition first = BytesNeeded != 0 ? step(start, 0) : start;
  if (first.mdl == nullptr) return nullptr;
  PUCHAR base = mdlAddress(first.mdl);
  if (base == nullptr) return nullptr;
  PUCHAR data = base + first.offset;
  bool contiguous = byteCount(first.mdl) - std::min(first.offset, byteCount(first.mdl)) >= BytesNeeded;
  bool aligned = AlignMultiple <= 1 ||
                 (reinterpret_cast<std::uintptr_t>(data) % AlignMultiple) == (AlignOffset % AlignMultiple);
  if (contiguous && aligned) return data;
  if (Storage == nullptr) return nullptr;
  // Not usable in place: gather the bytes into the caller's Storage.
  bool mapFailed = false;
  ULONG remaining = BytesNeeded;
  auto* out = static_cast<PUCHAR>(Storage);
  MdlPosition from = first;
  while (remaining != 0 && from.mdl != nullptr) {
    ULONG chunk = std::min(remaining, byteCount(from.mdl) - from.offset);
    PUCHAR source = mdlAddress(from.mdl);
    if (source == nullptr) {
      mapFailed = true;
      break;
    }
    std::memcpy(out, source + from.offset, chunk);
    out += chunk;
    remaining -= chunk;
    from = step(from, chunk);
  }
  return mapFailed || remaining != 0 ? nullptr : Storage;
}

// IRQL <= DISPATCH_LEVEL. Offsets count from each NET_BUFFER's current data start; stops when
// the source's data or the destination's MDL chain runs out.
extern "C" NDIS_STATUS NTAPI NdisCopyFromNetBufferToNetBuffer(PNET_BUFFER Destination, ULONG DestinationOffset,
                                                             ULONG BytesToCopy, PNET_BUFFER Source,
                                                             ULONG SourceOffset, PULONG BytesCopied) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisCopyFromNetBufferToNetBuffer", caller);
  *BytesCopied = 0;
  ULONG available = SourceOffset < Source->DataLength ? Source->DataLength - SourceOffset : 0;
  ULONG bytes = std::min(BytesToCopy, available);
  MdlPosition from = step({Source->CurrentMdl, Source->CurrentMdlOffset}, SourceOffset);
  MdlPosition to = step({Destination->CurrentMdl, Destination->CurrentMdlOffset}, DestinationOffset);
  bool mapFailed = false;
  *BytesCopied = copyChains(from, to, bytes, &mapFailed);
  return mapFailed ? NDIS_STATUS_RESOURCES : NDIS_STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL. Pages spanned by the data's pieces, summed over its MDLs.
extern "C" ULONG NTAPI NdisQueryNetBufferPhysicalCount(PNET_BUFFER NetBuffer) {
  ULONG pages = 0;
  ULONG remaining = NetBuffer->DataLength;
  MdlPosition at = step({NetBuffer->CurrentMdl, NetBuffer->CurrentMdlOffset}, 0);
  while (remaining != 0 && at.mdl != nullptr) {
    ULONG chunk = std::min(remaining, byteCount(at.mdl) - at.offset);
    PUCHAR va = static_cast<PUCHAR>(MmGetMdlVirtualAddress(at.mdl)) + at.offset;
    pages += ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, chunk);
    remaining -= chunk;
    at = step(at, chunk);
  }
  return pages;
}
