// NET_BUFFER_LIST_CONTEXT blocks the library allocates outside a pool unit: a base context
// larger than the pool preallocated, and the contexts NdisAllocateNetBufferListContext
// pushes when the current one has too little unused space.
#pragma once

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

// A context of `size` bytes with `unusedBytes` of them unused (Offset), from the pool,
// charged to the driver at `caller`; null when memory is exhausted.
PNET_BUFFER_LIST_CONTEXT allocateContextBlock(USHORT size, USHORT unusedBytes, ULONG tag, const void* caller);
void freeContextBlock(PNET_BUFFER_LIST_CONTEXT context, const void* caller);

}  // namespace ndishost::ndis
