// The Runtime object itself.
#include <stdexcept>

#include "ke_test_support.hpp"

using namespace ndishost::nt;
using namespace ke_test;

TEST(Runtime, OnlyOneAtATime) {
  Runtime runtime;
  EXPECT_EQ(Runtime::current(), &runtime);
  EXPECT_THROW({ Runtime second; }, std::logic_error);
  EXPECT_EQ(Runtime::current(), &runtime);
}

TEST(Runtime, ProcessorsDefaultToHardwareCappedAtEight) {
  Runtime runtime;
  unsigned expected = std::min(std::max(std::thread::hardware_concurrency(), 1U), 8U);
  EXPECT_EQ(runtime.processorCount(), expected);
  EXPECT_EQ(runtime.options().processors, expected);
  EXPECT_EQ(KeQueryActiveProcessorCount(nullptr), expected);
}

TEST(Runtime, StartsAndStopsQuickly) {
  constexpr int kRounds = 20;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    Runtime runtime;
    KeGetCurrentIrql();
  }
  double perRuntime = msSince(start) / kRounds;
  RecordProperty("ms_per_runtime", std::to_string(perRuntime));
  EXPECT_LT(perRuntime, kThreadSanitizer ? 50.0 : 5.0);
}

TEST(Runtime, DestructorDrainsDpcsAndWorkItems) {
  static std::atomic<int> ran{0};
  ran = 0;
  KDPC dpc;
  WORK_QUEUE_ITEM item;
  {
    Runtime runtime;
    KeInitializeDpc(&dpc, [](PKDPC, PVOID, PVOID, PVOID) { ran.fetch_add(1); }, nullptr);
    ExInitializeWorkItem(&item, [](PVOID) { ran.fetch_add(10); }, nullptr);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertQueueDpc(&dpc, nullptr, nullptr);
    ExQueueWorkItem(&item, DelayedWorkQueue);
    KeLowerIrql(old);
  }
  EXPECT_EQ(ran.load(), 11);
}

TEST(Runtime, ThreadsRegisterAgainWithANewRuntime) {
  PKTHREAD first;
  {
    Runtime runtime;
    first = KeGetCurrentThread();
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    KeLowerIrql(old);
  }
  Runtime runtime;
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  EXPECT_NE(KeGetCurrentThread(), nullptr);
  (void)first;
}

#include "nt/ke/introspection.hpp"

TEST(Runtime, PendingKernelCallbacksListsSetTimersAndQueuedDpcs) {
  Runtime runtime;
  KDPC dpc, timerDpc;
  KeInitializeDpc(&dpc, [](PKDPC, PVOID, PVOID, PVOID) {}, nullptr);
  KeInitializeDpc(&timerDpc, [](PKDPC, PVOID, PVOID, PVOID) {}, nullptr);
  KTIMER timer;
  KeInitializeTimer(&timer);
  KeSetTimerEx(&timer, relativeMs(60'000), 1000, &timerDpc);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeInsertQueueDpc(&dpc, nullptr, nullptr);
  auto pending = ndishost::nt::ke::pendingKernelCallbacks();
  KeLowerIrql(old);
  ASSERT_EQ(pending.size(), 2U);
  EXPECT_EQ(pending[0].kind, ndishost::nt::ke::PendingKernelCallback::Kind::Timer);
  EXPECT_EQ(pending[0].object, &timer);
  EXPECT_EQ(pending[0].dpc, &timerDpc);
  EXPECT_TRUE(pending[0].periodic);
  EXPECT_EQ(pending[1].kind, ndishost::nt::ke::PendingKernelCallback::Kind::Dpc);
  EXPECT_EQ(pending[1].object, &dpc);
  KeCancelTimer(&timer);
  KeFlushQueuedDpcs();
  EXPECT_TRUE(ndishost::nt::ke::pendingKernelCallbacks().empty());
}
