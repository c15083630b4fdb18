#include "host/config/config_model.hpp"

#include <cstdio>
#include <map>

namespace ndishost::host::config {

namespace {
// NTH + NDP + padding (NCM) or the RNDIS_PACKET_MSG header + alignment, with room to spare.
constexpr std::uint32_t kTransferHeadroom = 128;
}  // namespace

std::string SourceLocation::text() const {
  if (line == 0) return file.empty() ? "command line" : file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ConfigError::ConfigError(const SourceLocation& where, const std::string& key, const std::string& what)
    : std::runtime_error(where.text() + ": " + (key.empty() ? "" : key + ": ") + what), where_(where), key_(key) {}

std::string_view deviceKindName(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::Ncm: return "ncm";
    case DeviceKind::Ecm: return "ecm";
    case DeviceKind::Rndis: return "rndis";
  }
  return "?";
}

std::optional<DeviceKind> parseDeviceKind(std::string_view name) {
  for (DeviceKind kind : {DeviceKind::Ncm, DeviceKind::Ecm, DeviceKind::Rndis})
    if (deviceKindName(kind) == name) return kind;
  return std::nullopt;
}

std::optional<MacAddress> parseMacAddress(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddress mac{};
  const char separator = text[2];
  if (separator != ':' && separator != '-') return std::nullopt;
  for (std::size_t i = 0; i < 6; ++i) {
    unsigned value = 0;
    for (std::size_t d = 0; d < 2; ++d) {
      const char c = text[3 * i + d];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
      else return std::nullopt;
    }
    if (i < 5 && text[3 * i + 2] != separator) return std::nullopt;
    mac[i] = static_cast<std::uint8_t>(value);
  }
  return mac;
}

std::string formatMac(const MacAddress& mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return text;
}

MacAddress defaultMacAddress(std::size_t deviceIndex) {
  return {0x02, 0x4e, 0x44, 0x00, static_cast<std::uint8_t>((deviceIndex + 1) >> 8), static_cast<std::uint8_t>(deviceIndex + 1)};
}

void validate(const HostConfig& config) {
  std::map<std::string, const DeviceConfig*> names, taps, macs;
  for (std::size_t index = 0; index < config.devices.size(); ++index) {
    const DeviceConfig& device = config.devices[index];
    // In a file the key is device[<n>].<key>; on the command line, the option.
    const bool fromFile = device.where.line != 0;
    auto key = [&](const std::string& name) { return fromFile ? "device[" + std::to_string(index) + "]." + name : "--" + name; };
    if (auto [it, fresh] = names.emplace(device.name, &device); !fresh)
      throw ConfigError(device.where, key("name"), "device name '" + device.name + "' is already used at " + it->second->where.text());
    if (auto [it, fresh] = taps.emplace(device.tap, &device); !fresh)
      throw ConfigError(device.where, key("tap"), "TAP name '" + device.tap + "' is already used by device '" + it->second->name + "'");
    if (auto [it, fresh] = macs.emplace(formatMac(device.mac), &device); !fresh)
      throw ConfigError(device.where, key("mac"), "MAC " + formatMac(device.mac) + " is already used by device '" + it->second->name + "'");
    // A jumbo frame must fit one USB transfer each way with its NTB / RNDIS headers (the
    // drivers shrink their frame size or fail to start otherwise). Standard frames: unchanged.
    if (device.maxSegmentSize > 1514) {
      const std::uint32_t needed = device.maxSegmentSize + kTransferHeadroom;
      for (const auto& [name, size] : {std::pair{"max-transfer-in", device.maxTransferIn}, std::pair{"max-transfer-out", device.maxTransferOut}}) {
        if (size < needed)
          throw ConfigError(device.where, key(name),
                            std::to_string(size) + " is too small for max-segment-size " + std::to_string(device.maxSegmentSize) +
                                " (needs at least " + std::to_string(needed) + ")");
      }
    }
  }
}

}  // namespace ndishost::host::config
