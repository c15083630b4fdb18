// Memory, spin locks, reader/writer locks, timer objects, I/O work items and time.
#include "ndis_test.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include "ndis/core/ndis_object.hpp"
#include "nt/io/io_manager.hpp"

using namespace ndistest;
using namespace std::chrono_literals;
using ndishost::nt::RecordViolationsScope;

namespace {

class SyncTest : public ::testing::Test {
 protected:
  ndishost::nt::Runtime runtime_{ndishost::nt::RuntimeOptions{.processors = 4}};
  ndishost::ndis::StandaloneHandle handle_{"sync test", nullptr, nullptr};
};

template <typename Predicate>
bool waitFor(Predicate predicate, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST_F(SyncTest, MemoryIsTaggedPoolMemory) {
  auto* p = static_cast<PUCHAR>(NdisAllocateMemoryWithTagPriority(handle_.handle(), 100, 'mMsT', NormalPoolPriority));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % MEMORY_ALLOCATION_ALIGNMENT, 0u);
  NdisZeroMemory(p, 100);
  NdisFreeMemoryWithTagPriority(handle_.handle(), p, 'mMsT');
  PVOID q = NdisAllocateMemoryWithTagPriority(handle_.handle(), 8, 'mMsT', LowPoolPriority);
  NdisFreeMemory(q, 8, 0);

  RecordViolationsScope scope;
  EXPECT_EQ(NdisAllocateMemoryWithTagPriority(nullptr, 8, 'mMsT', NormalPoolPriority), nullptr);
  PVOID r = NdisAllocateMemoryWithTagPriority(handle_.handle(), 8, 'mMsT', NormalPoolPriority);
  NdisFreeMemoryWithTagPriority(handle_.handle(), r, 'gnrW');  // wrong tag
  auto seen = rules(scope);
  EXPECT_TRUE(contains(seen, "ndis.bad-handle"));
  EXPECT_TRUE(contains(seen, "pool.tag-mismatch"));
  NdisFreeMemoryWithTagPriority(handle_.handle(), r, 'mMsT');
}

TEST_F(SyncTest, SpinLockRaisesAndRestores) {
  NDIS_SPIN_LOCK lock;
  NdisAllocateSpinLock(&lock);
  EXPECT_EQ(lock.SpinLock, 0u);
  NdisAcquireSpinLock(&lock);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  EXPECT_EQ(lock.OldIrql, PASSIVE_LEVEL);
  NdisReleaseSpinLock(&lock);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  KIRQL old = KeRaiseIrqlToDpcLevel();
  NdisDprAcquireSpinLock(&lock);
  NdisDprReleaseSpinLock(&lock);
  KeLowerIrql(old);
  NdisFreeSpinLock(&lock);

  RecordViolationsScope scope;
  NdisDprAcquireSpinLock(&lock);  // at PASSIVE_LEVEL
  EXPECT_TRUE(contains(rules(scope), "irql.too-low"));
}

TEST_F(SyncTest, RwLockReadersShareWritersExclude) {
  PNDIS_RW_LOCK_EX lock = NdisAllocateRWLock(handle_.handle());
  ASSERT_NE(lock, nullptr);
  std::atomic<bool> readerHolds{false}, releaseReader{false}, secondReaderIn{false}, writerIn{false};

  std::thread reader([&] {
    LOCK_STATE_EX state;
    NdisAcquireRWLockRead(lock, &state, 0);
    EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    readerHolds = true;
    while (!releaseReader) std::this_thread::yield();
    NdisReleaseRWLock(lock, &state);
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  });
  ASSERT_TRUE(waitFor([&] { return readerHolds.load(); }));

  std::thread secondReader([&] {
    LOCK_STATE_EX state;
    NdisAcquireRWLockRead(lock, &state, 0);
    secondReaderIn = true;  // while the first reader still holds the lock
    NdisReleaseRWLock(lock, &state);
  });
  EXPECT_TRUE(waitFor([&] { return secondReaderIn.load(); }));
  secondReader.join();

  std::thread writer([&] {
    LOCK_STATE_EX state;
    NdisAcquireRWLockWrite(lock, &state, 0);
    writerIn = true;
    EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    NdisReleaseRWLock(lock, &state);
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(writerIn.load()) << "a writer got in while a reader held the lock";
  releaseReader = true;
  EXPECT_TRUE(waitFor([&] { return writerIn.load(); }));
  writer.join();
  reader.join();

  // NDIS_RWL_AT_DISPATCH_LEVEL: the caller is at DISPATCH_LEVEL and stays there.
  KIRQL old = KeRaiseIrqlToDpcLevel();
  LOCK_STATE_EX state;
  NdisAcquireRWLockWrite(lock, &state, NDIS_RWL_AT_DISPATCH_LEVEL);
  NdisReleaseRWLock(lock, &state);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeLowerIrql(old);
  NdisFreeRWLock(lock);
}

struct TimerProbe {
  std::atomic<int> calls{0};
  std::atomic<KIRQL> irql{0xFF};
  std::atomic<PVOID> systemSpecific1{nullptr};
  std::atomic<PVOID> context{nullptr};
};
TimerProbe timerProbe;

VOID NTAPI probeTimerFunction(PVOID systemSpecific1, PVOID functionContext, PVOID systemSpecific2,
                              PVOID systemSpecific3) {
  (void)systemSpecific2;
  (void)systemSpecific3;
  timerProbe.irql = KeGetCurrentIrql();
  timerProbe.systemSpecific1 = systemSpecific1;
  timerProbe.context = functionContext;
  ++timerProbe.calls;
}

NDIS_TIMER_CHARACTERISTICS timerCharacteristics(PVOID defaultContext) {
  NDIS_TIMER_CHARACTERISTICS c = {};
  c.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
  c.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
  c.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
  c.AllocationTag = 'rmTT';
  c.TimerFunction = probeTimerFunction;
  c.FunctionContext = defaultContext;
  return c;
}

LARGE_INTEGER relativeMs(LONGLONG ms) {
  LARGE_INTEGER due;
  due.QuadPart = -ms * 10000;
  return due;
}

TEST_F(SyncTest, TimerObjectFiresAtDispatchWithItsContext) {
  timerProbe.calls = 0;
  int defaultContext = 0, otherContext = 0;
  auto c = timerCharacteristics(&defaultContext);
  NDIS_HANDLE timer = nullptr;
  ASSERT_EQ(NdisAllocateTimerObject(handle_.handle(), &c, &timer), NDIS_STATUS_SUCCESS);

  EXPECT_FALSE(NdisSetTimerObject(timer, relativeMs(5), 0, nullptr));
  ASSERT_TRUE(waitFor([] { return timerProbe.calls.load() == 1; }));
  EXPECT_EQ(timerProbe.irql.load(), DISPATCH_LEVEL);
  EXPECT_EQ(timerProbe.context.load(), &defaultContext);  // NULL FunctionContext: the default
  EXPECT_NE(timerProbe.systemSpecific1.load(), nullptr);

  EXPECT_FALSE(NdisSetTimerObject(timer, relativeMs(5), 0, &otherContext));
  ASSERT_TRUE(waitFor([] { return timerProbe.calls.load() == 2; }));
  EXPECT_EQ(timerProbe.context.load(), &otherContext);

  // Set while queued: TRUE; cancel while queued: TRUE, and it never fires.
  EXPECT_FALSE(NdisSetTimerObject(timer, relativeMs(10000), 0, nullptr));
  EXPECT_TRUE(NdisSetTimerObject(timer, relativeMs(10000), 0, nullptr));
  EXPECT_TRUE(NdisCancelTimerObject(timer));
  EXPECT_FALSE(NdisCancelTimerObject(timer));
  EXPECT_EQ(timerProbe.calls.load(), 2);

  // Periodic: fires repeatedly until cancelled at PASSIVE_LEVEL.
  NdisSetTimerObject(timer, relativeMs(1), 2, nullptr);
  ASSERT_TRUE(waitFor([] { return timerProbe.calls.load() >= 5; }));
  NdisCancelTimerObject(timer);
  int after = timerProbe.calls.load();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(timerProbe.calls.load(), after);
  NdisFreeTimerObject(timer);
}

std::atomic<NDIS_HANDLE> selfFreeingTimer{nullptr};
std::atomic<bool> selfFreed{false};

VOID NTAPI freeOwnTimer(PVOID, PVOID, PVOID, PVOID) {
  NdisFreeTimerObject(selfFreeingTimer.load());  // at DISPATCH_LEVEL: the free is deferred
  selfFreed = true;
}

TEST_F(SyncTest, TimerFunctionMayFreeItsOwnTimer) {
  auto c = timerCharacteristics(nullptr);
  c.TimerFunction = freeOwnTimer;
  NDIS_HANDLE timer = nullptr;
  ASSERT_EQ(NdisAllocateTimerObject(handle_.handle(), &c, &timer), NDIS_STATUS_SUCCESS);
  selfFreeingTimer = timer;
  RecordViolationsScope scope;
  NdisSetTimerObject(timer, relativeMs(1), 0, nullptr);
  ASSERT_TRUE(waitFor([] { return selfFreed.load(); }));
  runtime_.runUntilIdle();
  EXPECT_TRUE(scope.take().empty());
}

TEST_F(SyncTest, TimerCharacteristicsAreValidated) {
  NDIS_HANDLE timer = nullptr;
  auto c = timerCharacteristics(nullptr);
  c.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  EXPECT_EQ(NdisAllocateTimerObject(handle_.handle(), &c, &timer), NDIS_STATUS_BAD_CHARACTERISTICS);
  c = timerCharacteristics(nullptr);
  c.Header.Size = 8;
  EXPECT_EQ(NdisAllocateTimerObject(handle_.handle(), &c, &timer), NDIS_STATUS_BAD_CHARACTERISTICS);
  c = timerCharacteristics(nullptr);
  c.TimerFunction = nullptr;
  EXPECT_EQ(NdisAllocateTimerObject(handle_.handle(), &c, &timer), NDIS_STATUS_BAD_CHARACTERISTICS);
  c = timerCharacteristics(nullptr);
  c.AllocationTag = 0;
  EXPECT_EQ(NdisAllocateTimerObject(handle_.handle(), &c, &timer), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(timer, nullptr);
}

struct WorkProbe {
  std::atomic<int> calls{0};
  std::atomic<PVOID> first{nullptr};
  std::atomic<NDIS_HANDLE> second{nullptr};
  std::atomic<KIRQL> irql{0xFF};
};
WorkProbe workProbe;

VOID NTAPI probeWorkItem(PVOID workItemContext, NDIS_HANDLE ndisIoWorkItemHandle) {
  workProbe.irql = KeGetCurrentIrql();
  workProbe.first = workItemContext;
  workProbe.second = ndisIoWorkItemHandle;
  ++workProbe.calls;
}

void expectNdisArgumentOrder(NDIS_HANDLE owner) {
  workProbe.calls = 0;
  int context = 0;
  NDIS_HANDLE item = NdisAllocateIoWorkItem(owner);
  ASSERT_NE(item, nullptr);
  NdisQueueIoWorkItem(item, probeWorkItem, &context);
  ASSERT_TRUE(waitFor([] { return workProbe.calls.load() == 1; }));
  // (WorkItemContext, NdisIoWorkItemHandle): not the I/O manager's (DeviceObject, Context).
  EXPECT_EQ(workProbe.first.load(), &context);
  EXPECT_EQ(workProbe.second.load(), item);
  EXPECT_EQ(workProbe.irql.load(), PASSIVE_LEVEL);
  NdisFreeIoWorkItem(item);
}

TEST_F(SyncTest, IoWorkItemCallsRoutineWithNdisArgumentOrder) {
  expectNdisArgumentOrder(handle_.handle());  // no I/O object: an executive work item

  auto driver = ndishost::nt::createDriverObject(u"ndiswi", nullptr, nullptr);
  ASSERT_NE(driver, nullptr);
  {
    ndishost::ndis::StandaloneHandle withDriver("work item test", driver.get(), nullptr);
    expectNdisArgumentOrder(withDriver.handle());  // IoAllocateWorkItem on the driver object
  }

  RecordViolationsScope scope;
  int notAHandle = 0;
  EXPECT_EQ(NdisAllocateIoWorkItem(&notAHandle), nullptr);
  EXPECT_EQ(rules(scope), std::vector<std::string>{"ndis.bad-handle"});
}

TEST_F(SyncTest, TimeAndCancelIds) {
  LARGE_INTEGER before, after, now;
  NdisGetSystemUpTimeEx(&before);
  NdisMSleep(20000);
  NdisGetSystemUpTimeEx(&after);
  EXPECT_GE(after.QuadPart - before.QuadPart, 20);
  NdisStallExecution(10);
  NdisGetCurrentSystemTime(&now);
  EXPECT_GT(now.QuadPart, 132000000000000000LL);  // after 2019 in 100 ns units since 1601
  EXPECT_NE(NdisGeneratePartialCancelId(), NdisGeneratePartialCancelId());
  NdisWriteErrorLogEntry(handle_.handle(), NDIS_ERROR_CODE_HARDWARE_FAILURE, 2, 0x11u, 0x22u);

  RecordViolationsScope scope;
  KIRQL old = KeRaiseIrqlToDpcLevel();
  NdisMSleep(1);
  KeLowerIrql(old);
  EXPECT_TRUE(contains(rules(scope), "irql.too-high"));
}

}  // namespace
