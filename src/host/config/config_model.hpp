// What ndishost runs, as plain structs: the drivers (the INF equivalent: which hardware
// and compatible IDs each serves), the emulated USB network devices and their far sides,
// the TAP interface each adapter is bound to, per-adapter registry keywords for
// NdisReadConfiguration, NDIS time-outs, captures and verification options. Filled from a
// TOML file (config_parser.hpp) or from command-line options (quick_config.hpp), with the
// same defaults either way. docs/CONFIG.md documents the file format.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "link/frame_port_factory.hpp"

namespace ndishost::host::config {

// Where a setting came from, for messages: file, line and column (line 0: the command line).
struct SourceLocation {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  std::string text() const;  // "ndishost.toml:12:5", or "command line"
};

class ConfigError : public std::runtime_error {
 public:
  // "<file>:<line>:<column>: <key>: <what>"
  ConfigError(const SourceLocation& where, const std::string& key, const std::string& what);
  const SourceLocation& where() const { return where_; }
  const std::string& key() const { return key_; }

 private:
  SourceLocation where_;
  std::string key_;
};

struct DriverConfig {
  std::string name;                         // default: file name without extension
  std::filesystem::path path;               // relative paths: relative to the config file
  std::vector<std::string> hardwareIds;     // e.g. USB\VID_0525&PID_A4A2
  std::vector<std::string> compatibleIds;   // e.g. USB\Class_02&SubClass_0D&Prot_00
  SourceLocation where;
};

enum class DeviceKind { Ncm, Ecm, Rndis };
std::string_view deviceKindName(DeviceKind kind);
std::optional<DeviceKind> parseDeviceKind(std::string_view name);

using MacAddress = std::array<std::uint8_t, 6>;
// "02:00:00:00:00:01" or "02-00-00-00-00-01"; nothing when malformed.
std::optional<MacAddress> parseMacAddress(std::string_view text);
std::string formatMac(const MacAddress& mac);

// One NdisReadConfiguration keyword: NdisParameterInteger, NdisParameterString or
// NdisParameterBinary.
struct RegistryValue {
  std::string keyword;
  std::variant<std::uint32_t, std::string, std::vector<std::uint8_t>> value;
};

// Bytes of each packet a capture keeps (pcap snaplen; the record keeps the original
// length). 262144 keeps every frame and URB whole; usbmon records need at least their
// 64-byte header.
inline constexpr std::uint32_t kDefaultCaptureSnapLength = 262144;
inline constexpr std::uint32_t kMinimumCaptureSnapLength = 64;

struct CaptureConfig {
  std::filesystem::path upperEdge;  // Ethernet frames between the TAP binding and NDIS
  std::filesystem::path lowerEdge;  // USB URBs (usbmon pcap): only this device's URBs
  std::uint32_t snapLength = kDefaultCaptureSnapLength;  // for both files
};

struct DeviceConfig {
  std::string name;  // default: <kind><index>, e.g. ncm0
  DeviceKind kind = DeviceKind::Ncm;
  MacAddress mac{};                     // default: defaultMacAddress(index)
  std::uint64_t speedBitsPerSecond = 1'000'000'000;
  std::uint32_t maxTransferIn = 16384;  // largest USB transfer device -> host, bytes
  std::uint32_t maxTransferOut = 16384; // host -> device
  // Largest Ethernet frame (header included, FCS not) the device carries: CDC wMaxSegmentSize,
  // RNDIS OID_GEN_MAXIMUM_FRAME_SIZE + 14. 1514 = standard, up to 9014 = jumbo (MTU 9000).
  std::uint32_t maxSegmentSize = 1514;
  std::string farSide;                  // as written: wire:<name> | afpacket:[<netns>/]<ifname> | udp:<local>-><peer>
  link::FramePortSpec farSideSpec;      // parsed
  std::string tap;                      // TAP interface name; default: ndis<index>
  std::string tapNamespace;             // /run/netns/<name> to create the TAP in; empty: ours
  std::vector<RegistryValue> registry;
  CaptureConfig capture;
  SourceLocation where;
};

// NDIS time-outs (how long the host waits for a miniport before it reports the driver).
struct NdisTimeouts {
  std::chrono::milliseconds oidRequest{10'000};
  std::chrono::milliseconds pause{10'000};
  std::chrono::milliseconds halt{10'000};
  std::chrono::milliseconds reset{10'000};
  std::chrono::milliseconds checkForHangInterval{2'000};
};

struct VerificationConfig {
  bool enabled = true;                     // false: no rule is reported (nt::ViolationPolicy)
  bool fatal = false;                      // a violation stops ndishost (else it is reported and counted)
  bool leakCheck = true;                   // check per-driver pool/IRP/MDL/NBL ledgers at unload
  std::vector<std::string> disabledRules;  // e.g. "irql.too-high"; names from nt/support/rule_registry.hpp
};

struct HostConfig {
  std::string source;  // the file, or "command line"
  std::vector<DriverConfig> drivers;
  std::vector<DeviceConfig> devices;
  NdisTimeouts timeouts;
  VerificationConfig verification;
  // [capture] snaplen: the default of every device's capture.snaplen.
  std::uint32_t captureSnapLength = kDefaultCaptureSnapLength;
};

// 02:4e:44:00:00:<index+1>: locally administered, unicast, stable per device index.
MacAddress defaultMacAddress(std::size_t deviceIndex);

// Checks what involves more than one entry (unique device names, TAP names and MACs);
// throws ConfigError at the second entry's location.
void validate(const HostConfig& config);

}  // namespace ndishost::host::config
