#include "link/capturing_frame_port.hpp"

#include <utility>

#include "link/link_error.hpp"

namespace ndishost::link {

CapturingFramePort::CapturingFramePort(std::unique_ptr<FramePort> inner, std::shared_ptr<PcapWriter> writer)
    : inner_(std::move(inner)), writer_(std::move(writer)) {
  if (!inner_ || !writer_) throw LinkError("capture: needs a port and a writer");
  if (writer_->linkType() != PcapLinkType::Ethernet)
    throw LinkError("capture: '" + writer_->path().string() + "' is not an Ethernet capture");
}

CapturingFramePort::~CapturingFramePort() {
  // The inner port's handler refers to writer_ only through its own copy, but stop it
  // first anyway so no frame is recorded after this port is gone.
  inner_->setReceiveHandler({});
  if (auto* state = linkStateOf(*inner_)) state->setLinkStateHandler({});
}

bool CapturingFramePort::transmit(std::span<const std::byte> frame) {
  writer_->append(frame);
  return inner_->transmit(frame);
}

void CapturingFramePort::setReceiveHandler(ReceiveHandler handler) {
  if (!handler) {
    inner_->setReceiveHandler({});
    return;
  }
  inner_->setReceiveHandler([writer = writer_, handler = std::move(handler)](std::span<const std::byte> frame) {
    writer->append(frame);
    handler(frame);
  });
}

std::string CapturingFramePort::describe() const {
  return inner_->describe() + " (captured to " + writer_->path().string() + ")";
}

bool CapturingFramePort::linkUp() const {
  const auto* state = linkStateOf(std::as_const(*inner_));
  return state == nullptr || state->linkUp();
}

void CapturingFramePort::setLinkStateHandler(LinkStateHandler handler) {
  if (auto* state = linkStateOf(*inner_)) state->setLinkStateHandler(std::move(handler));
}

}  // namespace ndishost::link
