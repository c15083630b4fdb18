// The TAP binding: an NDIS 6 protocol driver (NdisRegisterProtocolDriver, NDIS 6.30) that
// binds to each adapter the host chooses, opens a Linux TAP interface for it and moves
// frames both ways in batches. It is written against the protocol DDIs only (ndis.h), as a
// Windows protocol driver would be; ProtocolBindAdapterEx asks the host, through
// TapProtocol::Chooser, which TAP (if any) an adapter gets.
//
// Contract between the binding (src/host/binding) and the runtime (src/host/runtime).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <wdm.h>

#include "link/pcap_writer.hpp"

namespace ndishost::host {

// What ProtocolBindAdapterEx saw of an adapter, for the host to choose a TAP by.
struct BindCandidate {
  std::string adapterName;             // NDIS_BIND_PARAMETERS.AdapterName, UTF-8
  PDEVICE_OBJECT physicalDeviceObject;  // NDIS_BIND_PARAMETERS.PhysicalDeviceObject (may be null)
};

struct TapPlan {
  std::string tapName;        // interface name, e.g. ndis0 (must be free)
  std::string netnsPath;      // e.g. /run/netns/demo-a; empty: ndishost's own namespace
  std::string upperCapture;   // pcap file of Ethernet frames at the upper edge; empty: none
  std::uint32_t upperCaptureSnapLength = link::kWholePacketSnapshotLength;  // bytes kept per frame
  bool bringUp = true;        // set IFF_UP once the binding runs
};

// One binding's counters (frames and bytes in each direction, drops with a reason).
struct TapBindingStats {
  std::string adapterName;
  std::string tapName;
  bool running = false;       // binding restarted and not paused
  bool carrier = false;       // TUNSETCARRIER state (follows NDIS_STATUS_LINK_STATE)
  std::uint64_t framesToAdapter = 0, bytesToAdapter = 0;   // TAP -> NdisSendNetBufferLists
  std::uint64_t framesFromAdapter = 0, bytesFromAdapter = 0;  // receive indications -> TAP
  std::uint64_t sendFailures = 0;  // NBLs completed with a failure status
  std::uint64_t dropsNoNbl = 0;    // frames from Linux dropped: NBL pool exhausted
  std::uint64_t dropsPaused = 0;   // frames from Linux dropped while paused
  std::uint64_t dropsTapFull = 0;  // received frames the TAP would not take
  // Added with the binding itself (tapbind):
  std::uint32_t packetFilter = 0;        // NDIS_PACKET_TYPE_* last set with OID_GEN_CURRENT_PACKET_FILTER
  std::uint64_t multicastAddresses = 0;  // addresses in the last OID_802_3_MULTICAST_LIST set
  std::uint64_t oidFailures = 0;         // filter / multicast-list OIDs the adapter failed
  std::uint64_t sendsOutstanding = 0;    // NBLs handed to NdisSendNetBufferLists, not completed yet
  // Task offloads (offload): the TAP has IFF_VNET_HDR when the adapter offers any.
  bool vnetHeader = false;
  std::uint64_t checksumOffloaded = 0;    // frames sent with TcpIpChecksumNetBufferListInfo
  std::uint64_t largeSendsOffloaded = 0;  // frames sent with LSOv2 TcpLargeSendNetBufferListInfo
  std::uint64_t checksumsInSoftware = 0;  // partial checksums the adapter cannot take, finished by the binding
  std::uint64_t dropsOffload = 0;         // frames from Linux whose large send the adapter cannot take
  std::uint64_t receiveChecksumVerified = 0;  // received frames passed to Linux as VIRTIO_NET_HDR_F_DATA_VALID
  std::uint64_t receiveChecksumFailed = 0;    // received frames the adapter said failed (Linux checks them again)
  std::uint64_t largeSendCompletionsMalformed = 0;  // LSOv2 sends completed without LsoV2TransmitComplete set
};

class TapProtocol {
 public:
  // Returns the plan for an adapter, or nothing to leave it unbound (ProtocolBindAdapterEx
  // then fails with NDIS_STATUS_NOT_SUPPORTED before opening the adapter; the reference
  // names no dedicated "declined" status and NOT_ACCEPTED is informational, not an error).
  using Chooser = std::function<std::optional<TapPlan>(const BindCandidate&)>;
  // Called (outside NDIS locks) when a binding fails to open its TAP etc., for the host to log.
  using ErrorSink = std::function<void(const std::string& adapterName, const std::string& message)>;

  // Registers the protocol driver; adapters that exist already are bound at once.
  // Throws std::runtime_error when registration fails.
  static std::unique_ptr<TapProtocol> start(Chooser chooser, ErrorSink errors);
  virtual ~TapProtocol() = default;  // unbinds everything (every NBL returned/completed), deregisters

  virtual std::vector<TapBindingStats> stats() const = 0;
  // Blocks until the adapter with this name is bound and running, or the time-out passes.
  virtual bool waitRunning(const std::string& adapterName, std::chrono::milliseconds limit) const = 0;
};

}  // namespace ndishost::host
