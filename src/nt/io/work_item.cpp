// I/O work items: ExQueueWorkItem with a reference on the driver's device (or driver)
// object held from queueing until the routine returns, so the driver cannot be unloaded
// under a queued item, and the routine called with the I/O manager's argument order:
// WorkerRoutine(DeviceObject, Context), or WorkerRoutineEx(IoObject, Context, IoWorkItem).
#include <atomic>
#include <new>

#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/io/object_header.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/violation.hpp"

// Opaque to drivers (they see only PIO_WORKITEM); its size is IoSizeofWorkItem().
struct _IO_WORKITEM {
  static constexpr std::uint32_t kMagic = 0x6B576F49;  // "IoWk"

  WORK_QUEUE_ITEM item;
  std::uint32_t magic = kMagic;
  bool allocated = false;  // by IoAllocateWorkItem (else IoInitializeWorkItem in driver memory)
  std::atomic<bool> queued{false};
  PVOID ioObject = nullptr;
  PIO_WORKITEM_ROUTINE routine = nullptr;
  PIO_WORKITEM_ROUTINE_EX routineEx = nullptr;
  PVOID context = nullptr;
  ndishost::nt::LedgerEntry ledger;
};

namespace ndishost::nt {
namespace {

ObjectHeader* ioObjectHeader(PVOID ioObject) {
  ObjectHeader* header = objectHeaderOf(ioObject);
  return header != nullptr && (header->type == ObjectType::Device || header->type == ObjectType::Driver) ? header
                                                                                                        : nullptr;
}

bool checkWorkItem(PIO_WORKITEM item, const char* ddi, const void* caller) {
  if (item != nullptr && item->magic == _IO_WORKITEM::kMagic) return true;
  reportViolation({"workitem.invalid", bugcheck::InvalidWorkQueueItem, reinterpret_cast<std::uintptr_t>(item)}, caller,
                  fmt::format("{} was passed {}, which is not an initialized IO_WORKITEM", ddi, static_cast<void*>(item)));
  return false;
}

bool checkIoObject(PVOID ioObject, const char* ddi, const void* caller) {
  if (ioObjectHeader(ioObject) != nullptr) return true;
  reportViolation({"io.invalid-device-object", bugcheck::DriverVerifierDetectedViolation,
                   reinterpret_cast<std::uintptr_t>(ioObject)},
                  caller, fmt::format("{} was passed {}, which is not a device or driver object", ddi, ioObject));
  return false;
}

VOID NTAPI runWorkItem(PVOID parameter) {
  auto* item = static_cast<PIO_WORKITEM>(parameter);
  PVOID ioObject = item->ioObject;
  PIO_WORKITEM_ROUTINE routine = item->routine;
  PIO_WORKITEM_ROUTINE_EX routineEx = item->routineEx;
  PVOID context = item->context;
  // From here the routine owns the item: it may queue it again or free it.
  item->queued.store(false);
  if (routineEx != nullptr) {
    routineEx(ioObject, context, item);
  } else {
    routine(static_cast<PDEVICE_OBJECT>(ioObject), context);
  }
  dereferenceObject(*ioObjectHeader(ioObject));
}

void queue(PIO_WORKITEM item, PIO_WORKITEM_ROUTINE routine, PIO_WORKITEM_ROUTINE_EX routineEx,
           WORK_QUEUE_TYPE queueType, PVOID context, const char* ddi, const void* caller) {
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  if (!checkWorkItem(item, ddi, caller)) return;
  if (item->queued.exchange(true)) {
    reportViolation({"workitem.double-queue", bugcheck::InvalidWorkQueueItem, reinterpret_cast<std::uintptr_t>(item)},
                    caller, fmt::format("{}: work item {} is already queued", ddi, static_cast<void*>(item)));
    return;
  }
  item->routine = routine;
  item->routineEx = routineEx;
  item->context = context;
  referenceObject(*ioObjectHeader(item->ioObject));
  ExInitializeWorkItem(&item->item, &runWorkItem, item);
  ExQueueWorkItem(&item->item, queueType);
}

void initialize(PVOID ioObject, PIO_WORKITEM item) {
  new (item) _IO_WORKITEM;
  item->ioObject = ioObject;
}

}  // namespace
}  // namespace ndishost::nt

using namespace ndishost::nt;

// IRQL <= DISPATCH_LEVEL.
extern "C" PIO_WORKITEM NTAPI IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoAllocateWorkItem", caller);
  if (!checkIoObject(DeviceObject, "IoAllocateWorkItem", caller)) return nullptr;
  auto* item = static_cast<PIO_WORKITEM>(::operator new(sizeof(_IO_WORKITEM), std::nothrow));
  if (item == nullptr) return nullptr;
  initialize(DeviceObject, item);
  item->allocated = true;
  item->ledger.kind = ResourceKind::WorkItem;
  item->ledger.object = item;
  item->ledger.callSite = caller;
  item->ledger.size = sizeof(_IO_WORKITEM);
  ledgerAdd(item->ledger);
  return item;
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI IoFreeWorkItem(PIO_WORKITEM IoWorkItem) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoFreeWorkItem", caller);
  if (!checkWorkItem(IoWorkItem, "IoFreeWorkItem", caller)) return;
  const auto address = reinterpret_cast<std::uintptr_t>(IoWorkItem);
  if (!IoWorkItem->allocated) {
    reportViolation({"workitem.free-not-allocated", bugcheck::InvalidWorkQueueItem, address}, caller,
                    "IoFreeWorkItem on a work item set up with IoInitializeWorkItem (use IoUninitializeWorkItem)");
    return;
  }
  if (IoWorkItem->queued.load()) {
    // Freeing it would leave the worker thread with a dangling item: refuse (and leak).
    reportViolation({"workitem.free-while-queued", bugcheck::InvalidWorkQueueItem, address}, caller,
                    fmt::format("IoFreeWorkItem({}) while the work item is queued", static_cast<void*>(IoWorkItem)));
    return;
  }
  ledgerRemove(IoWorkItem->ledger);
  IoWorkItem->magic = 0;
  IoWorkItem->~_IO_WORKITEM();
  ::operator delete(static_cast<void*>(IoWorkItem));
}

// IRQL <= DISPATCH_LEVEL. WorkerRoutine(DeviceObject, Context) runs at PASSIVE_LEVEL on a
// system worker thread.
extern "C" VOID NTAPI IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                                      WORK_QUEUE_TYPE QueueType, PVOID Context) {
  queue(IoWorkItem, WorkerRoutine, nullptr, QueueType, Context, "IoQueueWorkItem", __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL. WorkerRoutine(IoObject, Context, IoWorkItem) at PASSIVE_LEVEL.
extern "C" VOID NTAPI IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                                        WORK_QUEUE_TYPE QueueType, PVOID Context) {
  queue(IoWorkItem, nullptr, WorkerRoutine, QueueType, Context, "IoQueueWorkItemEx", __builtin_return_address(0));
}

// Any IRQL.
extern "C" ULONG NTAPI IoSizeofWorkItem(VOID) { return sizeof(_IO_WORKITEM); }

// Any IRQL. IoObject: a device object or the driver object.
extern "C" VOID NTAPI IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem) {
  const void* caller = __builtin_return_address(0);
  if (!checkIoObject(IoObject, "IoInitializeWorkItem", caller)) return;
  initialize(IoObject, IoWorkItem);
}

// Any IRQL.
extern "C" VOID NTAPI IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem) {
  const void* caller = __builtin_return_address(0);
  if (!checkWorkItem(IoWorkItem, "IoUninitializeWorkItem", caller)) return;
  if (IoWorkItem->queued.load()) {
    reportViolation({"workitem.free-while-queued", bugcheck::InvalidWorkQueueItem,
                     reinterpret_cast<std::uintptr_t>(IoWorkItem)},
                    caller, fmt::format("IoUninitializeWorkItem({}) while the work item is queued",
                                        static_cast<void*>(IoWorkItem)));
    return;
  }
  IoWorkItem->magic = 0;
  IoWorkItem->~_IO_WORKITEM();
}
