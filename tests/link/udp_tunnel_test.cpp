#include "link/udp_tunnel_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

#include "allocation_counter.hpp"
#include "link/link_error.hpp"
#include "link/unique_fd.hpp"
#include "test_support.hpp"

namespace ndishost::link {
namespace {

using test::FrameCollector;
using test::makeFrame;
using test::seedOf;
using test::waitUntil;
using namespace std::chrono_literals;

// A plain UDP socket bound to an ephemeral port on the loopback address of `family`.
struct PlainSocket {
  UniqueFd fd;
  std::uint16_t port = 0;
  int family = AF_INET;

  static PlainSocket open(int family) {
    PlainSocket s;
    s.family = family;
    s.fd = UniqueFd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_storage address{};
    socklen_t length = fill(family, 0, address);
    if (!s.fd || ::bind(s.fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) return {};
    length = sizeof(address);
    ::getsockname(s.fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
    s.port = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in&>(address).sin_port)
                               : ntohs(reinterpret_cast<sockaddr_in6&>(address).sin6_port);
    return s;
  }

  static socklen_t fill(int family, std::uint16_t port, sockaddr_storage& address) {
    if (family == AF_INET) {
      auto& in = reinterpret_cast<sockaddr_in&>(address);
      in.sin_family = AF_INET;
      in.sin_port = htons(port);
      in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return sizeof(in);
    }
    auto& in6 = reinterpret_cast<sockaddr_in6&>(address);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    in6.sin6_addr = in6addr_loopback;
    return sizeof(in6);
  }

  void sendTo(std::uint16_t port, std::span<const std::byte> bytes) const {
    sockaddr_storage address{};
    const socklen_t length = fill(family, port, address);
    ASSERT_EQ(::sendto(fd.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&address), length),
              static_cast<ssize_t>(bytes.size()));
  }

  // Receives one datagram (blocking with a timeout); empty on timeout.
  test::Frame receive() const {
    timeval timeout{2, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    test::Frame buffer(70000);
    const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
    buffer.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return buffer;
  }
};

const char* loopback(int family) { return family == AF_INET ? "127.0.0.1" : "::1"; }

// A free port to bind to (taken by a throw-away socket, then released).
std::uint16_t freePort(int family) { return PlainSocket::open(family).port; }

test::Frame datagram(std::span<const std::byte> frame) {
  test::Frame out(kUdpTunnelHeaderSize + frame.size());
  const std::uint8_t header[8] = {'N', 'H', 'L', 'K', kUdpTunnelVersion, 0, static_cast<std::uint8_t>(frame.size() >> 8),
                                  static_cast<std::uint8_t>(frame.size())};
  std::memcpy(out.data(), header, sizeof(header));
  std::memcpy(out.data() + kUdpTunnelHeaderSize, frame.data(), frame.size());
  return out;
}

class LinkUdpTunnel : public testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!PlainSocket::open(GetParam()).fd) GTEST_SKIP() << loopback(GetParam()) << " is not available here";
  }
};

TEST_P(LinkUdpTunnel, ExchangesFramesOfEverySizeBothWays) {
  const int family = GetParam();
  const std::uint16_t portA = freePort(family);
  const std::uint16_t portB = freePort(family);
  FrameCollector atA, atB;
  auto a = UdpTunnelPort::open({.localHost = loopback(family), .localPort = portA, .peerHost = loopback(family),
                                .peerPort = portB});
  auto b = UdpTunnelPort::open({.localHost = loopback(family), .localPort = portB, .peerHost = loopback(family),
                                .peerPort = portA});
  EXPECT_EQ(a->localPort(), portA);
  a->setReceiveHandler(atA.handler());
  b->setReceiveHandler(atB.handler());

  // Every size from 60 to 9014 in steps that hit odd and even lengths, plus the edges.
  std::vector<std::size_t> sizes;
  for (std::size_t size = 60; size <= 9014; size += 37) sizes.push_back(size);
  for (std::size_t size : {61u, 64u, 1514u, 1518u, 1519u, 9013u, 9014u}) sizes.push_back(size);
  std::uint32_t seed = 0;
  for (std::size_t size : sizes) {
    ASSERT_TRUE(a->transmit(makeFrame(size, seed)));
    ASSERT_TRUE(b->transmit(makeFrame(size, seed + 100000)));
    ++seed;
    // Keep a window small enough for a default-sized socket buffer.
    if (seed % 16 == 0) {
      ASSERT_TRUE(atB.waitFor(seed));
      ASSERT_TRUE(atA.waitFor(seed));
    }
  }
  ASSERT_TRUE(atB.waitFor(sizes.size()));
  ASSERT_TRUE(atA.waitFor(sizes.size()));
  const auto toB = atB.frames();
  const auto toA = atA.frames();
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_EQ(toB[i], makeFrame(sizes[i], static_cast<std::uint32_t>(i))) << "size " << sizes[i];
    ASSERT_EQ(toA[i], makeFrame(sizes[i], static_cast<std::uint32_t>(i + 100000))) << "size " << sizes[i];
  }
  ASSERT_TRUE(waitUntil([&] { return b->counters().rxFrames == sizes.size(); }));
  EXPECT_EQ(a->counters().txFrames, sizes.size());
  EXPECT_EQ(a->counters().txDropped, 0u);
  EXPECT_EQ(b->counters().rxDropped, 0u);
  EXPECT_EQ(b->counters().rxMalformed, 0u);
}

TEST_P(LinkUdpTunnel, RejectsGarbageAndStrangersAndCountsThem) {
  const int family = GetParam();
  PlainSocket peer = PlainSocket::open(family);
  PlainSocket stranger = PlainSocket::open(family);
  FrameCollector received;
  auto port = UdpTunnelPort::open({.localHost = loopback(family), .localPort = 0, .peerHost = loopback(family),
                                   .peerPort = peer.port});
  port->setReceiveHandler(received.handler());
  const auto frame = makeFrame(100, 5);

  peer.sendTo(port->localPort(), std::as_bytes(std::span("junk that is no tunnel header")));
  auto badMagic = datagram(frame);
  badMagic[0] = std::byte{'X'};
  peer.sendTo(port->localPort(), badMagic);
  auto badVersion = datagram(frame);
  badVersion[4] = std::byte{9};
  peer.sendTo(port->localPort(), badVersion);
  auto badLength = datagram(frame);
  badLength[7] = std::byte{99};
  peer.sendTo(port->localPort(), badLength);
  peer.sendTo(port->localPort(), datagram(makeFrame(10, 0)));  // shorter than an Ethernet header
  peer.sendTo(port->localPort(), std::span<const std::byte>());  // empty datagram
  stranger.sendTo(port->localPort(), datagram(frame));         // well formed, wrong sender
  peer.sendTo(port->localPort(), datagram(frame));             // the one to deliver

  ASSERT_TRUE(received.waitFor(1));
  // Counters move just after the handler returns.
  ASSERT_TRUE(waitUntil([&] {
    return port->counters().rxMalformed == 6 && port->udpCounters().rxWrongSource == 1 &&
           port->counters().rxFrames == 1;
  }));
  EXPECT_EQ(received.frames().at(0), frame);
  EXPECT_EQ(port->counters().rxDropped, 1u);  // the stranger's
}

TEST_P(LinkUdpTunnel, OversizeFramesAreDroppedAndCountedNeverTruncated) {
  const int family = GetParam();
  PlainSocket peer = PlainSocket::open(family);
  FrameCollector received;
  auto port = UdpTunnelPort::open({.localHost = loopback(family), .localPort = 0, .peerHost = loopback(family),
                                   .peerPort = peer.port, .maxFrameSize = 1518});
  port->setReceiveHandler(received.handler());

  // Transmit: above maxFrameSize, and far above what any datagram carries.
  EXPECT_FALSE(port->transmit(makeFrame(1519, 1)));
  EXPECT_FALSE(port->transmit(makeFrame(70000, 2)));
  EXPECT_EQ(port->counters().txDropped, 2u);
  ASSERT_TRUE(port->transmit(makeFrame(1518, 3)));
  const auto wire = peer.receive();
  EXPECT_EQ(wire, datagram(makeFrame(1518, 3)));  // exact bytes on the wire, header included

  // Receive: a well-formed 9000-byte frame exceeds this port's buffer.
  peer.sendTo(port->localPort(), datagram(makeFrame(9000, 4)));
  peer.sendTo(port->localPort(), datagram(makeFrame(1519, 5)));
  peer.sendTo(port->localPort(), datagram(makeFrame(1518, 6)));
  ASSERT_TRUE(received.waitFor(1));
  ASSERT_TRUE(waitUntil([&] { return port->udpCounters().rxOversize == 2; }));
  EXPECT_EQ(received.frames().size(), 1u);
  EXPECT_EQ(seedOf(received.frames().at(0)), 6u);
  EXPECT_EQ(port->counters().rxDropped, 2u);
  EXPECT_EQ(port->counters().rxMalformed, 0u);
}

TEST_P(LinkUdpTunnel, SteadyStateTransmitAndReceiveDoNotAllocate) {
#if !NDISHOST_LINK_COUNT_ALLOCATIONS
  GTEST_SKIP() << "allocation counting is off under sanitizers";
#else
  const int family = GetParam();
  std::atomic<std::uint64_t> received{0};
  const std::uint16_t portA = freePort(family);
  const std::uint16_t portB = freePort(family);
  auto a = UdpTunnelPort::open({.localHost = loopback(family), .localPort = portA, .peerHost = loopback(family),
                                .peerPort = portB});
  auto b = UdpTunnelPort::open({.localHost = loopback(family), .localPort = portB, .peerHost = loopback(family),
                                .peerPort = portA});
  b->setReceiveHandler([&](std::span<const std::byte>) { received.fetch_add(1); });
  const auto frame = makeFrame(1514, 1);
  ASSERT_TRUE(a->transmit(frame));
  ASSERT_TRUE(waitUntil([&] { return received.load() == 1; }));
  // Waits without allocating (no std::function), bounded in time.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  auto settle = [&](std::uint64_t count) {
    while (received.load() < count && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  };
  ASSERT_TRUE(test::allocationCounterWorks());
  const std::uint64_t before = test::allocationCount.load();
  for (std::uint64_t i = 2; i <= 500; ++i) {
    a->transmit(frame);
    if (i % 16 == 0) settle(i);
  }
  settle(500);
  const std::uint64_t after = test::allocationCount.load();
  EXPECT_EQ(received.load(), 500u);
  EXPECT_EQ(after - before, 0u);
#endif
}

INSTANTIATE_TEST_SUITE_P(Families, LinkUdpTunnel, testing::Values(AF_INET, AF_INET6),
                         [](const testing::TestParamInfo<int>& info) {
                           return std::string(info.param == AF_INET ? "IPv4" : "IPv6");
                         });

TEST(LinkUdpTunnelOpen, ErrorsSayWhatIsWrong) {
  auto expectError = [](UdpTunnelOptions options, const std::string& fragment) {
    try {
      UdpTunnelPort::open(std::move(options));
      ADD_FAILURE() << "no error, expected one mentioning: " << fragment;
    } catch (const LinkError& error) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    }
  };
  expectError({.localHost = "127.0.0.1", .localPort = 0, .peerHost = "::1", .peerPort = 9}, "same IP version");
  expectError({.localHost = "127.0.0.1", .localPort = 0, .peerHost = "127.0.0.1", .peerPort = 9,
               .maxFrameSize = 70000},
              "does not fit");
  expectError({.localHost = "127.0.0.1", .localPort = 0, .peerHost = "127.0.0.1", .peerPort = 0}, "peer port");
  expectError({.localHost = "no.such.host.invalid", .localPort = 0, .peerHost = "127.0.0.1", .peerPort = 9},
              "cannot resolve local address 'no.such.host.invalid'");
  PlainSocket taken = PlainSocket::open(AF_INET);
  expectError({.localHost = "127.0.0.1", .localPort = taken.port, .peerHost = "127.0.0.1", .peerPort = 9},
              "cannot bind 127.0.0.1:" + std::to_string(taken.port));
}

TEST(LinkUdpTunnelOpen, DescribesItselfWithBothEndpoints) {
  PlainSocket peer = PlainSocket::open(AF_INET);
  auto port = UdpTunnelPort::open({.localHost = "127.0.0.1", .localPort = 0, .peerHost = "127.0.0.1",
                                   .peerPort = peer.port});
  EXPECT_EQ(port->describe(), "udp:127.0.0.1:" + std::to_string(port->localPort()) + "->127.0.0.1:" +
                                  std::to_string(peer.port));
}

}  // namespace
}  // namespace ndishost::link
