// NDIS timer objects over a KTIMER and a KDPC. The timer function runs from the DPC at
// DISPATCH_LEVEL as TimerFunction(SystemSpecific1 = the KDPC, FunctionContext,
// SystemSpecific2/3 = the DPC's system arguments), FunctionContext being the one the last
// NdisSetTimerObject gave or, when that was NULL, the characteristics' default.
//
// Freeing must not pull the object from under a DPC that is queued or running: at
// PASSIVE_LEVEL NdisFreeTimerObject waits (KeFlushQueuedDpcs); at DISPATCH_LEVEL (for
// example from the timer function itself) it hands the wait and the free to a work item.
#include <atomic>
#include <new>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "nt/ex/current_irql.hpp"
#include "nt/ex/pool.hpp"
#include "nt/support/driver_image.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {
namespace {

struct NdisTimer {
  static constexpr std::uint32_t kMagic = 0x726D5469;  // "iTmr"
  std::uint32_t magic = kMagic;
  ULONG tag = 0;
  KTIMER timer;
  KDPC dpc;
  PNDIS_TIMER_FUNCTION function = nullptr;
  PVOID defaultContext = nullptr;
  std::atomic<PVOID> context{nullptr};
  std::atomic<bool> periodic{false};
  WORK_QUEUE_ITEM deferredFree;
  const void* freeCaller = nullptr;
};

NdisTimer* checkTimer(NDIS_HANDLE handle, const char* ddi, const void* caller) {
  auto* timer = static_cast<NdisTimer*>(handle);
  if (timer != nullptr && nt::pool::isLiveBlock(timer) && timer->magic == NdisTimer::kMagic) return timer;
  reportNdisViolation("ndis.timer-invalid", NdisBugSubcode::TimerMisuse, handle, 0, caller,
                      fmt::format("{} was passed {}, which is not a timer object from NdisAllocateTimerObject", ddi,
                                  handle));
  return nullptr;
}

VOID NTAPI timerDpc(PKDPC dpc, PVOID deferredContext, PVOID systemArgument1, PVOID systemArgument2) {
  auto* timer = static_cast<NdisTimer*>(deferredContext);
  timer->function(dpc, timer->context.load(std::memory_order_acquire), systemArgument1, systemArgument2);
}

void release(NdisTimer* timer, const void* caller) {
  ULONG tag = timer->tag;
  timer->magic = 0;
  timer->~NdisTimer();
  nt::pool::free(timer, &tag, caller);
}

VOID NTAPI deferredFreeRoutine(PVOID parameter) {
  auto* timer = static_cast<NdisTimer*>(parameter);
  KeFlushQueuedDpcs();  // the timer's DPC may still be running on another processor
  release(timer, timer->freeCaller);
}

}  // namespace
}  // namespace ndishost::ndis

using namespace ndishost;
using namespace ndishost::ndis;

// IRQL <= DISPATCH_LEVEL. NDIS_STATUS_BAD_CHARACTERISTICS for a wrong header, a missing
// TimerFunction or a zero AllocationTag; NDIS_STATUS_RESOURCES when memory is exhausted.
extern "C" NDIS_STATUS NTAPI NdisAllocateTimerObject(NDIS_HANDLE NdisHandle,
                                                    PNDIS_TIMER_CHARACTERISTICS TimerCharacteristics,
                                                    PNDIS_HANDLE pTimerObject) {
  const void* caller = __builtin_return_address(0);
  (void)NdisHandle;  // any NDIS handle: the timer is charged to the calling driver
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisAllocateTimerObject", caller);
  auto reject = [&](const std::string& why) {
    nt::logger("ndis").error("NdisAllocateTimerObject ({}): {}", nt::describeCaller(caller), why);
    return NDIS_STATUS_BAD_CHARACTERISTICS;
  };
  *pTimerObject = nullptr;
  if (TimerCharacteristics == nullptr) return reject("TimerCharacteristics is NULL");
  const NDIS_OBJECT_HEADER& header = TimerCharacteristics->Header;
  if (header.Type != NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS)
    return reject(fmt::format("Header.Type is {:#x}, expected NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS", header.Type));
  if (header.Revision < NDIS_TIMER_CHARACTERISTICS_REVISION_1)
    return reject(fmt::format("Header.Revision {} is not NDIS_TIMER_CHARACTERISTICS_REVISION_1", header.Revision));
  if (header.Size < NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1)
    return reject(fmt::format("Header.Size {} is smaller than NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1 ({})",
                              header.Size, NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1));
  if (TimerCharacteristics->TimerFunction == nullptr) return reject("TimerFunction is NULL");
  if (TimerCharacteristics->AllocationTag == 0) return reject("AllocationTag is 0 (a tag is required)");

  nt::pool::Request request;
  request.size = sizeof(NdisTimer);
  request.tag = TimerCharacteristics->AllocationTag;
  request.caller = caller;
  void* memory = nt::pool::allocate(request);
  if (memory == nullptr) return NDIS_STATUS_RESOURCES;
  auto* timer = new (memory) NdisTimer();
  timer->tag = TimerCharacteristics->AllocationTag;
  timer->function = TimerCharacteristics->TimerFunction;
  timer->defaultContext = TimerCharacteristics->FunctionContext;
  timer->context.store(timer->defaultContext);
  KeInitializeTimerEx(&timer->timer, NotificationTimer);
  KeInitializeDpc(&timer->dpc, timerDpc, timer);
  *pTimerObject = timer;
  return NDIS_STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL. DueTime < 0: relative, else absolute (100 ns units);
// MillisecondsPeriod != 0 requeues the timer after each expiry. TRUE when the timer was
// already queued (it is then reset to the new due time).
extern "C" BOOLEAN NTAPI NdisSetTimerObject(NDIS_HANDLE TimerObject, LARGE_INTEGER DueTime, LONG MillisecondsPeriod,
                                           PVOID FunctionContext) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisSetTimerObject", caller);
  NdisTimer* timer = checkTimer(TimerObject, "NdisSetTimerObject", caller);
  if (timer == nullptr) return FALSE;
  if (MillisecondsPeriod < 0) {
    reportNdisViolation("ndis.timer-bad-period", NdisBugSubcode::TimerMisuse, TimerObject,
                        static_cast<std::uint32_t>(MillisecondsPeriod), caller,
                        fmt::format("NdisSetTimerObject: MillisecondsPeriod {} is negative", MillisecondsPeriod));
    MillisecondsPeriod = 0;
  }
  timer->context.store(FunctionContext != nullptr ? FunctionContext : timer->defaultContext, std::memory_order_release);
  timer->periodic.store(MillisecondsPeriod != 0);
  return KeSetTimerEx(&timer->timer, DueTime, MillisecondsPeriod, &timer->dpc);
}

// IRQL <= DISPATCH_LEVEL for a one-shot timer, PASSIVE_LEVEL for a periodic one (which is
// then flushed: its function is not running when this returns). TRUE when the timer was
// queued and is now dequeued.
extern "C" BOOLEAN NTAPI NdisCancelTimerObject(NDIS_HANDLE TimerObject) {
  const void* caller = __builtin_return_address(0);
  NdisTimer* timer = checkTimer(TimerObject, "NdisCancelTimerObject", caller);
  if (timer == nullptr) return FALSE;
  bool periodic = timer->periodic.load();
  checkIrqlAtMost(periodic ? PASSIVE_LEVEL : DISPATCH_LEVEL, "NdisCancelTimerObject", caller);
  BOOLEAN wasQueued = KeCancelTimer(&timer->timer);
  if (periodic && nt::currentIrqlOrPassive() == PASSIVE_LEVEL) KeFlushQueuedDpcs();
  return wasQueued;
}

// IRQL <= DISPATCH_LEVEL. Cancels the timer; the memory goes once no DPC of it can run.
extern "C" VOID NTAPI NdisFreeTimerObject(NDIS_HANDLE TimerObject) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisFreeTimerObject", caller);
  NdisTimer* timer = checkTimer(TimerObject, "NdisFreeTimerObject", caller);
  if (timer == nullptr) return;
  timer->magic = 0;  // no further Set/Cancel through this handle
  KeCancelTimer(&timer->timer);
  KeRemoveQueueDpc(&timer->dpc);
  if (nt::currentIrqlOrPassive() == PASSIVE_LEVEL) {
    KeFlushQueuedDpcs();
    release(timer, caller);
    return;
  }
  timer->freeCaller = caller;
  ExInitializeWorkItem(&timer->deferredFree, deferredFreeRoutine, timer);
  ExQueueWorkItem(&timer->deferredFree, CriticalWorkQueue);
}
