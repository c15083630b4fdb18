// Remove locks count outstanding I/O for real: IoReleaseRemoveLockAndWait blocks until
// every other acquisition is released, and later acquisitions are refused.
#include "io_test_support.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include "nt/support/violation.hpp"

using namespace iotest;
using namespace ndishost::nt;

TEST_F(IoTest, RemoveLockHasTheFreeBuildLayout) {
  EXPECT_EQ(sizeof(IO_REMOVE_LOCK), 0x20u);
  EXPECT_EQ(offsetof(IO_REMOVE_LOCK, Common.IoCount), 4u);
  EXPECT_EQ(offsetof(IO_REMOVE_LOCK, Common.RemoveEvent), 8u);
}

TEST_F(IoTest, ReleaseAndWaitBlocksUntilOutstandingIoOnAnotherThreadIsReleased) {
  IO_REMOVE_LOCK lock;
  IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
  Event acquired, finishIo;
  std::atomic<bool> ioReleased{false};
  int ioTag = 0, removeTag = 0;

  std::thread io([&] {
    EXPECT_EQ(IoAcquireRemoveLock(&lock, &ioTag), STATUS_SUCCESS);
    acquired.set();
    finishIo.wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ioReleased = true;
    IoReleaseRemoveLock(&lock, &ioTag);
  });

  ASSERT_TRUE(acquired.wait());
  ASSERT_EQ(IoAcquireRemoveLock(&lock, &removeTag), STATUS_SUCCESS);
  finishIo.set();
  IoReleaseRemoveLockAndWait(&lock, &removeTag);
  EXPECT_TRUE(ioReleased.load());
  io.join();

  int lateTag = 0;
  EXPECT_EQ(IoAcquireRemoveLock(&lock, &lateTag), STATUS_DELETE_PENDING);
}

TEST_F(IoTest, AcquireDuringReleaseAndWaitIsRefused) {
  IO_REMOVE_LOCK lock;
  IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
  int outstanding = 0, remover = 0, late = 0;
  ASSERT_EQ(IoAcquireRemoveLock(&lock, &outstanding), STATUS_SUCCESS);
  ASSERT_EQ(IoAcquireRemoveLock(&lock, &remover), STATUS_SUCCESS);
  std::atomic<bool> waitReturned{false};
  std::thread removeThread([&] {
    IoReleaseRemoveLockAndWait(&lock, &remover);
    waitReturned = true;
  });
  // Once the remover has started, new acquisitions fail while the old one stays counted.
  while (!__atomic_load_n(&lock.Common.Removed, __ATOMIC_ACQUIRE)) std::this_thread::yield();
  EXPECT_EQ(IoAcquireRemoveLock(&lock, &late), STATUS_DELETE_PENDING);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(waitReturned.load());
  IoReleaseRemoveLock(&lock, &outstanding);
  removeThread.join();
  EXPECT_TRUE(waitReturned.load());
}

TEST_F(IoTest, ReleasingMoreThanAcquiredIsRecorded) {
  IO_REMOVE_LOCK lock;
  IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
  int tag = 0;
  RecordViolationsScope scope;
  ASSERT_EQ(IoAcquireRemoveLock(&lock, &tag), STATUS_SUCCESS);
  IoReleaseRemoveLock(&lock, &tag);
  IoReleaseRemoveLock(&lock, &tag);
  auto violations = scope.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "removelock.release-unbalanced");
  // The lock still works after the refused release.
  ASSERT_EQ(IoAcquireRemoveLock(&lock, &tag), STATUS_SUCCESS);
  IoReleaseRemoveLockAndWait(&lock, &tag);
  EXPECT_TRUE(scope.take().empty());
}
