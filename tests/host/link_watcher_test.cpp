#include "host/netlink/link_watcher.hpp"

#include <linux/if.h>

#include <gtest/gtest.h>

#include <functional>

#include "host/tap/tap_device.hpp"
#include "tap_lab.hpp"

namespace ndishost::host {
namespace {

using namespace std::chrono_literals;

class HostLinkWatcher : public testing::Test {
 protected:
  void SetUp() override {
    std::string whyNot;
    lab_ = test::makeLab(&whyNot);
    if (!lab_) GTEST_SKIP() << whyNot;
    tap_.emplace(TapDevice::open({.name = "ndw0", .networkNamespace = lab_->ns1}));
    tap_->setUp(true);
    watcher_.emplace(LinkWatcher::open(tap_->interfaceIndex(), lab_->ns1));
  }

  void run(const std::string& command) { ASSERT_TRUE(lab_->run(command).ok()) << command << ": " << lab_->run(command).output; }

  // Collects changes until `done` holds for the latest snapshot (or 3 s pass).
  std::vector<LinkChange> waitFor(const std::function<bool(const LinkSnapshot&)>& done) {
    std::vector<LinkChange> changes;
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!done(watcher_->snapshot()) && std::chrono::steady_clock::now() < deadline)
      if (auto change = watcher_->waitForChange(50ms)) changes.push_back(*change);
    return changes;
  }

  static bool any(const std::vector<LinkChange>& changes, bool LinkChange::*kind) {
    for (const auto& change : changes)
      if (change.*kind) return true;
    return false;
  }

  std::unique_ptr<test::NetLab> lab_;
  std::optional<TapDevice> tap_;
  std::optional<LinkWatcher> watcher_;
};

TEST_F(HostLinkWatcher, StartsFromTheCurrentState) {
  const LinkSnapshot& now = watcher_->snapshot();
  EXPECT_TRUE(now.exists);
  EXPECT_TRUE(now.up());
  EXPECT_FALSE(now.promiscuous());
  EXPECT_EQ(now.mtu, tap_->mtu());
  const ReceiveFilter filter = receiveFilterFor(now);
  EXPECT_TRUE(filter.directed);
  EXPECT_TRUE(filter.broadcast);
  EXPECT_FALSE(filter.promiscuous);
  EXPECT_FALSE(filter.allMulticast);
}

TEST_F(HostLinkWatcher, SeesPromiscuousAllMulticastMtuAndDown) {
  run("ip -n {n1} link set ndw0 promisc on");
  auto changes = waitFor([](const LinkSnapshot& s) { return s.promiscuous(); });
  ASSERT_TRUE(watcher_->snapshot().promiscuous());
  EXPECT_TRUE(any(changes, &LinkChange::filterChanged));
  EXPECT_TRUE(receiveFilterFor(watcher_->snapshot()).promiscuous);

  run("ip -n {n1} link set ndw0 promisc off");
  waitFor([](const LinkSnapshot& s) { return !s.promiscuous(); });
  EXPECT_FALSE(watcher_->snapshot().promiscuous());

  run("ip -n {n1} link set ndw0 allmulticast on");
  changes = waitFor([](const LinkSnapshot& s) { return s.allMulticast(); });
  EXPECT_TRUE(receiveFilterFor(watcher_->snapshot()).allMulticast);
  EXPECT_TRUE(any(changes, &LinkChange::filterChanged));

  run("ip -n {n1} link set ndw0 mtu 1400");
  changes = waitFor([](const LinkSnapshot& s) { return s.mtu == 1400; });
  EXPECT_EQ(watcher_->snapshot().mtu, 1400u);
  EXPECT_TRUE(any(changes, &LinkChange::mtuChanged));

  run("ip -n {n1} link set ndw0 down");
  changes = waitFor([](const LinkSnapshot& s) { return !s.up(); });
  EXPECT_FALSE(watcher_->snapshot().up());
  EXPECT_EQ(receiveFilterFor(watcher_->snapshot()), ReceiveFilter{}) << "a down interface receives nothing";
}

TEST_F(HostLinkWatcher, SeesLinkLayerMulticastJoinAndLeave) {
  const LinkLayerAddress group{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
  auto has = [&](const LinkSnapshot& s) { return std::find(s.multicast.begin(), s.multicast.end(), group) != s.multicast.end(); };
  ASSERT_FALSE(has(watcher_->snapshot()));
  run("ip -n {n1} maddress add 01:00:5e:01:02:03 dev ndw0");
  auto changes = waitFor(has);
  ASSERT_TRUE(has(watcher_->snapshot()));
  EXPECT_TRUE(any(changes, &LinkChange::multicastChanged));
  EXPECT_TRUE(receiveFilterFor(watcher_->snapshot()).multicast);

  run("ip -n {n1} maddress del 01:00:5e:01:02:03 dev ndw0");
  changes = waitFor([&](const LinkSnapshot& s) { return !has(s); });
  EXPECT_FALSE(has(watcher_->snapshot()));
  EXPECT_TRUE(any(changes, &LinkChange::multicastChanged));
}

TEST_F(HostLinkWatcher, SeesAnIpv4GroupJoinAsItsMulticastMac) {
  // An IPv4 group joined by the stack (here via `ip address add ... autojoin`) shows up as
  // 01:00:5e + the low 23 bits of the group.
  run("ip -n {n1} address add 239.1.2.3/32 dev ndw0 autojoin");
  const LinkLayerAddress group{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
  waitFor([&](const LinkSnapshot& s) { return std::find(s.multicast.begin(), s.multicast.end(), group) != s.multicast.end(); });
  const auto& list = watcher_->snapshot().multicast;
  EXPECT_NE(std::find(list.begin(), list.end(), group), list.end());
}

TEST_F(HostLinkWatcher, SeesTheInterfaceGo) {
  tap_.reset();  // closing a non-persistent TAP deletes the interface
  auto changes = waitFor([](const LinkSnapshot& s) { return !s.exists; });
  EXPECT_FALSE(watcher_->snapshot().exists);
  EXPECT_TRUE(any(changes, &LinkChange::removed));
}

TEST(HostDevMcast, ParsesOneInterfacesAddresses) {
  const std::string text =
      "1    lo              1     0     333300000001\n"
      "7    ndw0            1     0     01005e010203\n"
      "7    ndw0            2     0     333300000001\n"
      "7    ndw0            1     0     zz005e010203\n"
      "8    other           1     0     01005e000001\n";
  const auto list = LinkWatcher::parseDevMcast(text, 7);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], (LinkLayerAddress{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}));
  EXPECT_EQ(list[1], (LinkLayerAddress{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}));
}

}  // namespace
}  // namespace ndishost::host
