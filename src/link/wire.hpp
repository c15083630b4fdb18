// An in-process Ethernet cable between two emulated devices.
//
// Wire::create() returns its two ends. In the default threaded mode a frame transmitted on
// one end is copied into a bounded queue (preallocated slots, no allocation per frame) and
// handed to the other end's receive handler on the wire's own delivery thread, so one
// device's transmit path never runs the other device's receive path under its locks. A
// full queue, a wire that is down, an unplugged (destroyed) far end, or a frame shorter
// than an Ethernet header or longer than maxFrameSize drops the frame and counts it in the
// sender's txDropped. A frame that arrives while the receiver has no handler counts in the
// receiver's rxDropped.
//
// Synchronous mode delivers on the transmitting thread, for deterministic unit tests only:
// with handlers that answer at once, two threads transmitting from opposite ends can
// deadlock (each waits for the other's handler), which is why threaded mode exists.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "link/frame_port.hpp"
#include "link/link_state.hpp"

namespace ndishost::link {

enum class WireDelivery { Threaded, Synchronous };

struct WireOptions {
  std::size_t queueDepth = 256;    // frames queued per direction before drops
  std::size_t maxFrameSize = 9018;  // jumbo 9000 + Ethernet header + one VLAN tag
  WireDelivery delivery = WireDelivery::Threaded;
};

class WirePort;
std::unique_ptr<WirePort> claimNamedWireEnd(const std::string& name, WireOptions options);

class Wire {
 public:
  struct Ends {
    std::unique_ptr<WirePort> a;
    std::unique_ptr<WirePort> b;
  };

  // Throws LinkError for a zero queue depth or frame size.
  static Ends create(std::string name, WireOptions options = {});

  ~Wire();
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;

  const std::string& name() const;

  // Plugs (true) or pulls (false) the cable. Pulling drops frames still queued (counted as
  // the sender's txDropped). Both ends' link-state handlers run on the calling thread,
  // which must not be inside one of them.
  void setLinkUp(bool up);
  bool linkUp() const;

  // Blocks until no frame is queued or being delivered (threaded mode); for tests.
  void waitIdle() const;

 private:
  friend class WirePort;
  struct Core;  // shared with the delivery thread
  explicit Wire(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

// One end of a Wire. Destroying it unplugs the end: the far end sees link down.
class WirePort final : public FramePort, public LinkStateSource {
 public:
  ~WirePort() override;

  bool transmit(std::span<const std::byte> frame) override;
  void setReceiveHandler(ReceiveHandler handler) override;
  std::size_t maxFrameSize() const override;
  FramePortCounters counters() const override;
  std::string describe() const override;  // "wire:lab[A]"

  // Up while the wire is plugged and both ends exist.
  bool linkUp() const override;
  void setLinkStateHandler(LinkStateHandler handler) override;

  Wire& wire() { return *wire_; }
  char endName() const { return end_ == 0 ? 'A' : 'B'; }
  // Whether the far end still exists.
  bool peerAttached() const;

 private:
  friend class Wire;
  friend std::unique_ptr<WirePort> claimNamedWireEnd(const std::string& name, WireOptions options);
  WirePort(std::shared_ptr<Wire> wire, int end) : wire_(std::move(wire)), end_(end) {}

  std::shared_ptr<Wire> wire_;
  int end_;
};

// Named wires for "wire:<name>" specs: the first claim of a name gets end A, the second
// end B; a third claim while both ends exist throws LinkError. Once both ends are gone (or
// end A is gone before B was claimed) the name starts a fresh wire.
std::unique_ptr<WirePort> claimNamedWireEnd(const std::string& name, WireOptions options = {});

}  // namespace ndishost::link
