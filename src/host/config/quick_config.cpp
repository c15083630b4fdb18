#include "host/config/quick_config.hpp"

#include <CLI/CLI.hpp>

#include "link/link_error.hpp"

namespace ndishost::host::config {

void addQuickOptions(CLI::App& command, QuickOptions& options) {
  command.add_option("--device", options.device, "Emulated USB network device: ncm, ecm or rndis")->capture_default_str();
  command.add_option("--far-side", options.farSide, "wire:<name> | afpacket:[<netns>/]<ifname> | udp:<host>:<port>-><host>:<port>");
  command.add_option("--tap", options.tap, "TAP interface name")->capture_default_str();
  command.add_option("--tap-namespace", options.tapNamespace, "Network namespace (/run/netns/<name>) for the TAP interface");
  command.add_option("--mac", options.mac, "Device MAC address, e.g. 02:00:00:00:00:01");
  command.add_option("--max-segment-size", options.maxSegmentSize,
                     "Largest Ethernet frame the device carries, header included (1514..9014; 9014 = MTU 9000)")
      ->capture_default_str();
  command.add_option("--driver", options.drivers, "Driver file to load (repeatable)");
}

HostConfig quickConfig(const QuickOptions& options) {
  const SourceLocation commandLine{"command line", 0, 0};
  HostConfig config;
  config.source = "command line";
  DeviceConfig device;
  device.where = commandLine;
  const auto kind = parseDeviceKind(options.device);
  if (!kind) throw ConfigError(commandLine, "--device", "\"" + options.device + "\" is not a device kind (expected ncm, ecm or rndis)");
  device.kind = *kind;
  device.name = std::string(deviceKindName(device.kind)) + "0";
  device.mac = defaultMacAddress(0);
  if (!options.mac.empty()) {
    const auto mac = parseMacAddress(options.mac);
    if (!mac) throw ConfigError(commandLine, "--mac", "\"" + options.mac + "\" is not a MAC address (write 02:00:00:00:00:01)");
    if (((*mac)[0] & 1) != 0) throw ConfigError(commandLine, "--mac", "\"" + options.mac + "\" is a multicast address; a NIC needs a unicast one");
    device.mac = *mac;
  }
  if (options.farSide.empty()) throw ConfigError(commandLine, "--far-side", "missing (required)");
  device.farSide = options.farSide;
  try {
    device.farSideSpec = link::parseFramePortSpec(options.farSide);
  } catch (const link::LinkError& error) {
    throw ConfigError(commandLine, "--far-side", error.what());
  }
  if (options.tap.empty() || options.tap.size() > 15 || options.tap.find_first_of("/: \t") != std::string::npos)
    throw ConfigError(commandLine, "--tap", "\"" + options.tap + "\" is not an interface name (1 to 15 characters, no '/', ':' or spaces)");
  device.tap = options.tap;
  device.tapNamespace = options.tapNamespace;
  if (options.maxSegmentSize < 1514 || options.maxSegmentSize > 9014)
    throw ConfigError(commandLine, "--max-segment-size",
                      std::to_string(options.maxSegmentSize) + " is out of range (1514 to 9014)");
  device.maxSegmentSize = options.maxSegmentSize;
  config.devices.push_back(std::move(device));
  for (const std::string& path : options.drivers) {
    DriverConfig driver;
    driver.path = path;
    driver.name = std::filesystem::path(path).stem().string();
    driver.where = commandLine;
    config.drivers.push_back(std::move(driver));
  }
  validate(config);
  return config;
}

}  // namespace ndishost::host::config
