#include "nt/ke/scheduler.hpp"

#include <algorithm>
#include <chrono>

#include "nt/ke/kernel.hpp"

namespace ndishost::nt::ke {
namespace {

// How long a would-be deadlock may last in real time before it is reported: a thread
// the runtime did not create may be about to make its first DDI call.
constexpr auto kDeadlockGrace = std::chrono::milliseconds(20);

}  // namespace

Scheduler::Scheduler(bool enabled, std::uint64_t seed) : enabled_(enabled), rngState_(seed) {
  runnable_.reserve(64);
}

std::uint64_t Scheduler::nextRandom() {
  // splitmix64: small, fast, and the same sequence on every platform.
  std::uint64_t z = (rngState_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void Scheduler::switchToLocked(ThreadRecord& next) {
  next.sched = SchedState::Running;
  running_ = &next;
  changed_.notify_all();
}

void Scheduler::waitForTokenLocked(std::unique_lock<std::mutex>& lock, ThreadRecord& self) {
  changed_.wait(lock, [&] { return running_ == &self || shutdown_; });
}

void Scheduler::enter(ThreadRecord& self, bool fromOutside) {
  if (!enabled_) return;
  std::unique_lock lock(lock_);
  if (fromOutside) --outside_;
  if (shutdown_) return;
  if (running_ == nullptr) {
    switchToLocked(self);
    return;
  }
  self.sched = SchedState::Runnable;
  runnable_.push_back(&self);
  changed_.notify_all();
  waitForTokenLocked(lock, self);
}

void Scheduler::addRunnable(ThreadRecord& thread) {
  if (!enabled_) return;
  std::lock_guard lock(lock_);
  thread.sched = SchedState::Runnable;
  runnable_.push_back(&thread);
}

void Scheduler::waitForToken(ThreadRecord& self) {
  if (!enabled_) return;
  std::unique_lock lock(lock_);
  waitForTokenLocked(lock, self);
}

void Scheduler::yield(ThreadRecord& self) {
  if (!enabled_) return;
  std::unique_lock lock(lock_);
  if (shutdown_ || running_ != &self || runnable_.empty()) return;
  auto choice = nextRandom() % (runnable_.size() + 1);
  if (choice == runnable_.size()) return;  // self goes on
  ThreadRecord* next = runnable_[choice];
  runnable_.erase(runnable_.begin() + static_cast<std::ptrdiff_t>(choice));
  self.sched = SchedState::Runnable;
  runnable_.push_back(&self);
  switchToLocked(*next);
  waitForTokenLocked(lock, self);
}

void Scheduler::yieldTo(ThreadRecord& self, ThreadRecord& target) {
  if (!enabled_) return;
  std::unique_lock lock(lock_);
  if (shutdown_ || running_ != &self) return;
  auto it = std::find(runnable_.begin(), runnable_.end(), &target);
  if (it == runnable_.end()) return;
  runnable_.erase(it);
  self.sched = SchedState::Runnable;
  runnable_.push_back(&self);
  switchToLocked(target);
  waitForTokenLocked(lock, self);
}

void Scheduler::yieldToOthers(ThreadRecord& self) {
  if (!enabled_) return;
  std::unique_lock lock(lock_);
  while (!shutdown_ && running_ == &self && !runnable_.empty()) {
    auto choice = nextRandom() % runnable_.size();
    ThreadRecord* next = runnable_[choice];
    runnable_.erase(runnable_.begin() + static_cast<std::ptrdiff_t>(choice));
    self.sched = SchedState::Runnable;
    runnable_.push_back(&self);
    switchToLocked(*next);
    waitForTokenLocked(lock, self);
    // Back with the token: other threads may have become runnable meanwhile. Run them too,
    // but let the self-loop end once only self was left (self is not in runnable_ now).
  }
}

void Scheduler::block(ThreadRecord& self, bool idle) {
  if (!enabled_) return;
  std::unique_lock lock(lock_);
  if (shutdown_) return;
  self.sched = SchedState::Blocked;
  self.idleBlocked = idle;
  handOffLocked(lock, self);
  waitForTokenLocked(lock, self);
  self.idleBlocked = false;
}

void Scheduler::makeRunnable(ThreadRecord& thread) {
  if (!enabled_) return;
  std::lock_guard lock(lock_);
  if (thread.sched != SchedState::Blocked) return;
  thread.sched = SchedState::Runnable;
  runnable_.push_back(&thread);
  changed_.notify_all();
}

void Scheduler::leave(ThreadRecord& self) {
  if (!enabled_) return;
  std::unique_lock lock(lock_);
  ++outside_;
  if (shutdown_ || running_ != &self) return;
  self.sched = SchedState::Outside;
  handOffLocked(lock, self);
}

void Scheduler::exit(ThreadRecord& self) {
  if (!enabled_) return;
  std::unique_lock lock(lock_);
  self.sched = SchedState::Exited;
  if (shutdown_ || running_ != &self) return;
  handOffLocked(lock, self);
}

void Scheduler::shutdown() {
  if (!enabled_) return;
  std::lock_guard lock(lock_);
  shutdown_ = true;
  running_ = nullptr;
  changed_.notify_all();
}

bool Scheduler::isShutdown() {
  std::lock_guard lock(lock_);
  return shutdown_;
}

void Scheduler::handOffLocked(std::unique_lock<std::mutex>& lock, ThreadRecord& self) {
  (void)self;
  for (;;) {
    if (shutdown_) {
      running_ = nullptr;
      changed_.notify_all();
      return;
    }
    if (!runnable_.empty()) {
      auto choice = nextRandom() % runnable_.size();
      ThreadRecord* next = runnable_[choice];
      runnable_.erase(runnable_.begin() + static_cast<std::ptrdiff_t>(choice));
      switchToLocked(*next);
      return;
    }
    // Nobody can run. The caller still holds the token, so it does the idle work: move the
    // virtual clock to the next deadline and fire it (which may make threads runnable).
    lock.unlock();
    bool fired = kernel_->fireNextDeadline();
    bool waiting = !fired && kernel_->anyThreadWaiting();
    lock.lock();
    if (fired || !runnable_.empty()) continue;
    if (!waiting || outside_ > 0) {
      // Idle: the token is free; the next thread to come in takes it.
      running_ = nullptr;
      changed_.notify_all();
      return;
    }
    // Every registered thread is blocked and nothing will wake them, unless a thread the
    // runtime did not create is about to make its first call. Give that a moment.
    bool changed = changed_.wait_for(lock, kDeadlockGrace,
                                     [&] { return !runnable_.empty() || outside_ > 0 || shutdown_; });
    if (changed) continue;
    lock.unlock();
    kernel_->reportDeadlock();  // returns only in Record mode, after breaking the waits
    lock.lock();
  }
}

}  // namespace ndishost::nt::ke
