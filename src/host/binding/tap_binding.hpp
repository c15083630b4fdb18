// One binding of the TAP protocol to one NDIS adapter, and its Linux TAP interface.
//
// The protocol driver's handlers (tap_protocol.cpp) call in here; this class is the
// binding's context area (NDIS's ProtocolBindingContext). Where each part runs:
//
//   open/setUp/close         ProtocolBindAdapterEx, ProtocolUnbindAdapterEx   PASSIVE_LEVEL
//   pause/restart            ProtocolNetPnPEvent                              PASSIVE_LEVEL
//   receive                  ProtocolReceiveNetBufferLists                    <= DISPATCH_LEVEL
//   sendComplete             ProtocolSendNetBufferListsComplete               <= DISPATCH_LEVEL
//   oidComplete, status      ProtocolOidRequestComplete, ProtocolStatusEx     <= DISPATCH_LEVEL
//   frames from Linux, link  the TapPump thread                               PASSIVE_LEVEL
//
// Data path: the pump reads batches from the TAP; each frame is copied into an NBL of the
// binding's preallocated TapSendPool and the batch goes down as one chain with
// NdisSendNetBufferLists (only while the binding runs). Received NBLs are copied out to
// the TAP and returned at once (kept never: NDIS_RECEIVE_FLAGS_RESOURCES ones are simply
// not returned). NDIS_STATUS_LINK_STATE sets the TAP's carrier; the interface's flags and
// multicast memberships (LinkWatcher) become OID_GEN_CURRENT_PACKET_FILTER and
// OID_802_3_MULTICAST_LIST.
//
// Task offloads: the adapter's current offload configuration (NDIS_BIND_PARAMETERS.
// DefaultOffloadConfiguration, and NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG indications,
// applied at the next NetEventRestart) decides whether the TAP carries virtio_net_hdr
// (IFF_VNET_HDR) and what TUNSETOFFLOAD offers Linux (ndis_frame_info.hpp). Per frame,
// Linux's partial checksum / GSO request becomes TcpIpChecksumNetBufferListInfo or LSOv2
// TcpLargeSendNetBufferListInfo; a checksum the adapter cannot take is finished by the
// binding, a large send it cannot take is dropped and counted. Received checksum results
// become VIRTIO_NET_HDR_F_DATA_VALID. An adapter without offloads gets a TAP without the
// header, as before.
#pragma once

#include <ndis.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/binding/ndis_frame_info.hpp"
#include "host/binding/tap_protocol.hpp"
#include "host/binding/tap_send_pool.hpp"
#include "host/netlink/link_watcher.hpp"
#include "host/tap/tap_device.hpp"
#include "host/tap/tap_pump.hpp"
#include "link/pcap_writer.hpp"

namespace ndishost::host::binding {

class TapBinding;

// What the protocol driver hears from its bindings.
class TapBindingOwner {
 public:
  virtual ~TapBindingOwner() = default;
  virtual void bindingStateChanged(TapBinding& binding) = 0;
};

// A bind step that failed, with the message for the host's ErrorSink and the status the
// bind fails with.
class TapBindError : public std::runtime_error {
 public:
  TapBindError(NDIS_STATUS status, const std::string& message) : std::runtime_error(message), status_(status) {}
  NDIS_STATUS status() const { return status_; }

 private:
  NDIS_STATUS status_;
};

class TapBinding {
 public:
  static constexpr std::size_t kSendNbls = 256;     // NBLs in flight to the adapter, at most
  static constexpr std::size_t kBatchFrames = 32;   // frames per TAP read batch / NBL chain
  static constexpr std::size_t kFrameOverhead = 18; // Ethernet header + one 802.1Q tag over the MTU
  static constexpr std::size_t kLargeSendFrame = 65535 + kFrameOverhead;  // a GSO frame: a 64 KiB IP packet

  TapBinding(TapBindingOwner& owner, NDIS_HANDLE protocolHandle, std::string adapterName, TapPlan plan);
  ~TapBinding();
  TapBinding(const TapBinding&) = delete;
  TapBinding& operator=(const TapBinding&) = delete;

  // --- ProtocolBindAdapterEx (PASSIVE_LEVEL) ------------------------------------------
  // NdisOpenAdapterEx for NdisMedium802_3, waiting for ProtocolOpenAdapterCompleteEx when
  // NDIS pends it. Returns the open's final status.
  NDIS_STATUS open(NDIS_HANDLE bindContext, PNDIS_STRING adapterName);
  // After a successful open: queries the adapter, creates and configures the TAP, the NBL
  // pool, the filter OIDs and the pump. Throws TapBindError; the caller then calls
  // abandon() (which closes the adapter) and fails the bind.
  void setUp(const NDIS_BIND_PARAMETERS& parameters);
  // Undoes whatever setUp() did and closes the adapter (a bind that fails after the open).
  void abandon();

  // --- ProtocolNetPnPEvent (PASSIVE_LEVEL) --------------------------------------------
  // NetEventPause: no new sends, then waits for every outstanding send to complete.
  void pause();
  // NetEventRestart: sends again.
  void restart();

  // --- ProtocolUnbindAdapterEx (PASSIVE_LEVEL; the binding is paused) -----------------
  // Stops the pump, NdisCloseAdapterEx (waiting for ProtocolCloseAdapterCompleteEx if it
  // pends), closes the TAP.
  void unbind();

  // --- NDIS's calls into the binding ----------------------------------------------------
  void openComplete(NDIS_STATUS status);                                      // PASSIVE
  void closeComplete();                                                       // PASSIVE
  void receive(PNET_BUFFER_LIST nbls, ULONG receiveFlags);                    // <= DISPATCH
  void sendComplete(PNET_BUFFER_LIST nbls, ULONG sendCompleteFlags);          // <= DISPATCH
  void oidComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status);            // <= DISPATCH
  void status(const NDIS_STATUS_INDICATION& indication);                      // <= DISPATCH

  const std::string& adapterName() const { return adapterName_; }
  TapBindingOwner& owner() const { return owner_; }
  bool running() const { return running_.load(std::memory_order_acquire); }
  TapBindingStats stats() const;

 private:
  struct Waitable {
    std::mutex lock;
    std::condition_variable changed;
    bool done = false;
    NDIS_STATUS status = NDIS_STATUS_SUCCESS;
    void reset();
    void complete(NDIS_STATUS result);
    NDIS_STATUS wait();
  };

  // A query or set through NdisOidRequest, waiting for ProtocolOidRequestComplete when
  // the request pends. One at a time per binding. IRQL PASSIVE_LEVEL.
  NDIS_STATUS request(NDIS_REQUEST_TYPE type, NDIS_OID oid, void* buffer, ULONG length, ULONG* bytesDone = nullptr);
  // The packet filter and multicast list the interface's state asks for (PASSIVE_LEVEL).
  void applyReceiveSettings(const LinkSnapshot& snapshot);
  // TapPump handlers (the pump thread).
  void framesFromLinux(std::span<const TapFrameBuffer> frames);
  void linkChanged(const LinkChange& change);
  void waitForFreeNbl();
  void setCarrier(bool connected);
  void close();
  void releaseHostSide();
  void capture(std::span<const std::byte> frame);
  // Frames up to this size cross in either direction (MTU, or a GSO frame with TSO).
  std::size_t frameCapacityFor(const AdapterOffloads& offloads) const;
  // The send pool and the pump for `frameCapacity` (PASSIVE_LEVEL; no send outstanding, the
  // pump stopped or not made yet). The pump starts paused.
  void buildDataPath(std::size_t frameCapacity);
  // NetEventRestart: an offload configuration indicated since the TAP was configured is
  // applied (the TAP re-attached with or without IFF_VNET_HDR, TUNSETOFFLOAD, the data path
  // rebuilt). PASSIVE_LEVEL, the binding paused.
  void applyPendingOffloads();
  void setTapOffloads(const AdapterOffloads& offloads);
  // Linux's offload request for one frame into its NBL (info, or the frame finished in
  // software); false: the frame cannot be sent as asked (dropped and counted).
  bool prepareOffload(const TapFrameBuffer& frame, PNET_BUFFER_LIST nbl);

  TapBindingOwner& owner_;
  const NDIS_HANDLE protocolHandle_;
  const std::string adapterName_;
  const TapPlan plan_;
  std::string networkNamespace_;  // plan_.netnsPath as a /run/netns name
  NDIS_HANDLE bindingHandle_ = nullptr;
  NDIS_MEDIUM media_[1] = {NdisMedium802_3};
  UINT selectedMedium_ = 0;
  NDIS_OPEN_PARAMETERS openParameters_{};
  Waitable openDone_, closeDone_;

  // What the adapter said at bind time.
  ULONG maximumListSize_ = 0;
  unsigned mtu_ = 0;
  // The offloads the TAP is configured for: written at bind and restart while the pump is
  // stopped, read by the pump thread.
  AdapterOffloads offloads_;
  std::mutex pendingOffloadsLock_;
  std::optional<AdapterOffloads> pendingOffloads_;  // from NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG

  std::mutex oidSerial_;  // one OID request of ours at a time
  NDIS_OID_REQUEST oidRequest_{};
  Waitable oidDone_;
  ULONG packetFilter_ = 0;             // last set with OID_GEN_CURRENT_PACKET_FILTER (oidSerial_)
  std::vector<UCHAR> multicastList_;   // last set with OID_802_3_MULTICAST_LIST (oidSerial_)
  bool receiveSettingsApplied_ = false;

  // Host side. tapLock_ guards writes to the TAP and its carrier against the unbind closing it.
  mutable std::mutex tapLock_;
  std::optional<TapDevice> tap_;
  std::optional<LinkWatcher> watcher_;
  std::unique_ptr<link::PcapWriter> capture_;
  std::unique_ptr<TapSendPool> pool_;
  std::unique_ptr<TapPump> pump_;  // last: stopped first
  std::vector<std::byte> receiveScratch_;  // kBatchFrames frames, for NBLs whose data is not contiguous (tapLock_)
  std::vector<TapFrame> receiveBatch_;     // (tapLock_)

  std::mutex idleLock_;  // pause waits on it for the last send completion, the pump for a free NBL
  std::condition_variable idle_;
  std::atomic<bool> waitingForNbl_{false};

  std::atomic<bool> running_{false};
  std::atomic<bool> carrier_{false};
  std::atomic<bool> linkStatusSeen_{false};
  struct Counters {
    std::atomic<std::uint64_t> framesToAdapter{0}, bytesToAdapter{0}, framesFromAdapter{0}, bytesFromAdapter{0},
        sendFailures{0}, dropsNoNbl{0}, dropsPaused{0}, dropsTapFull{0}, oidFailures{0}, filterChanges{0},
        checksumOffloaded{0}, largeSendsOffloaded{0}, checksumsInSoftware{0}, dropsOffload{0},
        receiveChecksumVerified{0}, receiveChecksumFailed{0}, largeSendCompletionsMalformed{0};
    std::atomic<bool> vnetHeader{false};
    std::atomic<ULONG> packetFilter{0};
    std::atomic<std::size_t> multicastAddresses{0};
  } counters_;
};

}  // namespace ndishost::host::binding
