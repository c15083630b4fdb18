#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <fstream>

#include "host/config/config_parser.hpp"
#include "host/config/quick_config.hpp"

namespace ndishost::host::config {
namespace {

constexpr const char* kGood = R"(# two adapters on a wire
[[driver]]
path = "drivers/usbncm.sys"
hardware-ids = ['USB\VID_0525&PID_A4A2']
compatible-ids = ['USB\Class_02&SubClass_0D&Prot_00']

[[driver]]
name = "rndis"
path = "/opt/rndis.sys"
compatible-ids = ['USB\Class_E0&SubClass_01&Prot_03']

[[device]]
kind = "ncm"
mac = "02:00:00:00:00:01"
speed-mbps = 2500
max-transfer-in = 32768
far-side = "wire:lab"
tap = "ndis0"
tap-namespace = "left"
capture = { upper = "ncm-eth.pcap", lower = "/tmp/ncm-usb.pcap" }
registry = { NetworkAddress = "020000000009", MaxMulticastList = 32, Signed = -1, Blob = { binary = "00 11 AA ff" } }

[[device]]
name = "right"
kind = "rndis"
far-side = "wire:lab"

[ndis]
oid-timeout-ms = 2000
halt-timeout-ms = 500

[verification]
fatal = true
disable = ["irql.too-high"]
)";

HostConfig parse(const std::string& text) { return parseConfig(text, "test.toml", "/etc/ndishost"); }

std::string errorOf(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(HostConfig, ParsesAGoodFile) {
  const HostConfig config = parse(kGood);
  EXPECT_EQ(config.source, "test.toml");
  ASSERT_EQ(config.drivers.size(), 2u);
  EXPECT_EQ(config.drivers[0].name, "usbncm");
  EXPECT_EQ(config.drivers[0].path, "/etc/ndishost/drivers/usbncm.sys");
  EXPECT_EQ(config.drivers[0].hardwareIds, std::vector<std::string>{"USB\\VID_0525&PID_A4A2"});
  EXPECT_EQ(config.drivers[0].compatibleIds, std::vector<std::string>{"USB\\Class_02&SubClass_0D&Prot_00"});
  EXPECT_EQ(config.drivers[0].where.line, 2u);
  EXPECT_EQ(config.drivers[1].name, "rndis");
  EXPECT_EQ(config.drivers[1].path, "/opt/rndis.sys");

  ASSERT_EQ(config.devices.size(), 2u);
  const DeviceConfig& ncm = config.devices[0];
  EXPECT_EQ(ncm.name, "ncm0");
  EXPECT_EQ(ncm.kind, DeviceKind::Ncm);
  EXPECT_EQ(formatMac(ncm.mac), "02:00:00:00:00:01");
  EXPECT_EQ(ncm.speedBitsPerSecond, 2'500'000'000u);
  EXPECT_EQ(ncm.maxTransferIn, 32768u);
  EXPECT_EQ(ncm.maxTransferOut, 16384u);
  EXPECT_EQ(std::get<link::WireSpec>(ncm.farSideSpec).name, "lab");
  EXPECT_EQ(ncm.tap, "ndis0");
  EXPECT_EQ(ncm.tapNamespace, "left");
  EXPECT_EQ(ncm.capture.upperEdge, "/etc/ndishost/ncm-eth.pcap");
  EXPECT_EQ(ncm.capture.lowerEdge, "/tmp/ncm-usb.pcap");
  ASSERT_EQ(ncm.registry.size(), 4u);
  auto keyword = [&](const std::string& name) -> const RegistryValue& {
    for (const auto& value : ncm.registry)
      if (value.keyword == name) return value;
    throw std::runtime_error("no keyword " + name);
  };
  EXPECT_EQ(std::get<std::string>(keyword("NetworkAddress").value), "020000000009");
  EXPECT_EQ(std::get<std::uint32_t>(keyword("MaxMulticastList").value), 32u);
  EXPECT_EQ(std::get<std::uint32_t>(keyword("Signed").value), 0xffffffffu);
  EXPECT_EQ(std::get<std::vector<std::uint8_t>>(keyword("Blob").value), (std::vector<std::uint8_t>{0x00, 0x11, 0xaa, 0xff}));

  const DeviceConfig& rndis = config.devices[1];
  EXPECT_EQ(rndis.name, "right");
  EXPECT_EQ(rndis.kind, DeviceKind::Rndis);
  EXPECT_EQ(rndis.mac, defaultMacAddress(1));
  EXPECT_EQ(rndis.tap, "ndis1");
  EXPECT_EQ(rndis.speedBitsPerSecond, 1'000'000'000u);

  EXPECT_EQ(config.timeouts.oidRequest, std::chrono::milliseconds(2000));
  EXPECT_EQ(config.timeouts.halt, std::chrono::milliseconds(500));
  EXPECT_EQ(config.timeouts.pause, std::chrono::milliseconds(10000));
  EXPECT_TRUE(config.verification.enabled);
  EXPECT_TRUE(config.verification.fatal);
  EXPECT_EQ(config.verification.disabledRules, std::vector<std::string>{"irql.too-high"});
}

TEST(HostConfig, LoadsAFileAndNamesItInErrors) {
  const std::string path = ::testing::TempDir() + "hosttap-config-test.toml";
  {
    std::ofstream file(path);
    file << "[[device]]\nkind = \"ecm\"\nfar-side = \"afpacket:veth1\"\n";
  }
  const HostConfig config = loadConfigFile(path);
  EXPECT_EQ(config.devices.at(0).kind, DeviceKind::Ecm);
  EXPECT_EQ(std::get<link::AfPacketSpec>(config.devices[0].farSideSpec).interfaceName, "veth1");
  {
    std::ofstream file(path);
    file << "[[device]]\nkind = \"ecm\"\nfar-side = 7\n";
  }
  try {
    loadConfigFile(path);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), path + ":3:12: device[0].far-side: expected a string, found integer 7");
  }
  std::remove(path.c_str());
  try {
    loadConfigFile(path);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), path + ": cannot open the configuration file");
  }
}

TEST(HostConfig, ErrorsNameFileLineKeyAndValue) {
  const std::string device = "[[device]]\nfar-side = \"wire:x\"\n";
  EXPECT_EQ(errorOf(device + "kind = \"ncn\"\n"),
            "test.toml:3:8: device[0].kind: \"ncn\" is not a device kind (expected ncm, ecm or rndis)");
  EXPECT_EQ(errorOf("[[device]]\nkind = \"ncm\"\n"), "test.toml:1:1: device[0].far-side: missing (required)");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\nmac = \"01:00:5e:00:00:01\"\n"),
            "test.toml:4:7: device[0].mac: \"01:00:5e:00:00:01\" is a multicast address; a NIC needs a unicast one");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\nmac = \"02:00:00:00:00\"\n"),
            "test.toml:4:7: device[0].mac: \"02:00:00:00:00\" is not a MAC address (write 02:00:00:00:00:01)");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\nspeed-mbps = 0\n"),
            "test.toml:4:14: device[0].speed-mbps: 0 is out of range (1 to 400000)");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\nspeed-mbps = \"fast\"\n"),
            "test.toml:4:14: device[0].speed-mbps: expected an integer, found string \"fast\"");
  EXPECT_EQ(errorOf("[[device]]\nkind = \"ncm\"\nfar-side = \"carrier-pigeon:x\"\n"),
            "test.toml:3:12: device[0].far-side: link spec 'carrier-pigeon:x': unknown kind of link (expected wire:, afpacket: or udp:)");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\ntap = \"much-too-long-name\"\n"),
            "test.toml:4:7: device[0].tap: \"much-too-long-name\" is not an interface name (1 to 15 characters, no '/', ':' or spaces)");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\nregistry = { Big = 4294967296 }\n"),
            "test.toml:4:20: device[0].registry.Big: 4294967296 does not fit in 32 bits");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\nregistry = { Blob = { binary = \"0g\" } }\n"),
            "test.toml:4:32: device[0].registry.Blob: \"0g\" is not hexadecimal bytes");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\nregistry = { Speed = 1, speed = 2 }\n"),
            "test.toml:4:25: device[0].registry.speed: duplicate of keyword 'Speed' (keywords are case-insensitive)");
  EXPECT_EQ(errorOf(device + "kind = \"ncm\"\n" + device + "kind = \"ecm\"\ntap = \"ndis0\"\n"),
            "test.toml:4:1: device[1].tap: TAP name 'ndis0' is already used by device 'ncm0'");
  EXPECT_EQ(errorOf("[[driver]]\npath = \"x.sys\"\n[[device]]\nkind = \"ncm\"\nfar-side = \"wire:a\"\n"),
            "test.toml:1:1: driver[0]: a driver needs hardware-ids or compatible-ids (which devices it serves)");
  EXPECT_EQ(errorOf("[driver]\npath = \"x.sys\"\n"),
            "test.toml:1:1: driver: expected [[driver]] tables, found table");
  EXPECT_EQ(errorOf("[ndis]\noid-timeout-ms = 2000\n"), "test.toml: device: no [[device]] configured");
  EXPECT_EQ(errorOf("[[device]\nkind = 1\n"), "test.toml:1:10: TOML syntax: Error while parsing table header: expected ']', saw '\\n'");
}

TEST(HostConfig, UnknownKeysAreRejectedWithASuggestion) {
  const std::string device = "[[device]]\nkind = \"ncm\"\nfar-side = \"wire:x\"\n";
  EXPECT_EQ(errorOf(device + "max_transfer_in = 4096\n"),
            "test.toml:4:1: device[0].max_transfer_in: unknown key (did you mean 'max-transfer-in'?)");
  EXPECT_EQ(errorOf(device + "farside = \"wire:y\"\n"), "test.toml:4:1: device[0].farside: unknown key (did you mean 'far-side'?)");
  EXPECT_EQ(errorOf(device + "colour = \"blue\"\n"), "test.toml:4:1: device[0].colour: unknown key");
  EXPECT_EQ(errorOf(device + "[ndis]\noid-timeout = 5\n"), "test.toml:5:1: ndis.oid-timeout: unknown key (did you mean 'oid-timeout-ms'?)");
  EXPECT_EQ(errorOf(device + "[devices]\n"), "test.toml:4:2: devices: unknown key (did you mean 'device'?)");
  EXPECT_EQ(errorOf(device + "capture = { uper = \"a.pcap\" }\n"),
            "test.toml:4:13: device[0].capture.uper: unknown key (did you mean 'upper'?)");
}

TEST(HostConfig, QuickFormGivesTheSameStructsAsAFile) {
  QuickOptions options;
  CLI::App app;
  addQuickOptions(app, options);
  const char* argv[] = {"up", "--device", "rndis", "--far-side", "afpacket:lab/veth1", "--tap", "ndis7", "--mac", "02:00:00:00:00:07"};
  app.parse(static_cast<int>(std::size(argv)), argv);
  const HostConfig quick = quickConfig(options);

  const HostConfig file = parse("[[device]]\nkind = \"rndis\"\nfar-side = \"afpacket:lab/veth1\"\ntap = \"ndis7\"\nmac = \"02:00:00:00:00:07\"\n");
  ASSERT_EQ(quick.devices.size(), 1u);
  const DeviceConfig& a = quick.devices[0];
  const DeviceConfig& b = file.devices[0];
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.mac, b.mac);
  EXPECT_EQ(a.speedBitsPerSecond, b.speedBitsPerSecond);
  EXPECT_EQ(a.maxTransferIn, b.maxTransferIn);
  EXPECT_EQ(a.maxTransferOut, b.maxTransferOut);
  EXPECT_EQ(a.maxSegmentSize, b.maxSegmentSize);
  EXPECT_EQ(a.farSide, b.farSide);
  EXPECT_EQ(std::get<link::AfPacketSpec>(a.farSideSpec).networkNamespace, "lab");
  EXPECT_EQ(std::get<link::AfPacketSpec>(a.farSideSpec).interfaceName, std::get<link::AfPacketSpec>(b.farSideSpec).interfaceName);
  EXPECT_EQ(a.tap, b.tap);
  EXPECT_EQ(quick.timeouts.oidRequest, file.timeouts.oidRequest);
  EXPECT_EQ(quick.verification.enabled, file.verification.enabled);
  EXPECT_EQ(quick.source, "command line");
}

TEST(HostConfig, QuickFormErrorsNameTheOption) {
  auto errorOfQuick = [](std::string device, std::string farSide, std::string tap = "ndis0", std::string mac = "") {
    QuickOptions options;
    options.device = device;
    options.farSide = farSide;
    options.tap = tap;
    options.mac = mac;
    try {
      quickConfig(options);
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(errorOfQuick("ncm", ""), "command line: --far-side: missing (required)");
  EXPECT_EQ(errorOfQuick("usb", "wire:a"),
            "command line: --device: \"usb\" is not a device kind (expected ncm, ecm or rndis)");
  EXPECT_EQ(errorOfQuick("ncm", "wire:a", ""),
            "command line: --tap: \"\" is not an interface name (1 to 15 characters, no '/', ':' or spaces)");
  EXPECT_EQ(errorOfQuick("ncm", "wire:a", "ndis0", "ff:ff:ff:ff:ff:ff"),
            "command line: --mac: \"ff:ff:ff:ff:ff:ff\" is a multicast address; a NIC needs a unicast one");
}

TEST(HostConfig, SuggestsOnlyNearKeys) {
  const std::string_view known[] = {"kind", "mac", "far-side"};
  EXPECT_EQ(suggestKey("knd", known), "kind");
  EXPECT_EQ(suggestKey("FAR_SIDE", known), "far-side");
  EXPECT_EQ(suggestKey("zzzzzz", known), "");
}

// max-segment-size (jumbo frames): default 1514, 9014 accepted, outside 1514..9014 refused,
// the quick form's --max-segment-size gives the same value.
TEST(HostConfig, MaxSegmentSize) {
  const std::string device = "[[device]]\nkind = \"ncm\"\nfar-side = \"wire:x\"\n";
  EXPECT_EQ(parse(device).devices[0].maxSegmentSize, 1514u);
  EXPECT_EQ(parse(device + "max-segment-size = 9014\n").devices[0].maxSegmentSize, 9014u);
  EXPECT_EQ(errorOf(device + "max-segment-size = 9015\n"),
            "test.toml:4:20: device[0].max-segment-size: 9015 is out of range (1514 to 9014)");
  EXPECT_EQ(errorOf(device + "max-segment-size = 1500\n"),
            "test.toml:4:20: device[0].max-segment-size: 1500 is out of range (1514 to 9014)");

  QuickOptions options;
  CLI::App app;
  addQuickOptions(app, options);
  const char* argv[] = {"up", "--far-side", "wire:x", "--max-segment-size", "9014"};
  app.parse(static_cast<int>(std::size(argv)), argv);
  EXPECT_EQ(quickConfig(options).devices[0].maxSegmentSize, 9014u);
  options.maxSegmentSize = 9100;
  try {
    quickConfig(options);
    ADD_FAILURE() << "9100 accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), "command line: --max-segment-size: 9100 is out of range (1514 to 9014)");
  }
  QuickOptions defaults;
  defaults.farSide = "wire:x";
  EXPECT_EQ(quickConfig(defaults).devices[0].maxSegmentSize, 1514u);
}

// A jumbo segment must fit one USB transfer each way; standard segments keep small transfers.
TEST(HostConfig, JumboSegmentNeedsTransfersThatHoldIt) {
  const std::string device = "[[device]]\nkind = \"rndis\"\nfar-side = \"wire:x\"\n";
  EXPECT_NE(errorOf(device + "max-segment-size = 9014\nmax-transfer-in = 9000\n")
                .find("device[0].max-transfer-in: 9000 is too small for max-segment-size 9014 (needs at least 9142)"),
            std::string::npos);
  EXPECT_NE(errorOf(device + "max-segment-size = 9014\nmax-transfer-out = 9141\n").find("device[0].max-transfer-out: 9141"),
            std::string::npos);
  EXPECT_EQ(parse(device + "max-segment-size = 9014\nmax-transfer-in = 9142\nmax-transfer-out = 9142\n").devices[0].maxTransferIn,
            9142u);
  EXPECT_EQ(parse(device + "max-transfer-in = 2048\n").devices[0].maxTransferIn, 2048u);
}

TEST(HostConfig, DisabledRulesMustBeRuleNames) {
  const std::string device = "[[device]]\nkind = \"ncm\"\nfar-side = \"wire:x\"\n";
  const HostConfig config = parse(device + "[verification]\nenabled = false\nleak-check = false\ndisable = [\"irp.complete-twice\", \"ndis.state\"]\n");
  EXPECT_FALSE(config.verification.enabled);
  EXPECT_FALSE(config.verification.leakCheck);
  EXPECT_EQ(config.verification.disabledRules, (std::vector<std::string>{"irp.complete-twice", "ndis.state"}));
  // The error names the file, the line and column of the bad element, and the value.
  EXPECT_EQ(errorOf(device + "[verification]\ndisable = [\"irp.complete-twice\",\n  \"irql.to-high\"]\n"),
            "test.toml:6:3: verification.disable: \"irql.to-high\" is not a rule name (did you mean 'irql.too-high'?)");
  EXPECT_EQ(errorOf(device + "[verification]\ndisable = [\"no-such-thing\"]\n"),
            "test.toml:5:12: verification.disable: \"no-such-thing\" is not a rule name (docs/CHECKS.md lists them)");
  EXPECT_EQ(errorOf(device + "[verification]\ndisable = [\"kebugcheck\"]\n"),
            "test.toml:5:12: verification.disable: \"kebugcheck\" cannot be disabled (KeBugCheckEx is the driver asking to stop)");
  EXPECT_EQ(errorOf(device + "[verification]\ndisable = \"irql.too-high\"\n"),
            "test.toml:5:11: verification.disable: expected an array of strings, found string \"irql.too-high\"");
}

TEST(HostConfig, CaptureSnapLength) {
  const std::string device = "[[device]]\nkind = \"ncm\"\nfar-side = \"wire:x\"\n";
  // Default: whole packets.
  HostConfig config = parse(device + "capture = { upper = \"a.pcap\" }\n");
  EXPECT_EQ(config.captureSnapLength, kDefaultCaptureSnapLength);
  EXPECT_EQ(config.devices[0].capture.snapLength, 262144u);
  // [capture] snaplen is every device's default (it may follow the devices in the file); a
  // device's own snaplen wins.
  config = parse(device + "capture = { lower = \"u.pcap\" }\n" + device + "capture = { lower = \"v.pcap\", snaplen = 1000 }\n" +
                 "[capture]\nsnaplen = 256\n");
  EXPECT_EQ(config.captureSnapLength, 256u);
  EXPECT_EQ(config.devices[0].capture.snapLength, 256u);
  EXPECT_EQ(config.devices[1].capture.snapLength, 1000u);
  EXPECT_EQ(errorOf(device + "capture = { upper = \"a.pcap\", snaplen = 10 }\n"),
            "test.toml:4:41: device[0].capture.snaplen: 10 is out of range (64 to 262144)");
  EXPECT_EQ(errorOf(device + "[capture]\nsnaplen = \"small\"\n"),
            "test.toml:5:11: capture.snaplen: expected an integer, found string \"small\"");
  EXPECT_EQ(errorOf(device + "[capture]\nsnap-len = 100\n"), "test.toml:5:1: capture.snap-len: unknown key (did you mean 'snaplen'?)");
}

}  // namespace
}  // namespace ndishost::host::config
