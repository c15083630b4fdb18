// A network namespace of the test's own (from the link tests' NetLab: two namespaces with
// a veth pair, removed by the destructor) plus a packet socket there, for checking what a
// TAP interface sends and receives. Tests skip when they cannot create it or there is no
// /dev/net/tun.
#pragma once

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "../link/net_lab.hpp"
#include "link/netns.hpp"
#include "link/unique_fd.hpp"

namespace ndishost::host::test {

using link::test::NetLab;

inline std::unique_ptr<NetLab> makeLab(std::string* whyNot) {
  if (::geteuid() != 0) {
    *whyNot = "needs root (network namespaces, TAP interfaces)";
    return nullptr;
  }
  if (::access("/dev/net/tun", F_OK) != 0) {
    *whyNot = "no /dev/net/tun";
    return nullptr;
  }
  return NetLab::create(whyNot);
}

// A raw packet socket bound to one interface inside a namespace.
class PacketSocket {
 public:
  PacketSocket(const std::string& networkNamespace, int interfaceIndex) : interfaceIndex_(interfaceIndex) {
    link::runInNetworkNamespace(networkNamespace, [&] {
      fd_.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
      sockaddr_ll address{};
      address.sll_family = AF_PACKET;
      address.sll_protocol = htons(ETH_P_ALL);
      address.sll_ifindex = interfaceIndex;
      if (fd_) ::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    });
  }
  bool valid() const { return static_cast<bool>(fd_); }

  bool send(std::span<const std::byte> frame) {
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_ifindex = interfaceIndex_;
    address.sll_halen = 6;
    return ::sendto(fd_.get(), frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) ==
           static_cast<ssize_t>(frame.size());
  }

  // Frames received (PACKET_HOST/BROADCAST/MULTICAST/OTHERHOST, not our own sends) with
  // the given EtherType, until `count` arrived or the timeout passed.
  std::vector<std::vector<std::byte>> receive(std::size_t count, std::uint16_t etherType, std::chrono::milliseconds timeout) {
    std::vector<std::vector<std::byte>> frames;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::byte> buffer(65536);
    while (frames.size() < count) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd waiter{.fd = fd_.get(), .events = POLLIN, .revents = 0};
      if (::poll(&waiter, 1, static_cast<int>(left.count())) <= 0) continue;
      sockaddr_ll from{};
      socklen_t fromLength = sizeof(from);
      const ssize_t got = ::recvfrom(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLength);
      if (got < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
      const unsigned type = (std::to_integer<unsigned>(buffer[12]) << 8) | std::to_integer<unsigned>(buffer[13]);
      if (type != etherType) continue;
      frames.emplace_back(buffer.begin(), buffer.begin() + got);
    }
    return frames;
  }

 private:
  link::UniqueFd fd_;
  int interfaceIndex_;
};

inline std::vector<std::byte> testFrame(std::size_t size, std::uint8_t seed) {
  std::vector<std::byte> frame(size);
  const std::uint8_t header[14] = {0x02, 0x4e, 0x44, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x99, 0x88, 0xb5};
  for (std::size_t i = 0; i < size; ++i) frame[i] = std::byte{i < 14 ? header[i] : static_cast<std::uint8_t>(seed + i * 3)};
  return frame;
}

}  // namespace ndishost::host::test
