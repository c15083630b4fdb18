#include "link/afpacket_port.hpp"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "link/frame_port_factory.hpp"
#include "link/inet_checksum.hpp"
#include "link/link_error.hpp"
#include "link/link_log.hpp"
#include "link/netns.hpp"
#include "link/unique_fd.hpp"
#include "net_lab.hpp"
#include "test_support.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace ndishost::link {
namespace {

using test::etherTypeOf;
using test::FrameCollector;
using test::makeFrame;
using test::NetLab;
using test::waitUntil;

bool isTestFrame(std::span<const std::byte> frame) {
  if (frame.size() < 18) return false;
  if (etherTypeOf(frame) == 0x88b5) return true;
  // VLAN-tagged test frame: 0x8100, TCI, then the test EtherType.
  return etherTypeOf(frame) == 0x8100 && std::to_integer<int>(frame[16]) == 0x88 &&
         std::to_integer<int>(frame[17]) == 0xb5;
}

bool isUdpToLabPeer(std::span<const std::byte> frame) {
  // IPv4, protocol UDP, destination 10.77.0.2.
  return frame.size() >= 42 && etherTypeOf(frame) == 0x0800 && std::to_integer<int>(frame[23]) == 17 &&
         std::to_integer<int>(frame[30]) == 10 && std::to_integer<int>(frame[31]) == 77 &&
         std::to_integer<int>(frame[32]) == 0 && std::to_integer<int>(frame[33]) == 2;
}

// A frame carrying an 802.1Q tag (VID 100) in front of the test EtherType.
test::Frame makeTaggedFrame(std::size_t size, std::uint32_t seed) {
  test::Frame frame = makeFrame(size, seed);
  const std::uint8_t tag[6] = {0x81, 0x00, 0x00, 0x64, 0x88, 0xb5};
  std::memcpy(frame.data() + 12, tag, sizeof(tag));
  return frame;
}

class LinkAfPacket : public testing::Test {
 protected:
  void SetUp() override {
    std::string whyNot;
    lab_ = NetLab::create(&whyNot);
    if (!lab_) GTEST_SKIP() << whyNot;
  }

  std::unique_ptr<AfPacketPort> openInNamespace(const std::string& ns, const std::string& interface) {
    return AfPacketPort::open({.interfaceName = interface, .networkNamespace = ns});
  }

  // Both veth ends up with carrier: frames flow from here on.
  static void waitForLink(const AfPacketPort& port) {
    ASSERT_TRUE(waitUntil([&] { return port.linkUp(); })) << port.describe() << " never came up";
  }

  std::unique_ptr<NetLab> lab_;
};

TEST_F(LinkAfPacket, FramesCrossTheVethBothWaysUnchanged) {
  // End A through the plain path (the calling thread's namespace), end B by namespace name.
  FrameCollector atA(isTestFrame), atB(isTestFrame);
  std::unique_ptr<AfPacketPort> a;
  runInNetworkNamespace(lab_->ns1, [&] { a = AfPacketPort::open({.interfaceName = lab_->ifA}); });
  auto b = openInNamespace(lab_->ns2, lab_->ifB);
  EXPECT_EQ(a->describe(), "afpacket:" + lab_->ifA);
  EXPECT_EQ(b->describe(), "afpacket:" + lab_->ns2 + "/" + lab_->ifB);
  EXPECT_EQ(b->mtu(), 1500u);
  EXPECT_EQ(b->maxFrameSize(), 1518u);
  a->setReceiveHandler(atA.handler());
  b->setReceiveHandler(atB.handler());
  waitForLink(*a);
  waitForLink(*b);

  // Destination 02:00:00:00:00:99 is nobody's MAC: only promiscuous reception sees it.
  const auto smallest = makeFrame(60, 1);
  const auto largest = makeFrame(1514, 2);
  const auto tagged = makeTaggedFrame(1518, 3);
  ASSERT_TRUE(a->transmit(smallest));
  ASSERT_TRUE(a->transmit(largest));
  ASSERT_TRUE(a->transmit(tagged));
  ASSERT_TRUE(atB.waitFor(3));
  EXPECT_EQ(atB.frames().at(0), smallest);
  EXPECT_EQ(atB.frames().at(1), largest);
  // The receiving kernel moved the tag into metadata; the port put it back.
  EXPECT_EQ(atB.frames().at(2), tagged);
  EXPECT_GE(b->afPacketCounters().vlanTagsRestored, 1u);

  const auto back = makeFrame(1000, 4);
  ASSERT_TRUE(b->transmit(back));
  ASSERT_TRUE(atA.waitFor(1));
  EXPECT_EQ(atA.frames().at(0), back);
  // A port does not hear its own transmissions (it would have by now).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(atB.count(), 3u);

  // Larger than the MTU allows: dropped, never cut.
  EXPECT_FALSE(a->transmit(makeFrame(1515, 5)));
  EXPECT_FALSE(a->transmit(makeTaggedFrame(1519, 6)));
  EXPECT_FALSE(a->transmit(makeFrame(10, 7)));
  EXPECT_EQ(a->counters().txDropped, 3u);
  EXPECT_EQ(a->counters().txFrames, 3u);
  EXPECT_EQ(a->counters().txBytes, 60u + 1514u + 1518u);
}

TEST_F(LinkAfPacket, OpensThroughTheFactory) {
  FrameCollector atB(isTestFrame);
  auto a = makeFramePort("afpacket:" + lab_->ns1 + "/" + lab_->ifA);
  auto b = makeFramePort("afpacket:" + lab_->ns2 + "/" + lab_->ifB);
  b->setReceiveHandler(atB.handler());
  ASSERT_TRUE(waitUntil([&] { return linkStateOf(*a)->linkUp() && linkStateOf(*b)->linkUp(); }));
  ASSERT_TRUE(a->transmit(makeFrame(200, 9)));
  ASSERT_TRUE(atB.waitFor(1));
  EXPECT_EQ(atB.frames().at(0), makeFrame(200, 9));
}

// Frames a Linux stack sends leave checksums to offload and batch datagrams into GSO
// super-frames; what the port delivers must look like what a wire would carry.
TEST_F(LinkAfPacket, LocalStackFramesArriveCompleteOrNotAtAll) {
  ASSERT_TRUE(lab_->run("ip -n {n1} addr add 10.77.0.1/24 dev {a}").ok());
  ASSERT_TRUE(lab_->run("ip -n {n1} neigh add 10.77.0.2 lladdr 02:00:00:00:00:02 dev {a} nud permanent").ok());
  FrameCollector atB(isUdpToLabPeer);
  auto b = openInNamespace(lab_->ns2, lab_->ifB);
  b->setReceiveHandler(atB.handler());
  waitForLink(*b);

  UniqueFd udp;
  runInNetworkNamespace(lab_->ns1, [&] { udp = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); });
  ASSERT_TRUE(udp);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(9999);
  peer.sin_addr.s_addr = htonl(0x0a4d0002);  // 10.77.0.2
  std::vector<std::byte> payload(200, std::byte{0x5a});
  ASSERT_EQ(::sendto(udp.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&peer), sizeof(peer)),
            200);
  ASSERT_TRUE(atB.waitFor(1));
  const auto frame = atB.frames().at(0);
  ASSERT_EQ(frame.size(), 14u + 20u + 8u + 200u);
  // UDP checksum over the pseudo-header and the datagram must verify (sum to 0xffff).
  const std::span<const std::byte> ip(frame.data() + 14, 20);
  const std::span<const std::byte> datagram(frame.data() + 34, 208);
  std::uint64_t sum = test::makeFrame(0, 0).size();  // 0
  sum = addChecksumWords(ip.subspan(12, 8), sum);     // source and destination address
  sum += 17 + datagram.size();
  sum = addChecksumWords(datagram, sum);
  EXPECT_NE(std::to_integer<int>(frame[40]) | std::to_integer<int>(frame[41]), 0) << "no UDP checksum at all";
  EXPECT_EQ(foldChecksum(sum), 0xffff) << "UDP checksum does not verify";
  EXPECT_EQ(b->afPacketCounters().checksumsCompleted, 1u);

  // One 8000-byte send split into 1000-byte segments by GSO: the veth passes the
  // unsegmented super-frame on, longer than the MTU, so the port drops and counts it.
  const int segment = 1000;
  ASSERT_EQ(::setsockopt(udp.get(), IPPROTO_UDP, UDP_SEGMENT, &segment, sizeof(segment)), 0);
  std::vector<std::byte> big(8000, std::byte{0x33});
  ASSERT_EQ(::sendto(udp.get(), big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&peer), sizeof(peer)), 8000);
  ASSERT_TRUE(waitUntil([&] { return b->afPacketCounters().rxOversize >= 1 || atB.count() > 1; }));
  EXPECT_EQ(atB.count(), 1u) << "no part of the super-frame may be delivered";
  EXPECT_EQ(b->afPacketCounters().rxOversize, 1u);
  EXPECT_EQ(b->afPacketCounters().rxOffloadAggregates, 1u);
  EXPECT_GE(b->counters().rxDropped, 1u);
}

TEST_F(LinkAfPacket, FollowsMtuChanges) {
  FrameCollector atB(isTestFrame);
  auto a = openInNamespace(lab_->ns1, lab_->ifA);
  auto b = openInNamespace(lab_->ns2, lab_->ifB);
  b->setReceiveHandler(atB.handler());
  ASSERT_TRUE(lab_->run("ip -n {n1} link set {a} mtu 9000").ok());
  ASSERT_TRUE(lab_->run("ip -n {n2} link set {b} mtu 9000").ok());
  ASSERT_TRUE(waitUntil([&] { return a->mtu() == 9000 && b->mtu() == 9000; }));
  EXPECT_EQ(b->maxFrameSize(), 9018u);
  waitForLink(*a);
  const auto jumbo = makeFrame(9014, 10);
  ASSERT_TRUE(a->transmit(jumbo));
  ASSERT_TRUE(atB.waitFor(1));
  EXPECT_EQ(atB.frames().at(0), jumbo);
}

TEST_F(LinkAfPacket, LinkStateFollowsCarrierAndAdminState) {
  FrameCollector atB(isTestFrame);
  std::mutex mutex;
  std::vector<bool> states;
  auto a = openInNamespace(lab_->ns1, lab_->ifA);
  auto b = openInNamespace(lab_->ns2, lab_->ifB);
  b->setReceiveHandler(atB.handler());
  waitForLink(*b);
  const auto changesBefore = b->afPacketCounters().linkChanges;
  b->setLinkStateHandler([&](bool up) {
    std::lock_guard lock(mutex);
    states.push_back(up);
  });

  // The far end going down takes our carrier away.
  ASSERT_TRUE(lab_->run("ip -n {n1} link set {a} down").ok());
  ASSERT_TRUE(waitUntil([&] { return !b->linkUp(); }));
  EXPECT_FALSE(b->transmit(makeFrame(60, 1)));
  ASSERT_TRUE(lab_->run("ip -n {n1} link set {a} up").ok());
  ASSERT_TRUE(waitUntil([&] { return b->linkUp(); }));

  // Our own interface down and up again: reception resumes.
  ASSERT_TRUE(lab_->run("ip -n {n2} link set {b} down").ok());
  ASSERT_TRUE(waitUntil([&] { return !b->linkUp(); }));
  ASSERT_TRUE(lab_->run("ip -n {n2} link set {b} up").ok());
  ASSERT_TRUE(waitUntil([&] { return b->linkUp() && a->linkUp(); }));
  ASSERT_TRUE(a->transmit(makeFrame(60, 2)));
  ASSERT_TRUE(atB.waitFor(1));
  EXPECT_EQ(atB.frames().at(0), makeFrame(60, 2));

  std::lock_guard lock(mutex);
  EXPECT_EQ(states, (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(b->afPacketCounters().linkChanges - changesBefore, 4u);
}

TEST_F(LinkAfPacket, DeletedInterfaceTakesThePortDownWithOneLogLine) {
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>("link-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  setLinkLogger(logger);
  struct RestoreLogger {
    ~RestoreLogger() { setLinkLogger(nullptr); }
  } restore;

  std::atomic<int> downs{0};
  FrameCollector atB;
  auto b = openInNamespace(lab_->ns2, lab_->ifB);
  b->setLinkStateHandler([&](bool up) { downs += up ? 0 : 1; });
  b->setReceiveHandler(atB.handler());
  waitForLink(*b);
  ASSERT_TRUE(lab_->run("ip -n {n2} link del {b}").ok());
  ASSERT_TRUE(waitUntil([&] { return !b->interfacePresent(); }));
  EXPECT_FALSE(b->linkUp());
  EXPECT_EQ(downs.load(), 1);
  EXPECT_EQ(b->afPacketCounters().interfaceLost, 1u);
  EXPECT_FALSE(b->transmit(makeFrame(60, 1)));
  EXPECT_EQ(b->counters().txDropped, 1u);
  // A new interface of the same name does not confuse the port.
  ASSERT_TRUE(lab_->run("ip -n {n2} link add {b} type veth peer name {b}p").ok());
  ASSERT_TRUE(lab_->run("ip -n {n2} link set {b}p up").ok());
  ASSERT_TRUE(lab_->run("ip -n {n2} link set {b} up").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(b->linkUp());
  b.reset();

  logger->flush();
  const std::string text = log.str();
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = text.find("disappeared", at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, 1u) << text;
  EXPECT_NE(text.find("afpacket: interface '" + lab_->ifB + "' in network namespace '" + lab_->ns2 + "' disappeared"),
            std::string::npos)
      << text;
}

TEST_F(LinkAfPacket, OpenErrorsAreClear) {
  auto messageOf = [](const std::function<void()>& open) -> std::string {
    try {
      open();
    } catch (const LinkError& error) {
      return error.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(messageOf([&] { openInNamespace(lab_->ns1, "nh-nope"); }),
            "afpacket: no interface named 'nh-nope' in network namespace '" + lab_->ns1 + "'");
  EXPECT_EQ(messageOf([&] { openInNamespace(lab_->ns1, "lo"); }),
            "afpacket: interface 'lo' in network namespace '" + lab_->ns1 +
                "' is not an Ethernet interface (ARPHRD type 772)");
  EXPECT_EQ(messageOf([&] { openInNamespace("nh-no-such-ns", "eth0"); }),
            "no network namespace named 'nh-no-such-ns' (/run/netns/nh-no-such-ns does not exist)");
  EXPECT_EQ(messageOf([&] { AfPacketPort::open({.interfaceName = ""}); }),
            "afpacket: invalid interface name '' (1 to 15 characters, no '/')");

  // Capabilities are per thread: drop CAP_NET_RAW on a helper thread only.
  std::string denied;
  std::thread unprivileged([&] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &header, data) != 0) return;
    data[0].effective &= ~(1u << CAP_NET_RAW);
    if (::syscall(SYS_capset, &header, data) != 0) return;
    denied = messageOf([&] { AfPacketPort::open({.interfaceName = "lo"}); });
  });
  unprivileged.join();
  EXPECT_EQ(denied, "afpacket: permission denied opening a packet socket (needs CAP_NET_RAW)");
}

}  // namespace
}  // namespace ndishost::link
