#include "host/tap/tap_pump.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>

namespace ndishost::host {

TapPump::TapPump(TapDevice& tap, LinkWatcher* watcher, Handlers handlers, Options options)
    : tap_(tap), watcher_(watcher), handlers_(std::move(handlers)), storage_(options.batchSize * options.maxFrameSize) {
  if (options.batchSize == 0) throw std::invalid_argument("TapPump: batch size 0");
  buffers_.reserve(options.batchSize);
  for (std::size_t i = 0; i < options.batchSize; ++i)
    buffers_.emplace_back(std::span(storage_).subspan(i * options.maxFrameSize, options.maxFrameSize));
  wakeup_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakeup_) throw std::runtime_error("TapPump: eventfd failed");
  thread_ = std::thread([this] { run(); });
}

TapPump::~TapPump() {
  stopping_ = true;
  wake();
  thread_.join();
}

void TapPump::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(wakeup_.get(), &one, sizeof(one));
}

void TapPump::pause() {
  paused_ = true;
  wake();
  // A batch already being delivered finishes first.
  std::lock_guard wait(delivering_);
}

void TapPump::resume() {
  paused_ = false;
  wake();
}

void TapPump::run() {
  // Multicast memberships are only seen by re-reading (see link_watcher.hpp): bound the wait.
  constexpr int kRefreshMilliseconds = 200;
  while (!stopping_) {
    pollfd waiters[3] = {{.fd = wakeup_.get(), .events = POLLIN, .revents = 0},
                         {.fd = paused_ ? -1 : tap_.fd(), .events = POLLIN, .revents = 0},
                         {.fd = watcher_ ? watcher_->fd() : -1, .events = POLLIN, .revents = 0}};
    const int ready = ::poll(waiters, 3, watcher_ ? kRefreshMilliseconds : -1);
    if (ready < 0 && errno != EINTR) break;
    if (waiters[0].revents & POLLIN) {
      std::uint64_t count;
      [[maybe_unused]] const ssize_t got = ::read(wakeup_.get(), &count, sizeof(count));
    }
    if (stopping_) break;
    if (watcher_ && handlers_.linkChanged) {
      if (auto change = watcher_->refresh()) handlers_.linkChanged(*change);
    }
    if (!(waiters[1].revents & POLLIN)) continue;
    std::lock_guard delivering(delivering_);
    if (paused_) continue;
    // Drain what is ready, a batch at a time, but look at the wake-up again between
    // batches so pause and stop are not held up by a busy interface.
    const std::size_t count = tap_.readFrames(buffers_);
    if (count > 0 && handlers_.framesFromLinux) handlers_.framesFromLinux(std::span(buffers_).first(count));
  }
}

}  // namespace ndishost::host
