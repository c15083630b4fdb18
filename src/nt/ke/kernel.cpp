// The Runtime object, thread registration and the runtime's own threads (DPC threads,
// workers, the timer thread).
#include "nt/ke/kernel.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

#include "nt/support/log.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {
namespace ke {
namespace {

std::mutex runtimeLock;  // guards creating/destroying the one Runtime against thread exit
std::atomic<Runtime*> liveRuntime{nullptr};
std::atomic<Kernel*> liveKernel{nullptr};
std::atomic<std::uint64_t> generations{0};
std::atomic<std::uint64_t> threadIds{0};

// The calling thread's binding to the live runtime. A stale generation means the thread
// registered with an earlier Runtime and must register again.
struct ThreadSlot {
  ThreadRecord* record = nullptr;
  std::uint64_t generation = 0;
  ~ThreadSlot();
};
thread_local ThreadSlot slot;

ThreadSlot::~ThreadSlot() {
  if (record == nullptr) return;
  std::lock_guard guard(runtimeLock);
  Kernel* kernel = liveKernel.load();
  // A record of an earlier runtime is gone: look at it only when the generation matches.
  if (kernel != nullptr && kernel->generation() == generation && record->kind == ThreadKind::Foreign &&
      !record->exited) {
    kernel->threadExit(*record, nullptr);
  }
  record = nullptr;
}

unsigned chooseProcessorCount(const RuntimeOptions& options) {
  if (options.deterministic) return 1;
  unsigned count = options.processors;
  if (count == 0) count = std::min(std::max(std::thread::hardware_concurrency(), 1U), 8U);
  return std::min(count, 64U);
}

}  // namespace

Kernel* currentKernel() { return liveKernel.load(std::memory_order_acquire); }

[[noreturn]] void noRuntime(const char* ddi) {
  std::fprintf(stderr, "no ndishost runtime: create ndishost::nt::Runtime first (%s was called without one)\n",
               ddi);
  std::fflush(stderr);
  std::abort();
}

void bindCurrentThread(ThreadRecord& record) {
  slot.record = &record;
  slot.generation = record.kernel.generation();
}

ThreadRecord& currentThread(const char* ddi) {
  Kernel* kernel = liveKernel.load(std::memory_order_acquire);
  if (kernel == nullptr) noRuntime(ddi);
  if (slot.generation == kernel->generation()) [[likely]]
    return *slot.record;
  return kernel->registerForeignThread();
}

ThreadRecord* currentThreadIfRegistered() {
  Kernel* kernel = liveKernel.load(std::memory_order_acquire);
  if (kernel == nullptr || slot.generation != kernel->generation()) return nullptr;
  return slot.record;
}

ThreadRecord::ThreadRecord(Kernel& owner, ThreadKind threadKind, unsigned processor, std::string threadName)
    : _ETHREAD{},
      kernel(owner),
      kind(threadKind),
      vp(processor),
      id(++threadIds),
      name(threadName.empty() ? fmt::format("thread-{}", id) : std::move(threadName)) {
  Header.Type = kThreadObjectType;
  Header.Size = static_cast<UCHAR>(sizeof(DISPATCHER_HEADER) / sizeof(LONG));
  Header.SignalState = 0;
  Header.WaitListHead.Flink = Header.WaitListHead.Blink = &Header.WaitListHead;
  ownedMutants.Flink = ownedMutants.Blink = &ownedMutants;
}

Kernel::Kernel(Runtime& runtime, const RuntimeOptions& options)
    : runtime_(runtime),
      deterministic_(options.deterministic),
      generation_(++generations),
      clock_(options.deterministic),
      scheduler_(options.deterministic, options.seed) {
  scheduler_.attach(*this);
  unsigned count = chooseProcessorCount(options);
  for (unsigned i = 0; i < count; ++i) {
    vps_.push_back(std::make_unique<VirtualProcessor>());
    vps_.back()->index = i;
  }
  timerList.Flink = timerList.Blink = &timerList;
  workItems_.Flink = workItems_.Blink = &workItems_;
  KeInitializeEvent(&workIdle_, NotificationEvent, TRUE);
}

Kernel::~Kernel() = default;

ThreadRecord& Kernel::createRecord(ThreadKind kind, unsigned vpIndex, std::string name) {
  std::lock_guard guard(threadsLock_);
  threads_.push_back(std::make_unique<ThreadRecord>(*this, kind, vpIndex, std::move(name)));
  return *threads_.back();
}

ThreadRecord& Kernel::registerForeignThread() {
  unsigned vpIndex = nextVp_.fetch_add(1) % processorCount();
  ThreadRecord& record = createRecord(ThreadKind::Foreign, vpIndex, {});
  bindCurrentThread(record);
  scheduler_.enter(record, false);
  return record;
}

void Kernel::start() {
  // Records first, in a fixed order, so deterministic runs see the same threads.
  for (auto& vp : vps_) {
    vp->dpcThread = &createRecord(ThreadKind::Dpc, vp->index, fmt::format("dpc-{}", vp->index));
    vp->dpcThreadIdle = true;
  }
  unsigned workerCount = std::max(runtime_.options().workerThreads, 1U);
  for (unsigned i = 0; i < workerCount; ++i) {
    unsigned vpIndex = nextVp_.fetch_add(1) % processorCount();
    workers_.push_back(&createRecord(ThreadKind::Worker, vpIndex, fmt::format("worker-{}", i)));
  }
  if (deterministic_) {
    std::lock_guard guard(workLock_);
    idleWorkers_ = workers_;
    std::reverse(idleWorkers_.begin(), idleWorkers_.end());
  }
  for (auto& vp : vps_) {
    ThreadRecord& record = *vp->dpcThread;
    record.osThread = std::thread([this, &record] { dpcThreadMain(record); });
  }
  for (ThreadRecord* worker : workers_) {
    worker->osThread = std::thread([this, worker] { workerMain(*worker); });
  }
  if (!deterministic_) timerThread_ = std::thread([this] { timerThreadMain(); });
}

void Kernel::runUntilIdle(ThreadRecord& self) {
  if (deterministic_) {
    scheduler_.yieldToOthers(self);
    return;
  }
  for (int round = 0; round < 1000; ++round) {
    flushDpcs(self);
    drainWork(self);
    bool quiet = workPending_.load() == 0;
    for (unsigned i = 0; i < processorCount() && quiet; ++i) quiet = !dpcsPending(i);
    if (quiet) return;
  }
}

void Kernel::shutdown() {
  ThreadRecord& self = currentThread("Runtime::~Runtime");
  if (self.irql != PASSIVE_LEVEL) {
    logger("nt").warn("Runtime destroyed by a thread at IRQL {}; lowering to PASSIVE_LEVEL", self.irql);
    lowerIrql(self, PASSIVE_LEVEL);
  }
  // 1. Drain: DPCs may queue work items and the other way round.
  for (int round = 0; round < 100; ++round) {
    flushDpcs(self);
    drainWork(self);
    bool quiet = workPending_.load() == 0;
    for (unsigned i = 0; i < processorCount() && quiet; ++i) quiet = !dpcsPending(i);
    if (quiet) break;
  }

  // 2. System threads must have ended; give them the chance to (deterministic mode needs
  // the token to move), then report the ones that did not.
  std::vector<ThreadRecord*> systemThreads;
  {
    std::lock_guard guard(threadsLock_);
    for (auto& record : threads_)
      if (record->kind == ThreadKind::System) systemThreads.push_back(record.get());
  }
  for (ThreadRecord* thread : systemThreads) {
    LARGE_INTEGER timeout;
    timeout.QuadPart = -10'000'000LL;  // 1 s
    PDISPATCHER_HEADER header = &thread->Header;
    NTSTATUS status = wait(self, std::span(&header, 1), WaitAny, deadlineFromTimeout(*this, &timeout),
                           self.builtinWaitBlocks, "Runtime::~Runtime");
    if (status == STATUS_TIMEOUT) {
      reportViolation({"ps.thread-leak", bugcheck::DriverUnloadedWithoutCancellingPendingOperations,
                       reinterpret_cast<std::uint64_t>(thread)},
                      reinterpret_cast<const void*>(thread->startRoutine),
                      fmt::format("system thread {} (start routine {}) still running when the runtime ends",
                                  thread->name, reinterpret_cast<const void*>(thread->startRoutine)));
      // Record mode: release it from whatever it waits on so it can be joined.
      std::lock_guard guard(dispatcherLock);
      if (thread->waiting) completeWaitLocked(*thread, STATUS_TIMEOUT);
    }
  }

  // 3. Stop the runtime's threads.
  scheduler_.shutdown();
  for (auto& vp : vps_) {
    std::lock_guard guard(vp->queueLock);
    vp->stopping = true;
    vp->queueCv.notify_all();
  }
  {
    std::lock_guard guard(workLock_);
    workStopping_ = true;
    workCv_.notify_all();
  }
  {
    std::lock_guard guard(dispatcherLock);
    timerStopping_ = true;
    timerCv.notify_all();
    // Break every remaining wait (Record-mode leftovers): nothing may block a join.
    std::lock_guard threadsGuard(threadsLock_);
    for (auto& record : threads_)
      if (record->waiting) completeWaitLocked(*record, STATUS_TIMEOUT);
  }
  if (timerThread_.joinable()) timerThread_.join();
  std::vector<ThreadRecord*> joinable;
  {
    std::lock_guard guard(threadsLock_);
    for (auto& record : threads_)
      if (record->osThread.joinable()) joinable.push_back(record.get());
  }
  for (ThreadRecord* record : joinable) record->osThread.join();
  if (timerList.Flink != &timerList) logger("nt").debug("runtime ends with timers still set");
}

// ---- the DPC thread --------------------------------------------------------------------
void Kernel::dpcThreadMain(ThreadRecord& self) {
  bindCurrentThread(self);
  VirtualProcessor& vp = *vps_[self.vp];
  if (deterministic_) scheduler_.waitForToken(self);
  for (;;) {
    {
      std::unique_lock lock(vp.queueLock);
      if (!deterministic_) vp.queueCv.wait(lock, [&] { return vp.head != nullptr || vp.stopping; });
      if (vp.head == nullptr) {
        if (vp.stopping || scheduler_.isShutdown()) break;
        vp.dpcThreadIdle = true;
        lock.unlock();
        scheduler_.block(self, true);
        continue;
      }
      vp.dpcThreadIdle = false;
    }
    raiseIrql(self, DISPATCH_LEVEL);
    runDpcQueue(self, vp);
    lowerIrql(self, PASSIVE_LEVEL);
  }
  self.exited = true;
}

// ---- worker threads --------------------------------------------------------------------
void Kernel::workerMain(ThreadRecord& self) {
  bindCurrentThread(self);
  if (deterministic_) scheduler_.waitForToken(self);
  for (;;) {
    PWORK_QUEUE_ITEM item = nullptr;
    {
      std::unique_lock lock(workLock_);
      if (!deterministic_) workCv_.wait(lock, [&] { return workItems_.Flink != &workItems_ || workStopping_; });
      if (workItems_.Flink == &workItems_) {
        if (workStopping_ || scheduler_.isShutdown()) break;
        idleWorkers_.push_back(&self);
        lock.unlock();
        scheduler_.block(self, true);
        continue;
      }
      PLIST_ENTRY entry = workItems_.Flink;
      RemoveEntryList(entry);
      item = CONTAINING_RECORD(entry, WORK_QUEUE_ITEM, List);
    }
    PWORKER_THREAD_ROUTINE routine = item->WorkerRoutine;
    PVOID parameter = item->Parameter;
    // Not queued any more: the routine may queue the item again or free it.
    item->List.Flink = nullptr;
    routine(parameter);
    if (self.irql != PASSIVE_LEVEL || self.fastMutexesHeld != 0) {
      reportViolation({"workitem.irql-leak", 0xE1 /* WORKER_THREAD_RETURNED_AT_BAD_IRQL */,
                       reinterpret_cast<std::uint64_t>(routine), self.irql, reinterpret_cast<std::uint64_t>(item),
                       reinterpret_cast<std::uint64_t>(item)},
                      reinterpret_cast<const void*>(routine),
                      fmt::format("work item routine {} returned at IRQL {} holding {} fast mutex(es)",
                                  reinterpret_cast<const void*>(routine), self.irql, self.fastMutexesHeld));
      if (self.irql != PASSIVE_LEVEL) lowerIrql(self, PASSIVE_LEVEL);
      self.fastMutexesHeld = 0;
    }
    std::lock_guard lock(workLock_);
    if (workPending_.fetch_sub(1) == 1) setEventInternal(*this, &workIdle_);
  }
  self.exited = true;
}

void Kernel::queueWorkItem(PWORK_QUEUE_ITEM item) {
  ThreadRecord* wake = nullptr;
  {
    std::lock_guard lock(workLock_);
    if (workPending_.fetch_add(1) == 0) {
      std::lock_guard dispatcher(dispatcherLock);
      workIdle_.Header.SignalState = 0;
    }
    InsertTailList(&workItems_, &item->List);
    if (deterministic_) {
      if (!idleWorkers_.empty()) {
        wake = idleWorkers_.back();
        idleWorkers_.pop_back();
      }
    } else {
      workCv_.notify_one();
    }
  }
  if (wake != nullptr) scheduler_.makeRunnable(*wake);
}

void Kernel::drainWork(ThreadRecord& self) {
  PDISPATCHER_HEADER header = &workIdle_.Header;
  wait(self, std::span(&header, 1), WaitAny, std::nullopt, self.builtinWaitBlocks, "ExQueueWorkItem(drain)");
}

// ---- the timer thread (real clock only) ------------------------------------------------
void Kernel::timerThreadMain() {
  std::unique_lock lock(dispatcherLock);
  while (!timerStopping_) {
    fireDueLocked();
    if (timerList.Flink == &timerList) {
      timerCv.wait(lock);
    } else {
      PKTIMER first = CONTAINING_RECORD(timerList.Flink, KTIMER, TimerListEntry);
      timerCv.wait_until(lock, clock_.toSteady(first->DueTime.QuadPart));
    }
  }
}

}  // namespace ke

// ---- Runtime ------------------------------------------------------------------------------
Runtime::Runtime(RuntimeOptions options) : options_(options) {
  std::lock_guard guard(ke::runtimeLock);
  if (ke::liveRuntime.load() != nullptr) {
    throw std::logic_error("ndishost::nt::Runtime: a Runtime already exists; only one may exist at a time");
  }
  if (options_.deterministic) options_.processors = 1;
  kernel_ = std::make_unique<ke::Kernel>(*this, options_);
  options_.processors = kernel_->processorCount();
  kernel_->start();
  ke::liveKernel.store(kernel_.get(), std::memory_order_release);
  ke::liveRuntime.store(this, std::memory_order_release);
}

Runtime::~Runtime() {
  kernel_->shutdown();
  std::lock_guard guard(ke::runtimeLock);
  ke::liveRuntime.store(nullptr, std::memory_order_release);
  ke::liveKernel.store(nullptr, std::memory_order_release);
  kernel_.reset();
}

Runtime* Runtime::current() { return ke::liveRuntime.load(std::memory_order_acquire); }

unsigned Runtime::processorCount() const { return kernel_->processorCount(); }

void Runtime::runUntilIdle() { kernel_->runUntilIdle(ke::currentThread("Runtime::runUntilIdle")); }

OutsideRuntimeScope::OutsideRuntimeScope() {
  ke::ThreadRecord* self = ke::currentThreadIfRegistered();
  if (self == nullptr || !self->kernel.deterministic()) return;
  thread_ = self;
  if (self->outsideDepth++ == 0) self->kernel.scheduler().leave(*self);
}

OutsideRuntimeScope::~OutsideRuntimeScope() {
  if (thread_ == nullptr) return;
  auto* self = static_cast<ke::ThreadRecord*>(thread_);
  if (ke::currentThreadIfRegistered() != self) return;  // the runtime ended meanwhile
  if (--self->outsideDepth == 0) self->kernel.scheduler().enter(*self, true);
}

}  // namespace ndishost::nt
