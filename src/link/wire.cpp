#include "link/wire.hpp"

#include <pthread.h>

#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "link/callback_slot.hpp"
#include "link/frame_ring.hpp"
#include "link/link_error.hpp"
#include "link/port_counters.hpp"

namespace ndishost::link {
namespace {
constexpr std::size_t kEthernetHeader = 14;
}  // namespace

struct Wire::Core {
  struct End {
    End(std::size_t depth, std::size_t maxFrameSize) : inbound(depth, maxFrameSize) {}

    PortCounters counters;
    CallbackSlot<std::span<const std::byte>> receive;
    CallbackSlot<bool> linkState;
    // Guarded by Core::mutex:
    FrameRing inbound;      // frames queued for delivery to this end
    bool plugged = true;    // false once the WirePort is destroyed
    bool delivering = false;  // inbound.front() is being handed to `receive`
    bool reportedUp = true;
  };

  Core(std::string wireName, WireOptions wireOptions)
      : name(std::move(wireName)),
        options(wireOptions),
        ends{End{options.queueDepth, options.maxFrameSize},
             End{options.queueDepth, options.maxFrameSize}} {}

  bool linkUpLocked(int end) const { return adminUp && ends[end].plugged && ends[1 - end].plugged; }

  // Frames queued towards `end` are dropped: count them against the sender.
  void discardInboundLocked(int end) {
    const std::size_t dropped = ends[end].inbound.truncate(ends[end].delivering ? 1 : 0);
    for (std::size_t i = 0; i < dropped; ++i) ends[1 - end].counters.transmitDropped();
  }

  // Runs link-state handlers for ends whose state changed; the caller holds controlMutex
  // (so notifications are never reordered) but not `mutex`.
  void notifyLinkChanges() {
    std::array<int, 2> changed{-1, -1};
    {
      std::lock_guard lock(mutex);
      for (int end = 0; end < 2; ++end) {
        const bool up = linkUpLocked(end);
        if (ends[end].plugged && up != ends[end].reportedUp) {
          ends[end].reportedUp = up;
          changed[end] = up ? 1 : 0;
        }
      }
    }
    for (int end = 0; end < 2; ++end)
      if (changed[end] >= 0) ends[end].linkState.invoke(changed[end] == 1);
  }

  void deliveryLoop();

  const std::string name;
  const WireOptions options;
  std::mutex controlMutex;  // serializes link changes and their notifications
  mutable std::mutex mutex;
  std::condition_variable work;
  mutable std::condition_variable idle;
  std::array<End, 2> ends;
  bool adminUp = true;
  bool stopping = false;
  std::thread thread;
};

void Wire::Core::deliveryLoop() {
  std::unique_lock lock(mutex);
  int preferred = 0;  // alternate directions so a flood one way cannot starve the other
  for (;;) {
    work.wait(lock, [&] { return stopping || !ends[0].inbound.empty() || !ends[1].inbound.empty(); });
    if (stopping) return;
    const int end = !ends[preferred].inbound.empty() ? preferred : 1 - preferred;
    preferred = 1 - end;
    End& receiver = ends[end];
    // The slot stays put while `delivering`: producers only fill other slots and discards
    // spare it.
    const std::span<const std::byte> frame = receiver.inbound.front();
    receiver.delivering = true;
    lock.unlock();
    if (receiver.receive.invoke(frame)) {
      receiver.counters.received(frame.size());
    } else {
      receiver.counters.receiveDropped();
    }
    lock.lock();
    receiver.delivering = false;
    receiver.inbound.pop();
    if (ends[0].inbound.empty() && ends[1].inbound.empty()) idle.notify_all();
  }
}

Wire::Ends Wire::create(std::string name, WireOptions options) {
  if (options.queueDepth == 0) throw LinkError("wire '" + name + "': queue depth must be at least 1");
  if (options.maxFrameSize < kEthernetHeader)
    throw LinkError("wire '" + name + "': maximum frame size must hold an Ethernet header");
  auto core = std::make_shared<Core>(std::move(name), options);
  if (options.delivery == WireDelivery::Threaded) {
    // The thread owns a reference to the core, not to the Wire, so the Wire's destructor
    // can stop it even when that destructor runs on the delivery thread itself.
    core->thread = std::thread([core] {
      const std::string threadName = ("wire:" + core->name).substr(0, 15);
      pthread_setname_np(pthread_self(), threadName.c_str());
      core->deliveryLoop();
    });
  }
  auto wire = std::shared_ptr<Wire>(new Wire(std::move(core)));
  Ends ends;
  ends.a.reset(new WirePort(wire, 0));
  ends.b.reset(new WirePort(wire, 1));
  return ends;
}

Wire::Wire(std::shared_ptr<Core> core) : core_(std::move(core)) {}

Wire::~Wire() {
  {
    std::lock_guard lock(core_->mutex);
    core_->stopping = true;
  }
  core_->work.notify_all();
  if (!core_->thread.joinable()) return;
  if (core_->thread.get_id() == std::this_thread::get_id()) {
    // The last end was destroyed by a receive handler: the loop ends when that handler
    // returns, and its reference keeps the core alive until then.
    core_->thread.detach();
  } else {
    core_->thread.join();
  }
}

const std::string& Wire::name() const { return core_->name; }

void Wire::setLinkUp(bool up) {
  std::lock_guard control(core_->controlMutex);
  {
    std::lock_guard lock(core_->mutex);
    core_->adminUp = up;
    if (!up) {
      core_->discardInboundLocked(0);
      core_->discardInboundLocked(1);
      if (core_->ends[0].inbound.empty() && core_->ends[1].inbound.empty()) core_->idle.notify_all();
    }
  }
  core_->notifyLinkChanges();
}

bool Wire::linkUp() const {
  std::lock_guard lock(core_->mutex);
  return core_->adminUp;
}

void Wire::waitIdle() const {
  std::unique_lock lock(core_->mutex);
  core_->idle.wait(lock, [&] {
    return core_->ends[0].inbound.empty() && core_->ends[1].inbound.empty();
  });
}

WirePort::~WirePort() {
  Wire::Core& core = *wire_->core_;
  {
    std::lock_guard control(core.controlMutex);
    {
      std::lock_guard lock(core.mutex);
      core.ends[end_].plugged = false;
      core.discardInboundLocked(end_);
    }
    core.notifyLinkChanges();
  }
  core.ends[end_].receive.set({});
  core.ends[end_].linkState.set({});
}

bool WirePort::transmit(std::span<const std::byte> frame) {
  Wire::Core& core = *wire_->core_;
  Wire::Core::End& sender = core.ends[end_];
  Wire::Core::End& receiver = core.ends[1 - end_];
  if (frame.size() < kEthernetHeader || frame.size() > core.options.maxFrameSize) {
    sender.counters.transmitDropped();
    return false;
  }
  if (core.options.delivery == WireDelivery::Synchronous) {
    {
      std::lock_guard lock(core.mutex);
      if (!core.linkUpLocked(end_)) {
        sender.counters.transmitDropped();
        return false;
      }
    }
    sender.counters.transmitted(frame.size());
    if (receiver.receive.invoke(frame)) {
      receiver.counters.received(frame.size());
    } else {
      receiver.counters.receiveDropped();
    }
    return true;
  }
  bool wake = false;
  {
    std::lock_guard lock(core.mutex);
    if (!core.linkUpLocked(end_) || !receiver.inbound.push(frame)) {
      sender.counters.transmitDropped();
      return false;
    }
    // The delivery thread drains everything before sleeping: only the first frame after
    // an empty moment needs a wake-up.
    wake = receiver.inbound.size() == 1;
  }
  sender.counters.transmitted(frame.size());
  if (wake) core.work.notify_one();
  return true;
}

void WirePort::setReceiveHandler(ReceiveHandler handler) {
  wire_->core_->ends[end_].receive.set(std::move(handler));
}

std::size_t WirePort::maxFrameSize() const { return wire_->core_->options.maxFrameSize; }

FramePortCounters WirePort::counters() const { return wire_->core_->ends[end_].counters.snapshot(); }

std::string WirePort::describe() const {
  return "wire:" + wire_->core_->name + "[" + endName() + "]";
}

bool WirePort::linkUp() const {
  std::lock_guard lock(wire_->core_->mutex);
  return wire_->core_->linkUpLocked(end_);
}

void WirePort::setLinkStateHandler(LinkStateHandler handler) {
  wire_->core_->ends[end_].linkState.set(std::move(handler));
}

bool WirePort::peerAttached() const {
  std::lock_guard lock(wire_->core_->mutex);
  return wire_->core_->ends[1 - end_].plugged;
}

namespace {

struct NamedWire {
  std::weak_ptr<Wire> wire;
  std::unique_ptr<WirePort> unclaimedB;
};

struct NamedWires {
  std::mutex mutex;
  std::map<std::string, NamedWire, std::less<>> byName;
};

NamedWires& namedWires() {
  static NamedWires registry;
  return registry;
}

}  // namespace

std::unique_ptr<WirePort> claimNamedWireEnd(const std::string& name, WireOptions options) {
  auto& registry = namedWires();
  std::unique_ptr<WirePort> stale;  // destroyed after the registry lock is released
  std::lock_guard lock(registry.mutex);
  auto it = registry.byName.find(name);
  if (it != registry.byName.end()) {
    NamedWire& entry = it->second;
    if (entry.unclaimedB) {
      if (entry.unclaimedB->peerAttached()) return std::move(entry.unclaimedB);
      stale = std::move(entry.unclaimedB);  // end A is gone: start over
    } else if (!entry.wire.expired()) {
      throw LinkError("wire '" + name + "' already has both ends in use");
    }
    registry.byName.erase(it);
  }
  auto ends = Wire::create(name, options);
  NamedWire entry;
  entry.wire = std::shared_ptr<Wire>(ends.a->wire_);
  entry.unclaimedB = std::move(ends.b);
  registry.byName.emplace(name, std::move(entry));
  return std::move(ends.a);
}

}  // namespace ndishost::link
