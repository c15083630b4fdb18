// Link state beside FramePort: whether the far side can carry frames now (cable plugged,
// interface up with carrier, ...), and a callback when that changes. Kept out of
// FramePort so that interface stays minimal. Ports with a link state implement it (wire ends,
// AF_PACKET ports, captures of those); an emulated device asks for it with linkStateOf(port)
// to drive its carrier indication, and treats a port without one (UDP tunnel) as always up.
#pragma once

#include <functional>

#include "link/frame_port.hpp"

namespace ndishost::link {

class LinkStateSource {
 public:
  // Called with the new state on every change, on a thread of the port (AF_PACKET: its
  // receive thread; wire: the thread that changed the wire or dropped an end). It must
  // not install another link-state handler on the same port from inside the call.
  using LinkStateHandler = std::function<void(bool up)>;

  virtual ~LinkStateSource() = default;
  virtual bool linkUp() const = 0;
  // Replaces the handler; an empty one stops notifications. When this returns, the
  // previous handler is not running and will not be called again.
  virtual void setLinkStateHandler(LinkStateHandler handler) = 0;
};

// The port's link-state interface, or nullptr when it has none (then treat it as up).
inline LinkStateSource* linkStateOf(FramePort& port) {
  return dynamic_cast<LinkStateSource*>(&port);
}
inline const LinkStateSource* linkStateOf(const FramePort& port) {
  return dynamic_cast<const LinkStateSource*>(&port);
}

}  // namespace ndishost::link
