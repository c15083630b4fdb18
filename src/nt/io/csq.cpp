// Cancel-safe IRP queues. The driver supplies the queue and its lock; the I/O manager
// supplies the cancel routine and does the cancel-routine handshake (IoSetCancelRoutine
// on both sides, under the driver's queue lock) that drivers so often get wrong.
//
// An IRP's Tail.Overlay.DriverContext[3] points, while it is queued, at its
// IO_CSQ_IRP_CONTEXT when the driver gave one, otherwise at the IO_CSQ itself. Both start
// with a Type, which tells them apart.
#include "nt/io/io_manager.hpp"
#include "nt/io/irql_rules.hpp"

namespace ndishost::nt {
namespace {

PVOID& queueSlot(PIRP irp) { return irp->Tail.Overlay.DriverContext[3]; }

PIO_CSQ queueOf(PIRP irp) {
  PVOID slot = queueSlot(irp);
  if (*static_cast<ULONG*>(slot) == IO_TYPE_CSQ_IRP_CONTEXT) return static_cast<PIO_CSQ_IRP_CONTEXT>(slot)->Csq;
  return static_cast<PIO_CSQ>(slot);
}

// Called with the queue locked, once the IRP is out of the driver's queue.
void forgetQueued(PIRP irp) {
  PVOID slot = queueSlot(irp);
  if (slot != nullptr && *static_cast<ULONG*>(slot) == IO_TYPE_CSQ_IRP_CONTEXT) {
    static_cast<PIO_CSQ_IRP_CONTEXT>(slot)->Irp = nullptr;
  }
  queueSlot(irp) = nullptr;
}

VOID NTAPI csqCancelRoutine(PDEVICE_OBJECT, PIRP irp) {
  PIO_CSQ csq = queueOf(irp);
  IoReleaseCancelSpinLock(irp->CancelIrql);
  KIRQL irql;
  csq->CsqAcquireLock(csq, &irql);
  csq->CsqRemoveIrp(csq, irp);
  forgetQueued(irp);
  csq->CsqReleaseLock(csq, irql);
  csq->CsqCompleteCanceledIrp(csq, irp);
}

NTSTATUS insert(PIO_CSQ csq, PIRP irp, PIO_CSQ_IRP_CONTEXT context, PVOID insertContext) {
  const bool extended = csq->Type == IO_TYPE_CSQ_EX;
  KIRQL irql;
  csq->CsqAcquireLock(csq, &irql);
  NTSTATUS status = STATUS_SUCCESS;
  if (extended) {
    // IO_CSQ has one insert pointer for both callback types (Type says which); the cast
    // goes through a generic function pointer type.
    // The Ex routine may refuse; then nothing else happens and the caller keeps the IRP.
    status = reinterpret_cast<PIO_CSQ_INSERT_IRP_EX>(reinterpret_cast<void (*)()>(csq->CsqInsertIrp))(csq, irp, insertContext);
    if (!NT_SUCCESS(status)) {
      csq->CsqReleaseLock(csq, irql);
      return status;
    }
  }
  if (context != nullptr) {
    context->Type = IO_TYPE_CSQ_IRP_CONTEXT;
    context->Irp = irp;
    context->Csq = csq;
    queueSlot(irp) = context;
  } else {
    queueSlot(irp) = csq;
  }
  IoMarkIrpPending(irp);
  IoSetCancelRoutine(irp, &csqCancelRoutine);
  if (__atomic_load_n(&irp->Cancel, __ATOMIC_ACQUIRE) && IoSetCancelRoutine(irp, nullptr) != nullptr) {
    // Cancelled before it became cancelable (IoCancelIrp found no routine): it does not
    // stay queued; complete it as cancelled, outside the lock.
    if (extended) csq->CsqRemoveIrp(csq, irp);
    forgetQueued(irp);
    csq->CsqReleaseLock(csq, irql);
    csq->CsqCompleteCanceledIrp(csq, irp);
    return status;
  }
  // Not cancelled, or our cancel routine is already running: it waits for the queue lock
  // and will find the IRP queued.
  if (!extended) csq->CsqInsertIrp(csq, irp);
  csq->CsqReleaseLock(csq, irql);
  return status;
}

}  // namespace
}  // namespace ndishost::nt

using namespace ndishost::nt;

// Any IRQL.
extern "C" NTSTATUS NTAPI IoCsqInitialize(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP CsqInsertIrp, PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                          PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp, PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                          PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                          PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp) {
  Csq->Type = IO_TYPE_CSQ;
  Csq->CsqInsertIrp = CsqInsertIrp;
  Csq->CsqRemoveIrp = CsqRemoveIrp;
  Csq->CsqPeekNextIrp = CsqPeekNextIrp;
  Csq->CsqAcquireLock = CsqAcquireLock;
  Csq->CsqReleaseLock = CsqReleaseLock;
  Csq->CsqCompleteCanceledIrp = CsqCompleteCanceledIrp;
  Csq->ReservePointer = nullptr;
  return STATUS_SUCCESS;
}

// Any IRQL.
extern "C" NTSTATUS NTAPI IoCsqInitializeEx(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP_EX CsqInsertIrp,
                                            PIO_CSQ_REMOVE_IRP CsqRemoveIrp, PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                                            PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock, PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                            PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp) {
  IoCsqInitialize(Csq, reinterpret_cast<PIO_CSQ_INSERT_IRP>(reinterpret_cast<void (*)()>(CsqInsertIrp)), CsqRemoveIrp, CsqPeekNextIrp,
                  CsqAcquireLock, CsqReleaseLock, CsqCompleteCanceledIrp);
  Csq->Type = IO_TYPE_CSQ_EX;
  return STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context) {
  checkIrqlAtMost(DISPATCH_LEVEL, "IoCsqInsertIrp", __builtin_return_address(0));
  insert(Csq, Irp, Context, nullptr);
}

// IRQL <= DISPATCH_LEVEL.
extern "C" NTSTATUS NTAPI IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context, PVOID InsertContext) {
  checkIrqlAtMost(DISPATCH_LEVEL, "IoCsqInsertIrpEx", __builtin_return_address(0));
  return insert(Csq, Irp, Context, InsertContext);
}

// IRQL <= DISPATCH_LEVEL. Null when the IRP has left the queue or is being cancelled.
extern "C" PIRP NTAPI IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context) {
  checkIrqlAtMost(DISPATCH_LEVEL, "IoCsqRemoveIrp", __builtin_return_address(0));
  KIRQL irql;
  Csq->CsqAcquireLock(Csq, &irql);
  PIRP irp = Context->Irp;
  if (irp != nullptr) {
    if (IoSetCancelRoutine(irp, nullptr) != nullptr) {
      Csq->CsqRemoveIrp(Csq, irp);
      forgetQueued(irp);
    } else {
      irp = nullptr;  // our cancel routine owns it now
    }
  }
  Csq->CsqReleaseLock(Csq, irql);
  return irp;
}

// IRQL <= DISPATCH_LEVEL. Skips IRPs whose cancellation is under way.
extern "C" PIRP NTAPI IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext) {
  checkIrqlAtMost(DISPATCH_LEVEL, "IoCsqRemoveNextIrp", __builtin_return_address(0));
  KIRQL irql;
  Csq->CsqAcquireLock(Csq, &irql);
  PIRP irp = Csq->CsqPeekNextIrp(Csq, nullptr, PeekContext);
  while (irp != nullptr) {
    if (IoSetCancelRoutine(irp, nullptr) != nullptr) {
      Csq->CsqRemoveIrp(Csq, irp);
      forgetQueued(irp);
      break;
    }
    irp = Csq->CsqPeekNextIrp(Csq, irp, PeekContext);
  }
  Csq->CsqReleaseLock(Csq, irql);
  return irp;
}
