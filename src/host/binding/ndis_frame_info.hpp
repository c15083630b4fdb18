// The TAP binding's translation between Linux's view of a frame/interface (host/tap,
// host/netlink: no WDK types) and NDIS's (per-NBL out-of-band info, packet filter bits,
// the multicast list). Pure functions, so the protocol driver stays about NBLs and OIDs.
//
// Compiled as part of a protocol driver (NDIS630): NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO
// and NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO come from <ndis.h>.
#pragma once

#include <ndis.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "host/netlink/link_watcher.hpp"
#include "host/tap/frame_offload.hpp"
#include "host/tap/tap_device.hpp"

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

// What the binding may hand an adapter, from its current task offload configuration
// (NDIS_OFFLOAD: NDIS_BIND_PARAMETERS.DefaultOffloadConfiguration or an
// NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG indication). Only Ethernet (IEEE 802.3)
// encapsulation counts: that is what the TAP carries.
struct AdapterOffloads {
  // Transmit checksum per protocol, and whether frames with IPv4/TCP options qualify.
  bool checksumTcp4 = false, checksumUdp4 = false, checksumTcp6 = false, checksumUdp6 = false;
  bool checksumIp4Options = false, checksumTcp4Options = false, checksumTcp6Options = false;
  bool checksumIp6Extensions = false;
  // LSOv2 per IP version, only when usable for what Linux sends a TAP (see
  // adapterOffloadsFrom): at least 64 KiB and a minimum segment count of at most 2.
  bool largeSend4 = false, largeSend6 = false;
  ULONG largeSendMaxSize4 = 0, largeSendMaxSize6 = 0, largeSendMinSegments4 = 0, largeSendMinSegments6 = 0;
  // The adapter reports receive checksum results (informational: the binding honours the
  // per-NBL results whenever they are there).
  bool receiveChecksum = false;

  bool anyTransmitChecksum() const { return checksumTcp4 || checksumUdp4 || checksumTcp6 || checksumUdp6; }
  bool any() const { return anyTransmitChecksum() || largeSend4 || largeSend6; }
  bool operator==(const AdapterOffloads&) const = default;
};
// Nothing for a NULL pointer or a header that is not NDIS_OBJECT_TYPE_OFFLOAD revision >= 1.
AdapterOffloads adapterOffloadsFrom(const NDIS_OFFLOAD* offload);
// What the TAP offers Linux (TUNSETOFFLOAD): checksum whenever the adapter takes any
// transmit checksum or any large send (Linux refuses TSO without it; checksums the adapter
// cannot take are finished by the binding), TSO4/TSO6 for usable LSOv2.
TapOffloads tapOffloadsFor(const AdapterOffloads& adapter);

// How one frame from Linux goes to the adapter.
enum class SendDisposition : std::uint8_t {
  Plain,             // no offload asked: as it is
  Offloaded,         // the NBL carries checksum and/or LSOv2 info (SendInfo)
  SoftwareChecksum,  // the adapter cannot take the checksum as asked: the binding finished it
  Drop,              // a large send the adapter cannot take (or a malformed request)
};
// Decides and prepares one frame (in the NBL's own copy `frame`, which it may rewrite): fills
// `info` for Offloaded. For a large send only the LSOv2 info is set (the miniport computes
// every segment's checksums from the pseudo-header sum LSOv2 leaves in the TCP header).
SendDisposition prepareSend(const TransmitOffload& offload, const AdapterOffloads& adapter, std::span<std::byte> frame,
                            SendInfo& info);

// What to tell Linux about a received frame from the NIC's checksum results: verified
// only when the NIC says the L4 checksum succeeded and nothing failed.
ReceiveOffload receiveOffloadFor(const NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO& checksum);

}  // namespace ndishost::host::binding
