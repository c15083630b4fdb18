#include "ndis/protocol/protocol_side.hpp"

#include <algorithm>

#include "ndis/protocol/bind_target.hpp"
#include "ndis/protocol/protocol_driver.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {

ProtocolSide& ProtocolSide::instance() {
  // Never destroyed: bindings may outlive static destruction order (drivers unloading late).
  static ProtocolSide* side = new ProtocolSide;
  return *side;
}

void ProtocolSide::setBindPolicy(BindPolicy policy) {
  std::lock_guard guard(lists_);
  policy_ = std::move(policy);
}

void ProtocolSide::bindLocked(ProtocolDriver& protocol, BindTarget& target) {
  {
    std::lock_guard guard(lists_);
    if (policy_ && !policy_(protocol, target)) return;
  }
  auto binding = std::make_unique<Binding>(protocol, target);
  Binding& b = *binding;
  {
    std::lock_guard guard(lists_);
    bindings_.push_back(std::move(binding));
  }
  bool bound = b.bind();
  if (bound && target.running()) b.restart();
  if (!bound) {
    std::lock_guard guard(lists_);
    std::erase_if(bindings_, [&](const std::unique_ptr<Binding>& p) { return p.get() == &b; });
  }
}

void ProtocolSide::unbindLocked(const std::function<bool(const Binding&)>& which) {
  std::vector<Binding*> selected;
  {
    std::lock_guard guard(lists_);
    for (auto& b : bindings_)
      if (which(*b)) selected.push_back(b.get());
  }
  for (Binding* b : selected) {
    if (b->state() == BindingState::Running) b->pause();
    b->unbind();
    std::lock_guard guard(lists_);
    std::erase_if(bindings_, [&](const std::unique_ptr<Binding>& p) { return p.get() == b; });
  }
}

std::vector<Binding*> ProtocolSide::bindingsOf(const BindTarget& target) const {
  std::lock_guard guard(lists_);
  std::vector<Binding*> result;
  for (const auto& b : bindings_)
    if (&b->target() == &target) result.push_back(b.get());
  return result;
}

void ProtocolSide::addProtocol(std::unique_ptr<ProtocolDriver> protocol) {
  std::lock_guard operation(operations_);
  ProtocolDriver& p = *protocol;
  std::vector<BindTarget*> targets;
  {
    std::lock_guard guard(lists_);
    protocols_.push_back(std::move(protocol));
    targets = targets_;
  }
  for (BindTarget* target : targets) bindLocked(p, *target);
}

void ProtocolSide::removeProtocol(ProtocolDriver& protocol) {
  std::lock_guard operation(operations_);
  unbindLocked([&](const Binding& b) { return &b.protocol() == &protocol; });
  std::lock_guard guard(lists_);
  std::erase_if(protocols_, [&](const std::unique_ptr<ProtocolDriver>& p) { return p.get() == &protocol; });
}

void ProtocolSide::targetArrived(BindTarget& target) {
  std::lock_guard operation(operations_);
  std::vector<ProtocolDriver*> protocols;
  {
    std::lock_guard guard(lists_);
    if (std::find(targets_.begin(), targets_.end(), &target) != targets_.end()) return;
    targets_.push_back(&target);
    for (auto& p : protocols_) protocols.push_back(p.get());
  }
  for (ProtocolDriver* p : protocols) bindLocked(*p, target);
}

void ProtocolSide::targetRestarted(BindTarget& target) {
  std::lock_guard operation(operations_);
  for (Binding* b : bindingsOf(target))
    if (b->state() == BindingState::Paused) b->restart();
}

void ProtocolSide::targetPausing(BindTarget& target) {
  std::lock_guard operation(operations_);
  for (Binding* b : bindingsOf(target))
    if (b->state() == BindingState::Running) b->pause();
}

NDIS_STATUS ProtocolSide::targetQueryRemove(BindTarget& target) {
  std::lock_guard operation(operations_);
  NDIS_STATUS answer = NDIS_STATUS_SUCCESS;
  for (Binding* b : bindingsOf(target)) {
    NDIS_STATUS status = b->queryRemove();
    if (status != NDIS_STATUS_SUCCESS && answer == NDIS_STATUS_SUCCESS) answer = status;
  }
  return answer;
}

void ProtocolSide::targetCancelRemove(BindTarget& target) {
  std::lock_guard operation(operations_);
  for (Binding* b : bindingsOf(target)) b->cancelRemove();
}

void ProtocolSide::targetDeparting(BindTarget& target) {
  std::lock_guard operation(operations_);
  unbindLocked([&](const Binding& b) { return &b.target() == &target; });
  std::lock_guard guard(lists_);
  std::erase(targets_, &target);
}

std::vector<BindingInfo> ProtocolSide::bindings() const {
  std::lock_guard guard(lists_);
  std::vector<BindingInfo> result;
  for (const auto& b : bindings_)
    result.push_back({b->handle(), b->protocol().handle(), b->describe(), b->state(), &b->target()});
  return result;
}

std::size_t ProtocolSide::protocolCount() const {
  std::lock_guard guard(lists_);
  return protocols_.size();
}

}  // namespace ndishost::ndis
