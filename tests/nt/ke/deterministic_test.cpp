// Deterministic mode: virtual clock, seeded interleavings, deadlock detection.
#include <mutex>

#include "ke_test_support.hpp"

using namespace ndishost::nt;
using namespace ke_test;

namespace {

RuntimeOptions deterministic(std::uint64_t seed = 1) {
  RuntimeOptions options;
  options.deterministic = true;
  options.seed = seed;
  return options;
}

// A scenario with system threads, DPCs, work items and a timer that all append to one log.
// Only one runtime thread runs at a time, so the log needs no lock of its own; the
// scheduler's hand-over orders the appends.
struct Scenario {
  std::vector<std::string> log;
  KDPC dpcs[3];
  WORK_QUEUE_ITEM items[3];
  KEVENT events[3];
  KTIMER timer;
  KDPC timerDpc;
  int index[3] = {0, 1, 2};
};

Scenario* scenario = nullptr;

void NTAPI scenarioDpc(PKDPC, PVOID context, PVOID, PVOID) {
  scenario->log.push_back("dpc" + std::to_string(*static_cast<int*>(context)));
}

void NTAPI scenarioWork(PVOID context) {
  int i = *static_cast<int*>(context);
  scenario->log.push_back("work" + std::to_string(i));
  KeSetEvent(&scenario->events[i], 0, FALSE);
}

void NTAPI scenarioTimerDpc(PKDPC, PVOID, PVOID, PVOID) { scenario->log.push_back("timer"); }

void NTAPI scenarioThread(PVOID context) {
  int i = *static_cast<int*>(context);
  for (int step = 0; step < 4; ++step) {
    scenario->log.push_back("t" + std::to_string(i) + "." + std::to_string(step));
    if (step == 1) KeInsertQueueDpc(&scenario->dpcs[i], nullptr, nullptr);
    if (step == 2) {
      ExQueueWorkItem(&scenario->items[i], DelayedWorkQueue);
      KeWaitForSingleObject(&scenario->events[i], Executive, KernelMode, FALSE, nullptr);
    }
    if (step == 3) {
      LARGE_INTEGER delay = relativeMs(1 + i);
      KeDelayExecutionThread(KernelMode, FALSE, &delay);
    }
  }
}

std::vector<std::string> runScenario(std::uint64_t seed) {
  Scenario s;
  scenario = &s;
  {
    Runtime runtime(deterministic(seed));
    for (int i = 0; i < 3; ++i) {
      KeInitializeDpc(&s.dpcs[i], scenarioDpc, &s.index[i]);
      ExInitializeWorkItem(&s.items[i], scenarioWork, &s.index[i]);
      KeInitializeEvent(&s.events[i], SynchronizationEvent, FALSE);
    }
    KeInitializeTimer(&s.timer);
    KeInitializeDpc(&s.timerDpc, scenarioTimerDpc, nullptr);
    KeSetTimer(&s.timer, relativeMs(2), &s.timerDpc);
    HANDLE threads[3];
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(PsCreateSystemThread(&threads[i], 0, nullptr, nullptr, nullptr, scenarioThread, &s.index[i]),
                STATUS_SUCCESS);
    }
    KWAIT_BLOCK blocks[3];
    EXPECT_EQ(KeWaitForMultipleObjects(3, threads, WaitAll, Executive, KernelMode, FALSE, nullptr, blocks),
              STATUS_SUCCESS);
    KeFlushQueuedDpcs();
    s.log.push_back("end@" + std::to_string(KeQueryInterruptTime()));
  }
  scenario = nullptr;
  return s.log;
}

}  // namespace

TEST(KeDeterministic, ThirtySecondTimerTakesMilliseconds) {
  Runtime runtime(deterministic());
  EXPECT_EQ(runtime.processorCount(), 1U);
  auto start = std::chrono::steady_clock::now();
  ULONGLONG before = KeQueryInterruptTime();
  KTIMER timer;
  KeInitializeTimer(&timer);
  KeSetTimer(&timer, relativeMs(30'000), nullptr);
  EXPECT_EQ(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(KeQueryInterruptTime() - before, 30'000ULL * 10'000);
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  LARGE_INTEGER timeout = relativeMs(30'000);
  EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &timeout), STATUS_TIMEOUT);
  EXPECT_EQ(KeQueryInterruptTime() - before, 60'000ULL * 10'000);
  EXPECT_LT(msSince(start), 1000.0);
}

TEST(KeDeterministic, StallAdvancesVirtualTimeAndFiresTimers) {
  Runtime runtime(deterministic());
  ULONGLONG before = KeQueryInterruptTime();
  KTIMER timer;
  KeInitializeTimer(&timer);
  KeSetTimer(&timer, relativeMs(1), nullptr);
  KeStallExecutionProcessor(500);
  EXPECT_EQ(KeQueryInterruptTime() - before, 5000U);
  EXPECT_FALSE(KeReadStateTimer(&timer));
  KeStallExecutionProcessor(500);
  EXPECT_TRUE(KeReadStateTimer(&timer));
}

TEST(KeDeterministic, PeriodicTimerDpcsRunInVirtualTime) {
  Runtime runtime(deterministic());
  static std::vector<ULONGLONG> firedAt;
  firedAt.clear();
  KDPC dpc;
  KeInitializeDpc(&dpc, [](PKDPC, PVOID, PVOID, PVOID) { firedAt.push_back(KeQueryInterruptTime()); }, nullptr);
  KTIMER timer;
  KeInitializeTimer(&timer);
  ULONGLONG start = KeQueryInterruptTime();
  KeSetTimerEx(&timer, relativeMs(100), 500, &dpc);
  LARGE_INTEGER delay = relativeMs(2050);
  KeDelayExecutionThread(KernelMode, FALSE, &delay);
  KeCancelTimer(&timer);
  KeFlushQueuedDpcs();
  ASSERT_EQ(firedAt.size(), 4U);  // at 100, 600, 1100 and 1600 ms; 2100 is past the delay
  for (std::size_t i = 0; i < firedAt.size(); ++i) EXPECT_EQ(firedAt[i] - start, (100 + 500 * i) * 10'000ULL);
}

TEST(KeDeterministic, SameSeedSameInterleaving) {
  auto first = runScenario(7);
  auto second = runScenario(7);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first.size(), 3U * 4 + 3 + 3 + 1 + 1);
}

TEST(KeDeterministic, DifferentSeedsExploreDifferentInterleavings) {
  std::vector<std::vector<std::string>> logs;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) logs.push_back(runScenario(seed));
  bool differ = false;
  for (std::size_t i = 1; i < logs.size(); ++i) differ |= logs[i] != logs[0];
  EXPECT_TRUE(differ);
}

TEST(KeDeterministic, DeadlockIsReportedInsteadOfHanging) {
  RecordViolationsScope record;
  Runtime runtime(deterministic());
  static KMUTEX a, b;
  KeInitializeMutex(&a, 0);
  KeInitializeMutex(&b, 0);
  KeWaitForSingleObject(&a, Executive, KernelMode, FALSE, nullptr);
  HANDLE thread;
  PsCreateSystemThread(&thread, 0, nullptr, nullptr, nullptr,
                       [](PVOID) {
                         KeWaitForSingleObject(&b, Executive, KernelMode, FALSE, nullptr);
                         LARGE_INTEGER zero{};
                         KeDelayExecutionThread(KernelMode, FALSE, &zero);  // let the test thread go on
                         KeWaitForSingleObject(&a, Executive, KernelMode, FALSE, nullptr);
                       },
                       nullptr);
  LARGE_INTEGER delay = relativeMs(1);
  KeDelayExecutionThread(KernelMode, FALSE, &delay);  // the thread now owns b
  EXPECT_EQ(KeWaitForSingleObject(&b, Executive, KernelMode, FALSE, nullptr), STATUS_TIMEOUT);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "ke.deadlock");
  EXPECT_NE(violations[0].detail.find("mutex"), std::string::npos);
  EXPECT_NE(violations[0].detail.find("KeWaitForSingleObject"), std::string::npos);
  KeReleaseMutex(&a, FALSE);
  KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, nullptr);
}

TEST(KeDeterministic, ForeignThreadsWithOutsideRuntimeScope) {
  Runtime runtime(deterministic());
  KeGetCurrentIrql();  // registered: this thread now holds the run token
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  std::thread helper([&] {
    LARGE_INTEGER delay = relativeMs(5000);
    KeDelayExecutionThread(KernelMode, FALSE, &delay);
    KeSetEvent(&event, 0, FALSE);
  });
  {
    OutsideRuntimeScope outside;  // join blocks where the runtime cannot see it
    helper.join();
  }
  EXPECT_EQ(KeReadStateEvent(&event), 1);
  EXPECT_GE(KeQueryInterruptTime(), 5000ULL * 10'000);
}

TEST(KeDeterministic, DpcsQueuedAtDispatchRunWhenTheThreadLowers) {
  Runtime runtime(deterministic(3));
  static std::vector<std::string> order;
  order.clear();
  KDPC dpc;
  KeInitializeDpc(&dpc, [](PKDPC, PVOID, PVOID, PVOID) { order.push_back("dpc"); }, nullptr);
  for (int round = 0; round < 5; ++round) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertQueueDpc(&dpc, nullptr, nullptr);
    order.push_back("raised");
    KeLowerIrql(old);  // as on Windows: the pending DPC runs now, before this thread goes on
    order.push_back("lowered");
  }
  std::vector<std::string> expected;
  for (int round = 0; round < 5; ++round) expected.insert(expected.end(), {"raised", "dpc", "lowered"});
  EXPECT_EQ(order, expected);
}

TEST(KeDeterministic, NestedOutsideScopes) {
  Runtime runtime(deterministic());
  KeGetCurrentIrql();
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  {
    OutsideRuntimeScope outer;
    {
      OutsideRuntimeScope inner;
      std::thread([&] { KeSetEvent(&event, 0, FALSE); }).join();
    }
    std::thread([&] { KeClearEvent(&event); KeSetEvent(&event, 0, FALSE); }).join();
  }
  EXPECT_EQ(KeReadStateEvent(&event), 1);
}
