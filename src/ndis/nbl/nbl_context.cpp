// NdisAllocateNetBufferListContext / NdisFreeNetBufferListContext. IRQL <= DISPATCH_LEVEL.
//
// The NBL's Context is a chain: the head is the context drivers currently carve from.
// Allocating takes ContextSize bytes of the head's unused space (Offset shrinks); when the
// head has too little, a new context of ContextSize + ContextBackFill bytes is pushed.
// Freeing gives bytes back (Offset grows) and pops a pushed context once it is all unused.
#include "ndis/nbl/nbl_context.hpp"

#include <cstring>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/nbl/unit_pool.hpp"
#include "nt/ex/pool.hpp"

namespace ndishost::ndis {

PNET_BUFFER_LIST_CONTEXT allocateContextBlock(USHORT size, USHORT unusedBytes, ULONG tag, const void* caller) {
  nt::pool::Request request;
  request.size = sizeof(NET_BUFFER_LIST_CONTEXT) + size;
  request.tag = tag != 0 ? tag : nt::poolTag("NdCx");
  request.caller = caller;
  auto* context = static_cast<PNET_BUFFER_LIST_CONTEXT>(nt::pool::allocate(request));
  if (context == nullptr) return nullptr;
  context->Next = nullptr;
  context->Size = size;
  context->Offset = unusedBytes;
  return context;
}

void freeContextBlock(PNET_BUFFER_LIST_CONTEXT context, const void* caller) { nt::pool::free(context, nullptr, caller); }

namespace {

// The context the NBL got from NdisAllocateNetBufferList (never popped), or null when the
// NBL is not from a pool.
PNET_BUFFER_LIST_CONTEXT baseContextOf(PNET_BUFFER_LIST nbl) {
  PacketPool* pool = PacketPool::fromHandle(nbl->NdisPoolHandle);
  if (pool == nullptr) return nullptr;
  UnitHeader* unit = pool->unitOfNbl(nbl);
  return unit != nullptr ? unit->baseContext : nullptr;
}

}  // namespace
}  // namespace ndishost::ndis

using namespace ndishost::ndis;

// IRQL <= DISPATCH_LEVEL. Sizes must be multiples of sizeof(void*) (NDIS_STATUS_FAILURE
// and "ndis.nbl-context-size" otherwise); NDIS_STATUS_RESOURCES when memory is exhausted.
extern "C" NDIS_STATUS NTAPI NdisAllocateNetBufferListContext(PNET_BUFFER_LIST NetBufferList, USHORT ContextSize,
                                                             USHORT ContextBackFill, ULONG PoolTag) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateNetBufferListContext", caller);
  if (ContextSize % sizeof(void*) != 0 || ContextBackFill % sizeof(void*) != 0) {
    reportNdisViolation("ndis.nbl-context-size", NdisBugSubcode::ContextMisuse, NetBufferList, ContextSize, caller,
                        fmt::format("NdisAllocateNetBufferListContext: ContextSize {} and ContextBackFill {} must be "
                                    "multiples of sizeof(void*)",
                                    ContextSize, ContextBackFill));
    return NDIS_STATUS_FAILURE;
  }
  PNET_BUFFER_LIST_CONTEXT head = NetBufferList->Context;
  if (head != nullptr && head->Offset >= ContextSize) {
    head->Offset = static_cast<USHORT>(head->Offset - ContextSize);
    return NDIS_STATUS_SUCCESS;
  }
  std::size_t size = std::size_t(ContextSize) + ContextBackFill;
  if (size > 0xFFFF) return NDIS_STATUS_RESOURCES;
  PNET_BUFFER_LIST_CONTEXT context = allocateContextBlock(static_cast<USHORT>(size), ContextBackFill, PoolTag, caller);
  if (context == nullptr) return NDIS_STATUS_RESOURCES;
  context->Next = head;
  NetBufferList->Context = context;
  return NDIS_STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL. Frees more than was allocated: "ndis.nbl-context-underflow".
extern "C" VOID NTAPI NdisFreeNetBufferListContext(PNET_BUFFER_LIST NetBufferList, USHORT ContextSize) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisFreeNetBufferListContext", caller);
  PNET_BUFFER_LIST_CONTEXT head = NetBufferList->Context;
  if (head == nullptr || std::size_t(head->Offset) + ContextSize > head->Size) {
    reportNdisViolation("ndis.nbl-context-underflow", NdisBugSubcode::ContextMisuse, NetBufferList, ContextSize, caller,
                        fmt::format("NdisFreeNetBufferListContext: freeing {} bytes but the NBL's current context has "
                                    "only {} bytes in use",
                                    ContextSize, head == nullptr ? 0 : head->Size - head->Offset));
    return;
  }
  head->Offset = static_cast<USHORT>(head->Offset + ContextSize);
  if (head->Offset == head->Size && head != baseContextOf(NetBufferList)) {
    NetBufferList->Context = head->Next;
    freeContextBlock(head, caller);
  }
}
