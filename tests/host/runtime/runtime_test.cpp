// HostRuntime from a configuration: NCM and RNDIS adapters on one wire reach Running under
// their real miniports, answer OIDs, leave and come back through HostControl unplug/plug,
// and the whole stack tears down without leaks.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <unistd.h>

#include "host/config/config_parser.hpp"
#include "host/runtime/host_runtime.hpp"
#include "ndishost/ndis/oids.h"

using namespace ndishost::host;

namespace {

// Two devices on one in-process wire, no TAP (these tests need no privileges).
config::HostConfig twoAdapters(const std::string& extra = "") {
  const std::string wire = "hostrt-" + std::to_string(getpid());
  const std::string text = R"(
[[device]]
kind = "ncm"
name = "ncm0"
mac = "02:00:00:77:00:01"
far-side = "wire:)" + wire + R"("
)" + extra + R"(
[[device]]
kind = "rndis"
name = "rndis1"
mac = "02:00:00:77:00:02"
far-side = "wire:)" + wire + R"("
)";
  return config::parseConfig(text, "runtime_test.toml", ".");
}

HostRuntimeOptions noTaps() {
  HostRuntimeOptions options;
  options.bindTaps = false;
  options.startTimeout = std::chrono::seconds(10);
  return options;
}

std::string stateOf(HostRuntime& runtime, const std::string& device) {
  for (const auto& row : runtime.list())
    if (row.device == device) return row.state;
  return "missing";
}

std::vector<std::uint8_t> macBytes(std::initializer_list<int> bytes) {
  std::vector<std::uint8_t> out;
  for (int b : bytes) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

void expectCleanStop(HostRuntime& runtime) {
  const ShutdownResult result = runtime.stop();
  EXPECT_EQ(result.leakingDrivers, 0u);
  for (const auto& report : result.leakReports) EXPECT_NE(report.find("no leaks"), std::string::npos) << report;
  EXPECT_EQ(result.violations, 0u);
  for (const auto& v : result.violationTexts) ADD_FAILURE() << v;
  // usbncm and usbrndis were loaded and unloaded.
  EXPECT_GE(result.leakReports.size(), 2u);
}

}  // namespace

TEST(HostRuntime, NcmAndRndisAdaptersRunAndStopWithoutLeaks) {
  HostRuntime runtime(twoAdapters(), noTaps());
  runtime.start();
  const auto rows = runtime.list();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].device, "ncm0");
  EXPECT_EQ(rows[0].kind, "ncm");
  EXPECT_EQ(rows[0].driver, "usbncm");
  EXPECT_EQ(rows[0].state, "Running");
  EXPECT_EQ(rows[1].device, "rndis1");
  EXPECT_EQ(rows[1].driver, "usbrndis");
  EXPECT_EQ(rows[1].state, "Running");
  EXPECT_EQ(rows[0].link.rfind("up", 0), 0u) << rows[0].link;

  // The MAC each miniport reports is its device's.
  EXPECT_EQ(runtime.oidQuery("ncm0", OID_802_3_CURRENT_ADDRESS, 6), macBytes({0x02, 0, 0, 0x77, 0, 1}));
  EXPECT_EQ(runtime.oidQuery("rndis1", OID_802_3_CURRENT_ADDRESS, 6), macBytes({0x02, 0, 0, 0x77, 0, 2}));

  const auto stats = runtime.stats("");
  ASSERT_TRUE(stats.contains("ncm0"));
  ASSERT_TRUE(stats.contains("rndis1"));
  EXPECT_EQ(stats["ncm0"]["state"], "Running");
  EXPECT_GE(stats["ncm0"]["ndis"]["oid_requests"].get<std::uint64_t>(), 1u);
  EXPECT_TRUE(stats["rndis1"].contains("usb_device"));
  EXPECT_TRUE(stats["rndis1"].contains("far_side_port"));
  EXPECT_THROW(runtime.stats("nosuch"), ControlError);
  expectCleanStop(runtime);
  EXPECT_EQ(stateOf(runtime, "ncm0"), "stopped");
}

TEST(HostRuntime, RegistryKeywordsReachTheMiniport) {
  // NdisReadNetworkAddress reads the adapter's NetworkAddress keyword.
  HostRuntime runtime(twoAdapters("[device.registry]\nNetworkAddress = \"020000770099\"\n"), noTaps());
  runtime.start();
  EXPECT_EQ(runtime.oidQuery("ncm0", OID_802_3_CURRENT_ADDRESS, 6), macBytes({0x02, 0, 0, 0x77, 0, 0x99}));
  EXPECT_EQ(runtime.oidQuery("ncm0", OID_802_3_PERMANENT_ADDRESS, 6), macBytes({0x02, 0, 0, 0x77, 0, 1}));
  EXPECT_EQ(runtime.oidQuery("rndis1", OID_802_3_CURRENT_ADDRESS, 6), macBytes({0x02, 0, 0, 0x77, 0, 2}));
  expectCleanStop(runtime);
}

TEST(HostRuntime, UnplugAndPlugThroughHostControl) {
  HostRuntime runtime(twoAdapters(), noTaps());
  runtime.start();
  std::atomic<int> removals = 0;
  auto subscription = runtime.subscribe([&](const nlohmann::json& event) {
    const std::string text = event.value("text", "");
    if (text.find("surprise removal") != std::string::npos && event.value("device", "") == "ncm0") ++removals;
  });

  runtime.unplug("ncm0");
  EXPECT_EQ(stateOf(runtime, "ncm0"), "unplugged");
  EXPECT_EQ(stateOf(runtime, "rndis1"), "Running");  // the other adapter is unaffected
  EXPECT_THROW(runtime.oidQuery("ncm0", OID_802_3_CURRENT_ADDRESS, 6), ControlError);
  EXPECT_THROW(runtime.unplug("ncm0"), ControlError);
  EXPECT_GE(removals.load(), 1);

  runtime.plug("ncm0");
  ASSERT_TRUE(runtime.waitAdapterRunning("ncm0", std::chrono::seconds(10)));
  EXPECT_EQ(stateOf(runtime, "ncm0"), "Running");
  EXPECT_EQ(runtime.oidQuery("ncm0", OID_802_3_CURRENT_ADDRESS, 6), macBytes({0x02, 0, 0, 0x77, 0, 1}));
  EXPECT_THROW(runtime.plug("ncm0"), ControlError);
  EXPECT_THROW(runtime.unplug("nosuch"), ControlError);
  runtime.reset("ncm0");  // MiniportResetEx through NDIS; the adapter answers afterwards
  EXPECT_EQ(runtime.oidQuery("ncm0", OID_802_3_CURRENT_ADDRESS, 6), macBytes({0x02, 0, 0, 0x77, 0, 1}));
  EXPECT_THROW(runtime.reset("nosuch"), ControlError);
  subscription.reset();
  expectCleanStop(runtime);
}

TEST(HostRuntime, StartupFailureNamesTheDeviceAndTearsDown) {
  config::HostConfig config = twoAdapters();
  config.devices[1].farSide = "afpacket:hostrt-none0";
  config.devices[1].farSideSpec = ndishost::link::parseFramePortSpec(config.devices[1].farSide);
  HostRuntime runtime(config, noTaps());
  try {
    runtime.start();
    FAIL() << "started with a far side that does not exist";
  } catch (const StartupError& error) {
    EXPECT_NE(std::string(error.what()).find("rndis1"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("hostrt-none0"), std::string::npos) << error.what();
  }
  EXPECT_TRUE(runtime.stop().clean());
}
