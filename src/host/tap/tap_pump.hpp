// The TAP binding's receive loop on the Linux side: one thread that waits on the TAP (and
// the interface's LinkWatcher), reads frames Linux sent in batches into buffers allocated
// once, and hands each batch to the binding (which copies them into NBLs from its pool and
// sends them to the adapter). Link changes are handed over on the same thread, so the
// binding sees frames and filter changes in the order they happened.
//
// pause() stops reading: frames stay queued in the TAP (the kernel drops and counts them
// once its queue is full), which is how nothing reaches a paused adapter. resume() reads on.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "host/netlink/link_watcher.hpp"
#include "host/tap/tap_device.hpp"
#include "link/unique_fd.hpp"

namespace ndishost::host {

class TapPump {
 public:
  struct Handlers {
    // A batch of frames from Linux; the buffers are reused after the call returns.
    std::function<void(std::span<const TapFrameBuffer> frames)> framesFromLinux;
    // The interface's flags, MTU or multicast list changed (only with a watcher).
    std::function<void(const LinkChange& change)> linkChanged;
  };
  struct Options {
    std::size_t batchSize = 32;
    std::size_t maxFrameSize = 65550;  // a GSO super-frame with the vnet header off: up to 64 KiB + Ethernet
  };

  // Starts the thread. `tap` and `watcher` (may be null) must outlive the pump.
  TapPump(TapDevice& tap, LinkWatcher* watcher, Handlers handlers, Options options);
  TapPump(TapDevice& tap, LinkWatcher* watcher, Handlers handlers) : TapPump(tap, watcher, std::move(handlers), Options{}) {}
  ~TapPump();  // stops and joins the thread
  TapPump(const TapPump&) = delete;
  TapPump& operator=(const TapPump&) = delete;

  // Stops reading frames; returns once no batch is being delivered any more, so after
  // pause() returns the handler is not called with frames until resume().
  void pause();
  void resume();

 private:
  void run();
  void wake();

  TapDevice& tap_;
  LinkWatcher* watcher_;
  Handlers handlers_;
  std::vector<std::byte> storage_;
  std::vector<TapFrameBuffer> buffers_;
  link::UniqueFd wakeup_;  // eventfd: stop / pause / resume
  std::mutex delivering_;   // held while a batch is handed over; pause() waits on it
  std::atomic<bool> paused_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace ndishost::host
