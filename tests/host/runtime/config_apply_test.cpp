// The configuration's effect on a running host: [verification] reaches the rule checker,
// the NDIS time-outs reach the adapters, and each device's `lower` capture holds only its
// own URBs, cut to its snaplen.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "host/config/config_parser.hpp"
#include "host/runtime/host_runtime.hpp"
#include "ndis/miniport/adapter.hpp"
#include "ndis/traffic/adapter_traffic.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost;
using namespace ndishost::host;

namespace {

// Two devices on one in-process wire, no TAP; `extra` goes after each device's table
// (with {N} replaced by the device's index) and `tail` at the end of the file.
config::HostConfig twoAdapters(const std::string& perDevice, const std::string& tail = "") {
  const std::string wire = "hostcfg-" + std::to_string(getpid());
  std::string text;
  for (int index = 0; index < 2; ++index) {
    std::string extra = perDevice;
    for (std::size_t at; (at = extra.find("{N}")) != std::string::npos;) extra.replace(at, 3, std::to_string(index));
    text += std::string("[[device]]\nkind = \"") + (index == 0 ? "ncm" : "rndis") + "\"\nname = \"dev" + std::to_string(index) +
            "\"\nfar-side = \"wire:" + wire + "\"\n" + extra + "\n";
  }
  return config::parseConfig(text + tail, "config_apply_test.toml", ".");
}

HostRuntimeOptions noTaps() {
  HostRuntimeOptions options;
  options.bindTaps = false;
  options.startTimeout = std::chrono::seconds(10);
  options.defaultManifest = NDISHOST_USBNIC_MANIFEST;
  return options;
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("hostcfg-apply-" + std::to_string(getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

struct UsbmonRecord {
  std::uint32_t capturedLength = 0, originalLength = 0;
  std::uint8_t device = 0;  // usbmon header byte 11: the device address (the root hub port)
  std::uint16_t bus = 0;
};

struct Capture {
  std::uint32_t snapshotLength = 0, linkType = 0;
  std::vector<UsbmonRecord> records;
};

std::uint32_t little(const std::vector<unsigned char>& bytes, std::size_t at, int size) {
  std::uint32_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | bytes[at + static_cast<std::size_t>(i)];
  return value;
}

Capture readCapture(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Capture capture;
  if (bytes.size() < 24) return capture;
  capture.snapshotLength = little(bytes, 16, 4);
  capture.linkType = little(bytes, 20, 4);
  for (std::size_t offset = 24; offset + 16 <= bytes.size();) {
    UsbmonRecord record;
    record.capturedLength = little(bytes, offset + 8, 4);
    record.originalLength = little(bytes, offset + 12, 4);
    const std::size_t data = offset + 16;
    if (data + record.capturedLength > bytes.size() || record.capturedLength < 64) {
      ADD_FAILURE() << file << ": record at " << offset << " is cut off or shorter than a usbmon header";
      break;
    }
    record.device = bytes[data + 11];
    record.bus = static_cast<std::uint16_t>(little(bytes, data + 12, 2));
    capture.records.push_back(record);
    offset = data + record.capturedLength;
  }
  return capture;
}

std::set<std::uint8_t> devicesIn(const Capture& capture) {
  std::set<std::uint8_t> devices;
  for (const auto& record : capture.records) devices.insert(record.device);
  return devices;
}

}  // namespace

TEST(ConfigApplied, VerificationPolicyHoldsWhileTheRuntimeRuns) {
  ASSERT_TRUE(nt::ruleChecked("irp.complete-twice"));
  {
    HostRuntime runtime(twoAdapters("", "[verification]\ndisable = [\"irp.complete-twice\", \"ndis.state\"]\n"), noTaps());
    runtime.start();
    EXPECT_FALSE(nt::ruleChecked("irp.complete-twice"));
    EXPECT_FALSE(nt::ruleChecked("ndis.state"));
    EXPECT_TRUE(nt::ruleChecked("irql.too-high"));
    // Not reported, only counted (the runtime records reports: fatal = false).
    const std::uint64_t before = nt::suppressedViolationCount("irp.complete-twice");
    nt::reportViolation({"irp.complete-twice", nt::bugcheck::MultipleIrpCompleteRequests}, nullptr, "suppressed");
    EXPECT_EQ(nt::suppressedViolationCount("irp.complete-twice"), before + 1);
    const ShutdownResult result = runtime.stop();
    EXPECT_EQ(result.violations, 0u);
    for (const auto& text : result.violationTexts) ADD_FAILURE() << text;
  }
  EXPECT_TRUE(nt::ruleChecked("irp.complete-twice"));
  EXPECT_TRUE(nt::ruleChecked("ndis.state"));

  {
    HostRuntime runtime(twoAdapters("", "[verification]\nenabled = false\n"), noTaps());
    runtime.start();
    EXPECT_FALSE(nt::violationPolicy().enabled);
    EXPECT_FALSE(nt::ruleChecked("irql.too-high"));
    nt::reportViolation({"pool.double-free", nt::bugcheck::BadPoolCaller}, nullptr, "suppressed");
    EXPECT_EQ(runtime.stop().violations, 0u);
  }
  EXPECT_TRUE(nt::violationPolicy().enabled);

  // Checked rules are still recorded and counted.
  {
    HostRuntime runtime(twoAdapters("", "[verification]\ndisable = [\"ndis.state\"]\n"), noTaps());
    runtime.start();
    nt::reportViolation({"irp.complete-twice", nt::bugcheck::MultipleIrpCompleteRequests}, nullptr, "reported");
    const ShutdownResult result = runtime.stop();
    EXPECT_EQ(result.violations, 1u);
  }
}

TEST(ConfigApplied, EachDeviceLowerCaptureHoldsOnlyItsOwnUrbs) {
  TempDir dir;
  const std::string captures =
      "capture = { lower = \"" + (dir.path / "usb{N}.pcap").string() + "\" }\n";
  HostRuntime runtime(twoAdapters(captures, "[capture]\nsnaplen = 96\n"), noTaps());
  runtime.start();
  runtime.stop();

  const Capture first = readCapture(dir.path / "usb0.pcap");
  const Capture second = readCapture(dir.path / "usb1.pcap");
  for (const Capture* capture : {&first, &second}) {
    EXPECT_EQ(capture->linkType, 220u);  // LINKTYPE_USB_LINUX_MMAPPED
    EXPECT_EQ(capture->snapshotLength, 96u);
    // Enumeration, configuration, OIDs / control messages, the bulk and interrupt IN URBs.
    EXPECT_GT(capture->records.size(), 10u);
    bool truncated = false;
    for (const auto& record : capture->records) {
      EXPECT_LE(record.capturedLength, 96u);
      EXPECT_EQ(record.bus, 1u);
      truncated = truncated || record.originalLength > record.capturedLength;
    }
    // The configuration descriptors are longer than 32 bytes: cut, original length kept.
    EXPECT_TRUE(truncated);
  }
  const auto firstDevices = devicesIn(first), secondDevices = devicesIn(second);
  ASSERT_EQ(firstDevices.size(), 1u) << "usb0.pcap holds URBs of several devices";
  ASSERT_EQ(secondDevices.size(), 1u) << "usb1.pcap holds URBs of several devices";
  EXPECT_NE(*firstDevices.begin(), *secondDevices.begin());

  // Where tshark is installed, it reads both files and sees one device address in each.
  if (std::system("tshark -v > /dev/null 2>&1") == 0) {
    for (const char* name : {"usb0.pcap", "usb1.pcap"}) {
      const std::string command = "tshark -n -r '" + (dir.path / name).string() +
                                  "' -T fields -e usb.device_address 2>/dev/null | sort -u | wc -l";
      FILE* pipe = popen(command.c_str(), "r");
      ASSERT_NE(pipe, nullptr);
      char line[64] = {};
      ASSERT_NE(fgets(line, sizeof line, pipe), nullptr);
      pclose(pipe);
      EXPECT_EQ(std::atoi(line), 1) << name;
    }
  }
}

TEST(ConfigApplied, DevicesSharingALowerFileShareOneCapture) {
  TempDir dir;
  HostRuntime runtime(twoAdapters("capture = { lower = \"" + (dir.path / "usb.pcap").string() + "\" }\n"), noTaps());
  runtime.start();
  runtime.stop();
  const Capture both = readCapture(dir.path / "usb.pcap");
  EXPECT_EQ(both.snapshotLength, 262144u);
  EXPECT_EQ(devicesIn(both).size(), 2u);
  for (const auto& record : both.records) EXPECT_EQ(record.capturedLength, record.originalLength);
}

// [ndis] time-outs are the adapters' hang detection options once they run.
TEST(ConfigApplied, NdisTimeoutsReachTheAdapters) {
  HostRuntime runtime(twoAdapters("", "[ndis]\nhalt-timeout-ms = 1234\npause-timeout-ms = 4321\noid-timeout-ms = 3000\n"
                                      "check-for-hang-ms = 1000\n"),
                      noTaps());
  runtime.start();
  std::size_t seen = 0;
  for (const auto& info : ndis::adapters()) {
    if (info.surpriseRemoved) continue;
    const ndis::HangDetectionOptions options = ndis::Adapter::fromHandle(info.handle)->traffic().hangDetectionOptions();
    EXPECT_EQ(options.haltReportMs, 1234u);
    EXPECT_EQ(options.pauseDrainMs, 4321u);
    EXPECT_EQ(options.periodOverrideMs, 1000u);
    EXPECT_EQ(options.oidChecks, 3u);
    ++seen;
  }
  EXPECT_EQ(seen, 2u);
  EXPECT_EQ(runtime.stop().violations, 0u);
}
