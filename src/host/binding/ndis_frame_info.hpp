// The TAP binding's translation between Linux's view of a frame/interface (host/tap,
// host/netlink: no WDK types) and NDIS's (per-NBL out-of-band info, packet filter bits,
// the multicast list). Pure functions, so the protocol driver stays about NBLs and OIDs.
//
// Compiled as part of a protocol driver (NDIS630): NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO
// and NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO come from <ndis.h>.
#pragma once

#include <ndis.h>

#include <cstddef>
#include <span>
#include <vector>

#include "host/netlink/link_watcher.hpp"
#include "host/tap/frame_offload.hpp"

namespace ndishost::host::binding {

// NDIS_PACKET_TYPE_* bits for OID_GEN_CURRENT_PACKET_FILTER and the multicast list for
// OID_802_3_MULTICAST_LIST (6 bytes per address). More groups than the adapter's
// OID_802_3_MAXIMUM_LIST_SIZE: all-multicast instead of a truncated list (a lost group is
// silent breakage; extra multicast frames are only filtered by Linux).
struct AdapterReceiveSettings {
  ULONG packetFilter = 0;
  std::vector<UCHAR> multicastList;
};
AdapterReceiveSettings receiveSettingsFor(const LinkSnapshot& snapshot, std::size_t maximumListSize);

// Per-NBL info for a frame Linux sent (read from the TAP with IFF_VNET_HDR). For large
// send it also rewrites the frame's headers the way NDIS LSOv2 expects them (IP length
// fields 0; TCP checksum field = pseudo-header sum without the length), because Linux
// leaves them as for the whole super-frame. Returns false when NDIS cannot express the
// request (UDP segmentation, a checksum that is not TCP/UDP or not at the L4 header):
// the caller drops and counts the frame.
struct SendInfo {
  NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO checksum{};
  NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO largeSend{};
};
bool sendInfoFor(const TransmitOffload& offload, std::span<std::byte> frame, SendInfo& info);

// What to tell Linux about a received frame from the NIC's checksum results: verified
// only when the NIC says the L4 checksum succeeded and nothing failed.
ReceiveOffload receiveOffloadFor(const NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO& checksum);

}  // namespace ndishost::host::binding
