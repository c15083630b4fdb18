// A FramePort decorator that records both directions of another port in an Ethernet pcap
// (several ports may share one writer). Transmitted frames are recorded before they are
// handed on, so the file shows the device's own order even when the far side answers
// synchronously; a frame the link then drops is still in the capture (the port's
// txDropped tells). Received frames are recorded as they are delivered.
#pragma once

#include <memory>

#include "link/frame_port.hpp"
#include "link/link_state.hpp"
#include "link/pcap_writer.hpp"

namespace ndishost::link {

class CapturingFramePort final : public FramePort, public LinkStateSource {
 public:
  // Throws LinkError unless `writer` is an Ethernet capture.
  CapturingFramePort(std::unique_ptr<FramePort> inner, std::shared_ptr<PcapWriter> writer);
  ~CapturingFramePort() override;

  bool transmit(std::span<const std::byte> frame) override;
  void setReceiveHandler(ReceiveHandler handler) override;
  std::size_t maxFrameSize() const override { return inner_->maxFrameSize(); }
  FramePortCounters counters() const override { return inner_->counters(); }
  std::string describe() const override;  // "<inner> (captured to <file>)"

  // The inner port's link state; always up when it has none.
  bool linkUp() const override;
  void setLinkStateHandler(LinkStateHandler handler) override;

  FramePort& inner() { return *inner_; }
  PcapWriter& writer() { return *writer_; }

 private:
  std::unique_ptr<FramePort> inner_;
  std::shared_ptr<PcapWriter> writer_;
};

}  // namespace ndishost::link
