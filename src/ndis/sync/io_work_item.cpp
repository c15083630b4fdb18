// NDIS I/O work items. NdisAllocateIoWorkItem takes the device or driver object behind the
// NDIS handle and allocates an IO_WORKITEM on it (so the driver cannot unload under a
// queued item); NdisQueueIoWorkItem queues it with the library's own I/O-manager routine,
// which calls the driver's NDIS_IO_WORKITEM_FUNCTION with NDIS's argument order:
// (WorkItemContext, NdisIoWorkItemHandle) -- not the I/O manager's (DeviceObject, Context).
//
// A handle with no I/O object (a standalone handle a test or the host made without one)
// gets a plain executive work item instead. The adapter step makes an adapter handle
// answer ioObject() with its FDO.
#include <atomic>
#include <new>

#include <fmt/format.h>

#include "ndis/core/ndis_object.hpp"
#include "ndis/core/ndis_rules.hpp"
#include "nt/ex/pool.hpp"

// Opaque to drivers (they see the NDIS_HANDLE only).
struct _NDIS_IO_WORKITEM {
  static constexpr std::uint32_t kMagic = 0x6B57644E;  // "NdWk"
  std::uint32_t magic = kMagic;
  PIO_WORKITEM ioWorkItem = nullptr;  // null: executiveItem is used
  WORK_QUEUE_ITEM executiveItem;
  NDIS_IO_WORKITEM_ROUTINE routine = nullptr;
  PVOID context = nullptr;
  std::atomic<bool> queued{false};
};

namespace ndishost::ndis {
namespace {

constexpr ULONG kWorkItemTag = nt::poolTag("NdWi");

PNDIS_IO_WORKITEM checkWorkItem(NDIS_HANDLE handle, const char* ddi, const void* caller) {
  auto* item = static_cast<PNDIS_IO_WORKITEM>(handle);
  if (item != nullptr && nt::pool::isLiveBlock(item) && item->magic == _NDIS_IO_WORKITEM::kMagic) return item;
  reportNdisViolation("ndis.workitem-invalid", NdisBugSubcode::WorkItemMisuse, handle, 0, caller,
                      fmt::format("{} was passed {}, which is not a work item from NdisAllocateIoWorkItem", ddi,
                                  handle));
  return nullptr;
}

// Runs the driver's routine; it may free or requeue the item, so nothing of the item is
// touched after the call.
void runRoutine(PNDIS_IO_WORKITEM item) {
  NDIS_IO_WORKITEM_ROUTINE routine = item->routine;
  PVOID context = item->context;
  item->queued.store(false);
  routine(context, item);
}

VOID NTAPI ioManagerRoutine(PDEVICE_OBJECT ioObject, PVOID context) {
  (void)ioObject;
  runRoutine(static_cast<PNDIS_IO_WORKITEM>(context));
}

VOID NTAPI executiveRoutine(PVOID parameter) { runRoutine(static_cast<PNDIS_IO_WORKITEM>(parameter)); }

}  // namespace
}  // namespace ndishost::ndis

using namespace ndishost;
using namespace ndishost::ndis;

// IRQL <= DISPATCH_LEVEL. NdisObjectHandle: a miniport driver handle, a standalone handle,
// (later) an adapter handle. NULL for anything else ("ndis.bad-handle") or no memory.
extern "C" NDIS_HANDLE NTAPI NdisAllocateIoWorkItem(NDIS_HANDLE NdisObjectHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateIoWorkItem", caller);
  NdisObject* object = NdisObject::fromHandle(NdisObjectHandle);
  if (object == nullptr) {
    reportNdisViolation("ndis.bad-handle", NdisBugSubcode::BadHandle, NdisObjectHandle, 0, caller,
                        fmt::format("NdisAllocateIoWorkItem was passed {}, which is not a live NDIS handle",
                                    NdisObjectHandle));
    return nullptr;
  }
  nt::pool::Request request;
  request.size = sizeof(_NDIS_IO_WORKITEM);
  request.tag = kWorkItemTag;
  request.caller = caller;
  void* memory = nt::pool::allocate(request);
  if (memory == nullptr) return nullptr;
  auto* item = new (memory) _NDIS_IO_WORKITEM();
  if (PVOID ioObject = object->ioObject(); ioObject != nullptr) {
    // IoAllocateWorkItem takes a device object; a driver object is accepted too (IoObject).
    item->ioWorkItem = IoAllocateWorkItem(static_cast<PDEVICE_OBJECT>(ioObject));
    if (item->ioWorkItem == nullptr) {
      item->~_NDIS_IO_WORKITEM();
      nt::pool::free(memory, &kWorkItemTag, caller);
      return nullptr;
    }
  }
  return item;
}

// IRQL <= DISPATCH_LEVEL. Routine runs at PASSIVE_LEVEL on a worker thread as
// Routine(WorkItemContext, NdisIoWorkItemHandle). Queueing a queued item:
// "ndis.workitem-double-queue".
extern "C" VOID NTAPI NdisQueueIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle, NDIS_IO_WORKITEM_ROUTINE Routine,
                                         PVOID WorkItemContext) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisQueueIoWorkItem", caller);
  PNDIS_IO_WORKITEM item = checkWorkItem(NdisIoWorkItemHandle, "NdisQueueIoWorkItem", caller);
  if (item == nullptr) return;
  if (item->queued.exchange(true)) {
    reportNdisViolation("ndis.workitem-double-queue", NdisBugSubcode::WorkItemMisuse, item, 0, caller,
                        fmt::format("NdisQueueIoWorkItem: work item {} is already queued", NdisIoWorkItemHandle));
    return;
  }
  item->routine = Routine;
  item->context = WorkItemContext;
  if (item->ioWorkItem != nullptr) {
    IoQueueWorkItem(item->ioWorkItem, ioManagerRoutine, CriticalWorkQueue, item);
  } else {
    ExInitializeWorkItem(&item->executiveItem, executiveRoutine, item);
    ExQueueWorkItem(&item->executiveItem, CriticalWorkQueue);
  }
}

// IRQL <= DISPATCH_LEVEL. Not while queued ("ndis.workitem-free-queued"); the routine may
// free its own item.
extern "C" VOID NTAPI NdisFreeIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisFreeIoWorkItem", caller);
  PNDIS_IO_WORKITEM item = checkWorkItem(NdisIoWorkItemHandle, "NdisFreeIoWorkItem", caller);
  if (item == nullptr) return;
  if (item->queued.load()) {
    reportNdisViolation("ndis.workitem-free-queued", NdisBugSubcode::WorkItemMisuse, item, 0, caller,
                        fmt::format("NdisFreeIoWorkItem: work item {} is still queued", NdisIoWorkItemHandle));
    return;
  }
  item->magic = 0;
  if (item->ioWorkItem != nullptr) IoFreeWorkItem(item->ioWorkItem);
  item->~_NDIS_IO_WORKITEM();
  nt::pool::free(item, &kWorkItemTag, caller);
}
