// A FramePort that carries each Ethernet frame in one UDP datagram to a fixed peer, to
// link emulated devices in different processes or hosts.
//
// Datagram = 8-byte header + frame. Header (big-endian): magic "NHLK" (0x4E484C4B),
// version 1, reserved 0, frame length u16. A datagram whose header does not check out is
// rejected and counted in rxMalformed; one from any address but the configured peer is
// dropped and counted; a frame larger than maxFrameSize (or than a datagram can carry) is
// dropped and counted on either side, never truncated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "link/frame_port.hpp"

namespace ndishost::link {

inline constexpr std::uint32_t kUdpTunnelMagic = 0x4E484C4B;  // "NHLK"
inline constexpr std::uint8_t kUdpTunnelVersion = 1;
inline constexpr std::size_t kUdpTunnelHeaderSize = 8;

struct UdpTunnelOptions {
  std::string localHost{};  // address or name to bind, e.g. "127.0.0.1", "::1", "0.0.0.0"
  std::uint16_t localPort = 0;  // 0: any free port (see UdpTunnelPort::localPort())
  std::string peerHost{};
  std::uint16_t peerPort = 0;
  std::size_t maxFrameSize = 9018;  // jumbo 9000 + Ethernet header + one VLAN tag
  std::size_t batchSize = 32;       // datagrams per recvmmsg()
  int socketBufferBytes = 4 * 1024 * 1024;
};

struct UdpTunnelCounters {
  std::uint64_t rxWrongSource = 0;  // datagrams from anyone but the peer (also rxDropped)
  std::uint64_t rxOversize = 0;     // frames above maxFrameSize (also rxDropped)
  std::uint64_t txErrors = 0;       // sendmsg() failures (also txDropped)
};

class UdpTunnelPort final : public FramePort {
 public:
  // Throws LinkError when an address does not resolve, the two families differ, the
  // local address cannot be bound, or maxFrameSize cannot fit a datagram.
  static std::unique_ptr<UdpTunnelPort> open(UdpTunnelOptions options);
  ~UdpTunnelPort() override;

  bool transmit(std::span<const std::byte> frame) override;
  void setReceiveHandler(ReceiveHandler handler) override;
  std::size_t maxFrameSize() const override;
  FramePortCounters counters() const override;
  std::string describe() const override;  // "udp:127.0.0.1:7000->127.0.0.1:7001"

  UdpTunnelCounters udpCounters() const;
  std::uint16_t localPort() const;

 private:
  struct Impl;
  explicit UdpTunnelPort(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ndishost::link
