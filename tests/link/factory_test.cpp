#include "link/frame_port_factory.hpp"

#include <gtest/gtest.h>

#include "link/link_error.hpp"
#include "link/link_state.hpp"
#include "link/udp_tunnel_port.hpp"
#include "link/wire.hpp"
#include "test_support.hpp"

namespace ndishost::link {
namespace {

using test::FrameCollector;
using test::makeFrame;

std::string errorOf(std::string_view spec) {
  try {
    makeFramePort(spec);
  } catch (const LinkError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(LinkFramePortSpec, ParsesEveryKind) {
  EXPECT_EQ(std::get<WireSpec>(parseFramePortSpec("wire:lab")).name, "lab");

  const auto plain = std::get<AfPacketSpec>(parseFramePortSpec("afpacket:veth1"));
  EXPECT_EQ(plain.interfaceName, "veth1");
  EXPECT_EQ(plain.networkNamespace, "");
  const auto inNamespace = std::get<AfPacketSpec>(parseFramePortSpec("afpacket:lab-ns/veth1"));
  EXPECT_EQ(inNamespace.interfaceName, "veth1");
  EXPECT_EQ(inNamespace.networkNamespace, "lab-ns");

  const auto v4 = std::get<UdpSpec>(parseFramePortSpec("udp:127.0.0.1:7000->10.1.2.3:7001"));
  EXPECT_EQ(v4.localHost, "127.0.0.1");
  EXPECT_EQ(v4.localPort, 7000);
  EXPECT_EQ(v4.peerHost, "10.1.2.3");
  EXPECT_EQ(v4.peerPort, 7001);
  const auto v6 = std::get<UdpSpec>(parseFramePortSpec("udp:[::1]:0->[fe80::1%eth0]:65535"));
  EXPECT_EQ(v6.localHost, "::1");
  EXPECT_EQ(v6.localPort, 0);
  EXPECT_EQ(v6.peerHost, "fe80::1%eth0");
  EXPECT_EQ(v6.peerPort, 65535);
  const auto named = std::get<UdpSpec>(parseFramePortSpec("udp:localhost:1->peer.example:2"));
  EXPECT_EQ(named.peerHost, "peer.example");
}

TEST(LinkFramePortSpec, ErrorsNameTheSpecAndTheProblem) {
  struct Case {
    const char* spec;
    const char* fragment;
  };
  const Case cases[] = {
      {"", "unknown kind of link"},
      {"tap:ndis0", "unknown kind of link"},
      {"wire:", "needs a name"},
      {"wire:a b", "letters, digits"},
      {"afpacket:", "no interface name"},
      {"afpacket:ns/", "no interface name"},
      {"afpacket:/eth0", "invalid network namespace name ''"},
      {"afpacket:ns/a/b", "without '/'"},
      {"afpacket:averyveryverylongname", "not 1 to 15 characters"},
      {"udp:127.0.0.1:7000", "expected udp:<local-host>:<port>-><peer-host>:<port>"},
      {"udp:127.0.0.1->127.0.0.1:7001", "needs '<host>:<port>'"},
      {"udp:::1:7000->::1:7001", "put an IPv6 address in brackets"},
      {"udp:[::1:7000->[::1]:7001", "lacks ']'"},
      {"udp:[::1]7000->[::1]:7001", "needs ':<port>' after ']'"},
      {"udp:127.0.0.1:70000->127.0.0.1:7001", "local port '70000' is not a number from 0 to 65535"},
      {"udp:127.0.0.1:x->127.0.0.1:7001", "local port 'x'"},
      {"udp:127.0.0.1:7000->127.0.0.1:0", "peer port '0' is not a number from 1 to 65535"},
      {"udp::7000->127.0.0.1:7001", "has no host"},
  };
  for (const auto& c : cases) {
    const std::string message = errorOf(c.spec);
    EXPECT_EQ(message.rfind("link spec '" + std::string(c.spec) + "': ", 0), 0u) << message;
    EXPECT_NE(message.find(c.fragment), std::string::npos) << c.spec << " -> " << message;
  }
}

TEST(LinkMakeFramePort, NamedWireHandsOutTwoEndsThenRefuses) {
  FrameCollector atB;
  auto a = makeFramePort("wire:factory-lab");
  auto b = makeFramePort("wire:factory-lab");
  EXPECT_EQ(a->describe(), "wire:factory-lab[A]");
  EXPECT_EQ(b->describe(), "wire:factory-lab[B]");
  const std::string third = errorOf("wire:factory-lab");
  EXPECT_EQ(third, "link spec 'wire:factory-lab': wire 'factory-lab' already has both ends in use");

  b->setReceiveHandler(atB.handler());
  ASSERT_TRUE(a->transmit(makeFrame(60, 1)));
  ASSERT_TRUE(atB.waitFor(1));
  EXPECT_EQ(atB.frames().at(0), makeFrame(60, 1));
  ASSERT_NE(linkStateOf(*a), nullptr);
  EXPECT_TRUE(linkStateOf(*a)->linkUp());

  // Both ends gone: the name starts a fresh wire.
  a.reset();
  b.reset();
  auto again = makeFramePort("wire:factory-lab");
  EXPECT_EQ(again->describe(), "wire:factory-lab[A]");
}

TEST(LinkMakeFramePort, NamedWireWhoseFirstEndIsGoneStartsOver) {
  auto a = makeFramePort("wire:factory-abandoned");
  a.reset();
  auto first = makeFramePort("wire:factory-abandoned");
  EXPECT_EQ(first->describe(), "wire:factory-abandoned[A]");
  auto second = makeFramePort("wire:factory-abandoned");
  EXPECT_EQ(second->describe(), "wire:factory-abandoned[B]");
  EXPECT_TRUE(linkStateOf(*second)->linkUp());
}

TEST(LinkMakeFramePort, OpensUdpTunnels) {
  auto port = makeFramePort("udp:127.0.0.1:0->127.0.0.1:9");
  ASSERT_NE(dynamic_cast<UdpTunnelPort*>(port.get()), nullptr);
  EXPECT_EQ(linkStateOf(*port), nullptr);  // no link state: always up
  auto v6 = makeFramePort("udp:[::1]:0->[::1]:9");
  EXPECT_NE(v6->describe().find("[::1]:9"), std::string::npos);
}

TEST(LinkMakeFramePort, AfPacketErrorsAreClear) {
  const std::string missing = errorOf("afpacket:nh-no-such0");
  // Unprivileged runs cannot even open the socket; both messages must be the clear ones.
  EXPECT_TRUE(missing == "link spec 'afpacket:nh-no-such0': afpacket: no interface named 'nh-no-such0'" ||
              missing ==
                  "link spec 'afpacket:nh-no-such0': afpacket: permission denied opening a packet socket "
                  "(needs CAP_NET_RAW)")
      << missing;
  const std::string noNamespace = errorOf("afpacket:nh-no-such-ns/eth0");
  EXPECT_EQ(noNamespace,
            "link spec 'afpacket:nh-no-such-ns/eth0': no network namespace named 'nh-no-such-ns' "
            "(/run/netns/nh-no-such-ns does not exist)");
}

}  // namespace
}  // namespace ndishost::link
