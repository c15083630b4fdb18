// What NDIS builds for a protocol's bind: NDIS_BIND_PARAMETERS from the adapter's general
// attributes, and the interface LUID NDIS reports for an adapter.
#pragma once

#include <optional>
#include <string>

#include "ndis/core/ndis_ddk.hpp"
#include "ndis/core/offload_block.hpp"

namespace ndishost::ndis {

class BindTarget;
class ProtocolDriver;

// ndishost's NET_LUID for an interface index (the same as NDIS_MINIPORT_INIT_PARAMETERS.NetLuid).
NET_LUID interfaceLuid(NET_IFINDEX ifIndex);

// NDIS_BIND_PARAMETERS and the strings and structures it points at, alive for one
// ProtocolBindAdapterEx.
struct BindParametersStorage {
  NDIS_BIND_PARAMETERS parameters;
  std::u16string adapterName;
  std::u16string protocolSection;
  NDIS_STRING adapterNameString;
  NDIS_STRING protocolSectionString;
  std::optional<OffloadBlock> defaultOffload;
};

// Fills `storage` for `protocol` binding to `target`: the revision the protocol's NDIS
// version has, every member the adapter's general attributes give and its current offload
// configuration.
void fillBindParameters(BindParametersStorage& storage, BindTarget& target, const ProtocolDriver& protocol);

}  // namespace ndishost::ndis
