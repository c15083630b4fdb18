// The dispatcher: signal states and waits of events, mutexes, semaphores, timers and
// thread objects. State lives in the objects (Header.SignalState; waiters' KWAIT_BLOCKs are
// linked on Header.WaitListHead) under the one dispatcher lock, like Windows' dispatcher
// database lock, so an object on a driver's stack leaves nothing behind once its waits end.
#include <fmt/format.h>

#include "nt/ke/kernel.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::ke {
namespace {

constexpr UCHAR kBlockWaiting = 1;
constexpr UCHAR kBlockDone = 0;

bool isDispatcherType(UCHAR type) {
  switch (type) {
    case NDISHOST_OBJECT_EVENT_NOTIFICATION:
    case NDISHOST_OBJECT_EVENT_SYNCHRONIZATION:
    case NDISHOST_OBJECT_MUTANT:
    case NDISHOST_OBJECT_SEMAPHORE:
    case NDISHOST_OBJECT_TIMER_NOTIFICATION:
    case NDISHOST_OBJECT_TIMER_SYNCHRONIZATION:
    case kThreadObjectType:
      return true;
    default:
      return false;
  }
}

// Whether `header` would satisfy a wait by `thread` now.
bool signaledFor(PDISPATCHER_HEADER header, ThreadRecord& thread) {
  if (header->Type == NDISHOST_OBJECT_MUTANT) {
    auto* mutant = CONTAINING_RECORD(header, KMUTANT, Header);
    return header->SignalState > 0 || mutant->OwnerThread == static_cast<_KTHREAD*>(&thread);
  }
  return header->SignalState > 0;
}

// The side effect of a satisfied wait. Returns true when the thread acquired an abandoned
// mutex.
bool acquireFor(PDISPATCHER_HEADER header, ThreadRecord& thread) {
  switch (header->Type) {
    case NDISHOST_OBJECT_EVENT_SYNCHRONIZATION:
    case NDISHOST_OBJECT_TIMER_SYNCHRONIZATION:
      header->SignalState = 0;
      return false;
    case NDISHOST_OBJECT_SEMAPHORE:
      --header->SignalState;
      return false;
    case NDISHOST_OBJECT_MUTANT: {
      auto* mutant = CONTAINING_RECORD(header, KMUTANT, Header);
      bool abandoned = false;
      if (header->SignalState > 0) {
        mutant->OwnerThread = static_cast<_KTHREAD*>(&thread);
        InsertTailList(&thread.ownedMutants, &mutant->MutantListEntry);
        ++thread.criticalRegion;  // holding a KMUTEX disables normal kernel APCs
        abandoned = mutant->Abandoned != FALSE;
        mutant->Abandoned = FALSE;
      }
      --header->SignalState;
      return abandoned;
    }
    default:
      return false;  // notification events and timers, threads: state unchanged
  }
}

// Tries to satisfy a wait at once. nullopt: not satisfiable now.
std::optional<NTSTATUS> trySatisfy(ThreadRecord& self, std::span<PDISPATCHER_HEADER> objects, WAIT_TYPE type) {
  if (type == WaitAny) {
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (signaledFor(objects[i], self)) {
        bool abandoned = acquireFor(objects[i], self);
        return (abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0) + static_cast<NTSTATUS>(i);
      }
    }
    return std::nullopt;
  }
  if (objects.empty()) return std::nullopt;
  for (auto* object : objects)
    if (!signaledFor(object, self)) return std::nullopt;
  bool abandoned = false;
  for (auto* object : objects) abandoned |= acquireFor(object, self);
  return abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0;
}

}  // namespace

const char* objectTypeName(UCHAR type) {
  switch (type) {
    case NDISHOST_OBJECT_EVENT_NOTIFICATION:
      return "notification event";
    case NDISHOST_OBJECT_EVENT_SYNCHRONIZATION:
      return "synchronization event";
    case NDISHOST_OBJECT_MUTANT:
      return "mutex";
    case NDISHOST_OBJECT_SEMAPHORE:
      return "semaphore";
    case NDISHOST_OBJECT_TIMER_NOTIFICATION:
      return "notification timer";
    case NDISHOST_OBJECT_TIMER_SYNCHRONIZATION:
      return "synchronization timer";
    case kThreadObjectType:
      return "thread";
    default:
      return "not a dispatcher object";
  }
}

bool checkDispatcherObject(PDISPATCHER_HEADER header, std::initializer_list<UCHAR> expected, const char* ddi,
                           const void* caller) {
  bool ok = header != nullptr && isDispatcherType(header->Type);
  if (ok && expected.size() != 0) {
    ok = false;
    for (UCHAR type : expected) ok |= header->Type == type;
  }
  if (ok) [[likely]]
    return true;
  reportViolation({"ke.bad-dispatcher-object", bugcheck::DriverVerifierDetectedViolation,
                   reinterpret_cast<std::uint64_t>(header), header != nullptr ? header->Type : 0xFFu},
                  caller,
                  fmt::format("{}: object {} has Header.Type {} ({}); not initialized, or the wrong kind of object",
                              ddi, static_cast<void*>(header), header != nullptr ? header->Type : -1,
                              header != nullptr ? objectTypeName(header->Type) : "null"));
  return false;
}

std::optional<std::uint64_t> deadlineFromTimeout(Kernel& kernel, const LARGE_INTEGER* timeout) {
  if (timeout == nullptr) return std::nullopt;
  LONGLONG value = timeout->QuadPart;
  std::uint64_t now = kernel.clock().interruptTime();
  if (value == 0) return now;
  if (value < 0) {
    std::uint64_t delta = static_cast<std::uint64_t>(-(value + 1)) + 1;
    return delta > UINT64_MAX - now ? UINT64_MAX - 1 : now + delta;
  }
  // Absolute system time.
  LONGLONG relative = value - kernel.clock().systemTimeBase();
  return relative <= 0 ? 0 : static_cast<std::uint64_t>(relative);
}

void Kernel::completeWaitLocked(ThreadRecord& thread, NTSTATUS status) {
  for (ULONG i = 0; i < thread.waitCount; ++i) {
    PKWAIT_BLOCK block = &thread.waitBlocks[i];
    if (block->BlockState == kBlockWaiting) {
      RemoveEntryList(&block->WaitListEntry);
      block->BlockState = kBlockDone;
    }
  }
  thread.waitCount = 0;
  thread.waiting = false;
  thread.waitStatus = status;
  thread.waitDeadline = UINT64_MAX;
  if (deterministic_) {
    scheduler_.makeRunnable(thread);
  } else {
    thread.wakeup.notify_one();
  }
}

void Kernel::wakeWaitersLocked(PDISPATCHER_HEADER header) {
  bool progress = true;
  while (progress) {
    progress = false;
    for (PLIST_ENTRY entry = header->WaitListHead.Flink; entry != &header->WaitListHead; entry = entry->Flink) {
      PKWAIT_BLOCK block = CONTAINING_RECORD(entry, KWAIT_BLOCK, WaitListEntry);
      ThreadRecord& waiter = recordOf(block->Thread);
      if (block->WaitType == WaitAny) {
        if (!signaledFor(header, waiter)) continue;
        bool abandoned = acquireFor(header, waiter);
        completeWaitLocked(waiter, (abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0) + block->WaitKey);
      } else {
        bool all = true;
        for (ULONG i = 0; i < waiter.waitCount && all; ++i)
          all = signaledFor(static_cast<PDISPATCHER_HEADER>(waiter.waitBlocks[i].Object), waiter);
        if (!all) continue;
        bool abandoned = false;
        for (ULONG i = 0; i < waiter.waitCount; ++i)
          abandoned |= acquireFor(static_cast<PDISPATCHER_HEADER>(waiter.waitBlocks[i].Object), waiter);
        completeWaitLocked(waiter, abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0);
      }
      progress = true;  // the list changed under us: scan again
      break;
    }
  }
}

NTSTATUS Kernel::wait(ThreadRecord& self, std::span<PDISPATCHER_HEADER> objects, WAIT_TYPE type,
                      std::optional<std::uint64_t> deadline, PKWAIT_BLOCK blocks, const char* ddi) {
  std::unique_lock lock(dispatcherLock);
  if (auto status = trySatisfy(self, objects, type)) return *status;
  if (deadline && *deadline <= clock_.interruptTime()) {
    lock.unlock();
    // A zero time-out only tests; it is still a chance for others to run.
    yieldPoint(self);
    return STATUS_TIMEOUT;
  }
  for (std::size_t i = 0; i < objects.size(); ++i) {
    PKWAIT_BLOCK block = &blocks[i];
    block->WaitType = static_cast<UCHAR>(type);
    block->BlockState = kBlockWaiting;
    block->WaitKey = static_cast<USHORT>(i);
    block->Thread = static_cast<_KTHREAD*>(&self);
    block->Object = objects[i];
    InsertTailList(&objects[i]->WaitListHead, &block->WaitListEntry);
  }
  self.waitBlocks = blocks;
  self.waitCount = static_cast<ULONG>(objects.size());
  self.waiting = true;
  self.waitDeadline = deadline.value_or(UINT64_MAX);
  self.waitDdi = ddi;

  if (deterministic_) {
    lock.unlock();
    scheduler_.block(self, false);
    lock.lock();
    // Satisfied, timed out by the scheduler, or the runtime is shutting down.
    if (self.waiting) completeWaitLocked(self, STATUS_TIMEOUT);
    return self.waitStatus;
  }
  while (self.waiting) {
    if (!deadline) {
      self.wakeup.wait(lock);
      continue;
    }
    if (self.wakeup.wait_until(lock, clock_.toSteady(*deadline)) == std::cv_status::timeout && self.waiting &&
        clock_.interruptTime() >= *deadline) {
      completeWaitLocked(self, STATUS_TIMEOUT);
    }
  }
  return self.waitStatus;
}

void setEventInternal(Kernel& kernel, PKEVENT event) {
  std::lock_guard lock(kernel.dispatcherLock);
  if (event->Header.SignalState == 0) {
    event->Header.SignalState = 1;
    kernel.wakeWaitersLocked(&event->Header);
  }
}

bool Kernel::anyThreadWaiting() {
  std::lock_guard lock(dispatcherLock);
  std::lock_guard threads(threadsLock_);
  for (auto& record : threads_)
    if (record->waiting && !record->exited) return true;
  return false;
}

void Kernel::reportDeadlock() {
  std::string detail = "every runtime thread is blocked and no timer or time-out is pending:";
  {
    std::lock_guard lock(dispatcherLock);
    std::lock_guard threads(threadsLock_);
    for (auto& record : threads_) {
      if (record->exited) continue;
      if (!record->waiting) {
        detail += fmt::format("\n  {} (vp {}): idle", record->name, record->vp);
        continue;
      }
      detail += fmt::format("\n  {} (vp {}): in {} on", record->name, record->vp,
                            record->waitDdi != nullptr ? record->waitDdi : "a wait");
      for (ULONG i = 0; i < record->waitCount; ++i) {
        auto* header = static_cast<PDISPATCHER_HEADER>(record->waitBlocks[i].Object);
        detail += fmt::format(" {}{} {} (signal state {})", i == 0 ? "" : (record->waitBlocks[i].WaitType == WaitAll ? "and " : "or "),
                              objectTypeName(header->Type), static_cast<void*>(header), header->SignalState);
        if (header->Type == NDISHOST_OBJECT_MUTANT) {
          auto* mutant = CONTAINING_RECORD(header, KMUTANT, Header);
          if (mutant->OwnerThread != nullptr) detail += fmt::format(" owned by {}", recordOf(mutant->OwnerThread).name);
        }
      }
    }
  }
  reportViolation({"ke.deadlock", bugcheck::DriverVerifierDetectedViolation, 0x1001}, nullptr, detail);
  // Record mode: end every wait with STATUS_TIMEOUT so the test can go on.
  std::lock_guard lock(dispatcherLock);
  std::lock_guard threads(threadsLock_);
  for (auto& record : threads_)
    if (record->waiting) completeWaitLocked(*record, STATUS_TIMEOUT);
}

}  // namespace ndishost::nt::ke

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

namespace {

PDISPATCHER_HEADER headerOf(PVOID object) { return static_cast<PDISPATCHER_HEADER>(object); }

void initializeHeader(DISPATCHER_HEADER& header, UCHAR type, std::size_t objectSize, LONG signalState) {
  header.Lock = 0;
  header.Type = type;
  header.Size = static_cast<UCHAR>(objectSize / sizeof(LONG));
  header.SignalState = signalState;
  header.WaitListHead.Flink = header.WaitListHead.Blink = &header.WaitListHead;
}

NTSTATUS waitCommon(ULONG count, PVOID objects[], WAIT_TYPE waitType, PLARGE_INTEGER timeout, PKWAIT_BLOCK blocks,
                    const char* ddi, const void* caller) {
  ThreadRecord& self = currentThread(ddi);
  Kernel& kernel = self.kernel;
  bool zeroTimeout = timeout != nullptr && timeout->QuadPart == 0;
  if (self.irql >= DISPATCH_LEVEL && !zeroTimeout) {
    reportViolation({"irql.wait-at-dispatch", bugcheck::IrqlNotLessOrEqual, self.irql, DISPATCH_LEVEL}, caller,
                    fmt::format("{} with a non-zero time-out at IRQL {}; only a zero time-out is allowed at "
                                "DISPATCH_LEVEL", ddi, self.irql));
    zeroTimeout = true;  // Record mode: only test the objects
  }
  if (count > MAXIMUM_WAIT_OBJECTS || (count > THREAD_WAIT_OBJECTS && blocks == nullptr)) {
    reportViolation({"ke.too-many-wait-objects", 0x0C /* MAXIMUM_WAIT_OBJECTS_EXCEEDED */, count}, caller,
                    fmt::format("{} with {} objects (maximum {}, or {} without a WaitBlockArray)", ddi, count,
                                MAXIMUM_WAIT_OBJECTS, THREAD_WAIT_OBJECTS));
    return STATUS_INVALID_PARAMETER;
  }
  PDISPATCHER_HEADER headers[MAXIMUM_WAIT_OBJECTS];
  for (ULONG i = 0; i < count; ++i) {
    headers[i] = headerOf(objects[i]);
    if (!checkDispatcherObject(headers[i], {}, ddi, caller)) return STATUS_INVALID_PARAMETER;
  }
  LARGE_INTEGER zero{};
  auto deadline = deadlineFromTimeout(kernel, zeroTimeout ? &zero : timeout);
  return kernel.wait(self, std::span(headers, count), waitType, deadline,
                     blocks != nullptr ? blocks : self.builtinWaitBlocks, ddi);
}

}  // namespace

extern "C" {

// ---- events -----------------------------------------------------------------------------
// Any IRQL.
VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State) {
  initializeHeader(Event->Header,
                   Type == SynchronizationEvent ? NDISHOST_OBJECT_EVENT_SYNCHRONIZATION : NDISHOST_OBJECT_EVENT_NOTIFICATION,
                   sizeof(KEVENT), State ? 1 : 0);
}

// IRQL <= DISPATCH_LEVEL.
LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait) {
  (void)Increment;
  (void)Wait;
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeSetEvent");
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeSetEvent", caller);
  if (!checkDispatcherObject(&Event->Header, {NDISHOST_OBJECT_EVENT_NOTIFICATION, NDISHOST_OBJECT_EVENT_SYNCHRONIZATION},
                             "KeSetEvent", caller))
    return 0;
  LONG previous;
  {
    std::lock_guard lock(self.kernel.dispatcherLock);
    previous = Event->Header.SignalState;
    if (previous == 0) {
      Event->Header.SignalState = 1;
      self.kernel.wakeWaitersLocked(&Event->Header);
    }
  }
  self.kernel.yieldPoint(self);
  return previous;
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI KeClearEvent(PRKEVENT Event) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeClearEvent");
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeClearEvent", caller);
  if (!checkDispatcherObject(&Event->Header, {NDISHOST_OBJECT_EVENT_NOTIFICATION, NDISHOST_OBJECT_EVENT_SYNCHRONIZATION},
                             "KeClearEvent", caller))
    return;
  std::lock_guard lock(self.kernel.dispatcherLock);
  Event->Header.SignalState = 0;
}

// IRQL <= DISPATCH_LEVEL.
LONG NTAPI KeResetEvent(PRKEVENT Event) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeResetEvent");
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeResetEvent", caller);
  if (!checkDispatcherObject(&Event->Header, {NDISHOST_OBJECT_EVENT_NOTIFICATION, NDISHOST_OBJECT_EVENT_SYNCHRONIZATION},
                             "KeResetEvent", caller))
    return 0;
  std::lock_guard lock(self.kernel.dispatcherLock);
  LONG previous = Event->Header.SignalState;
  Event->Header.SignalState = 0;
  return previous;
}

// Any IRQL.
LONG NTAPI KeReadStateEvent(PRKEVENT Event) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeReadStateEvent");
  if (!checkDispatcherObject(&Event->Header, {NDISHOST_OBJECT_EVENT_NOTIFICATION, NDISHOST_OBJECT_EVENT_SYNCHRONIZATION},
                             "KeReadStateEvent", caller))
    return 0;
  std::lock_guard lock(self.kernel.dispatcherLock);
  return Event->Header.SignalState;
}

// ---- mutexes ----------------------------------------------------------------------------
// PASSIVE_LEVEL (not checked: needs no runtime).
VOID NTAPI KeInitializeMutex(PRKMUTEX Mutex, ULONG Level) {
  (void)Level;
  initializeHeader(Mutex->Header, NDISHOST_OBJECT_MUTANT, sizeof(KMUTEX), 1);
  Mutex->MutantListEntry.Flink = Mutex->MutantListEntry.Blink = nullptr;
  Mutex->OwnerThread = nullptr;
  Mutex->Abandoned = FALSE;
  Mutex->ApcDisable = 1;
}

// IRQL <= DISPATCH_LEVEL.
LONG NTAPI KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait) {
  (void)Wait;
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeReleaseMutex");
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeReleaseMutex", caller);
  if (!checkDispatcherObject(&Mutex->Header, {NDISHOST_OBJECT_MUTANT}, "KeReleaseMutex", caller)) return 0;
  LONG previous;
  {
    std::unique_lock lock(self.kernel.dispatcherLock);
    previous = Mutex->Header.SignalState;
    if (Mutex->OwnerThread != static_cast<_KTHREAD*>(&self) || previous > 0) {
      std::string owner = Mutex->OwnerThread != nullptr ? recordOf(Mutex->OwnerThread).name : std::string("nobody");
      lock.unlock();
      reportViolation({"mutex.not-owned", 0x11 /* THREAD_NOT_MUTEX_OWNER */, reinterpret_cast<std::uint64_t>(Mutex),
                       reinterpret_cast<std::uint64_t>(static_cast<_KTHREAD*>(&self))},
                      caller,
                      fmt::format("KeReleaseMutex on mutex {} owned by {}, called by {}", static_cast<void*>(Mutex),
                                  owner, self.name));
      return previous;
    }
    if (++Mutex->Header.SignalState == 1) {
      Mutex->OwnerThread = nullptr;
      RemoveEntryList(&Mutex->MutantListEntry);
      --self.criticalRegion;
      self.kernel.wakeWaitersLocked(&Mutex->Header);
    }
  }
  self.kernel.yieldPoint(self);
  return previous;
}

// Any IRQL.
LONG NTAPI KeReadStateMutex(PRKMUTEX Mutex) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeReadStateMutex");
  if (!checkDispatcherObject(&Mutex->Header, {NDISHOST_OBJECT_MUTANT}, "KeReadStateMutex", caller)) return 0;
  std::lock_guard lock(self.kernel.dispatcherLock);
  return Mutex->Header.SignalState;
}

// ---- semaphores -------------------------------------------------------------------------
// PASSIVE_LEVEL (not checked: needs no runtime).
VOID NTAPI KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit) {
  initializeHeader(Semaphore->Header, NDISHOST_OBJECT_SEMAPHORE, sizeof(KSEMAPHORE), Count);
  Semaphore->Limit = Limit;
}

// IRQL <= DISPATCH_LEVEL.
LONG NTAPI KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment, BOOLEAN Wait) {
  (void)Increment;
  (void)Wait;
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeReleaseSemaphore");
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeReleaseSemaphore", caller);
  if (!checkDispatcherObject(&Semaphore->Header, {NDISHOST_OBJECT_SEMAPHORE}, "KeReleaseSemaphore", caller)) return 0;
  LONG previous;
  {
    std::unique_lock lock(self.kernel.dispatcherLock);
    previous = Semaphore->Header.SignalState;
    if (Adjustment <= 0 || previous > Semaphore->Limit - Adjustment) {
      LONG limit = Semaphore->Limit;
      lock.unlock();
      reportViolation({"semaphore.limit-exceeded", bugcheck::DriverVerifierDetectedViolation,
                       reinterpret_cast<std::uint64_t>(Semaphore), static_cast<std::uint64_t>(previous),
                       static_cast<std::uint64_t>(Adjustment), static_cast<std::uint64_t>(limit)},
                      caller,
                      fmt::format("KeReleaseSemaphore by {} with count {} and limit {}", Adjustment, previous, limit));
      return previous;
    }
    Semaphore->Header.SignalState = previous + Adjustment;
    self.kernel.wakeWaitersLocked(&Semaphore->Header);
  }
  self.kernel.yieldPoint(self);
  return previous;
}

// Any IRQL.
LONG NTAPI KeReadStateSemaphore(PRKSEMAPHORE Semaphore) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeReadStateSemaphore");
  if (!checkDispatcherObject(&Semaphore->Header, {NDISHOST_OBJECT_SEMAPHORE}, "KeReadStateSemaphore", caller)) return 0;
  std::lock_guard lock(self.kernel.dispatcherLock);
  return Semaphore->Header.SignalState;
}

// ---- waits ------------------------------------------------------------------------------
// IRQL <= APC_LEVEL; DISPATCH_LEVEL with a zero time-out.
NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                     BOOLEAN Alertable, PLARGE_INTEGER Timeout) {
  (void)WaitReason;
  (void)WaitMode;
  (void)Alertable;
  PVOID objects[1] = {Object};
  return waitCommon(1, objects, WaitAny, Timeout, nullptr, "KeWaitForSingleObject", __builtin_return_address(0));
}

// IRQL <= APC_LEVEL; DISPATCH_LEVEL with a zero time-out.
NTSTATUS NTAPI KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType, KWAIT_REASON WaitReason,
                                        KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                        PKWAIT_BLOCK WaitBlockArray) {
  (void)WaitReason;
  (void)WaitMode;
  (void)Alertable;
  return waitCommon(Count, Object, WaitType == WaitAll ? WaitAll : WaitAny, Timeout, WaitBlockArray,
                    "KeWaitForMultipleObjects", __builtin_return_address(0));
}

// IRQL <= APC_LEVEL.
NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Interval) {
  (void)WaitMode;
  (void)Alertable;
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeDelayExecutionThread");
  checkIrqlAtMost(self, APC_LEVEL, "KeDelayExecutionThread", caller);
  if (Interval == nullptr) {
    reportViolation({"ke.bad-parameter", bugcheck::DriverVerifierDetectedViolation}, caller,
                    "KeDelayExecutionThread with a NULL Interval");
    return STATUS_INVALID_PARAMETER;
  }
  if (self.irql >= DISPATCH_LEVEL) return STATUS_SUCCESS;  // Record mode: never block raised
  auto deadline = deadlineFromTimeout(self.kernel, Interval);
  self.kernel.wait(self, {}, WaitAny, deadline, self.builtinWaitBlocks, "KeDelayExecutionThread");
  return STATUS_SUCCESS;
}

// Any IRQL.
VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds) {
  ThreadRecord& self = currentThread("KeStallExecutionProcessor");
  Kernel& kernel = self.kernel;
  std::uint64_t delta = std::uint64_t{MicroSeconds} * 10;
  if (kernel.deterministic()) {
    kernel.clock().advanceBy(delta);
    std::lock_guard lock(kernel.dispatcherLock);
    kernel.fireDueLocked();
    return;
  }
  std::uint64_t until = kernel.clock().interruptTime() + delta;
  while (kernel.clock().interruptTime() < until) {
    if (MicroSeconds > 50) std::this_thread::yield();
  }
}

}  // extern "C"
