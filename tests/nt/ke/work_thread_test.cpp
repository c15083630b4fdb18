// Work items, fast/guarded mutexes, system threads, critical regions, bug checks.
#include "ke_test_support.hpp"

using namespace ndishost::nt;
using namespace ke_test;

namespace {

struct WorkProbe {
  KEVENT done;
  KIRQL irql = 0xFF;
  PKTHREAD thread = nullptr;
  PVOID parameterSeen = nullptr;
};

void NTAPI probeRoutine(PVOID parameter) {
  auto* probe = static_cast<WorkProbe*>(parameter);
  probe->irql = KeGetCurrentIrql();
  probe->thread = KeGetCurrentThread();
  probe->parameterSeen = parameter;
  KeSetEvent(&probe->done, 0, FALSE);
}

}  // namespace

TEST(ExWorkItem, RunsAtPassiveOnAWorkerThread) {
  Runtime runtime;
  WorkProbe probe;
  KeInitializeEvent(&probe.done, NotificationEvent, FALSE);
  WORK_QUEUE_ITEM item;
  ExInitializeWorkItem(&item, probeRoutine, &probe);
  EXPECT_EQ(item.List.Flink, nullptr);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);  // may be queued at DISPATCH_LEVEL
  ExQueueWorkItem(&item, DelayedWorkQueue);
  KeLowerIrql(old);
  EXPECT_EQ(KeWaitForSingleObject(&probe.done, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(probe.irql, PASSIVE_LEVEL);
  EXPECT_NE(probe.thread, KeGetCurrentThread());
  EXPECT_EQ(probe.parameterSeen, &probe);
  runtime.runUntilIdle();
  EXPECT_EQ(item.List.Flink, nullptr);
}

TEST(ExWorkItem, RoutineReturningRaisedIsAViolation) {
  Runtime runtime;
  RecordViolationsScope record;
  WORK_QUEUE_ITEM leaky;
  ExInitializeWorkItem(&leaky, [](PVOID) { KeRaiseIrqlToDpcLevel(); }, nullptr);
  ExQueueWorkItem(&leaky, CriticalWorkQueue);
  runtime.runUntilIdle();
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "workitem.irql-leak");
  // The worker is back at PASSIVE_LEVEL for the next item.
  WorkProbe probe;
  KeInitializeEvent(&probe.done, NotificationEvent, FALSE);
  WORK_QUEUE_ITEM item;
  ExInitializeWorkItem(&item, probeRoutine, &probe);
  for (int i = 0; i < 4; ++i) {  // every worker
    KeClearEvent(&probe.done);
    ExQueueWorkItem(&item, CriticalWorkQueue);
    KeWaitForSingleObject(&probe.done, Executive, KernelMode, FALSE, nullptr);
    runtime.runUntilIdle();
    EXPECT_EQ(probe.irql, PASSIVE_LEVEL);
  }
}

TEST(ExWorkItem, QueueingAQueuedItemIsAViolation) {
  Runtime runtime;
  RecordViolationsScope record;
  KEVENT gate;
  KeInitializeEvent(&gate, NotificationEvent, FALSE);
  WORK_QUEUE_ITEM blocker, item;
  ExInitializeWorkItem(&blocker, [](PVOID g) { KeWaitForSingleObject(g, Executive, KernelMode, FALSE, nullptr); }, &gate);
  ExInitializeWorkItem(&item, [](PVOID) {}, nullptr);
  // Occupy both workers so `item` stays queued.
  WORK_QUEUE_ITEM blocker2 = blocker;
  ExQueueWorkItem(&blocker, DelayedWorkQueue);
  ExQueueWorkItem(&blocker2, DelayedWorkQueue);
  ExQueueWorkItem(&item, DelayedWorkQueue);
  ExQueueWorkItem(&item, DelayedWorkQueue);
  KeSetEvent(&gate, 0, FALSE);
  runtime.runUntilIdle();
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "workitem.double-queue");
}

TEST(ExFastMutex, MutualExclusionAtApcLevel) {
  Runtime runtime;
  FAST_MUTEX mutex;
  ExInitializeFastMutex(&mutex);
  long long counter = 0;
  std::atomic<int> wrongIrql{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < 2000; ++r) {
        ExAcquireFastMutex(&mutex);
        if (KeGetCurrentIrql() != APC_LEVEL) wrongIrql.fetch_add(1);
        ++counter;
        ExReleaseFastMutex(&mutex);
        if (KeGetCurrentIrql() != PASSIVE_LEVEL) wrongIrql.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, 8000);
  EXPECT_EQ(wrongIrql.load(), 0);
  EXPECT_TRUE(ExTryToAcquireFastMutex(&mutex));
  bool otherGotIt = true;
  std::thread([&] { otherGotIt = ExTryToAcquireFastMutex(&mutex) != FALSE; }).join();
  EXPECT_FALSE(otherGotIt);
  ExReleaseFastMutex(&mutex);
  KGUARDED_MUTEX guarded;
  KeInitializeGuardedMutex(&guarded);
  KeAcquireGuardedMutex(&guarded);
  EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
  KeReleaseGuardedMutex(&guarded);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

TEST(ExFastMutex, RecursionAndForeignReleaseAreViolations) {
  Runtime runtime;
  RecordViolationsScope record;
  FAST_MUTEX mutex;
  ExInitializeFastMutex(&mutex);
  ExAcquireFastMutex(&mutex);
  ExAcquireFastMutex(&mutex);  // recursive: recorded, not deadlocked
  ExReleaseFastMutex(&mutex);  // absorbed
  EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
  std::thread([&] { ExReleaseFastMutex(&mutex); }).join();
  ExReleaseFastMutex(&mutex);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 2U);
  EXPECT_EQ(violations[0].rule, "fastmutex.recursive");
  EXPECT_EQ(violations[1].rule, "fastmutex.not-owned");
  EXPECT_TRUE(ExTryToAcquireFastMutex(&mutex));
  ExReleaseFastMutex(&mutex);
}

TEST(PsSystemThread, RunsAtPassiveAndCanBeWaitedFor) {
  Runtime runtime;
  struct Context {
    KIRQL irql = 0xFF;
    bool terminated = true;
  } context;
  HANDLE handle = nullptr;
  CLIENT_ID id{};
  ASSERT_EQ(PsCreateSystemThread(&handle, 0, nullptr, nullptr, &id,
                                 [](PVOID c) {
                                   auto* ctx = static_cast<Context*>(c);
                                   ctx->irql = KeGetCurrentIrql();
                                   PsTerminateSystemThread(STATUS_SUCCESS);
                                   ctx->terminated = false;  // never reached
                                 },
                                 &context),
            STATUS_SUCCESS);
  EXPECT_NE(id.UniqueThread, nullptr);
  EXPECT_EQ(KeWaitForSingleObject(handle, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(context.irql, PASSIVE_LEVEL);
  EXPECT_TRUE(context.terminated);
}

TEST(KeCriticalRegion, NestsAndReportsUnderflow) {
  Runtime runtime;
  RecordViolationsScope record;
  EXPECT_FALSE(KeAreApcsDisabled());
  KeEnterCriticalRegion();
  KeEnterCriticalRegion();
  EXPECT_TRUE(KeAreApcsDisabled());
  EXPECT_FALSE(KeAreAllApcsDisabled());
  KeLeaveCriticalRegion();
  KeLeaveCriticalRegion();
  EXPECT_FALSE(KeAreApcsDisabled());
  KeLeaveCriticalRegion();
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "ke.critical-region-underflow");
}

TEST(KeBugCheckDeathTest, KeBugCheckExStopsTheProcess) {
  if (kThreadSanitizer) GTEST_SKIP() << "death tests fork a multi-threaded process";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Runtime runtime;
        KeBugCheckEx(0xDEAD, 1, 2, 3, 4);
      },
      "bug check 0x0000DEAD");
}

TEST(KeNoRuntimeDeathTest, DdiWithoutRuntimeNamesTheDdi) {
  if (kThreadSanitizer) GTEST_SKIP() << "death tests fork a multi-threaded process";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(KeGetCurrentIrql(), "no ndishost runtime: create ndishost::nt::Runtime first.*KeGetCurrentIrql");
}
