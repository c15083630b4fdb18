// Deterministic mode's scheduler: exactly one registered runtime thread runs at a time.
//
// The run token changes hands only at scheduling points, all at IRQL < DISPATCH_LEVEL:
// a blocking wait (the waiter gives the token away), a yield point (after KeSetEvent,
// KeInsertQueueDpc, ExQueueWorkItem; KeLowerIrql below DISPATCH_LEVEL with DPCs pending
// hands it to the DPC thread), an OutsideRuntimeScope, and thread exit. The next thread is
// chosen from the runnable ones by a PRNG seeded from RuntimeOptions::seed. When no thread
// is runnable, the holder advances the virtual clock to the earliest deadline (a timer or
// a wait time-out) and fires it; when there is none and some thread waits, that is a
// deadlock ("ke.deadlock").
//
// Deterministic: the order in which runtime threads, DPCs, work items and timers run, and
// every time the runtime reports, given the same seed and the same program. Not
// deterministic: threads the runtime did not create (they register on their first DDI call,
// at a moment decided by the OS), and anything a thread does while it blocks outside the
// runtime (inside an OutsideRuntimeScope). A registered thread holds the token while it
// runs between DDI calls, so it must not block outside the runtime without an
// OutsideRuntimeScope. A thread that loops without a scheduling point starves the others.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace ndishost::nt::ke {

struct ThreadRecord;
class Kernel;

enum class SchedState { Running, Runnable, Blocked, Outside, Exited };

class Scheduler {
 public:
  Scheduler(bool enabled, std::uint64_t seed);
  void attach(Kernel& kernel) { kernel_ = &kernel; }
  bool enabled() const { return enabled_; }

  // A thread coming (back) into the runtime: returns holding the token.
  void enter(ThreadRecord& self, bool fromOutside);
  // Marks a new thread runnable; it then calls waitForToken from its own OS thread.
  void addRunnable(ThreadRecord& thread);
  void waitForToken(ThreadRecord& self);
  // Scheduling point: the PRNG picks self or another runnable thread.
  void yield(ThreadRecord& self);
  // Hands the token to `target` if it is runnable; self stays runnable.
  void yieldTo(ThreadRecord& self, ThreadRecord& target);
  // Lets every other runnable thread run first; returns when self holds the token and
  // no other thread is runnable.
  void yieldToOthers(ThreadRecord& self);
  // Self blocks (a wait, or idle waiting for work); returns when it holds the token again
  // or the scheduler shut down.
  void block(ThreadRecord& self, bool idle);
  // A blocked thread becomes runnable (called by the token holder).
  void makeRunnable(ThreadRecord& thread);
  // Self leaves the runtime (OutsideRuntimeScope) or ends.
  void leave(ThreadRecord& self);
  void exit(ThreadRecord& self);
  void shutdown();
  bool isShutdown();

 private:
  void handOffLocked(std::unique_lock<std::mutex>& lock, ThreadRecord& self);
  void switchToLocked(ThreadRecord& next);
  void waitForTokenLocked(std::unique_lock<std::mutex>& lock, ThreadRecord& self);
  std::uint64_t nextRandom();

  const bool enabled_;
  Kernel* kernel_ = nullptr;
  std::mutex lock_;
  std::condition_variable changed_;
  ThreadRecord* running_ = nullptr;
  std::vector<ThreadRecord*> runnable_;
  int outside_ = 0;
  bool shutdown_ = false;
  std::uint64_t rngState_;
};

}  // namespace ndishost::nt::ke
