// I/O work items: the routine runs at PASSIVE_LEVEL on a worker thread with the I/O
// manager's argument order, holding a reference on the device while queued.
#include "io_test_support.hpp"

#include <atomic>
#include <thread>

#include "nt/io/object_header.hpp"
#include "nt/support/violation.hpp"

using namespace iotest;
using namespace ndishost::nt;

namespace {

struct Observed {
  std::atomic<PDEVICE_OBJECT> device{nullptr};
  std::atomic<PVOID> ioObject{nullptr};
  std::atomic<PVOID> context{nullptr};
  std::atomic<PIO_WORKITEM> item{nullptr};
  std::atomic<KIRQL> irql{0xFF};
  std::atomic<std::int64_t> deviceReferences{0};
  std::atomic<bool> sameThread{true};
  std::thread::id queuer;
  Event ran;
};

Observed observed;

VOID NTAPI workRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context) {
  observed.device = DeviceObject;
  observed.context = Context;
  observed.irql = KeGetCurrentIrql();
  observed.deviceReferences = objectHeaderOf(DeviceObject)->pointerCount.load();
  observed.sameThread = std::this_thread::get_id() == observed.queuer;
  observed.ran.set();
}

VOID NTAPI workRoutineEx(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem) {
  observed.ioObject = IoObject;
  observed.context = Context;
  observed.item = IoWorkItem;
  observed.irql = KeGetCurrentIrql();
  observed.ran.set();
}

}  // namespace

TEST_F(IoTest, WorkItemRunsAtPassiveWithDeviceObjectThenContext) {
  TestDriver driver{u"worker"};
  PDEVICE_OBJECT device = driver.createDevice("device", &passDown);
  const std::int64_t baseline = objectHeaderOf(device)->pointerCount.load();
  PIO_WORKITEM item = IoAllocateWorkItem(device);
  ASSERT_NE(item, nullptr);
  observed.ran.reset();
  int context = 0;
  observed.queuer = std::this_thread::get_id();
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);  // queueing from DISPATCH_LEVEL is allowed
  IoQueueWorkItem(item, &workRoutine, DelayedWorkQueue, &context);
  KeLowerIrql(old);
  ASSERT_TRUE(observed.ran.wait());
  runtime_.runUntilIdle();
  EXPECT_EQ(observed.device.load(), device);
  EXPECT_EQ(observed.context.load(), &context);
  EXPECT_EQ(observed.irql.load(), PASSIVE_LEVEL);
  EXPECT_FALSE(observed.sameThread.load());
  EXPECT_EQ(observed.deviceReferences.load(), baseline + 1);
  EXPECT_EQ(objectHeaderOf(device)->pointerCount.load(), baseline);
  IoFreeWorkItem(item);
}

TEST_F(IoTest, WorkItemExGetsIoObjectContextAndItem) {
  TestDriver driver{u"workerex"};
  PDEVICE_OBJECT device = driver.createDevice("device", &passDown);
  std::vector<unsigned char> storage(IoSizeofWorkItem());
  auto* item = reinterpret_cast<PIO_WORKITEM>(storage.data());
  IoInitializeWorkItem(device, item);
  observed.ran.reset();
  int context = 0;
  IoQueueWorkItemEx(item, &workRoutineEx, DelayedWorkQueue, &context);
  ASSERT_TRUE(observed.ran.wait());
  runtime_.runUntilIdle();
  EXPECT_EQ(observed.ioObject.load(), device);
  EXPECT_EQ(observed.context.load(), &context);
  EXPECT_EQ(observed.item.load(), item);
  EXPECT_EQ(observed.irql.load(), PASSIVE_LEVEL);
  IoUninitializeWorkItem(item);
}

TEST(IoWorkItemRules, FreeingOrRequeueingAQueuedItemIsRecorded) {
  Runtime runtime(RuntimeOptions{.workerThreads = 1});
  TestDriver driver{u"busyworker"};
  PDEVICE_OBJECT device = driver.createDevice("device", &passDown);
  // Occupy the only worker thread so the item stays queued.
  Event blockerRunning, releaseBlocker;
  struct Blocker {
    WORK_QUEUE_ITEM item;
    Event* running;
    Event* release;
  } blocker{{}, &blockerRunning, &releaseBlocker};
  ExInitializeWorkItem(
      &blocker.item,
      [](PVOID parameter) {
        auto* b = static_cast<Blocker*>(parameter);
        b->running->set();
        b->release->wait(10000);
      },
      &blocker);
  ExQueueWorkItem(&blocker.item, DelayedWorkQueue);
  ASSERT_TRUE(blockerRunning.wait());

  PIO_WORKITEM item = IoAllocateWorkItem(device);
  observed.ran.reset();
  observed.queuer = std::this_thread::get_id();
  {
    RecordViolationsScope scope;
    IoQueueWorkItem(item, &workRoutine, DelayedWorkQueue, nullptr);
    IoQueueWorkItem(item, &workRoutine, DelayedWorkQueue, nullptr);
    IoFreeWorkItem(item);
    auto violations = scope.take();
    ASSERT_EQ(violations.size(), 2u);
    EXPECT_EQ(violations[0].rule, "workitem.double-queue");
    EXPECT_EQ(violations[1].rule, "workitem.free-while-queued");
  }
  releaseBlocker.set();
  ASSERT_TRUE(observed.ran.wait());
  runtime.runUntilIdle();
  IoFreeWorkItem(item);
}
