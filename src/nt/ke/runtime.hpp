// The ndishost runtime: the virtual processors, the DPC, worker and timer threads, the
// clock and the dispatcher that the kernel DDIs (Ke*, Ex* synchronisation, Ps* threads)
// run on. A host or a test creates exactly one Runtime before calling any DDI and destroys
// it after the last driver is gone.
//
// Thread model (see docs): N virtual processors (VPs). A thread that calls into the
// runtime is bound to one VP on its first call (round-robin; DPC thread i to VP i).
// Raising to DISPATCH_LEVEL takes the VP's dispatch lock, so at most one thread per VP runs
// at or above DISPATCH_LEVEL. Each VP's DPC thread runs the VP's DPCs at DISPATCH_LEVEL.
// Worker threads run ExQueueWorkItem routines at PASSIVE_LEVEL.
//
// Deterministic mode (options.deterministic): one VP, a virtual clock, and exactly one
// registered thread running at a time (a run token handed over at scheduling points chosen
// by a PRNG seeded from options.seed). See ke/scheduler.hpp for what is and is not
// deterministic.
#pragma once

#include <cstdint>
#include <memory>

namespace ndishost::nt {

namespace ke {
class Kernel;
}

struct RuntimeOptions {
  unsigned processors = 0;  // 0: std::thread::hardware_concurrency() capped at 8
  bool deterministic = false;  // one VP, virtual clock, seeded interleaving
  std::uint64_t seed = 1;
  unsigned workerThreads = 2;
};

class Runtime {
 public:
  // Throws std::logic_error when another Runtime exists.
  explicit Runtime(RuntimeOptions options = {});
  // Runs every queued DPC and work item, waits for system threads to end, stops and joins
  // the runtime's threads.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeOptions& options() const { return options_; }
  static Runtime* current();

  unsigned processorCount() const;

  // Deterministic mode: lets every other runnable thread, DPC and work item run until all
  // are idle or blocked (the virtual clock does not move). Real mode: waits until the DPC
  // queues and the work queue are empty. Call at PASSIVE_LEVEL.
  void runUntilIdle();

  ke::Kernel& kernel() { return *kernel_; }

 private:
  RuntimeOptions options_;
  std::unique_ptr<ke::Kernel> kernel_;
};

// For a thread that calls into the runtime and then blocks on something the runtime does
// not see (std::thread::join, a socket read, a condition variable). In deterministic mode
// the thread gives up the run token for the scope's lifetime so other runtime threads can
// run, and takes it back at the end. In real mode it does nothing. Use at IRQL <
// DISPATCH_LEVEL.
class OutsideRuntimeScope {
 public:
  OutsideRuntimeScope();
  ~OutsideRuntimeScope();
  OutsideRuntimeScope(const OutsideRuntimeScope&) = delete;
  OutsideRuntimeScope& operator=(const OutsideRuntimeScope&) = delete;

 private:
  void* thread_ = nullptr;
};

}  // namespace ndishost::nt
