// `ndishost demo` end to end with real Linux networking (root, /dev/net/tun): two
// namespaces, NCM and RNDIS adapters on a wire under their miniports, TAPs, ping both ways
// over IPv4 and IPv6, a TCP transfer, no leaks; and Ctrl-C in the middle still removes
// every namespace the demo made.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>

#include "host/runtime/netns_scope.hpp"
#include "host/runtime/network_demo.hpp"
#include "link/frame_port_factory.hpp"
#include "spawned.hpp"

using namespace ndishost::host;

namespace {

bool skipUnlessPossible(std::string& why) { return !haveNetworkPrivileges(&why) || !tapBindingAvailable(); }

// Names in /run/netns matching `pattern`, one per line. Read from the directory rather than
// `ip netns list`, which fails ("Peer netns reference is invalid") while another test is
// deleting a namespace of its own.
std::string namespacesNamed(const std::string& pattern) {
  const std::regex wanted(pattern);
  std::string names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", error)) {
    const std::string name = entry.path().filename().string();
    if (std::regex_search(name, wanted)) names += name + "\n";
  }
  return names;
}

class TempDirectory {
 public:
  TempDirectory() : path_(std::filesystem::temp_directory_path() / ("hostrt-demo-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDirectory() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

TEST(NetworkDemo, PingsBothWaysTransfersAndTearsDown) {
  std::string why;
  if (skipUnlessPossible(why)) GTEST_SKIP() << why;
  TempDirectory directory;
  NetworkDemoOptions options;
  options.outputDirectory = directory.path();
  options.transferTime = std::chrono::seconds(1);
  std::ostringstream out;
  const int status = runNetworkDemo(options, out);
  const std::string text = out.str();
  EXPECT_EQ(status, DemoSucceeded) << text;
  // Four pings (two directions, IPv4 and IPv6), every packet answered.
  std::size_t answered = 0;
  for (auto at = text.find("3 received"); at != std::string::npos; at = text.find("3 received", at + 1)) ++answered;
  EXPECT_EQ(answered, 4u) << text;
  EXPECT_NE(text.find("usbncm: no leaks"), std::string::npos) << text;
  EXPECT_NE(text.find("usbrndis: no leaks"), std::string::npos) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(iperf3: .* = [0-9.]+ [MG]bit/s)"))) << text;
  EXPECT_GT(std::filesystem::file_size(directory.path() / "usb.pcap"), 24u);
  EXPECT_GT(std::filesystem::file_size(directory.path() / "ncm0-ethernet.pcap"), 24u);
  EXPECT_GT(std::filesystem::file_size(directory.path() / "events.jsonl"), 0u);
  EXPECT_TRUE(std::filesystem::exists(directory.path() / "timeline.html"));
  EXPECT_EQ(namespacesNamed("ndishost-demo-.-" + std::to_string(getpid())), "");
}

TEST(NetworkDemo, CtrlCRemovesEverythingAndExits130) {
  std::string why;
  if (skipUnlessPossible(why)) GTEST_SKIP() << why;
  TempDirectory directory;
  hostrt_test::Spawned demo({"demo", "--output", directory.path().string(), "--time", "5"});
  ASSERT_TRUE(demo.waitFor("bound to TAP ndis-rndis", std::chrono::seconds(20))) << demo.output();
  demo.signal(SIGINT);
  EXPECT_EQ(demo.finish(std::chrono::seconds(30)), 130) << demo.output();
  EXPECT_NE(demo.output().find("removing namespace"), std::string::npos) << demo.output();
  EXPECT_NE(demo.output().find("usbrndis: no leaks"), std::string::npos) << demo.output();
  // The namespaces this demo made (named after its pid; other demos may run in parallel).
  const auto at = demo.output().find("ndishost-demo-a-");
  ASSERT_NE(at, std::string::npos) << demo.output();
  const std::string pid = demo.output().substr(at + 16, demo.output().find_first_not_of("0123456789", at + 16) - at - 16);
  ASSERT_FALSE(pid.empty());
  EXPECT_EQ(namespacesNamed("ndishost-demo-.-" + pid), "") << demo.output();
}

// Unplugging a device bound to a TAP takes its interface away; plugging it in again brings
// the adapter, the binding and (once addressed again) traffic back.
TEST(NetworkDemo, UnplugAndPlugWithTapsRestoresTraffic) {
  std::string why;
  if (skipUnlessPossible(why)) GTEST_SKIP() << why;
  const std::string suffix = std::to_string(getpid());
  NetworkNamespace a("hostrt-a-" + suffix);
  NetworkNamespace b("hostrt-b-" + suffix);
  config::HostConfig config;
  config.source = "demo_test";
  for (int side = 0; side < 2; ++side) {
    config::DeviceConfig d;
    d.kind = side == 0 ? config::DeviceKind::Ecm : config::DeviceKind::Rndis;
    d.name = side == 0 ? "ecm0" : "rndis1";
    d.mac = config::defaultMacAddress(static_cast<std::size_t>(side));
    d.farSide = "wire:hostrt-" + suffix;
    d.farSideSpec = ndishost::link::parseFramePortSpec(d.farSide);
    d.tap = side == 0 ? "hostrt-ecm" : "hostrt-rndis";
    d.tapNamespace = side == 0 ? a.name() : b.name();
    config.devices.push_back(d);
  }
  HostRuntime runtime(config);
  runtime.start();
  auto address = [&](const NetworkNamespace& ns, const std::string& tap, const std::string& cidr) {
    EXPECT_TRUE(ns.run({"ip", "link", "set", tap, "up"}, std::chrono::seconds(5)).ok());
    const auto r = ns.run({"ip", "addr", "add", cidr, "dev", tap}, std::chrono::seconds(5));
    EXPECT_TRUE(r.ok()) << r.output;
  };
  address(a, "hostrt-ecm", "10.78.0.1/24");
  address(b, "hostrt-rndis", "10.78.0.2/24");
  auto ping = a.run({"ping", "-c", "2", "-i", "0.2", "-W", "3", "10.78.0.2"}, std::chrono::seconds(15));
  EXPECT_TRUE(ping.ok()) << ping.output;

  runtime.unplug("rndis1");
  ping = a.run({"ping", "-c", "1", "-W", "1", "10.78.0.2"}, std::chrono::seconds(10));
  EXPECT_FALSE(ping.ok()) << "answered while unplugged: " << ping.output;

  runtime.plug("rndis1");
  ASSERT_TRUE(runtime.waitTapRunning("rndis1", std::chrono::seconds(10)));
  // The TAP went with the old adapter; the new one has no address yet.
  const auto addresses = b.run({"ip", "-4", "addr", "show", "dev", "hostrt-rndis"}, std::chrono::seconds(5));
  if (addresses.output.find("10.78.0.2") == std::string::npos) address(b, "hostrt-rndis", "10.78.0.2/24");
  ping = a.run({"ping", "-c", "3", "-i", "0.2", "-W", "3", "10.78.0.2"}, std::chrono::seconds(15));
  EXPECT_TRUE(ping.ok()) << ping.output;

  const ShutdownResult result = runtime.stop();
  EXPECT_TRUE(result.clean());
  for (const auto& report : result.leakReports) EXPECT_NE(report.find("no leaks"), std::string::npos) << report;
}
