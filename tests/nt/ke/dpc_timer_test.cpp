// DPCs and timers.
#include <mutex>

#include "ke_test_support.hpp"

using namespace ndishost::nt;
using namespace ke_test;

namespace {

struct DpcLog {
  std::mutex lock;
  std::vector<std::string> entries;
  std::atomic<int> runs{0};
  std::atomic<int> wrongIrql{0};
  KIRQL irql = 0xFF;
  ULONG processor = 0xFFFF;
  PVOID arg1 = nullptr;
};

struct Tagged {
  DpcLog* log;
  const char* name;
};

void NTAPI loggingDpc(PKDPC, PVOID context, PVOID arg1, PVOID) {
  auto* tagged = static_cast<Tagged*>(context);
  std::lock_guard guard(tagged->log->lock);
  tagged->log->entries.emplace_back(tagged->name);
  tagged->log->irql = KeGetCurrentIrql();
  if (tagged->log->irql != DISPATCH_LEVEL) tagged->log->wrongIrql.fetch_add(1);
  tagged->log->processor = KeGetCurrentProcessorNumber();
  tagged->log->arg1 = arg1;
  tagged->log->runs.fetch_add(1);
}

}  // namespace

TEST(KeDpc, RunsAtDispatchOnItsTargetProcessor) {
  RuntimeOptions options;
  options.processors = 3;
  Runtime runtime(options);
  ASSERT_EQ(KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS), 3U);
  for (CCHAR vp = 0; vp < 3; ++vp) {
    DpcLog log;
    Tagged tag{&log, "x"};
    KDPC dpc;
    KeInitializeDpc(&dpc, loggingDpc, &tag);
    KeSetTargetProcessorDpc(&dpc, vp);
    EXPECT_TRUE(KeInsertQueueDpc(&dpc, reinterpret_cast<PVOID>(0x1234), nullptr));
    KeFlushQueuedDpcs();
    EXPECT_EQ(log.runs.load(), 1);
    EXPECT_EQ(log.irql, DISPATCH_LEVEL);
    EXPECT_EQ(log.processor, static_cast<ULONG>(vp));
    EXPECT_EQ(log.arg1, reinterpret_cast<PVOID>(0x1234));
  }
  PROCESSOR_NUMBER bad{0, 7, 0};
  KDPC dpc;
  KeInitializeDpc(&dpc, loggingDpc, nullptr);
  EXPECT_EQ(KeSetTargetProcessorDpcEx(&dpc, &bad), STATUS_INVALID_PARAMETER);
}

TEST(KeDpc, UntargetedDpcRunsOnTheCallersProcessor) {
  RuntimeOptions options;
  options.processors = 2;
  Runtime runtime(options);
  DpcLog log;
  Tagged tag{&log, "x"};
  KDPC dpc;
  KeInitializeDpc(&dpc, loggingDpc, &tag);
  KeInsertQueueDpc(&dpc, nullptr, nullptr);
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.processor, KeGetCurrentProcessorNumber());
}

TEST(KeDpc, InsertedTwiceRunsOnce) {
  Runtime runtime;
  DpcLog log;
  Tagged tag{&log, "x"};
  KDPC dpc;
  KeInitializeDpc(&dpc, loggingDpc, &tag);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);  // our processor cannot run DPCs until we lower
  EXPECT_TRUE(KeInsertQueueDpc(&dpc, nullptr, nullptr));
  EXPECT_FALSE(KeInsertQueueDpc(&dpc, nullptr, nullptr));
  EXPECT_NE(dpc.DpcData, nullptr);
  KeLowerIrql(old);
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.runs.load(), 1);
  EXPECT_EQ(dpc.DpcData, nullptr);
  EXPECT_TRUE(KeInsertQueueDpc(&dpc, nullptr, nullptr));  // can be queued again after it ran
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.runs.load(), 2);
}

TEST(KeDpc, RemoveQueueDpc) {
  Runtime runtime;
  DpcLog log;
  Tagged tag{&log, "x"};
  KDPC dpc;
  KeInitializeDpc(&dpc, loggingDpc, &tag);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeInsertQueueDpc(&dpc, nullptr, nullptr);
  EXPECT_TRUE(KeRemoveQueueDpc(&dpc));
  EXPECT_FALSE(KeRemoveQueueDpc(&dpc));
  KeLowerIrql(old);
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.runs.load(), 0);
}

TEST(KeDpc, HighImportanceGoesFirst) {
  Runtime runtime;
  DpcLog log;
  Tagged a{&log, "a"}, b{&log, "b"}, c{&log, "c"};
  KDPC dpcA, dpcB, dpcC;
  KeInitializeDpc(&dpcA, loggingDpc, &a);
  KeInitializeDpc(&dpcB, loggingDpc, &b);
  KeInitializeDpc(&dpcC, loggingDpc, &c);
  KeSetImportanceDpc(&dpcB, HighImportance);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeInsertQueueDpc(&dpcA, nullptr, nullptr);
  KeInsertQueueDpc(&dpcB, nullptr, nullptr);
  KeInsertQueueDpc(&dpcC, nullptr, nullptr);
  KeLowerIrql(old);
  KeFlushQueuedDpcs();
  std::lock_guard guard(log.lock);
  EXPECT_EQ(log.entries, (std::vector<std::string>{"b", "a", "c"}));
}

TEST(KeDpc, FlushWaitsForEveryProcessor) {
  RuntimeOptions options;
  options.processors = 4;
  Runtime runtime(options);
  struct Slow {
    std::atomic<int> done{0};
  } slow;
  KDPC dpcs[4];
  for (int i = 0; i < 4; ++i) {
    KeInitializeDpc(&dpcs[i],
                    [](PKDPC, PVOID ctx, PVOID, PVOID) {
                      std::this_thread::sleep_for(std::chrono::milliseconds(10));
                      static_cast<Slow*>(ctx)->done.fetch_add(1);
                    },
                    &slow);
    KeSetTargetProcessorDpc(&dpcs[i], static_cast<CCHAR>(i));
    KeInsertQueueDpc(&dpcs[i], nullptr, nullptr);
  }
  KeFlushQueuedDpcs();
  EXPECT_EQ(slow.done.load(), 4);
}

TEST(KeDpc, RoutineThatChangesIrqlIsAViolation) {
  Runtime runtime;
  RecordViolationsScope record;
  KDPC dpc;
  KeInitializeDpc(&dpc, [](PKDPC, PVOID, PVOID, PVOID) { KeLowerIrql(PASSIVE_LEVEL); }, nullptr);
  KeInsertQueueDpc(&dpc, nullptr, nullptr);
  KeFlushQueuedDpcs();
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "dpc.irql-changed");
  // The DPC thread recovered: the next DPC runs at DISPATCH_LEVEL again.
  DpcLog log;
  Tagged tag{&log, "x"};
  KeInitializeDpc(&dpc, loggingDpc, &tag);
  KeInsertQueueDpc(&dpc, nullptr, nullptr);
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.irql, DISPATCH_LEVEL);
}

TEST(KeTimer, RelativeTimerSignalsAndQueuesItsDpc) {
  Runtime runtime;
  DpcLog log;
  Tagged tag{&log, "t"};
  KDPC dpc;
  KeInitializeDpc(&dpc, loggingDpc, &tag);
  KTIMER timer;
  KeInitializeTimer(&timer);
  EXPECT_FALSE(KeReadStateTimer(&timer));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(KeSetTimer(&timer, relativeMs(25), &dpc));
  EXPECT_EQ(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_GE(msSince(start), 24.0);
  EXPECT_TRUE(KeReadStateTimer(&timer));  // notification timer: stays signalled
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.runs.load(), 1);
  EXPECT_EQ(log.irql, DISPATCH_LEVEL);
  EXPECT_FALSE(KeCancelTimer(&timer));  // fired: no longer set
}

TEST(KeTimer, AbsoluteTimer) {
  Runtime runtime;
  KTIMER timer;
  KeInitializeTimerEx(&timer, SynchronizationTimer);
  LARGE_INTEGER now;
  KeQuerySystemTime(&now);
  LARGE_INTEGER due;
  due.QuadPart = now.QuadPart + 20 * 10'000;
  auto start = std::chrono::steady_clock::now();
  KeSetTimer(&timer, due, nullptr);
  EXPECT_EQ(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_GE(msSince(start), 19.0);
  EXPECT_FALSE(KeReadStateTimer(&timer));  // synchronization timer: the wait consumed it
}

TEST(KeTimer, SetAndCancelReturnValues) {
  Runtime runtime;
  KTIMER timer;
  KeInitializeTimer(&timer);
  EXPECT_FALSE(KeCancelTimer(&timer));
  EXPECT_FALSE(KeSetTimer(&timer, relativeMs(10'000), nullptr));
  EXPECT_TRUE(KeSetTimer(&timer, relativeMs(10'000), nullptr));  // was already set
  EXPECT_TRUE(KeCancelTimer(&timer));
  EXPECT_FALSE(KeCancelTimer(&timer));
  EXPECT_FALSE(KeReadStateTimer(&timer));
}

TEST(KeTimer, PeriodicTimer) {
  Runtime runtime;
  DpcLog log;
  Tagged tag{&log, "p"};
  KDPC dpc;
  KeInitializeDpc(&dpc, loggingDpc, &tag);
  KTIMER timer;
  KeInitializeTimerEx(&timer, SynchronizationTimer);
  KeSetTimerEx(&timer, relativeMs(5), 10, &dpc);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_TRUE(KeCancelTimer(&timer));  // periodic: still set
  KeFlushQueuedDpcs();
  int runs = log.runs.load();
  EXPECT_GE(runs, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.runs.load(), runs);
}

// KeCancelTimer does not dequeue a DPC the timer already queued: KeFlushQueuedDpcs waits
// for it (or KeRemoveQueueDpc removes it).
TEST(KeTimer, CancelDoesNotRemoveAnAlreadyQueuedDpc) {
  Runtime runtime;
  DpcLog log;
  Tagged tag{&log, "t"};
  KDPC dpc;
  KeInitializeDpc(&dpc, loggingDpc, &tag);
  KTIMER timer;
  KeInitializeTimer(&timer);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);  // the timer's DPC targets our processor: it cannot run yet
  KeSetTimer(&timer, relativeMs(1), &dpc);
  while (!KeReadStateTimer(&timer)) std::this_thread::yield();
  EXPECT_FALSE(KeCancelTimer(&timer));  // already fired
  EXPECT_NE(__atomic_load_n(&dpc.DpcData, __ATOMIC_ACQUIRE), nullptr);  // ... and its DPC is queued
  EXPECT_EQ(log.runs.load(), 0);
  KeLowerIrql(old);
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.runs.load(), 1);

  // The same, removing the DPC instead.
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeSetTimer(&timer, relativeMs(1), &dpc);
  while (!KeReadStateTimer(&timer)) std::this_thread::yield();
  EXPECT_FALSE(KeCancelTimer(&timer));
  EXPECT_TRUE(KeRemoveQueueDpc(&dpc));
  KeLowerIrql(old);
  KeFlushQueuedDpcs();
  EXPECT_EQ(log.runs.load(), 1);
}

TEST(KeTime, ClockQueries) {
  Runtime runtime;
  ULONGLONG t0 = KeQueryInterruptTime();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ULONGLONG t1 = KeQueryInterruptTime();
  EXPECT_GE(t1 - t0, 9U * 10'000);
  LARGE_INTEGER frequency;
  LARGE_INTEGER counter = KeQueryPerformanceCounter(&frequency);
  EXPECT_EQ(frequency.QuadPart, 10'000'000);
  EXPECT_GT(counter.QuadPart, 0);
  EXPECT_EQ(KeQueryTimeIncrement(), 156250U);
  LARGE_INTEGER system;
  KeQuerySystemTime(&system);
  // After 2020-01-01 and before 2100-01-01, in 100 ns units since 1601.
  EXPECT_GT(system.QuadPart, 132223104000000000LL);
  EXPECT_LT(system.QuadPart, 157469184000000000LL);
  LONGLONG before = static_cast<LONGLONG>(KeQueryInterruptTime() / 156250);
  LARGE_INTEGER ticks;
  KeQueryTickCount(&ticks);
  EXPECT_GE(ticks.QuadPart, before);
  EXPECT_LE(ticks.QuadPart, static_cast<LONGLONG>(KeQueryInterruptTime() / 156250));
  ULONG64 qpc = 0;
  EXPECT_GE(KeQueryInterruptTimePrecise(&qpc), t1);
  EXPECT_GT(qpc, 0U);
}
