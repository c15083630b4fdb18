// A replaceable callback that is safe to replace while it is being called, used for
// receive handlers and link-state handlers.
//
// Guarantees: calls never overlap except re-entrantly on one thread (a handler that
// transmits on a synchronous wire whose far side answers at once); after set() returns on
// another thread, the previous callback is not running and never runs again; set() from
// inside the callback takes effect when the outermost call returns (destroying a
// std::function while it executes would be undefined).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace ndishost::link {

template <typename... Args>
class CallbackSlot {
 public:
  using Callback = std::function<void(Args...)>;

  void set(Callback callback) {
    std::unique_lock lock(mutex_);
    if (depth_ > 0 && runningOn_ == std::this_thread::get_id()) {
      deferred_ = std::move(callback);
      return;
    }
    idle_.wait(lock, [&] { return depth_ == 0; });
    Callback previous = std::exchange(callback_, std::move(callback));
    lock.unlock();  // the previous callable's captures are destroyed outside the lock
  }

  // Calls the callback; false when none is installed (the caller counts a drop).
  bool invoke(Args... args) {
    std::unique_lock lock(mutex_);
    const auto self = std::this_thread::get_id();
    if (runningOn_ != self) idle_.wait(lock, [&] { return depth_ == 0; });
    if (!callback_) return false;
    runningOn_ = self;
    ++depth_;
    lock.unlock();
    struct Leave {
      CallbackSlot& slot;
      ~Leave() { slot.leave(); }
    } leave{*this};
    callback_(args...);
    return true;
  }

  bool empty() const {
    std::lock_guard lock(mutex_);
    return !callback_;
  }

 private:
  void leave() {
    Callback replaced;
    {
      std::lock_guard lock(mutex_);
      if (--depth_ > 0) return;
      runningOn_ = {};
      if (deferred_) {
        replaced = std::exchange(callback_, std::move(*deferred_));
        deferred_.reset();
      }
    }
    idle_.notify_all();
  }

  mutable std::mutex mutex_;
  std::condition_variable idle_;
  Callback callback_;
  std::thread::id runningOn_;  // the thread inside the callback while depth_ > 0
  int depth_ = 0;
  std::optional<Callback> deferred_;
};

}  // namespace ndishost::link
