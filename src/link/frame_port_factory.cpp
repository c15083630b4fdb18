#include "link/frame_port_factory.hpp"

#include <charconv>

#include "link/afpacket_port.hpp"
#include "link/link_error.hpp"
#include "link/netns.hpp"
#include "link/udp_tunnel_port.hpp"
#include "link/wire.hpp"

namespace ndishost::link {
namespace {

[[noreturn]] void fail(std::string_view spec, const std::string& what) {
  throw LinkError("link spec '" + std::string(spec) + "': " + what);
}

bool startsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::uint16_t parsePort(std::string_view spec, std::string_view text, bool zeroAllowed, const char* role) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value > 65535 ||
      (value == 0 && !zeroAllowed))
    fail(spec, std::string(role) + " port '" + std::string(text) + "' is not a number from " +
                   (zeroAllowed ? "0" : "1") + " to 65535");
  return static_cast<std::uint16_t>(value);
}

// "host:port" or "[v6-address]:port".
std::pair<std::string, std::uint16_t> parseEndpoint(std::string_view spec, std::string_view text, bool zeroPortAllowed,
                                                    const char* role) {
  std::string_view host;
  std::string_view port;
  if (startsWith(text, "[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) fail(spec, std::string(role) + " address '" + std::string(text) + "' lacks ']'");
    host = text.substr(1, close - 1);
    if (text.substr(close + 1, 1) != ":")
      fail(spec, std::string(role) + " endpoint '" + std::string(text) + "' needs ':<port>' after ']'");
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      fail(spec, std::string(role) + " endpoint '" + std::string(text) + "' needs '<host>:<port>'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      fail(spec, std::string(role) + " endpoint '" + std::string(text) + "': put an IPv6 address in brackets, e.g. [::1]:7000");
  }
  if (host.empty()) fail(spec, std::string(role) + " endpoint '" + std::string(text) + "' has no host");
  return {std::string(host), parsePort(spec, port, zeroPortAllowed, role)};
}

}  // namespace

FramePortSpec parseFramePortSpec(std::string_view spec) {
  if (startsWith(spec, "wire:")) {
    const auto name = spec.substr(5);
    if (name.empty()) fail(spec, "the wire needs a name (wire:<name>)");
    for (const char c : name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.';
      if (!ok) fail(spec, "a wire name uses only letters, digits, '-', '_' and '.'");
    }
    return WireSpec{std::string(name)};
  }
  if (startsWith(spec, "afpacket:")) {
    const auto rest = spec.substr(9);
    AfPacketSpec result;
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      result.interfaceName = rest;
    } else {
      result.networkNamespace = rest.substr(0, slash);
      result.interfaceName = rest.substr(slash + 1);
      try {
        validateNetworkNamespaceName(result.networkNamespace);
      } catch (const LinkError& error) {
        fail(spec, error.what());
      }
    }
    if (result.interfaceName.empty()) fail(spec, "no interface name (afpacket:<ifname> or afpacket:<netns>/<ifname>)");
    if (result.interfaceName.size() > 15 || result.interfaceName.find('/') != std::string::npos)
      fail(spec, "interface name '" + result.interfaceName + "' is not 1 to 15 characters without '/'");
    return result;
  }
  if (startsWith(spec, "udp:")) {
    const auto rest = spec.substr(4);
    const auto arrow = rest.find("->");
    if (arrow == std::string_view::npos) fail(spec, "expected udp:<local-host>:<port>-><peer-host>:<port>");
    UdpSpec result;
    std::tie(result.localHost, result.localPort) = parseEndpoint(spec, rest.substr(0, arrow), true, "local");
    std::tie(result.peerHost, result.peerPort) = parseEndpoint(spec, rest.substr(arrow + 2), false, "peer");
    return result;
  }
  fail(spec, "unknown kind of link (expected wire:, afpacket: or udp:)");
}

std::unique_ptr<FramePort> makeFramePort(std::string_view spec) {
  const FramePortSpec parsed = parseFramePortSpec(spec);
  try {
    if (const auto* wire = std::get_if<WireSpec>(&parsed)) return claimNamedWireEnd(wire->name);
    if (const auto* afpacket = std::get_if<AfPacketSpec>(&parsed))
      return AfPacketPort::open({.interfaceName = afpacket->interfaceName,
                                 .networkNamespace = afpacket->networkNamespace});
    const auto& udp = std::get<UdpSpec>(parsed);
    return UdpTunnelPort::open({.localHost = udp.localHost,
                                .localPort = udp.localPort,
                                .peerHost = udp.peerHost,
                                .peerPort = udp.peerPort});
  } catch (const LinkError& error) {
    fail(spec, error.what());
  }
}

}  // namespace ndishost::link
