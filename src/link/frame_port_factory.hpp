// Far sides by name, as a user writes them on a command line or in a config file:
//   wire:<name>                          in-process wire; 1st use end A, 2nd end B
//   afpacket:<ifname>                    Linux interface in this process's namespace
//   afpacket:<netns>/<ifname>            ... in the namespace /run/netns/<netns>
//   udp:<host>:<port>-><peer-host>:<port>  UDP tunnel; IPv6 hosts in brackets: [::1]:7000
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "link/frame_port.hpp"

namespace ndishost::link {

struct WireSpec {
  std::string name;
};
struct AfPacketSpec {
  std::string networkNamespace;  // empty: this process's namespace
  std::string interfaceName;
};
struct UdpSpec {
  std::string localHost;
  std::uint16_t localPort = 0;
  std::string peerHost;
  std::uint16_t peerPort = 0;
};
using FramePortSpec = std::variant<WireSpec, AfPacketSpec, UdpSpec>;

// Syntax only, nothing is opened. Throws LinkError "link spec '<spec>': <what is wrong>".
FramePortSpec parseFramePortSpec(std::string_view spec);

// Parses and opens. Throws LinkError "link spec '<spec>': <what is wrong>", including
// failures to open ("link spec 'afpacket:veth9': afpacket: no interface named 'veth9'").
std::unique_ptr<FramePort> makeFramePort(std::string_view spec);

}  // namespace ndishost::link
