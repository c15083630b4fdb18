// `ndishost up` as a user runs it: the binary spawned with the quick form, stopped with
// SIGTERM (clean pause/halt/unload, exit 0, "no leaks" reports), and configuration errors
// reported with file:line:column and exit status 1.
#include <gtest/gtest.h>

#include <csignal>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "spawned.hpp"

namespace {

using hostrt_test::Spawned;

std::vector<std::string> quickUp(const std::string& device) {
  return {"up", "--no-tap", "--no-control", "--device", device, "--far-side",
          "wire:hostrt-up-" + std::to_string(getpid()) + "-" + device};
}

void upThenSignal(const std::string& device, int signalNumber) {
  Spawned up(quickUp(device));
  ASSERT_TRUE(up.waitFor("SIGINT/SIGTERM stops", std::chrono::seconds(15))) << up.output();
  EXPECT_NE(up.output().find("adapter Running"), std::string::npos) << up.output();
  up.signal(signalNumber);
  EXPECT_EQ(up.finish(std::chrono::seconds(15)), 0) << up.output();
  EXPECT_NE(up.output().find("stopping"), std::string::npos) << up.output();
  const std::string driver = device == "rndis" ? "usbrndis: no leaks" : "usbncm: no leaks";
  EXPECT_NE(up.output().find(driver), std::string::npos) << up.output();
  EXPECT_NE(up.output().find("stopped (exit status 0)"), std::string::npos) << up.output();
}

}  // namespace

TEST(NdishostUp, SigtermStopsAnNcmAdapterCleanly) { upThenSignal("ncm", SIGTERM); }

TEST(NdishostUp, SigintStopsAnRndisAdapterCleanly) { upThenSignal("rndis", SIGINT); }

TEST(NdishostUp, ConfigErrorNamesFileLineAndKeyAndExitsOne) {
  const auto file = std::filesystem::temp_directory_path() / ("hostrt-bad-" + std::to_string(getpid()) + ".toml");
  {
    std::ofstream out(file);
    out << "[[device]]\nkind = \"ncn\"\nfar-side = \"wire:x\"\n";
  }
  Spawned up({"up", "--config", file.string()});
  EXPECT_EQ(up.finish(std::chrono::seconds(10)), 1) << up.output();
  EXPECT_NE(up.output().find(file.filename().string() + ":2:"), std::string::npos) << up.output();
  EXPECT_NE(up.output().find("kind"), std::string::npos) << up.output();
  std::filesystem::remove(file);
}

TEST(NdishostUp, QuickFormErrorExitsOne) {
  Spawned up({"up", "--device", "ncm", "--far-side", "wire:x", "--mac", "01:00:00:00:00:01"});
  EXPECT_EQ(up.finish(std::chrono::seconds(10)), 1) << up.output();
  EXPECT_NE(up.output().find("--mac"), std::string::npos) << up.output();
}

TEST(NdishostUp, MissingFarSideInterfaceIsAStartupFailure) {
  Spawned up({"up", "--no-tap", "--no-control", "--device", "ecm", "--far-side", "afpacket:hostrt-nope0"});
  EXPECT_EQ(up.finish(std::chrono::seconds(15)), 2) << up.output();
  EXPECT_NE(up.output().find("hostrt-nope0"), std::string::npos) << up.output();
}

// The control socket of a running `up`: list, an OID query, unplug and plug through the
// ndishost commands (control helper's CLI) served by this runtime's HostControl.
TEST(NdishostUp, ControlCommandsReachTheRunningHost) {
  const std::string socket =
      (std::filesystem::temp_directory_path() / ("hostrt-" + std::to_string(getpid()) + ".sock")).string();
  Spawned up({"up", "--no-tap", "--socket", socket, "--device", "ncm", "--far-side",
              "wire:hostrt-ctl-" + std::to_string(getpid()), "--mac", "02:00:00:77:01:01"});
  ASSERT_TRUE(up.waitFor("SIGINT/SIGTERM stops", std::chrono::seconds(15))) << up.output();

  auto command = [&](std::vector<std::string> args) {
    args.push_back("--socket");
    args.push_back(socket);
    Spawned c(args);
    const int status = c.finish(std::chrono::seconds(10));
    return std::make_pair(status, c.output());
  };
  auto [listStatus, list] = command({"list"});
  EXPECT_EQ(listStatus, 0) << list;
  EXPECT_NE(list.find("ncm0"), std::string::npos) << list;
  EXPECT_NE(list.find("Running"), std::string::npos) << list;

  auto [oidStatus, oid] = command({"oid", "query", "ncm0", "0x01010102"});
  EXPECT_EQ(oidStatus, 0) << oid;
  EXPECT_NE(oid.find("02"), std::string::npos) << oid;

  auto [unplugStatus, unplugged] = command({"unplug", "ncm0"});
  EXPECT_EQ(unplugStatus, 0) << unplugged;
  auto [list2Status, list2] = command({"list"});
  EXPECT_NE(list2.find("unplugged"), std::string::npos) << list2;
  auto [plugStatus, plugged] = command({"plug", "ncm0"});
  EXPECT_EQ(plugStatus, 0) << plugged;
  // MiniportResetEx through NDIS; the adapter still answers afterwards.
  auto [resetStatus, reset] = command({"reset", "ncm0"});
  EXPECT_EQ(resetStatus, 0) << reset;
  auto [statsStatus, stats] = command({"stats", "--json", "ncm0"});
  EXPECT_EQ(statsStatus, 0) << stats;
  EXPECT_NE(stats.find("\"resets\": 1,"), std::string::npos) << stats;

  up.signal(SIGTERM);
  EXPECT_EQ(up.finish(std::chrono::seconds(15)), 0) << up.output();
  EXPECT_FALSE(std::filesystem::exists(socket));
}
