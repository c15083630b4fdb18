// NDIS time DDIs over the kernel clock (the virtual clock in deterministic mode).
#include "ndis/core/ndis_rules.hpp"

using namespace ndishost;

// IRQL PASSIVE_LEVEL. Sleeps at least MicrosecondsToSleep.
extern "C" VOID NTAPI NdisMSleep(ULONG MicrosecondsToSleep) {
  if (!ndis::checkIrqlExactly(PASSIVE_LEVEL, "NdisMSleep", __builtin_return_address(0))) return;
  LARGE_INTEGER interval;
  interval.QuadPart = -static_cast<LONGLONG>(MicrosecondsToSleep) * 10;
  KeDelayExecutionThread(KernelMode, FALSE, &interval);
}

// Any IRQL. Busy-waits MicrosecondsToStall.
extern "C" VOID NTAPI NdisStallExecution(UINT MicrosecondsToStall) { KeStallExecutionProcessor(MicrosecondsToStall); }

// Any IRQL. Milliseconds since the runtime started (the interrupt time).
extern "C" VOID NTAPI NdisGetSystemUpTimeEx(PLARGE_INTEGER pSystemUpTime) {
  pSystemUpTime->QuadPart = static_cast<LONGLONG>(KeQueryInterruptTime() / 10000);
}

// Any IRQL. 100 ns units since 1601-01-01 UTC.
extern "C" VOID NTAPI NdisGetCurrentSystemTime(PLARGE_INTEGER pSystemTime) { KeQuerySystemTime(pSystemTime); }
