// A Linux TAP interface: the upper edge an NDIS adapter is bound to. Frames the Linux stack
// sends out of the interface are read here; frames written here are received by Linux.
//
// The file descriptor is non-blocking: reads and writes move as many frames as are ready
// (one system call per frame: a tun fd carries exactly one frame per read/write, and
// readv/writev only scatter one frame) and wait with waitReadable() or the fd in a poll set.
// Interface settings (MAC, MTU, up/down) go through a control socket opened in the same
// network namespace as the interface, so a TAP in another namespace is configured there.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "host/tap/frame_offload.hpp"
#include "link/unique_fd.hpp"

namespace ndishost::host {

using MacAddress = std::array<std::uint8_t, 6>;

struct TapOptions {
  std::string name;              // e.g. "ndis0"; at most 15 characters
  std::string networkNamespace;  // /run/netns/<name>; empty: this process's namespace
  bool vnetHeader = false;       // IFF_VNET_HDR: offload information in front of each frame
};

// Which offloads Linux may hand to us (TUNSETOFFLOAD); only with vnetHeader.
struct TapOffloads {
  bool checksum = false;  // TUN_F_CSUM: partial L4 checksums
  bool tcp4 = false;      // TUN_F_TSO4
  bool tcp6 = false;      // TUN_F_TSO6
  bool ecn = false;       // TUN_F_TSO_ECN
};

// One frame's storage for readFrames(); `length` and `offload` are filled in.
struct TapFrameBuffer {
  explicit TapFrameBuffer(std::span<std::byte> storage_) : storage(storage_) {}
  std::span<std::byte> storage;
  std::size_t length = 0;
  TransmitOffload offload;  // what Linux asks of the NIC (only with vnetHeader)
};

struct TapFrame {
  std::span<const std::byte> data;
  ReceiveOffload offload;  // what the NIC verified (only with vnetHeader)
};

struct TapCounters {
  std::uint64_t framesRead = 0, framesWritten = 0;
  std::uint64_t readTruncated = 0;   // larger than the buffer: dropped
  std::uint64_t badVnetHeader = 0;   // offload request we cannot express: dropped
  std::uint64_t writeErrors = 0;
};

class TapDevice {
 public:
  // Creates (or attaches to a persistent) TAP interface. Throws TapError naming the
  // cause: no /dev/net/tun, no CAP_NET_ADMIN, name in use, ...
  static TapDevice open(const TapOptions& options);

  TapDevice(TapDevice&&) noexcept = default;
  TapDevice& operator=(TapDevice&&) noexcept = default;
  ~TapDevice() = default;

  const std::string& name() const { return name_; }
  const std::string& networkNamespace() const { return networkNamespace_; }
  int interfaceIndex() const { return interfaceIndex_; }
  int fd() const { return tun_.get(); }
  bool vnetHeader() const { return vnetHeader_; }

  MacAddress macAddress() const;
  void setMacAddress(const MacAddress& mac);
  unsigned mtu() const;
  void setMtu(unsigned mtu);
  // Administrative state (IFF_UP), as `ip link set up|down`.
  bool isUp() const;
  void setUp(bool up);
  // Carrier (IFF_LOWER_UP / operstate) follows the adapter's media connect state.
  void setCarrier(bool connected);
  void setOffloads(const TapOffloads& offloads);
  // Re-attaches to the same interface with or without IFF_VNET_HDR (the flag is fixed per
  // file descriptor at TUNSETIFF): the interface is made persistent, the descriptor closed
  // and a new one attached, then persistence is cleared again, so the interface, its
  // index, addresses and settings survive. Offloads are reset (set them again). Not
  // concurrently with readFrames/writeFrames/fd(): the caller quiesces both first.
  void reopen(bool vnetHeader);

  // Reads up to buffers.size() ready frames without blocking; returns how many buffers
  // were filled (0: nothing ready). Oversized and unusable frames are dropped and counted.
  std::size_t readFrames(std::span<TapFrameBuffer> buffers);
  // Writes the frames to Linux; returns how many were accepted (stops at the first
  // failure, which is counted).
  std::size_t writeFrames(std::span<const TapFrame> frames);
  // True when a frame is ready to read before the timeout.
  bool waitReadable(std::chrono::milliseconds timeout) const;

  // A snapshot. Reading and writing may go on concurrently on two threads (one reader,
  // one writer at a time); the counters are atomics for that reason.
  TapCounters counters() const;

 private:
  TapDevice() = default;
  unsigned interfaceFlags() const;

  link::UniqueFd tun_;
  link::UniqueFd control_;  // AF_UNIX datagram socket in the interface's namespace, for SIOC* ioctls
  std::string name_;
  std::string networkNamespace_;
  int interfaceIndex_ = 0;
  bool vnetHeader_ = false;
  struct AtomicCounters {
    std::atomic<std::uint64_t> framesRead{0}, framesWritten{0}, readTruncated{0}, badVnetHeader{0}, writeErrors{0};
  };
  std::unique_ptr<AtomicCounters> counters_ = std::make_unique<AtomicCounters>();  // stable address across moves
};

std::string formatMacAddress(const MacAddress& mac);

}  // namespace ndishost::host
