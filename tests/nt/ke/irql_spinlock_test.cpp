// IRQL tracking, processor exclusion at DISPATCH_LEVEL, spin locks.
#include "ke_test_support.hpp"

using namespace ndishost::nt;
using namespace ke_test;

TEST(KeIrql, RaiseAndLower) {
  Runtime runtime;
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  EXPECT_EQ(old, PASSIVE_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
  KIRQL old2;
  KeRaiseIrql(DISPATCH_LEVEL, &old2);
  EXPECT_EQ(old2, APC_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeLowerIrql(old2);
  EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
  KeLowerIrql(old);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  EXPECT_EQ(KeRaiseIrqlToDpcLevel(), PASSIVE_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  EXPECT_EQ(KeRaiseIrqlToSynchLevel(), DISPATCH_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
  KeLowerIrql(PASSIVE_LEVEL);
}

TEST(KeIrql, IrqlIsPerThread) {
  Runtime runtime;
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  KIRQL other = 0xFF;
  std::thread([&] { other = KeGetCurrentIrql(); }).join();
  EXPECT_EQ(other, PASSIVE_LEVEL);
  KeLowerIrql(old);
}

TEST(KeIrql, RaiseToLowerAndLowerToHigherAreViolations) {
  Runtime runtime;
  RecordViolationsScope record;
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KIRQL ignored;
  KeRaiseIrql(APC_LEVEL, &ignored);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeLowerIrql(PASSIVE_LEVEL);
  KeLowerIrql(DISPATCH_LEVEL);
  auto violations = record.take();
  EXPECT_TRUE(hasRule(violations, "irql.raise-lowers"));
  EXPECT_TRUE(hasRule(violations, "irql.lower-raises"));
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

TEST(KeIrql, DdiAboveItsMaximumIsReported) {
  Runtime runtime;
  RecordViolationsScope record;
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeEnterCriticalRegion();  // maximum APC_LEVEL
  KeLowerIrql(old);
  KeLeaveCriticalRegion();
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "irql.too-high");
  EXPECT_EQ(violations[0].code, 0x0AU);
  EXPECT_EQ(violations[0].parameters[0], DISPATCH_LEVEL);
  EXPECT_EQ(violations[0].parameters[1], APC_LEVEL);
}

TEST(KeIrql, OneThreadAtDispatchPerProcessorUnderLoad) {
  RuntimeOptions options;
  options.processors = 2;
  Runtime runtime(options);
  constexpr int kThreads = 4;
  constexpr int kRounds = 3000;
  std::atomic<int> occupancy[2] = {0, 0};
  std::atomic<int> breaches{0};
  auto raisedSection = [&] {
    ULONG vp = KeGetCurrentProcessorNumber();
    if (occupancy[vp].fetch_add(1) != 0) breaches.fetch_add(1);
    std::this_thread::yield();  // widen the window a second thread would need
    occupancy[vp].fetch_sub(1);
  };
  struct Context {
    decltype(raisedSection)* section;
  } context{&raisedSection};
  KDPC dpcs[2];
  for (int i = 0; i < 2; ++i) {
    KeInitializeDpc(&dpcs[i], [](PKDPC, PVOID ctx, PVOID, PVOID) { (*static_cast<Context*>(ctx)->section)(); },
                    &context);
    KeSetTargetProcessorDpc(&dpcs[i], static_cast<CCHAR>(i));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        raisedSection();
        KeInsertQueueDpc(&dpcs[r % 2], nullptr, nullptr);
        KeLowerIrql(old);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  KeFlushQueuedDpcs();
  EXPECT_EQ(breaches.load(), 0);
}

TEST(KeSpinLock, MutualExclusionAcrossProcessors) {
  RuntimeOptions options;
  options.processors = 4;
  Runtime runtime(options);
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  EXPECT_EQ(lock, 0U);
  long long counter = 0;  // plain: the lock is what protects it
  std::atomic<int> wrongOwner{0};
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        KIRQL old;
        KeAcquireSpinLock(&lock, &old);
        if (__atomic_load_n(&lock, __ATOMIC_RELAXED) != (reinterpret_cast<ULONG_PTR>(KeGetCurrentThread()) | 1))
          wrongOwner.fetch_add(1);
        ++counter;
        KeReleaseSpinLock(&lock, old);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, static_cast<long long>(kThreads) * kRounds);
  EXPECT_EQ(wrongOwner.load(), 0);
  EXPECT_TRUE(KeTestSpinLock(&lock));
}

TEST(KeSpinLock, RecursionIsRecordedAndAbsorbed) {
  Runtime runtime;
  RecordViolationsScope record;
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  KIRQL old;
  KeAcquireSpinLock(&lock, &old);
  KeAcquireSpinLockAtDpcLevel(&lock);  // recursive: recorded, not deadlocked
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "spinlock.recursive");
  EXPECT_EQ(violations[0].code, 0x0FU);
  KeReleaseSpinLockFromDpcLevel(&lock);  // matches the refused acquisition
  EXPECT_FALSE(KeTestSpinLock(&lock));
  KeReleaseSpinLock(&lock, old);
  EXPECT_TRUE(KeTestSpinLock(&lock));
  EXPECT_TRUE(record.take().empty());
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

TEST(KeSpinLock, ReleaseByNonOwnerIsRecorded) {
  Runtime runtime;
  RecordViolationsScope record;
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  KEVENT held, done;
  KeInitializeEvent(&held, NotificationEvent, FALSE);
  KeInitializeEvent(&done, NotificationEvent, FALSE);
  std::thread owner([&] {
    KIRQL old;
    KeAcquireSpinLock(&lock, &old);
    KeSetEvent(&held, 0, FALSE);
    while (KeReadStateEvent(&done) == 0) std::this_thread::yield();
    KeReleaseSpinLock(&lock, old);
  });
  KeWaitForSingleObject(&held, Executive, KernelMode, FALSE, nullptr);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeReleaseSpinLockFromDpcLevel(&lock);  // not ours
  KeLowerIrql(old);
  EXPECT_FALSE(KeTestSpinLock(&lock));  // still the owner's
  KeSetEvent(&done, 0, FALSE);
  owner.join();
  EXPECT_TRUE(KeTestSpinLock(&lock));
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "spinlock.not-owned");
  EXPECT_EQ(violations[0].code, 0x10U);
}

TEST(KeSpinLock, AtDpcLevelFormsNeedDispatchLevel) {
  Runtime runtime;
  RecordViolationsScope record;
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  KeAcquireSpinLockAtDpcLevel(&lock);
  KeReleaseSpinLockFromDpcLevel(&lock);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 2U);
  EXPECT_EQ(violations[0].rule, "irql.too-low");
  EXPECT_TRUE(KeTestSpinLock(&lock));
}

TEST(KeSpinLock, TryAcquireAndForDpcForms) {
  Runtime runtime;
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  KIRQL old = KeAcquireSpinLockForDpc(&lock);
  EXPECT_EQ(old, PASSIVE_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  bool acquiredElsewhere = true;
  std::thread([&] {
    KIRQL o;
    KeRaiseIrql(DISPATCH_LEVEL, &o);
    acquiredElsewhere = KeTryToAcquireSpinLockAtDpcLevel(&lock) != FALSE;
    KeLowerIrql(o);
  }).join();
  EXPECT_FALSE(acquiredElsewhere);
  KeReleaseSpinLockForDpc(&lock, old);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  EXPECT_TRUE(KeTryToAcquireSpinLockAtDpcLevel(&lock));
  KeReleaseSpinLockFromDpcLevel(&lock);
  KeLowerIrql(old);
}

TEST(KeSpinLock, InStackQueuedLocks) {
  RuntimeOptions options;
  options.processors = 2;
  Runtime runtime(options);
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  long long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < 5000; ++r) {
        KLOCK_QUEUE_HANDLE handle;
        KeAcquireInStackQueuedSpinLock(&lock, &handle);
        EXPECT_EQ(handle.OldIrql, PASSIVE_LEVEL);
        ++counter;
        KeReleaseInStackQueuedSpinLock(&handle);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, 15000);
  KLOCK_QUEUE_HANDLE handle;
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeAcquireInStackQueuedSpinLockAtDpcLevel(&lock, &handle);
  EXPECT_FALSE(KeTestSpinLock(&lock));
  KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeLowerIrql(old);
  EXPECT_TRUE(KeTestSpinLock(&lock));
}
