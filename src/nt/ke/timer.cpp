// Timers: a list sorted by due time (interrupt time), linked through KTIMER.TimerListEntry
// under the dispatcher lock. TimerListEntry.Flink != NULL means "set". The real clock's
// timer thread fires them; in deterministic mode the scheduler does, when every thread is
// blocked, after moving the virtual clock to the due time.
#include <algorithm>

#include <fmt/format.h>

#include "nt/ke/kernel.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::ke {
namespace {

bool isTimerSet(PKTIMER timer) { return timer->TimerListEntry.Flink != nullptr; }

void unlinkTimer(PKTIMER timer) {
  RemoveEntryList(&timer->TimerListEntry);
  timer->TimerListEntry.Flink = timer->TimerListEntry.Blink = nullptr;
}

}  // namespace

void Kernel::insertTimerLocked(PKTIMER timer) {
  PLIST_ENTRY before = &timerList;
  for (PLIST_ENTRY entry = timerList.Flink; entry != &timerList; entry = entry->Flink) {
    if (CONTAINING_RECORD(entry, KTIMER, TimerListEntry)->DueTime.QuadPart > timer->DueTime.QuadPart) {
      before = entry;
      break;
    }
  }
  // Insert in front of `before` (the list head when it goes last).
  timer->TimerListEntry.Flink = before;
  timer->TimerListEntry.Blink = before->Blink;
  before->Blink->Flink = &timer->TimerListEntry;
  before->Blink = &timer->TimerListEntry;
  if (timerList.Flink == &timer->TimerListEntry) timerCv.notify_one();
}

void Kernel::fireDueLocked() {
  const std::uint64_t now = clock_.interruptTime();
  while (timerList.Flink != &timerList) {
    PKTIMER timer = CONTAINING_RECORD(timerList.Flink, KTIMER, TimerListEntry);
    if (timer->DueTime.QuadPart > now) break;
    unlinkTimer(timer);
    std::uint64_t due = timer->DueTime.QuadPart;
    timer->Header.SignalState = 1;
    wakeWaitersLocked(&timer->Header);
    if (timer->Period != 0) {
      std::uint64_t period = std::uint64_t{timer->Period} * 10'000;
      std::uint64_t next = due + period;
      // A timer that fell behind (a stopped clock, a busy machine) does not fire in a burst.
      if (next <= now) next = now + period;
      timer->DueTime.QuadPart = next;
      insertTimerLocked(timer);
    }
    if (timer->Dpc != nullptr) {
      // Windows passes the expiry's system time as the DPC's system arguments.
      ULARGE_INTEGER systemTime;
      systemTime.QuadPart = static_cast<ULONGLONG>(clock_.systemTimeBase()) + due;
      insertDpc(timer->Dpc, timer->Processor, reinterpret_cast<PVOID>(static_cast<ULONG_PTR>(systemTime.LowPart)),
                reinterpret_cast<PVOID>(static_cast<ULONG_PTR>(systemTime.HighPart)));
    }
  }
  if (deterministic_) {
    // Wait time-outs, which the real clock's waiters handle themselves.
    std::lock_guard threads(threadsLock_);
    for (auto& record : threads_) {
      if (record->waiting && record->waitDeadline <= now) completeWaitLocked(*record, STATUS_TIMEOUT);
    }
  }
}

bool Kernel::fireNextDeadline() {
  std::lock_guard lock(dispatcherLock);
  std::uint64_t earliest = UINT64_MAX;
  if (timerList.Flink != &timerList) {
    earliest = CONTAINING_RECORD(timerList.Flink, KTIMER, TimerListEntry)->DueTime.QuadPart;
  }
  {
    std::lock_guard threads(threadsLock_);
    for (auto& record : threads_)
      if (record->waiting) earliest = std::min(earliest, record->waitDeadline);
  }
  if (earliest == UINT64_MAX) return false;
  clock_.advanceTo(earliest);
  fireDueLocked();
  return true;
}

}  // namespace ndishost::nt::ke

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

namespace {

void initializeTimer(PKTIMER Timer, TIMER_TYPE Type) {
  Timer->Header.Lock = 0;
  Timer->Header.Type = Type == SynchronizationTimer ? NDISHOST_OBJECT_TIMER_SYNCHRONIZATION : NDISHOST_OBJECT_TIMER_NOTIFICATION;
  Timer->Header.Size = static_cast<UCHAR>(sizeof(KTIMER) / sizeof(LONG));
  Timer->Header.SignalState = 0;
  Timer->Header.WaitListHead.Flink = Timer->Header.WaitListHead.Blink = &Timer->Header.WaitListHead;
  Timer->DueTime.QuadPart = 0;
  Timer->TimerListEntry.Flink = Timer->TimerListEntry.Blink = nullptr;
  Timer->Dpc = nullptr;
  Timer->Processor = 0;
  Timer->Period = 0;
}

const std::initializer_list<UCHAR> kTimerTypes = {NDISHOST_OBJECT_TIMER_NOTIFICATION, NDISHOST_OBJECT_TIMER_SYNCHRONIZATION};

BOOLEAN setTimer(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc, const char* ddi, const void* caller) {
  ThreadRecord& self = currentThread(ddi);
  Kernel& kernel = self.kernel;
  checkIrqlAtMost(self, DISPATCH_LEVEL, ddi, caller);
  if (!checkDispatcherObject(&Timer->Header, kTimerTypes, ddi, caller)) return FALSE;
  if (Period < 0) {
    reportViolation({"timer.bad-period", bugcheck::TimerOrDpcInvalid, reinterpret_cast<std::uint64_t>(Timer),
                     static_cast<std::uint64_t>(Period)},
                    caller, fmt::format("{} with a negative Period ({} ms)", ddi, Period));
    Period = 0;
  }
  std::uint64_t due = deadlineFromTimeout(kernel, &DueTime).value_or(0);
  BOOLEAN wasSet;
  {
    std::lock_guard lock(kernel.dispatcherLock);
    wasSet = isTimerSet(Timer) ? TRUE : FALSE;
    if (wasSet) unlinkTimer(Timer);
    Timer->Header.SignalState = 0;
    Timer->DueTime.QuadPart = due;
    Timer->Period = static_cast<ULONG>(Period);
    Timer->Dpc = Dpc;
    Timer->Processor = self.vp;
    kernel.insertTimerLocked(Timer);
    // Already due (a past or zero due time): the real clock's timer thread fires it now;
    // in deterministic mode it fires at the next point where the clock may move.
  }
  return wasSet;
}

}  // namespace

extern "C" {

// IRQL <= DISPATCH_LEVEL (not checked: needs no runtime).
VOID NTAPI KeInitializeTimer(PKTIMER Timer) { initializeTimer(Timer, NotificationTimer); }

VOID NTAPI KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type) { initializeTimer(Timer, Type); }

// IRQL <= DISPATCH_LEVEL.
BOOLEAN NTAPI KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc) {
  return setTimer(Timer, DueTime, 0, Dpc, "KeSetTimer", __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
BOOLEAN NTAPI KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc) {
  return setTimer(Timer, DueTime, Period, Dpc, "KeSetTimerEx", __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL. Leaves a DPC the timer already queued alone.
BOOLEAN NTAPI KeCancelTimer(PKTIMER Timer) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeCancelTimer");
  checkIrqlAtMost(self, DISPATCH_LEVEL, "KeCancelTimer", caller);
  if (!checkDispatcherObject(&Timer->Header, kTimerTypes, "KeCancelTimer", caller)) return FALSE;
  std::lock_guard lock(self.kernel.dispatcherLock);
  if (!isTimerSet(Timer)) return FALSE;
  unlinkTimer(Timer);
  return TRUE;
}

// Any IRQL.
BOOLEAN NTAPI KeReadStateTimer(PKTIMER Timer) {
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("KeReadStateTimer");
  if (!checkDispatcherObject(&Timer->Header, kTimerTypes, "KeReadStateTimer", caller)) return FALSE;
  std::lock_guard lock(self.kernel.dispatcherLock);
  return Timer->Header.SignalState != 0 ? TRUE : FALSE;
}

}  // extern "C"
