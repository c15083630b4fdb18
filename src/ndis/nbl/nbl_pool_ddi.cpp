// NdisAllocate/FreeNetBufferListPool, NdisAllocate/FreeNetBufferPool and the NBL/NB
// allocation DDIs over PacketPool. IRQL <= DISPATCH_LEVEL for all of them.
#include <cstring>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/nbl/nb_data.hpp"
#include "ndis/nbl/nbl_context.hpp"
#include "ndis/nbl/unit_pool.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {
namespace {

bool isMultipleOfAlignment(ULONG value) { return value % MEMORY_ALLOCATION_ALIGNMENT == 0; }

// The pool `handle` names, checked to be of `kind`; reports and returns null otherwise.
PacketPool* checkedPool(NDIS_HANDLE handle, PacketPoolKind kind, const char* ddi, const void* caller) {
  PacketPool* pool = PacketPool::fromHandle(handle);
  if (pool == nullptr) {
    reportNdisViolation("ndis.pool-bad-handle", NdisBugSubcode::BadHandle, handle, 0, caller,
                        fmt::format("{} was passed {}, which is not a live NDIS pool handle", ddi, handle));
    return nullptr;
  }
  if (pool->parameters().kind != kind) {
    reportNdisViolation(
        "ndis.pool-wrong-kind", NdisBugSubcode::WrongPoolKind, handle, 0, caller,
        fmt::format("{} was passed {}, which is a {} pool", ddi, handle,
                    pool->parameters().kind == PacketPoolKind::NetBuffer ? "NET_BUFFER" : "NET_BUFFER_LIST"));
    return nullptr;
  }
  return pool;
}

PacketPool* createPool(const PacketPoolParameters& parameters, const void* caller) {
  auto* pool = new (std::nothrow) PacketPool(parameters, caller);
  if (pool != nullptr) pool->publish();
  return pool;
}

void destroyPool(NDIS_HANDLE handle, PacketPoolKind kind, const char* ddi, const void* caller) {
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  PacketPool* pool = checkedPool(handle, kind, ddi, caller);
  if (pool == nullptr) return;
  if (std::size_t outstanding = pool->outstanding(); outstanding != 0) {
    // The safe way out is to keep the pool: drivers still hold memory inside it.
    reportNdisViolation("ndis.pool-free-with-outstanding", NdisBugSubcode::PoolFreeWithOutstanding, handle,
                        outstanding, caller,
                        fmt::format("{}: pool {} (tag {}) still has {} allocated {} structures", ddi, handle,
                                    nt::tagToString(pool->parameters().tag), outstanding,
                                    kind == PacketPoolKind::NetBuffer ? "NET_BUFFER" : "NET_BUFFER_LIST"));
    return;
  }
  delete pool;
}

// Initializes a NET_BUFFER the library hands out.
void initializeNetBuffer(PNET_BUFFER nb, NDIS_HANDLE poolHandle, PMDL mdlChain, ULONG dataOffset, SIZE_T dataLength) {
  std::memset(nb, 0, sizeof(*nb));
  nb->NdisPoolHandle = poolHandle;
  nb->MdlChain = mdlChain;
  nb->DataOffset = dataOffset;
  nb->stDataLength = dataLength;
  syncCurrentMdl(nb);
}

bool checkChainArguments(PMDL mdlChain, ULONG dataOffset, SIZE_T dataLength, const char* ddi, const void* caller) {
  if (dataLength > 0xFFFFFFFFull) {
    reportNdisViolation("ndis.nb-bad-parameters", NdisBugSubcode::BadParameters, mdlChain, dataLength, caller,
                        fmt::format("{}: DataLength {} exceeds 0xFFFFFFFF", ddi, dataLength));
    return false;
  }
  if (mdlChain == nullptr && (dataOffset != 0 || dataLength != 0)) {
    reportNdisViolation("ndis.nb-bad-parameters", NdisBugSubcode::BadParameters, mdlChain, dataOffset, caller,
                        fmt::format("{}: MdlChain is NULL but DataOffset is {} and DataLength {} (both must be 0)",
                                    ddi, dataOffset, dataLength));
    return false;
  }
  return true;
}

PNET_BUFFER_LIST allocateNbl(PacketPool* pool, USHORT contextSize, USHORT contextBackFill, const char* ddi,
                             const void* caller) {
  if (!isMultipleOfAlignment(contextSize) || !isMultipleOfAlignment(contextBackFill)) {
    reportNdisViolation("ndis.nbl-context-size", NdisBugSubcode::ContextMisuse, pool, contextSize, caller,
                        fmt::format("{}: ContextSize {} and ContextBackFill {} must be multiples of "
                                    "MEMORY_ALLOCATION_ALIGNMENT ({})",
                                    ddi, contextSize, contextBackFill, MEMORY_ALLOCATION_ALIGNMENT));
    return nullptr;
  }
  const PacketPoolParameters& parameters = pool->parameters();
  std::size_t wanted = std::size_t(contextSize) + contextBackFill;
  if (wanted > 0xFFFF) return nullptr;

  UnitHeader* unit = pool->allocateUnit(caller);
  if (unit == nullptr) return nullptr;

  PNET_BUFFER_LIST_CONTEXT context = nullptr;
  if (wanted <= parameters.contextSize) {
    if (parameters.contextSize != 0) {
      context = pool->contextOf(unit);
      context->Next = nullptr;
      context->Size = parameters.contextSize;
      context->Offset = static_cast<USHORT>(parameters.contextSize - contextSize);
    }
  } else {
    // More than the pool preallocated: the one allocation this NBL costs.
    context = allocateContextBlock(static_cast<USHORT>(wanted), contextBackFill, parameters.tag, caller);
    if (context == nullptr) {
      unit->allocated.store(false);
      pool->freeUnit(unit);
      return nullptr;
    }
  }
  unit->baseContext = context;

  PNET_BUFFER_LIST nbl = pool->nblOf(unit);
  std::memset(nbl, 0, sizeof(*nbl));
  nbl->NdisPoolHandle = pool->handle();
  nbl->Context = context;
  nbl->NetBufferListInfo[NetBufferListProtocolId] = reinterpret_cast<PVOID>(static_cast<ULONG_PTR>(parameters.protocolId));
  if (PNET_BUFFER nb = pool->nbOf(unit); nb != nullptr) {
    if (parameters.dataSize != 0) {
      pool->resetDataMdl(unit);
      initializeNetBuffer(nb, pool->handle(), pool->mdlOf(unit), 0, parameters.dataSize);
    } else {
      initializeNetBuffer(nb, pool->handle(), nullptr, 0, 0);
    }
    nbl->FirstNetBuffer = nb;
  }
  return nbl;
}

}  // namespace

PacketPoolStatistics packetPoolStatistics(NDIS_HANDLE handle) {
  PacketPool* pool = PacketPool::fromHandle(handle);
  if (pool == nullptr) return {};
  return {pool->outstanding(), pool->chunkAllocations(), pool->capacity()};
}

}  // namespace ndishost::ndis

using namespace ndishost::ndis;

// IRQL <= DISPATCH_LEVEL. NULL (with an "ndis" log line naming the field) for invalid
// parameters: header type/revision/size, ContextSize not a multiple of
// MEMORY_ALLOCATION_ALIGNMENT, DataSize without fAllocateNetBuffer.
extern "C" NDIS_HANDLE NTAPI NdisAllocateNetBufferListPool(NDIS_HANDLE NdisHandle,
                                                          PNET_BUFFER_LIST_POOL_PARAMETERS Parameters) {
  const void* caller = __builtin_return_address(0);
  (void)NdisHandle;  // any NDIS handle (or none): the pool is charged to the calling driver
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateNetBufferListPool", caller);
  auto& log = ndishost::nt::logger("ndis");
  auto reject = [&](const std::string& why) -> NDIS_HANDLE {
    log.error("NdisAllocateNetBufferListPool ({}): {}", ndishost::nt::describeCaller(caller), why);
    return nullptr;
  };
  if (Parameters == nullptr) return reject("Parameters is NULL");
  const NDIS_OBJECT_HEADER& header = Parameters->Header;
  if (header.Type != NDIS_OBJECT_TYPE_DEFAULT)
    return reject(fmt::format("Header.Type is {:#x}, expected NDIS_OBJECT_TYPE_DEFAULT", header.Type));
  if (header.Revision < NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1)
    return reject(fmt::format("Header.Revision {} is not NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1", header.Revision));
  if (header.Size < NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1)
    return reject(fmt::format("Header.Size {} is smaller than NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 ({})",
                              header.Size, NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1));
  if (!isMultipleOfAlignment(Parameters->ContextSize))
    return reject(fmt::format("ContextSize {} is not a multiple of MEMORY_ALLOCATION_ALIGNMENT ({})",
                              Parameters->ContextSize, MEMORY_ALLOCATION_ALIGNMENT));
  if (Parameters->DataSize != 0 && !Parameters->fAllocateNetBuffer)
    return reject(fmt::format("DataSize is {} but fAllocateNetBuffer is FALSE", Parameters->DataSize));

  PacketPoolParameters parameters;
  parameters.kind = PacketPoolKind::NetBufferList;
  parameters.allocateNetBuffer = Parameters->fAllocateNetBuffer != FALSE;
  parameters.protocolId = Parameters->ProtocolId;
  parameters.contextSize = Parameters->ContextSize;
  parameters.tag = Parameters->PoolTag;
  parameters.dataSize = Parameters->DataSize;
  PacketPool* pool = createPool(parameters, caller);
  return pool != nullptr ? pool->handle() : nullptr;
}

// IRQL <= DISPATCH_LEVEL. Every NBL must have been freed ("ndis.pool-free-with-outstanding").
extern "C" VOID NTAPI NdisFreeNetBufferListPool(NDIS_HANDLE PoolHandle) {
  destroyPool(PoolHandle, PacketPoolKind::NetBufferList, "NdisFreeNetBufferListPool", __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
extern "C" NDIS_HANDLE NTAPI NdisAllocateNetBufferPool(NDIS_HANDLE NdisHandle, PNET_BUFFER_POOL_PARAMETERS Parameters) {
  const void* caller = __builtin_return_address(0);
  (void)NdisHandle;
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateNetBufferPool", caller);
  auto& log = ndishost::nt::logger("ndis");
  auto reject = [&](const std::string& why) -> NDIS_HANDLE {
    log.error("NdisAllocateNetBufferPool ({}): {}", ndishost::nt::describeCaller(caller), why);
    return nullptr;
  };
  if (Parameters == nullptr) return reject("Parameters is NULL");
  const NDIS_OBJECT_HEADER& header = Parameters->Header;
  if (header.Type != NDIS_OBJECT_TYPE_DEFAULT)
    return reject(fmt::format("Header.Type is {:#x}, expected NDIS_OBJECT_TYPE_DEFAULT", header.Type));
  if (header.Revision < NET_BUFFER_POOL_PARAMETERS_REVISION_1)
    return reject(fmt::format("Header.Revision {} is not NET_BUFFER_POOL_PARAMETERS_REVISION_1", header.Revision));
  if (header.Size < NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1)
    return reject(fmt::format("Header.Size {} is smaller than NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1 ({})",
                              header.Size, NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1));
  PacketPoolParameters parameters;
  parameters.kind = PacketPoolKind::NetBuffer;
  parameters.tag = Parameters->PoolTag;
  parameters.dataSize = Parameters->DataSize;
  PacketPool* pool = createPool(parameters, caller);
  return pool != nullptr ? pool->handle() : nullptr;
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI NdisFreeNetBufferPool(NDIS_HANDLE PoolHandle) {
  destroyPool(PoolHandle, PacketPoolKind::NetBuffer, "NdisFreeNetBufferPool", __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL. With fAllocateNetBuffer the NBL carries one NET_BUFFER (and,
// with DataSize, an MDL over DataSize bytes: DataOffset 0, DataLength DataSize).
extern "C" PNET_BUFFER_LIST NTAPI NdisAllocateNetBufferList(NDIS_HANDLE PoolHandle, USHORT ContextSize,
                                                           USHORT ContextBackFill) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateNetBufferList", caller);
  PacketPool* pool = checkedPool(PoolHandle, PacketPoolKind::NetBufferList, "NdisAllocateNetBufferList", caller);
  if (pool == nullptr) return nullptr;
  return allocateNbl(pool, ContextSize, ContextBackFill, "NdisAllocateNetBufferList", caller);
}

// IRQL <= DISPATCH_LEVEL. Only for pools with fAllocateNetBuffer TRUE and DataSize 0.
extern "C" PNET_BUFFER_LIST NTAPI NdisAllocateNetBufferAndNetBufferList(NDIS_HANDLE PoolHandle, USHORT ContextSize,
                                                                       USHORT ContextBackFill, PMDL MdlChain,
                                                                       ULONG DataOffset, SIZE_T DataLength) {
  const void* caller = __builtin_return_address(0);
  const char* ddi = "NdisAllocateNetBufferAndNetBufferList";
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  PacketPool* pool = checkedPool(PoolHandle, PacketPoolKind::NetBufferList, ddi, caller);
  if (pool == nullptr) return nullptr;
  if (!pool->parameters().allocateNetBuffer || pool->parameters().dataSize != 0) {
    reportNdisViolation("ndis.pool-wrong-kind", NdisBugSubcode::WrongPoolKind, PoolHandle, pool->parameters().dataSize,
                        caller,
                        fmt::format("{}: pool {} was not created with fAllocateNetBuffer TRUE and DataSize 0", ddi,
                                    PoolHandle));
    return nullptr;
  }
  if (!checkChainArguments(MdlChain, DataOffset, DataLength, ddi, caller)) return nullptr;
  PNET_BUFFER_LIST nbl = allocateNbl(pool, ContextSize, ContextBackFill, ddi, caller);
  if (nbl == nullptr) return nullptr;
  initializeNetBuffer(nbl->FirstNetBuffer, PoolHandle, MdlChain, DataOffset, DataLength);
  return nbl;
}

// IRQL <= DISPATCH_LEVEL. Frees the preallocated NET_BUFFER/MDL/data with it; contexts from
// NdisAllocateNetBufferListContext must be freed first ("ndis.nbl-free-with-context").
extern "C" VOID NTAPI NdisFreeNetBufferList(PNET_BUFFER_LIST NetBufferList) {
  const void* caller = __builtin_return_address(0);
  const char* ddi = "NdisFreeNetBufferList";
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  if (NetBufferList == nullptr) {
    reportNdisViolation("ndis.nbl-bad-free", NdisBugSubcode::BadFree, nullptr, 0, caller, "NdisFreeNetBufferList(NULL)");
    return;
  }
  NDIS_HANDLE claimed = NetBufferList->NdisPoolHandle;
  PacketPool* pool = PacketPool::fromHandle(claimed);
  UnitHeader* unit = pool != nullptr && pool->parameters().kind == PacketPoolKind::NetBufferList
                         ? pool->unitOfNbl(NetBufferList)
                         : nullptr;
  if (unit == nullptr) {
    reportNdisViolation("ndis.nbl-bad-free", NdisBugSubcode::BadFree, NetBufferList,
                        reinterpret_cast<std::uintptr_t>(claimed), caller,
                        fmt::format("{}: {} was not allocated from an NDIS NET_BUFFER_LIST pool (its NdisPoolHandle "
                                    "is {})",
                                    ddi, static_cast<void*>(NetBufferList), claimed));
    return;
  }
  if (!unit->allocated.exchange(false)) {
    reportNdisViolation("ndis.nbl-double-free", NdisBugSubcode::DoubleFree, NetBufferList,
                        reinterpret_cast<std::uintptr_t>(claimed), caller,
                        fmt::format("{}: NET_BUFFER_LIST {} is already free", ddi, static_cast<void*>(NetBufferList)));
    return;
  }
  // Contexts pushed by NdisAllocateNetBufferListContext and never popped.
  PNET_BUFFER_LIST_CONTEXT context = NetBufferList->Context;
  while (context != nullptr && context != unit->baseContext) {
    reportNdisViolation("ndis.nbl-free-with-context", NdisBugSubcode::ContextMisuse, NetBufferList, context->Size,
                        caller,
                        fmt::format("{}: NET_BUFFER_LIST {} still has {} bytes of context from "
                                    "NdisAllocateNetBufferListContext; free it first",
                                    ddi, static_cast<void*>(NetBufferList), context->Size - context->Offset));
    PNET_BUFFER_LIST_CONTEXT next = context->Next;
    freeContextBlock(context, caller);
    context = next;
  }
  if (unit->baseContext != nullptr && unit->baseContext != pool->contextOf(unit)) {
    freeContextBlock(unit->baseContext, caller);
  }
  unit->baseContext = nullptr;
  NetBufferList->Context = nullptr;
  pool->freeUnit(unit);
}

// IRQL <= DISPATCH_LEVEL. The pool must have DataSize 0 (use NdisAllocateNetBufferMdlAndData
// otherwise).
extern "C" PNET_BUFFER NTAPI NdisAllocateNetBuffer(NDIS_HANDLE PoolHandle, PMDL MdlChain, ULONG DataOffset,
                                                  SIZE_T DataLength) {
  const void* caller = __builtin_return_address(0);
  const char* ddi = "NdisAllocateNetBuffer";
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  PacketPool* pool = checkedPool(PoolHandle, PacketPoolKind::NetBuffer, ddi, caller);
  if (pool == nullptr || !checkChainArguments(MdlChain, DataOffset, DataLength, ddi, caller)) return nullptr;
  UnitHeader* unit = pool->allocateUnit(caller);
  if (unit == nullptr) return nullptr;
  PNET_BUFFER nb = pool->nbOf(unit);
  initializeNetBuffer(nb, PoolHandle, MdlChain, DataOffset, DataLength);
  return nb;
}

// IRQL <= DISPATCH_LEVEL. The pool must have a DataSize: the NET_BUFFER comes with an MDL
// over DataSize bytes (DataOffset 0, DataLength DataSize).
extern "C" PNET_BUFFER NTAPI NdisAllocateNetBufferMdlAndData(NDIS_HANDLE PoolHandle) {
  const void* caller = __builtin_return_address(0);
  const char* ddi = "NdisAllocateNetBufferMdlAndData";
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  PacketPool* pool = checkedPool(PoolHandle, PacketPoolKind::NetBuffer, ddi, caller);
  if (pool == nullptr) return nullptr;
  if (pool->parameters().dataSize == 0) {
    reportNdisViolation("ndis.pool-wrong-kind", NdisBugSubcode::WrongPoolKind, PoolHandle, 0, caller,
                        fmt::format("{}: pool {} was created with DataSize 0", ddi, PoolHandle));
    return nullptr;
  }
  UnitHeader* unit = pool->allocateUnit(caller);
  if (unit == nullptr) return nullptr;
  pool->resetDataMdl(unit);
  PNET_BUFFER nb = pool->nbOf(unit);
  initializeNetBuffer(nb, PoolHandle, pool->mdlOf(unit), 0, pool->parameters().dataSize);
  return nb;
}

// IRQL <= DISPATCH_LEVEL. Only NET_BUFFERs from NdisAllocateNetBuffer(MdlAndData): one
// preallocated with an NBL goes with NdisFreeNetBufferList ("ndis.nb-bad-free").
extern "C" VOID NTAPI NdisFreeNetBuffer(PNET_BUFFER NetBuffer) {
  const void* caller = __builtin_return_address(0);
  const char* ddi = "NdisFreeNetBuffer";
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  if (NetBuffer == nullptr) {
    reportNdisViolation("ndis.nb-bad-free", NdisBugSubcode::BadFree, nullptr, 0, caller, "NdisFreeNetBuffer(NULL)");
    return;
  }
  NDIS_HANDLE claimed = NetBuffer->NdisPoolHandle;
  PacketPool* pool = PacketPool::fromHandle(claimed);
  UnitHeader* unit = pool != nullptr ? pool->unitOfNb(NetBuffer) : nullptr;
  if (unit == nullptr || pool->parameters().kind != PacketPoolKind::NetBuffer) {
    reportNdisViolation("ndis.nb-bad-free", NdisBugSubcode::BadFree, NetBuffer, reinterpret_cast<std::uintptr_t>(claimed),
                        caller,
                        fmt::format("{}: {} was not allocated with NdisAllocateNetBuffer{} (NdisPoolHandle {})", ddi,
                                    static_cast<void*>(NetBuffer),
                                    unit != nullptr ? "; it was preallocated with a NET_BUFFER_LIST" : "", claimed));
    return;
  }
  if (!unit->allocated.exchange(false)) {
    reportNdisViolation("ndis.nb-double-free", NdisBugSubcode::DoubleFree, NetBuffer,
                        reinterpret_cast<std::uintptr_t>(claimed), caller,
                        fmt::format("{}: NET_BUFFER {} is already free", ddi, static_cast<void*>(NetBuffer)));
    return;
  }
  pool->freeUnit(unit);
}

// Any IRQL the caller may touch the NBL at.
extern "C" NDIS_HANDLE NTAPI NdisGetPoolFromNetBufferList(PNET_BUFFER_LIST NetBufferList) {
  return NetBufferList->NdisPoolHandle;
}

extern "C" NDIS_HANDLE NTAPI NdisGetPoolFromNetBuffer(PNET_BUFFER NetBuffer) { return NetBuffer->NdisPoolHandle; }
