// Events, mutexes, semaphores and waits.
#include "ke_test_support.hpp"

using namespace ndishost::nt;
using namespace ke_test;

namespace {

bool waitListEmpty(const DISPATCHER_HEADER& header) { return header.WaitListHead.Flink == &header.WaitListHead; }

}  // namespace

TEST(KeEvent, NotificationEventReleasesEveryWaiterAndStaysSignalled) {
  Runtime runtime;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  std::atomic<int> woken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      if (KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr) == STATUS_SUCCESS) woken.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let them block
  EXPECT_EQ(KeSetEvent(&event, IO_NO_INCREMENT, FALSE), 0);
  for (auto& waiter : waiters) waiter.join();
  EXPECT_EQ(woken.load(), 3);
  EXPECT_EQ(KeReadStateEvent(&event), 1);
  EXPECT_EQ(KeSetEvent(&event, IO_NO_INCREMENT, FALSE), 1);
  EXPECT_EQ(KeResetEvent(&event), 1);
  EXPECT_EQ(KeReadStateEvent(&event), 0);
  EXPECT_TRUE(waitListEmpty(event.Header));
}

TEST(KeEvent, SynchronizationEventReleasesOneWaiterAndResets) {
  Runtime runtime;
  KEVENT event;
  KeInitializeEvent(&event, SynchronizationEvent, FALSE);
  std::atomic<int> woken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&] {
      KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
      woken.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  KeSetEvent(&event, IO_NO_INCREMENT, FALSE);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(KeReadStateEvent(&event), 0);  // consumed by the one waiter
  KeSetEvent(&event, IO_NO_INCREMENT, FALSE);
  for (auto& waiter : waiters) waiter.join();
  EXPECT_EQ(woken.load(), 2);
  EXPECT_EQ(KeReadStateEvent(&event), 0);
  // Set with no waiter: stays set until one wait consumes it.
  KeSetEvent(&event, IO_NO_INCREMENT, FALSE);
  EXPECT_EQ(KeReadStateEvent(&event), 1);
  EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(KeReadStateEvent(&event), 0);
}

TEST(KeWait, RelativeAndAbsoluteTimeouts) {
  Runtime runtime;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  auto start = std::chrono::steady_clock::now();
  LARGE_INTEGER timeout = relativeMs(40);
  EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &timeout), STATUS_TIMEOUT);
  EXPECT_GE(msSince(start), 39.0);
  EXPECT_TRUE(waitListEmpty(event.Header));

  LARGE_INTEGER now;
  KeQuerySystemTime(&now);
  LARGE_INTEGER absolute;
  absolute.QuadPart = now.QuadPart + 30 * 10'000;
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &absolute), STATUS_TIMEOUT);
  EXPECT_GE(msSince(start), 29.0);

  LARGE_INTEGER zero{};
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
  EXPECT_LT(msSince(start), 20.0);

  LARGE_INTEGER delay = relativeMs(15);
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(KeDelayExecutionThread(KernelMode, FALSE, &delay), STATUS_SUCCESS);
  EXPECT_GE(msSince(start), 14.0);
}

TEST(KeWait, ZeroTimeoutAllowedAtDispatchNonZeroIsAViolation) {
  Runtime runtime;
  RecordViolationsScope record;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, TRUE);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  LARGE_INTEGER zero{};
  EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
  EXPECT_TRUE(record.take().empty());
  KeClearEvent(&event);
  LARGE_INTEGER timeout = relativeMs(1000);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &timeout), STATUS_TIMEOUT);
  EXPECT_LT(msSince(start), 500.0);  // recorded, then only tested
  KeLowerIrql(old);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "irql.wait-at-dispatch");
  EXPECT_EQ(violations[0].code, 0x0AU);
}

TEST(KeWait, GarbageObjectIsReported) {
  Runtime runtime;
  RecordViolationsScope record;
  KEVENT event;
  std::memset(&event, 0x5A, sizeof(event));
  LARGE_INTEGER zero{};
  EXPECT_NE(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
  KeSetEvent(&event, 0, FALSE);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 2U);
  EXPECT_EQ(violations[0].rule, "ke.bad-dispatcher-object");
  EXPECT_EQ(violations[1].rule, "ke.bad-dispatcher-object");
}

TEST(KeMutex, RecursiveForOwnerAndOthersWait) {
  Runtime runtime;
  KMUTEX mutex;
  KeInitializeMutex(&mutex, 0);
  EXPECT_EQ(KeReadStateMutex(&mutex), 1);
  EXPECT_EQ(KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(KeReadStateMutex(&mutex), -1);
  EXPECT_TRUE(KeAreApcsDisabled());  // holding a KMUTEX disables normal kernel APCs
  NTSTATUS other = STATUS_PENDING;
  std::thread([&] {
    LARGE_INTEGER zero{};
    other = KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, &zero);
  }).join();
  EXPECT_EQ(other, STATUS_TIMEOUT);
  EXPECT_EQ(KeReleaseMutex(&mutex, FALSE), -1);
  EXPECT_EQ(KeReleaseMutex(&mutex, FALSE), 0);
  EXPECT_EQ(KeReadStateMutex(&mutex), 1);
  EXPECT_FALSE(KeAreApcsDisabled());
  std::thread([&] { other = KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, nullptr); KeReleaseMutex(&mutex, FALSE); }).join();
  EXPECT_EQ(other, STATUS_SUCCESS);
}

TEST(KeMutex, ReleaseByNonOwnerIsAViolation) {
  Runtime runtime;
  RecordViolationsScope record;
  KMUTEX mutex;
  KeInitializeMutex(&mutex, 0);
  KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, nullptr);
  std::thread([&] { KeReleaseMutex(&mutex, FALSE); }).join();
  EXPECT_EQ(KeReadStateMutex(&mutex), 0);  // still ours
  KeReleaseMutex(&mutex, FALSE);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "mutex.not-owned");
  EXPECT_EQ(violations[0].code, 0x11U);
}

TEST(KeMutex, OwnerExitAbandonsIt) {
  Runtime runtime;
  RecordViolationsScope record;  // the exiting thread also leaves a disabled-APC count behind
  static KMUTEX mutex;
  KeInitializeMutex(&mutex, 0);
  HANDLE thread;
  ASSERT_EQ(PsCreateSystemThread(&thread, 0, nullptr, nullptr, nullptr,
                                 [](PVOID) { KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, nullptr); },
                                 nullptr),
            STATUS_SUCCESS);
  EXPECT_EQ(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, nullptr), STATUS_ABANDONED);
  EXPECT_EQ(KeReadStateMutex(&mutex), 0);
  KeReleaseMutex(&mutex, FALSE);
  EXPECT_TRUE(record.take().empty());
}

TEST(KeSemaphore, CountsAndLimit) {
  Runtime runtime;
  RecordViolationsScope record;
  KSEMAPHORE semaphore;
  KeInitializeSemaphore(&semaphore, 0, 2);
  LARGE_INTEGER zero{};
  EXPECT_EQ(KeWaitForSingleObject(&semaphore, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
  EXPECT_EQ(KeReleaseSemaphore(&semaphore, 0, 2, FALSE), 0);
  EXPECT_EQ(KeReadStateSemaphore(&semaphore), 2);
  EXPECT_EQ(KeWaitForSingleObject(&semaphore, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
  EXPECT_EQ(KeReadStateSemaphore(&semaphore), 1);
  EXPECT_TRUE(record.take().empty());
  EXPECT_EQ(KeReleaseSemaphore(&semaphore, 0, 2, FALSE), 1);  // 1 + 2 > limit
  EXPECT_EQ(KeReadStateSemaphore(&semaphore), 1);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "semaphore.limit-exceeded");
}

TEST(KeWaitMultiple, WaitAnyReturnsTheIndexThatFired) {
  Runtime runtime;
  KEVENT event;
  KMUTEX mutex;
  KSEMAPHORE semaphore;
  KTIMER timer;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  KeInitializeMutex(&mutex, 0);
  KeInitializeSemaphore(&semaphore, 0, 10);
  KeInitializeTimer(&timer);
  // The mutex is owned elsewhere, so only the timer can satisfy the wait.
  KEVENT release;
  KeInitializeEvent(&release, NotificationEvent, FALSE);
  KEVENT owned;
  KeInitializeEvent(&owned, NotificationEvent, FALSE);
  std::thread owner([&] {
    KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, nullptr);
    KeSetEvent(&owned, 0, FALSE);
    KeWaitForSingleObject(&release, Executive, KernelMode, FALSE, nullptr);
    KeReleaseMutex(&mutex, FALSE);
  });
  KeWaitForSingleObject(&owned, Executive, KernelMode, FALSE, nullptr);
  KeSetTimer(&timer, relativeMs(20), nullptr);
  PVOID objects[4] = {&event, &mutex, &semaphore, &timer};
  KWAIT_BLOCK blocks[4];
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(KeWaitForMultipleObjects(4, objects, WaitAny, Executive, KernelMode, FALSE, nullptr, blocks), STATUS_WAIT_0 + 3);
  EXPECT_GE(msSince(start), 19.0);
  KeSetEvent(&release, 0, FALSE);
  owner.join();
  // Now the mutex (index 1) is free and comes before the still-signalled timer.
  EXPECT_EQ(KeWaitForMultipleObjects(4, objects, WaitAny, Executive, KernelMode, FALSE, nullptr, blocks), STATUS_WAIT_1);
  KeReleaseMutex(&mutex, FALSE);
  for (auto* header : {&event.Header, &mutex.Header, &semaphore.Header, &timer.Header}) EXPECT_TRUE(waitListEmpty(*header));
}

TEST(KeWaitMultiple, WaitAllTakesEveryObjectAtOnce) {
  Runtime runtime;
  KEVENT event;
  KMUTEX mutex;
  KSEMAPHORE semaphore;
  KeInitializeEvent(&event, SynchronizationEvent, FALSE);
  KeInitializeMutex(&mutex, 0);
  KeInitializeSemaphore(&semaphore, 1, 10);
  PVOID objects[3] = {&event, &mutex, &semaphore};
  LARGE_INTEGER zero{};
  EXPECT_EQ(KeWaitForMultipleObjects(3, objects, WaitAll, Executive, KernelMode, FALSE, &zero, nullptr), STATUS_TIMEOUT);
  EXPECT_EQ(KeReadStateSemaphore(&semaphore), 1);  // nothing taken
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    KeSetEvent(&event, 0, FALSE);
  });
  EXPECT_EQ(KeWaitForMultipleObjects(3, objects, WaitAll, Executive, KernelMode, FALSE, nullptr, nullptr), STATUS_SUCCESS);
  setter.join();
  EXPECT_EQ(KeReadStateEvent(&event), 0);
  EXPECT_EQ(KeReadStateMutex(&mutex), 0);
  EXPECT_EQ(KeReadStateSemaphore(&semaphore), 0);
  KeReleaseMutex(&mutex, FALSE);
}

TEST(KeWaitMultiple, TooManyObjectsWithoutWaitBlocksIsAViolation) {
  Runtime runtime;
  RecordViolationsScope record;
  KEVENT events[4];
  PVOID objects[4];
  for (int i = 0; i < 4; ++i) {
    KeInitializeEvent(&events[i], NotificationEvent, i == 3);
    objects[i] = &events[i];
  }
  LARGE_INTEGER zero{};
  KeWaitForMultipleObjects(4, objects, WaitAny, Executive, KernelMode, FALSE, &zero, nullptr);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(violations[0].rule, "ke.too-many-wait-objects");
  KWAIT_BLOCK blocks[4];
  EXPECT_EQ(KeWaitForMultipleObjects(4, objects, WaitAny, Executive, KernelMode, FALSE, &zero, blocks), STATUS_WAIT_3);
  EXPECT_TRUE(record.take().empty());
}
