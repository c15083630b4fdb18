// The runtime's kernel state: threads, virtual processors, DPC queues, the dispatcher,
// timers, the work queue and the deterministic scheduler. Internal to src/nt/ke; other
// layers use the DDIs or runtime.hpp.
//
// Lock order (outer first): VP dispatch lock -> work queue lock -> dispatcher lock ->
// DPC queue lock -> scheduler lock -> threads lock. The dispatcher lock is never held
// while a VP dispatch lock is taken, and no driver code runs under any of them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <wdm.h>
// The DDK headers define function-like min/max and legacy SAL names, as the WDK does for
// drivers; they break standard library headers included after them in C++.
#undef min
#undef max
#undef __in
#undef __out
#undef __inout
#undef __in_opt
#undef __out_opt
#undef __inout_opt
#undef __in_bcount
#undef __out_bcount
#undef __in_ecount
#undef __out_ecount

#include "nt/ke/clock.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/ke/scheduler.hpp"

// The kernel thread object. Drivers only hold pointers to it; it starts with a dispatcher
// header so a driver can wait for a system thread to end.
struct _KTHREAD {
  DISPATCHER_HEADER Header;
};
struct _ETHREAD : _KTHREAD {};

namespace ndishost::nt::ke {

// DISPATCHER_HEADER.Type of a thread object (Windows' ThreadObject).
inline constexpr UCHAR kThreadObjectType = 6;
// KDPC.Type values (Windows' DpcObject / ThreadedDpcObject).
inline constexpr UCHAR kDpcObjectType = 0x13;
inline constexpr UCHAR kThreadedDpcObjectType = 0x18;
// KDPC.Number for a DPC bound to a processor: kDpcTargetedBit | processor.
inline constexpr USHORT kDpcTargetedBit = 0x8000;
// Windows' clock tick, which KeQueryTimeIncrement reports (100 ns units).
inline constexpr ULONG kTimeIncrement = 156250;

enum class ThreadKind { Foreign, Dpc, Worker, System };

class Kernel;

// Per-thread runtime state; the thread object drivers see is its _KTHREAD base.
struct ThreadRecord : _ETHREAD {
  ThreadRecord(Kernel& kernel, ThreadKind kind, unsigned vp, std::string name);

  Kernel& kernel;
  const ThreadKind kind;
  const unsigned vp;
  const std::uint64_t id;  // PsGetCurrentThreadId
  const std::string name;  // for reports: "dpc-0", "worker-1", "thread-7", ...

  // Touched only by the thread itself.
  KIRQL irql = PASSIVE_LEVEL;
  int criticalRegion = 0;  // KeEnterCriticalRegion nesting plus held KMUTEXes
  int guardedRegion = 0;
  int fastMutexesHeld = 0;
  // Recursive acquisitions refused in Record mode, so the matching release is absorbed
  // instead of releasing the outer acquisition.
  struct Absorbed {
    const void* lock = nullptr;
    int count = 0;
  };
  Absorbed absorbed[4];

  // Wait state, under the dispatcher lock.
  KWAIT_BLOCK builtinWaitBlocks[THREAD_WAIT_OBJECTS] = {};
  PKWAIT_BLOCK waitBlocks = nullptr;
  ULONG waitCount = 0;
  bool waiting = false;
  NTSTATUS waitStatus = STATUS_SUCCESS;
  std::uint64_t waitDeadline = UINT64_MAX;  // interrupt time; UINT64_MAX: none
  const char* waitDdi = nullptr;
  std::condition_variable wakeup;  // real mode
  LIST_ENTRY ownedMutants;         // KMUTANT.MutantListEntry, under the dispatcher lock
  std::atomic<bool> exited{false};

  // Deterministic scheduling, under the scheduler lock.
  SchedState sched = SchedState::Blocked;
  bool idleBlocked = false;  // blocked waiting for work, not in a wait
  int outsideDepth = 0;      // nested OutsideRuntimeScopes (the thread itself)
  std::condition_variable tokenCv;

  std::thread osThread;  // runtime-created threads
  PKSTART_ROUTINE startRoutine = nullptr;
  PVOID startContext = nullptr;
};

inline ThreadRecord& recordOf(PKTHREAD thread) { return *static_cast<ThreadRecord*>(static_cast<_ETHREAD*>(thread)); }

// One virtual processor: the dispatch lock and the DPC queue.
struct VirtualProcessor {
  unsigned index = 0;
  std::mutex dispatchLock;  // held by the one thread at >= DISPATCH_LEVEL
  std::atomic<int> raisedThreads{0};  // diagnostics: must never exceed 1

  std::mutex queueLock;
  std::condition_variable queueCv;  // real mode: DPC thread waits for work
  PSINGLE_LIST_ENTRY head = nullptr;  // KDPC.DpcListEntry chain
  PSINGLE_LIST_ENTRY tail = nullptr;
  bool dpcThreadIdle = false;
  bool stopping = false;
  ThreadRecord* dpcThread = nullptr;
};

class Kernel {
 public:
  Kernel(Runtime& runtime, const RuntimeOptions& options);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  void start();
  void shutdown();
  void runUntilIdle(ThreadRecord& self);

  // ---- threads -------------------------------------------------------------------------
  ThreadRecord& registerForeignThread();
  ThreadRecord& createRecord(ThreadKind kind, unsigned vp, std::string name);
  void threadExit(ThreadRecord& self, const void* caller);
  std::uint64_t generation() const { return generation_; }
  bool deterministic() const { return deterministic_; }
  unsigned processorCount() const { return static_cast<unsigned>(vps_.size()); }
  VirtualProcessor& vp(unsigned index) { return *vps_[index]; }
  Clock& clock() { return clock_; }
  Scheduler& scheduler() { return scheduler_; }

  // ---- IRQL ----------------------------------------------------------------------------
  void raiseIrql(ThreadRecord& self, KIRQL newIrql);
  void lowerIrql(ThreadRecord& self, KIRQL newIrql);
  // Deterministic mode: a scheduling point where the thread stays runnable.
  void yieldPoint(ThreadRecord& self);

  // ---- dispatcher (all *Locked members need dispatcherLock) ----------------------------
  std::mutex dispatcherLock;
  NTSTATUS wait(ThreadRecord& self, std::span<PDISPATCHER_HEADER> objects, WAIT_TYPE type,
                std::optional<std::uint64_t> deadline, PKWAIT_BLOCK blocks, const char* ddi);
  void wakeWaitersLocked(PDISPATCHER_HEADER header);
  void completeWaitLocked(ThreadRecord& thread, NTSTATUS status);
  // Fires timers and wait time-outs due at the clock's current time.
  void fireDueLocked();
  // Deterministic mode, no runnable thread: advance the virtual clock to the earliest
  // deadline and fire it. False when there is none.
  bool fireNextDeadline();
  // Deterministic mode, no runnable thread and nothing to fire: true when some thread is
  // blocked in a wait (not idle), i.e. the system is deadlocked.
  bool anyThreadWaiting();
  void reportDeadlock();

  // ---- DPCs ----------------------------------------------------------------------------
  // Queues `dpc` on `vpIndex` (or its own target). False when already queued.
  bool insertDpc(PKDPC dpc, unsigned vpIndex, PVOID arg1, PVOID arg2);
  bool removeDpc(PKDPC dpc);
  void flushDpcs(ThreadRecord& self);
  bool dpcsPending(unsigned vpIndex);

  // ---- timers (dispatcher lock) ---------------------------------------------------------
  LIST_ENTRY timerList;  // KTIMER.TimerListEntry, sorted by DueTime
  std::condition_variable timerCv;  // real mode timer thread
  void insertTimerLocked(PKTIMER timer);

  // ---- work items -----------------------------------------------------------------------
  void queueWorkItem(PWORK_QUEUE_ITEM item);
  void drainWork(ThreadRecord& self);

  // Set by the DPC thread / worker after each routine (tests of the model use them).
  std::atomic<std::uint64_t> dpcsRun{0};

 private:
  void dpcThreadMain(ThreadRecord& self);
  void workerMain(ThreadRecord& self);
  void timerThreadMain();
  void systemThreadMain(ThreadRecord& self);
  void runDpcQueue(ThreadRecord& self, VirtualProcessor& vp);
  friend NTSTATUS createSystemThread(Kernel&, PHANDLE, PCLIENT_ID, PKSTART_ROUTINE, PVOID);

  Runtime& runtime_;
  const bool deterministic_;
  const std::uint64_t generation_;
  Clock clock_;
  Scheduler scheduler_;
  std::vector<std::unique_ptr<VirtualProcessor>> vps_;

  std::mutex threadsLock_;
  std::deque<std::unique_ptr<ThreadRecord>> threads_;
  std::atomic<unsigned> nextVp_{0};
  std::vector<ThreadRecord*> workers_;

  // Work queue.
  std::mutex workLock_;
  std::condition_variable workCv_;
  LIST_ENTRY workItems_;
  std::vector<ThreadRecord*> idleWorkers_;  // deterministic mode
  std::atomic<int> workPending_{0};         // queued + running
  KEVENT workIdle_;                        // set when workPending_ drops to 0
  bool workStopping_ = false;

  std::thread timerThread_;
  bool timerStopping_ = false;  // dispatcher lock

  friend class ::ndishost::nt::Runtime;
  friend struct ThreadRecord;
  friend NTSTATUS terminateSystemThread(ThreadRecord&, NTSTATUS);
};

// ---- per-thread access -------------------------------------------------------------------
// The calling thread's record, registering it on first use. Stops the process with "no
// ndishost runtime" (naming `ddi`) when there is no Runtime.
ThreadRecord& currentThread(const char* ddi);
// The calling thread's record, or nullptr when no runtime exists or the thread never called
// into it.
ThreadRecord* currentThreadIfRegistered();
// The live kernel, or nullptr.
Kernel* currentKernel();
[[noreturn]] void noRuntime(const char* ddi);
void bindCurrentThread(ThreadRecord& record);

// ---- rule checks ----------------------------------------------------------------------------
// "irql.too-high" when the thread is above `maximum`; true when the rule held.
bool checkIrqlAtMost(ThreadRecord& self, KIRQL maximum, const char* ddi, const void* caller);
// "irql.too-low" when the thread is below `minimum`.
bool checkIrqlAtLeast(ThreadRecord& self, KIRQL minimum, const char* ddi, const void* caller);
// "ke.bad-dispatcher-object" unless the header's Type is a dispatcher type (or, when
// `expected` is given, one of those).
bool checkDispatcherObject(PDISPATCHER_HEADER header, std::initializer_list<UCHAR> expected, const char* ddi,
                           const void* caller);

// Converts a wait Timeout into an absolute interrupt-time deadline (nullopt: infinite).
std::optional<std::uint64_t> deadlineFromTimeout(Kernel& kernel, const LARGE_INTEGER* timeout);

// Internal event helpers (no yield, no IRQL check), for the runtime's own use.
void setEventInternal(Kernel& kernel, PKEVENT event);

// Spin-lock internals shared by the spin lock forms.
void acquireSpinLockInternal(ThreadRecord& self, PKSPIN_LOCK lock, const char* ddi, const void* caller);
void releaseSpinLockInternal(ThreadRecord& self, PKSPIN_LOCK lock, const char* ddi, const void* caller);

const char* objectTypeName(UCHAR type);

}  // namespace ndishost::nt::ke
