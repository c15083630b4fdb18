// The quick form: one device from command-line options, no file
// (`ndishost up --device ncm --far-side afpacket:veth1 --tap ndis0`). Produces the same
// HostConfig a file with one [[device]] would, with the same defaults and checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/config/config_model.hpp"

namespace CLI {
class App;
}

namespace ndishost::host::config {

struct QuickOptions {
  std::string device = "ncm";  // ncm | ecm | rndis
  std::string farSide;         // required
  std::string tap = "ndis0";
  std::string tapNamespace;
  std::string mac;              // empty: defaultMacAddress(0)
  std::uint32_t maxSegmentSize = 1514;  // --max-segment-size, 1514..9014
  std::vector<std::string> drivers;  // driver files; their IDs come from the driver catalogue
};

// Adds --device, --far-side, --tap, --tap-namespace, --mac, --max-segment-size, --driver to a
// command.
void addQuickOptions(CLI::App& command, QuickOptions& options);

// Throws ConfigError (location "command line", key "--<option>") for bad values.
HostConfig quickConfig(const QuickOptions& options);

}  // namespace ndishost::host::config
