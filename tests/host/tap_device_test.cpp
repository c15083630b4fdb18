#include "host/tap/tap_device.hpp"

#include <linux/capability.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "host/tap/tap_error.hpp"
#include "tap_lab.hpp"

namespace ndishost::host {
namespace {

using namespace std::chrono_literals;

class HostTap : public testing::Test {
 protected:
  void SetUp() override {
    std::string whyNot;
    lab_ = test::makeLab(&whyNot);
    if (!lab_) GTEST_SKIP() << whyNot;
  }

  TapDevice openTap(const std::string& name = "ndt0", bool vnetHeader = false) {
    return TapDevice::open({.name = name, .networkNamespace = lab_->ns1, .vnetHeader = vnetHeader});
  }

  std::string linkShow(const std::string& name) { return lab_->run("ip -n {n1} -o link show dev " + name).output; }

  std::unique_ptr<test::NetLab> lab_;
};

TEST_F(HostTap, OpensInTheNamespaceAndSetsMacMtuStateAndCarrier) {
  TapDevice tap = openTap();
  EXPECT_EQ(tap.name(), "ndt0");
  EXPECT_GT(tap.interfaceIndex(), 0);
  EXPECT_NE(linkShow("ndt0").find("ndt0"), std::string::npos) << "the TAP is not in the test namespace";
  EXPECT_FALSE(lab_->run("ip -o link show dev ndt0").ok()) << "the TAP leaked into the test's own namespace";

  const MacAddress mac{0x02, 0x4e, 0x44, 0x12, 0x34, 0x56};
  tap.setMacAddress(mac);
  EXPECT_EQ(tap.macAddress(), mac);
  EXPECT_NE(linkShow("ndt0").find("02:4e:44:12:34:56"), std::string::npos);

  tap.setMtu(9000);
  EXPECT_EQ(tap.mtu(), 9000u);
  EXPECT_NE(linkShow("ndt0").find("mtu 9000"), std::string::npos);

  EXPECT_FALSE(tap.isUp());
  tap.setUp(true);
  EXPECT_TRUE(tap.isUp());

  tap.setCarrier(false);
  EXPECT_NE(linkShow("ndt0").find("NO-CARRIER"), std::string::npos) << linkShow("ndt0");
  tap.setCarrier(true);
  EXPECT_NE(linkShow("ndt0").find("LOWER_UP"), std::string::npos) << linkShow("ndt0");

  tap.setUp(false);
  EXPECT_FALSE(tap.isUp());
}

TEST_F(HostTap, RejectsAMulticastMac) {
  TapDevice tap = openTap();
  try {
    tap.setMacAddress({0x01, 0x00, 0x5e, 0, 0, 1});
    FAIL() << "no error";
  } catch (const TapError& error) {
    EXPECT_STREQ(error.what(), ("tap 'ndt0' in namespace '" + lab_->ns1 + "': MAC 01:00:5e:00:00:01 is a multicast address").c_str());
  }
}

TEST_F(HostTap, FramesWrittenArriveAtAPacketSocketAndBack) {
  TapDevice tap = openTap();
  tap.setUp(true);
  tap.setCarrier(true);
  test::PacketSocket socket(lab_->ns1, tap.interfaceIndex());
  ASSERT_TRUE(socket.valid());

  // Linux -> (TAP write) -> the namespace's stack: a batch of eight.
  std::vector<std::vector<std::byte>> sent;
  std::vector<TapFrame> batch;
  for (std::uint8_t i = 0; i < 8; ++i) sent.push_back(test::testFrame(60 + i * 180, i));
  for (const auto& frame : sent) batch.push_back({.data = frame, .offload = {}});
  EXPECT_EQ(tap.writeFrames(batch), 8u);
  auto received = socket.receive(8, 0x88b5, 3s);
  ASSERT_EQ(received.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(received[i], sent[i]) << "frame " << i;
  EXPECT_EQ(tap.counters().framesWritten, 8u);

  // The namespace's stack -> (TAP read): frames sent on the interface come out of the TAP.
  for (std::uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(socket.send(test::testFrame(1514, static_cast<std::uint8_t>(100 + i))));
  std::vector<std::vector<std::byte>> storage(4, std::vector<std::byte>(1514));
  std::vector<std::vector<std::byte>> got;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (got.size() < 5 && std::chrono::steady_clock::now() < deadline) {
    if (!tap.waitReadable(100ms)) continue;
    std::vector<TapFrameBuffer> buffers;
    for (auto& s : storage) buffers.emplace_back(s);
    const std::size_t n = tap.readFrames(buffers);
    ASSERT_LE(n, buffers.size());
    for (std::size_t i = 0; i < n; ++i) {
      const auto frame = std::span(buffers[i].storage).first(buffers[i].length);
      // Linux sends its own frames too (IPv6 router solicitations, MLD): keep ours.
      if (frame.size() >= 14 && frame[12] == std::byte{0x88} && frame[13] == std::byte{0xb5}) got.emplace_back(frame.begin(), frame.end());
    }
  }
  ASSERT_EQ(got.size(), 5u);
  for (std::uint8_t i = 0; i < 5; ++i) EXPECT_EQ(got[i], test::testFrame(1514, static_cast<std::uint8_t>(100 + i)));
}

TEST_F(HostTap, OversizedFramesAreDroppedAndCountedNotCut) {
  TapDevice tap = openTap();
  tap.setUp(true);
  tap.setCarrier(true);
  test::PacketSocket socket(lab_->ns1, tap.interfaceIndex());
  ASSERT_TRUE(socket.send(test::testFrame(1000, 1)));
  std::vector<std::byte> small(500);
  TapFrameBuffer buffer(small);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (tap.counters().readTruncated == 0 && std::chrono::steady_clock::now() < deadline) {
    if (tap.waitReadable(100ms)) tap.readFrames(std::span(&buffer, 1));
  }
  EXPECT_GE(tap.counters().readTruncated, 1u);
}

TEST_F(HostTap, VnetHeaderFramesCarryOffloadInformation) {
  TapDevice tap = openTap("ndt0", true);
  tap.setOffloads({.checksum = true, .tcp4 = true, .tcp6 = true});
  tap.setUp(true);
  tap.setCarrier(true);
  test::PacketSocket socket(lab_->ns1, tap.interfaceIndex());
  // A frame written with "checksum verified" arrives unchanged (the header is not part of it).
  const auto frame = test::testFrame(200, 7);
  const TapFrame out{.data = frame, .offload = {.checksumVerified = true}};
  EXPECT_EQ(tap.writeFrames(std::span(&out, 1)), 1u);
  auto received = socket.receive(1, 0x88b5, 3s);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0], frame);
  // A frame from the stack is read without the header in front, with no offload asked.
  ASSERT_TRUE(socket.send(test::testFrame(300, 9)));
  std::vector<std::byte> storage(2048);
  TapFrameBuffer buffer(storage);
  bool found = false;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (!found && std::chrono::steady_clock::now() < deadline) {
    if (!tap.waitReadable(100ms) || tap.readFrames(std::span(&buffer, 1)) == 0) continue;
    if (buffer.length == 300 && buffer.storage[12] == std::byte{0x88}) {
      found = true;
      EXPECT_EQ(std::vector<std::byte>(storage.begin(), storage.begin() + 300), test::testFrame(300, 9));
      EXPECT_FALSE(buffer.offload.checksumNeeded);
      EXPECT_EQ(buffer.offload.segmentation, TransmitOffload::Segmentation::None);
    }
  }
  EXPECT_TRUE(found);
}

// The binding learns an adapter's offloads after its TAP exists: re-attaching with the
// virtio-net header keeps the interface (index, MAC, MTU, state) and its packets flowing.
TEST_F(HostTap, ReopensWithAndWithoutVnetHeaderKeepingTheInterface) {
  TapDevice tap = openTap();
  const MacAddress mac{0x02, 0x4e, 0x44, 0x00, 0x00, 0x77};
  tap.setMacAddress(mac);
  tap.setMtu(1400);
  tap.setUp(true);
  const int index = tap.interfaceIndex();
  auto tunFlags = [&] {
    auto text = lab_->run("ip netns exec {n1} cat /sys/class/net/ndt0/tun_flags").output;
    return std::stoul(text, nullptr, 16);
  };
  EXPECT_EQ(tunFlags() & IFF_VNET_HDR, 0u);
  tap.reopen(true);
  EXPECT_TRUE(tap.vnetHeader());
  EXPECT_NE(tunFlags() & IFF_VNET_HDR, 0u);
  tap.setOffloads({.checksum = true, .tcp4 = true});
  tap.setCarrier(true);
  EXPECT_EQ(tap.interfaceIndex(), index);
  EXPECT_EQ(tap.macAddress(), mac);
  EXPECT_EQ(tap.mtu(), 1400u);
  EXPECT_TRUE(tap.isUp());
  test::PacketSocket socket(lab_->ns1, tap.interfaceIndex());
  const auto frame = test::testFrame(200, 3);
  const TapFrame out{.data = frame, .offload = {}};
  EXPECT_EQ(tap.writeFrames(std::span(&out, 1)), 1u);
  auto received = socket.receive(1, 0x88b5, 3s);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0], frame) << "the header in front was taken as a header, not data";
  tap.reopen(false);
  EXPECT_FALSE(tap.vnetHeader());
  EXPECT_EQ(tunFlags() & IFF_VNET_HDR, 0u);
  EXPECT_EQ(tap.interfaceIndex(), index);
}

std::string errorOf(const std::function<void()>& work, TapError::Kind* kind = nullptr) {
  try {
    work();
  } catch (const TapError& error) {
    if (kind) *kind = error.kind();
    return error.what();
  }
  return "(no error)";
}

TEST_F(HostTap, ClearErrorsForNameInUseBadNameAndNoPermission) {
  TapDevice first = openTap("ndt0");
  TapError::Kind kind{};
  const std::string in = " in namespace '" + lab_->ns1 + "'";
  EXPECT_EQ(errorOf([&] { openTap("ndt0"); }, &kind), "tap 'ndt0'" + in + ": name in use (another process has this TAP interface open)");
  EXPECT_EQ(kind, TapError::Kind::NameInUse);
  // The veth end of the lab is not a TAP.
  EXPECT_EQ(errorOf([&] { openTap(lab_->ifA); }, &kind),
            "tap '" + lab_->ifA + "'" + in + ": name in use by an interface that is not a TAP interface of ours");
  EXPECT_EQ(kind, TapError::Kind::NameInUse);
  EXPECT_EQ(errorOf([&] { openTap("a/b"); }), "tap 'a/b'" + in + ": not a valid interface name (1 to 15 characters, no '/', ':' or spaces)");
  EXPECT_EQ(errorOf([&] { openTap("sixteen-chars-xx"); }),
            "tap 'sixteen-chars-xx'" + in + ": not a valid interface name (1 to 15 characters, no '/', ':' or spaces)");

  // Capabilities are per thread (and inherited by the namespace helper thread open()
  // starts): drop CAP_NET_ADMIN on a thread of our own.
  std::string denied;
  std::thread unprivileged([&] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &header, data) != 0) return;
    data[0].effective &= ~(1u << CAP_NET_ADMIN);
    if (::syscall(SYS_capset, &header, data) != 0) return;
    denied = errorOf([&] { openTap("ndt1"); }, &kind);
  });
  unprivileged.join();
  EXPECT_EQ(denied, "tap 'ndt1'" + in +
                        ": cannot create the TAP interface (TUNSETIFF): not permitted (needs CAP_NET_ADMIN: run as root or grant it, "
                        "e.g. setcap cap_net_admin+ep)");
  EXPECT_EQ(kind, TapError::Kind::NoPermission);
}

}  // namespace
}  // namespace ndishost::host
