// Cancelling pended IRPs: a driver's own cancel routine, and cancel-safe queues.
#include "io_test_support.hpp"

#include <atomic>

using namespace iotest;
using namespace ndishost::nt;

namespace {

// A driver request that the test sends and waits for, allocated and taken back by the test.
struct Request {
  PIRP irp;
  CompletionProbe probe;
  Event done;
  std::atomic<NTSTATUS> status{STATUS_PENDING};
  std::atomic<bool> cancelFlag{false};

  explicit Request(PDEVICE_OBJECT target) {
    irp = IoAllocateIrp(target->StackSize, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    probe.routine = [this](PDEVICE_OBJECT, PIRP completed) {
      status = completed->IoStatus.Status;
      cancelFlag = __atomic_load_n(&completed->Cancel, __ATOMIC_ACQUIRE) != FALSE;  // IoCancelIrp may race
      done.set();
      return STATUS_MORE_PROCESSING_REQUIRED;
    };
    IoSetCompletionRoutine(irp, &probeCompletion, &probe, TRUE, TRUE, TRUE);
  }
  ~Request() { IoFreeIrp(irp); }
};

std::atomic<KIRQL> cancelRoutineIrql{0xFF};
std::atomic<bool> cancelRoutineHeldLock{false};

VOID NTAPI cancelHeldIrp(PDEVICE_OBJECT device, PIRP irp) {
  cancelRoutineIrql = KeGetCurrentIrql();
  // While the cancel spin lock is held, nobody else can take it.
  cancelRoutineHeldLock = irp->CancelRoutine == nullptr;
  *static_cast<PIRP*>(extraExtension(device)) = nullptr;
  IoReleaseCancelSpinLock(irp->CancelIrql);
  completeWith(irp, STATUS_CANCELLED);
}

}  // namespace

TEST_F(IoTest, CancelCallsTheCancelRoutineAtDispatchLevel) {
  TestDriver driver{u"cancel"};
  PDEVICE_OBJECT device = driver.createDevice(
      "device",
      [](PDEVICE_OBJECT self, PIRP irp) {
        IoMarkIrpPending(irp);
        *static_cast<PIRP*>(extraExtension(self)) = irp;
        IoSetCancelRoutine(irp, &cancelHeldIrp);
        return STATUS_PENDING;
      },
      nullptr, sizeof(PIRP));
  Request request(device);
  EXPECT_EQ(IoCallDriver(device, request.irp), STATUS_PENDING);
  EXPECT_TRUE(IoCancelIrp(request.irp));
  ASSERT_TRUE(request.done.wait());
  EXPECT_EQ(request.status.load(), STATUS_CANCELLED);
  EXPECT_TRUE(request.cancelFlag);
  EXPECT_EQ(cancelRoutineIrql.load(), DISPATCH_LEVEL);
  EXPECT_TRUE(cancelRoutineHeldLock);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  EXPECT_EQ(*static_cast<PIRP*>(extraExtension(device)), nullptr);
}

TEST_F(IoTest, CancelWithoutACancelRoutineOnlySetsTheFlag) {
  TestDriver driver{u"nocancel"};
  PDEVICE_OBJECT device = driver.createDevice(
      "device",
      [](PDEVICE_OBJECT self, PIRP irp) {
        IoMarkIrpPending(irp);
        *static_cast<PIRP*>(extraExtension(self)) = irp;
        return STATUS_PENDING;
      },
      nullptr, sizeof(PIRP));
  Request request(device);
  IoCallDriver(device, request.irp);
  EXPECT_FALSE(IoCancelIrp(request.irp));
  EXPECT_TRUE(request.irp->Cancel);
  completeWith(*static_cast<PIRP*>(extraExtension(device)), STATUS_SUCCESS);
  ASSERT_TRUE(request.done.wait());
  EXPECT_EQ(request.status.load(), STATUS_SUCCESS);
}

// ---- cancel-safe queue -----------------------------------------------------------------

namespace {

// A driver's queue: a list under a spin lock, and the IO_CSQ that wraps it.
struct QueueExtension {
  IO_CSQ csq;
  LIST_ENTRY pending;
  KSPIN_LOCK lock;
  std::atomic<int> cancelledCompleted{0};
  bool refuseInserts = false;
};

QueueExtension& queueOf(PIO_CSQ csq) { return *CONTAINING_RECORD(csq, QueueExtension, csq); }

VOID NTAPI insertIrp(PIO_CSQ csq, PIRP irp) {
  InsertTailList(&queueOf(csq).pending, &irp->Tail.Overlay.ListEntry);
}
NTSTATUS NTAPI insertIrpEx(PIO_CSQ csq, PIRP irp, PVOID) {
  if (queueOf(csq).refuseInserts) return STATUS_DEVICE_BUSY;
  insertIrp(csq, irp);
  return STATUS_SUCCESS;
}
VOID NTAPI removeIrp(PIO_CSQ, PIRP irp) { RemoveEntryList(&irp->Tail.Overlay.ListEntry); }
PIRP NTAPI peekNextIrp(PIO_CSQ csq, PIRP irp, PVOID) {
  PLIST_ENTRY head = &queueOf(csq).pending;
  PLIST_ENTRY next = irp == nullptr ? head->Flink : irp->Tail.Overlay.ListEntry.Flink;
  return next == head ? nullptr : CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
}
VOID NTAPI acquireLock(PIO_CSQ csq, PKIRQL irql) { KeAcquireSpinLock(&queueOf(csq).lock, irql); }
VOID NTAPI releaseLock(PIO_CSQ csq, KIRQL irql) { KeReleaseSpinLock(&queueOf(csq).lock, irql); }
VOID NTAPI completeCanceledIrp(PIO_CSQ csq, PIRP irp) {
  ++queueOf(csq).cancelledCompleted;
  completeWith(irp, STATUS_CANCELLED);
}

struct CsqDriver {
  TestDriver driver{u"csq"};
  PDEVICE_OBJECT device;
  QueueExtension* queue;

  explicit CsqDriver(bool extended) {
    device = driver.createDevice(
        "device",
        [this](PDEVICE_OBJECT, PIRP irp) {
          NTSTATUS status = IoCsqInsertIrpEx(&queue->csq, irp, nullptr, nullptr);
          if (!NT_SUCCESS(status)) return completeWith(irp, status);
          return STATUS_PENDING;
        },
        nullptr, sizeof(QueueExtension));
    queue = new (extraExtension(device)) QueueExtension;
    InitializeListHead(&queue->pending);
    KeInitializeSpinLock(&queue->lock);
    if (extended) {
      IoCsqInitializeEx(&queue->csq, &insertIrpEx, &removeIrp, &peekNextIrp, &acquireLock, &releaseLock,
                        &completeCanceledIrp);
    } else {
      IoCsqInitialize(&queue->csq, &insertIrp, &removeIrp, &peekNextIrp, &acquireLock, &releaseLock,
                      &completeCanceledIrp);
    }
  }
  ~CsqDriver() { queue->~QueueExtension(); }
};

}  // namespace

TEST_F(IoTest, CancelSafeQueueCancelsQueuedIrpsAndHandsOutTheRest) {
  CsqDriver csq(false);
  Request first(csq.device), second(csq.device), third(csq.device);
  for (Request* r : {&first, &second, &third}) EXPECT_EQ(IoCallDriver(csq.device, r->irp), STATUS_PENDING);
  EXPECT_NE(first.irp->CancelRoutine, nullptr);

  EXPECT_TRUE(IoCancelIrp(second.irp));
  ASSERT_TRUE(second.done.wait());
  EXPECT_EQ(second.status.load(), STATUS_CANCELLED);
  EXPECT_EQ(csq.queue->cancelledCompleted.load(), 1);

  PIRP next = IoCsqRemoveNextIrp(&csq.queue->csq, nullptr);
  EXPECT_EQ(next, first.irp);
  EXPECT_EQ(next->CancelRoutine, nullptr);
  completeWith(next, STATUS_SUCCESS);
  next = IoCsqRemoveNextIrp(&csq.queue->csq, nullptr);
  EXPECT_EQ(next, third.irp);
  completeWith(next, STATUS_SUCCESS);
  EXPECT_EQ(IoCsqRemoveNextIrp(&csq.queue->csq, nullptr), nullptr);
  EXPECT_TRUE(first.done.wait());
  EXPECT_TRUE(third.done.wait());
  EXPECT_EQ(first.status.load(), STATUS_SUCCESS);
  EXPECT_TRUE(IsListEmpty(&csq.queue->pending));
}

TEST_F(IoTest, CancelSafeQueueRemovesAParticularIrpByContext) {
  CsqDriver csq(false);
  Request a(csq.device), b(csq.device);
  IO_CSQ_IRP_CONTEXT contextA, contextB;
  // Queue directly, as a driver's dispatch routine would with a context.
  IoSetNextIrpStackLocation(a.irp);
  IoSetNextIrpStackLocation(b.irp);
  IoCsqInsertIrp(&csq.queue->csq, a.irp, &contextA);
  IoCsqInsertIrp(&csq.queue->csq, b.irp, &contextB);
  EXPECT_EQ(contextB.Irp, b.irp);
  EXPECT_EQ(contextB.Csq, &csq.queue->csq);
  EXPECT_TRUE(IoGetCurrentIrpStackLocation(b.irp)->Control & SL_PENDING_RETURNED);
  EXPECT_EQ(IoCsqRemoveIrp(&csq.queue->csq, &contextB), b.irp);
  EXPECT_EQ(contextB.Irp, nullptr);
  EXPECT_EQ(IoCsqRemoveIrp(&csq.queue->csq, &contextB), nullptr);
  // Cancelling a context-queued IRP clears its context too.
  EXPECT_TRUE(IoCancelIrp(a.irp));
  EXPECT_EQ(contextA.Irp, nullptr);
  EXPECT_EQ(IoCsqRemoveIrp(&csq.queue->csq, &contextA), nullptr);
  IoSkipCurrentIrpStackLocation(b.irp);  // a was completed (cancelled); b was only dequeued
  EXPECT_TRUE(a.done.wait());
  EXPECT_EQ(a.status.load(), STATUS_CANCELLED);
}

TEST_F(IoTest, CancelSafeQueueCompletesAnAlreadyCancelledIrpInsteadOfQueueingIt) {
  CsqDriver csq(false);
  Request request(csq.device);
  request.irp->Cancel = TRUE;
  EXPECT_EQ(IoCallDriver(csq.device, request.irp), STATUS_PENDING);
  ASSERT_TRUE(request.done.wait());
  EXPECT_EQ(request.status.load(), STATUS_CANCELLED);
  EXPECT_TRUE(IsListEmpty(&csq.queue->pending));
  EXPECT_EQ(csq.queue->cancelledCompleted.load(), 1);
}

TEST_F(IoTest, CancelSafeQueueExInsertCanRefuse) {
  CsqDriver csq(true);
  csq.queue->refuseInserts = true;
  Request refused(csq.device);
  EXPECT_EQ(IoCallDriver(csq.device, refused.irp), STATUS_DEVICE_BUSY);
  EXPECT_EQ(refused.status.load(), STATUS_DEVICE_BUSY);
  EXPECT_EQ(refused.irp->CancelRoutine, nullptr);
  csq.queue->refuseInserts = false;
  Request accepted(csq.device);
  EXPECT_EQ(IoCallDriver(csq.device, accepted.irp), STATUS_PENDING);
  EXPECT_TRUE(IoCancelIrp(accepted.irp));
  ASSERT_TRUE(accepted.done.wait());
  EXPECT_EQ(accepted.status.load(), STATUS_CANCELLED);
}

TEST_F(IoTest, CancelRacingRemoveNeverLosesOrDoublesAnIrp) {
  CsqDriver csq(false);
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    Request request(csq.device);
    ASSERT_EQ(IoCallDriver(csq.device, request.irp), STATUS_PENDING);
    std::thread canceller([&] { IoCancelIrp(request.irp); });
    if (PIRP irp = IoCsqRemoveNextIrp(&csq.queue->csq, nullptr)) completeWith(irp, STATUS_SUCCESS);
    canceller.join();
    ASSERT_TRUE(request.done.wait());
    EXPECT_TRUE(request.status.load() == STATUS_SUCCESS || request.status.load() == STATUS_CANCELLED);
    EXPECT_TRUE(IsListEmpty(&csq.queue->pending));
  }
}
