// The control commands as a user runs them: output, messages and exit statuses.
#include <sys/wait.h>

#include <cstdio>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "fake_host_control.hpp"
#include "host/control/control_cli.hpp"
#include "host/control/control_server.hpp"

namespace ndishost::host {
namespace {

using test::FakeHostControl;
using test::TempDir;
using test::waitUntil;

struct CliResult {
  int status = 0;
  std::string out;
  std::string err;
};

// Parses `args` as `ndishost <args>` with the control commands, like main's CLI11_PARSE.
CliResult runCli(std::vector<std::string> args) {
  std::ostringstream out, err;
  CLI::App app{"ndishost", "ndishost"};
  app.require_subcommand(1);
  addControlCommands(app, out, err);
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
  CliResult result;
  try {
    app.parse(args);
  } catch (const CLI::ParseError& error) {
    result.status = app.exit(error, out, err);
  }
  result.out = out.str();
  result.err = err.str();
  return result;
}

class ControlCliTest : public ::testing::Test {
 protected:
  TempDir dir;
  FakeHostControl host;
  std::filesystem::path socket = dir / "control.sock";
  ControlServer server{host, socket};

  CliResult run(std::vector<std::string> args) {
    args.push_back("--socket");
    args.push_back(socket.string());
    return runCli(std::move(args));
  }
};

TEST_F(ControlCliTest, ListPrintsATable) {
  const auto r = run({"list"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("DEVICE  KIND   DRIVER    STATE    LINK       TAP    FAR SIDE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ncm0    ncm    usbncm    Running  up 1 Gbps  ndis0  wire:lab"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rndis0  rndis  usbrndis  Paused   down       ndis1  afpacket:veth1"), std::string::npos) << r.out;
}

TEST_F(ControlCliTest, ListJson) {
  const auto r = run({"list", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].value("driver", ""), "usbrndis");
}

TEST_F(ControlCliTest, Stats) {
  auto r = run({"stats"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ncm0:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  ndis.receivedFrames  20"), std::string::npos) << r.out;
  r = run({"stats", "--json", "rndis0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["driver"]["name"], "usbrndis");
  r = run({"stats", "ncm9"});
  EXPECT_EQ(r.status, kExitRequestFailed);
  EXPECT_EQ(r.err, "ndishost stats: error: no adapter named ncm9\n");
}

TEST_F(ControlCliTest, OidQueryByNameAndByValue) {
  host.setOid(0x00010107, {0x40, 0x42, 0x0f, 0x00});
  auto r = run({"oid", "query", "ncm0", "OID_GEN_LINK_SPEED", "--length", "4"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(host.lastQuery(), (std::pair<std::uint32_t, std::size_t>{0x00010107, 4}));
  EXPECT_NE(r.out.find("ncm0 OID_GEN_LINK_SPEED (0x00010107): 4 bytes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("40 42 0f 00"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("= 1000000"), std::string::npos) << r.out;

  host.setOid(0x01010102, {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30});
  r = run({"oid", "query", "ncm0", "802_3_current_address"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("= 02:00:5e:10:20:30"), std::string::npos) << r.out;
  EXPECT_EQ(host.lastQuery().second, 256u);  // the default buffer

  r = run({"oid", "query", "ncm0", "0x01010102", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.value("name", ""), "OID_802_3_CURRENT_ADDRESS");
  EXPECT_EQ(j.value("data", ""), "02005e102030");
}

TEST_F(ControlCliTest, OidSet) {
  const auto r = run({"oid", "set", "ncm0", "OID_GEN_CURRENT_PACKET_FILTER", "0b 00 00 00"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(host.oidValue(0x0001010E), (std::vector<std::uint8_t>{0x0b, 0, 0, 0}));
  EXPECT_NE(r.out.find("ncm0: OID_GEN_CURRENT_PACKET_FILTER (0x0001010e) set (4 bytes)"), std::string::npos) << r.out;
}

TEST_F(ControlCliTest, OidErrors) {
  auto r = run({"oid", "query", "ncm0", "OID_NO_SUCH_THING"});
  EXPECT_EQ(r.status, kExitBadInput);
  EXPECT_NE(r.err.find("unknown OID \"OID_NO_SUCH_THING\""), std::string::npos) << r.err;
  EXPECT_EQ(host.calls(), 0);
  r = run({"oid", "set", "ncm0", "OID_GEN_CURRENT_PACKET_FILTER", "0g"});
  EXPECT_EQ(r.status, kExitBadInput);
  EXPECT_NE(r.err.find("bad hex bytes"), std::string::npos) << r.err;
  r = run({"oid", "query", "ncm0", "OID_GEN_VENDOR_ID"});  // the fake does not support it
  EXPECT_EQ(r.status, kExitRequestFailed);
  EXPECT_NE(r.err.find("NDIS_STATUS_NOT_SUPPORTED"), std::string::npos) << r.err;
  r = run({"oid", "query", "ncm0"});  // missing argument: CLI11's own status
  EXPECT_GE(r.status, 100);
}

TEST_F(ControlCliTest, OidNamesNeedsNoServer) {
  const auto r = runCli({"oid", "names"});
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("0x00010107  OID_GEN_LINK_SPEED\n"), std::string::npos);
  EXPECT_NE(r.out.find("0x01010102  OID_802_3_CURRENT_ADDRESS\n"), std::string::npos);
  EXPECT_NE(r.out.find("0xfd010101  OID_PNP_SET_POWER\n"), std::string::npos);
}

TEST_F(ControlCliTest, DeviceActions) {
  auto r = run({"unplug", "ncm0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ncm0: unplugged (surprise removal)\n");
  EXPECT_EQ(host.state("ncm0"), "unplugged");
  EXPECT_EQ(run({"plug", "ncm0"}).status, 0);
  EXPECT_EQ(host.state("ncm0"), "Running");
  EXPECT_EQ(run({"suspend", "ncm0"}).status, 0);
  EXPECT_EQ(host.state("ncm0"), "Paused (D3)");
  EXPECT_EQ(run({"resume", "ncm0"}).status, 0);
  EXPECT_EQ(host.state("ncm0"), "Running");
  r = run({"reset", "rndis0"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("rndis0: reset complete"), std::string::npos);
  EXPECT_EQ(host.resetCount(), 1);
  r = run({"hang", "ncm0"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "ncm0: stopped answering (NDIS will detect it and reset the adapter)\n");
  EXPECT_EQ(host.state("ncm0"), "hung");
}

TEST_F(ControlCliTest, LinkDownAndUp) {
  auto r = run({"link", "ncm0", "down"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ncm0: link down\n");
  EXPECT_EQ(host.link("ncm0"), "down");
  r = run({"link", "ncm0", "up"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ncm0: link up\n");
  EXPECT_EQ(host.link("ncm0"), "up 1 Gbps");
  // Anything but up/down is a syntax error found before asking ndishost.
  r = run({"link", "ncm0", "sideways"});
  EXPECT_GE(r.status, 105) << r.err;
  EXPECT_LE(r.status, 115) << r.err;
  EXPECT_EQ(host.link("ncm0"), "up 1 Gbps");
  r = run({"link", "ncm9", "down"});
  EXPECT_EQ(r.status, kExitRequestFailed);
  EXPECT_EQ(r.err, "ndishost link: error: no adapter named ncm9\n");
}

TEST(ControlCliSlowAction, SaysItIsWorkingWhenAnActionTakesLong) {
  TempDir dir;
  FakeHostControl host;
  host.resetDuration = std::chrono::milliseconds(1300);
  ControlServer server(host, dir / "control.sock");
  const auto r = runCli({"reset", "ncm0", "--socket", (dir / "control.sock").string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "ncm0: reset in progress...\n");
  EXPECT_EQ(r.out, "ncm0: reset complete\n");
}

TEST_F(ControlCliTest, UnknownDeviceFailsWithTheServersMessage) {
  for (const char* command : {"unplug", "plug", "reset", "suspend", "resume", "hang"}) {
    const auto r = run({command, "ncm9"});
    EXPECT_EQ(r.status, kExitRequestFailed) << command;
    EXPECT_EQ(r.err, std::string("ndishost ") + command + ": error: no adapter named ncm9\n");
  }
}

TEST_F(ControlCliTest, NotRunning) {
  const auto absent = (dir / "nobody.sock").string();
  for (const char* command : {"list", "stats"}) {
    const auto r = runCli({command, "--socket", absent});
    EXPECT_EQ(r.status, kExitNotReachable);
    EXPECT_EQ(r.err, std::string("ndishost ") + command + ": ndishost is not running (no socket at " + absent + ")\n");
  }
}

TEST_F(ControlCliTest, TracePrintsEventsAndStopsAfterCount) {
  CliResult result;
  std::thread tracer([&] { result = run({"trace", "--count", "3"}); });
  ASSERT_TRUE(waitUntil([&] { return host.subscribers() == 1; }));
  host.emit({{"time_ms", 1795461601123}, {"category", "ndis"}, {"source", "ncm0"}, {"text", "Paused -> Running (restart)"}});
  host.emit({{"category", "ndis"}, {"source", "ncm0"}, {"text", "MiniportOidRequest(type 0, OID 0x00010107)"}});
  host.emit({{"category", "ndis"}, {"source", "rndis0"}, {"text", "MiniportResetEx"}});
  tracer.join();
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.out.find("19:20:01.123  ncm0         state    Paused -> Running (restart)"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("ncm0         oid      MiniportOidRequest"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("rndis0       reset    MiniportResetEx"), std::string::npos) << result.out;
  EXPECT_TRUE(waitUntil([&] { return host.subscribers() == 0; }));
}

TEST_F(ControlCliTest, TraceJsonIsAnEventLog) {
  CliResult result;
  std::thread tracer([&] { result = run({"trace", "--json", "--count", "1"}); });
  ASSERT_TRUE(waitUntil([&] { return host.subscribers() == 1; }));
  host.emit({{"device", "ncm0"}, {"kind", "removal"}, {"summary", "unplugged"}});
  tracer.join();
  ASSERT_EQ(result.status, 0) << result.err;
  const auto record = nlohmann::json::parse(result.out);
  EXPECT_EQ(record.value("kind", ""), "removal");
  EXPECT_EQ(record.value("device", ""), "ncm0");
  EXPECT_TRUE(record.contains("time"));
}

TEST(ControlCliEndsWhenTheServerStops, TraceExitsWithNotReachable) {
  TempDir dir;
  FakeHostControl host;
  const auto socket = dir / "control.sock";
  auto server = std::make_unique<ControlServer>(host, socket);
  CliResult result;
  std::thread tracer([&] { result = runCli({"trace", "--socket", socket.string()}); });
  ASSERT_TRUE(waitUntil([&] { return host.subscribers() == 1; }));
  server.reset();
  tracer.join();
  EXPECT_EQ(result.status, kExitNotReachable);
  EXPECT_NE(result.err.find("ndishost stopped"), std::string::npos) << result.err;
}

// The real process: CLI11_PARSE turns the callbacks' CLI::RuntimeError into the exit status.
int runProcess(const std::string& arguments, std::string* output = nullptr) {
  const std::string command = std::string(CONTROL_CLI_HOST) + " " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::string text;
  while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, got);
  const int status = ::pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(ControlCliTest, ProcessExitStatuses) {
  const std::string socketOption = " --socket " + socket.string();
  std::string output;
  EXPECT_EQ(runProcess("list" + socketOption, &output), 0) << output;
  EXPECT_NE(output.find("ncm0"), std::string::npos);
  EXPECT_EQ(runProcess("unplug ncm9" + socketOption, &output), 1) << output;
  EXPECT_EQ(output, "ndishost unplug: error: no adapter named ncm9\n");
  EXPECT_EQ(runProcess("oid query ncm0 OID_BOGUS" + socketOption), 2);
  EXPECT_EQ(runProcess("list --socket " + (dir / "none.sock").string(), &output), 3);
  EXPECT_NE(output.find("ndishost is not running"), std::string::npos);
  EXPECT_GE(runProcess("unplug" + socketOption), 100);  // missing device: CLI11 usage error
  EXPECT_EQ(runProcess("unplug --help", &output), 0);
  EXPECT_NE(output.find("Exit status:"), std::string::npos) << output;
}

}  // namespace
}  // namespace ndishost::host
