// Walking a NET_BUFFER's MDL chain: shared by the pool DDIs (which set CurrentMdl from a
// DataOffset) and the data DDIs (retreat, advance, copy, NdisGetDataBuffer).
#pragma once

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

// The MDL and the offset inside it where byte `offset` of the chain lies. An offset at
// the end of one MDL lands at the start of the next non-empty one; past the end of the
// chain the result is the last MDL with an offset beyond its byte count (or null, 0 for
// an empty chain).
struct MdlPosition {
  PMDL mdl = nullptr;
  ULONG offset = 0;
};
MdlPosition locateInChain(PMDL chain, ULONG offset);

// Sets CurrentMdl/CurrentMdlOffset from MdlChain and DataOffset.
void syncCurrentMdl(PNET_BUFFER netBuffer);

// The system address of an MDL's buffer (null when it cannot be mapped).
PUCHAR mdlAddress(PMDL mdl);

}  // namespace ndishost::ndis
