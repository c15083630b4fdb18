// ExQueueWorkItem: system worker threads at PASSIVE_LEVEL (see Kernel::workerMain).
#include <fmt/format.h>

#include "nt/ke/kernel.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

extern "C" {

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType) {
  (void)QueueType;  // one FIFO queue serves every type
  const void* caller = __builtin_return_address(0);
  ThreadRecord& self = currentThread("ExQueueWorkItem");
  checkIrqlAtMost(self, DISPATCH_LEVEL, "ExQueueWorkItem", caller);
  if (WorkItem == nullptr || WorkItem->WorkerRoutine == nullptr) {
    reportViolation({"workitem.bad-item", bugcheck::InvalidWorkQueueItem, reinterpret_cast<std::uint64_t>(WorkItem)},
                    caller, "ExQueueWorkItem with no item or no WorkerRoutine (ExInitializeWorkItem)");
    return;
  }
  if (WorkItem->List.Flink != nullptr) {
    reportViolation({"workitem.double-queue", bugcheck::InvalidWorkQueueItem, reinterpret_cast<std::uint64_t>(WorkItem),
                     reinterpret_cast<std::uint64_t>(WorkItem->WorkerRoutine)},
                    caller,
                    fmt::format("ExQueueWorkItem: work item {} is already queued (List.Flink is not NULL)",
                                static_cast<void*>(WorkItem)));
    return;
  }
  self.kernel.queueWorkItem(WorkItem);
  self.kernel.yieldPoint(self);
}

}  // extern "C"
