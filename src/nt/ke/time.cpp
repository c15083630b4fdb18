// Time: interrupt time, system time, the performance counter and the tick count, all from
// the runtime's clock (real or virtual).
#include "nt/ke/kernel.hpp"

using namespace ndishost::nt;
using namespace ndishost::nt::ke;

namespace {

Clock& clockFor(const char* ddi) {
  Kernel* kernel = currentKernel();
  if (kernel == nullptr) noRuntime(ddi);
  return kernel->clock();
}

// The performance counter runs at 10 MHz, the interrupt time's unit.
constexpr LONGLONG kPerformanceFrequency = 10'000'000;

}  // namespace

extern "C" {

// Any IRQL (all of them).
VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime) { CurrentTime->QuadPart = clockFor("KeQuerySystemTime").systemTime(); }

VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime) {
  CurrentTime->QuadPart = clockFor("KeQuerySystemTimePrecise").systemTime();
}

ULONGLONG NTAPI KeQueryInterruptTime(VOID) { return clockFor("KeQueryInterruptTime").interruptTime(); }

ULONG64 NTAPI KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp) {
  std::uint64_t now = clockFor("KeQueryInterruptTimePrecise").interruptTime();
  if (QpcTimeStamp != nullptr) *QpcTimeStamp = now;
  return now;
}

LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency) {
  LARGE_INTEGER counter;
  counter.QuadPart = static_cast<LONGLONG>(clockFor("KeQueryPerformanceCounter").interruptTime());
  if (PerformanceFrequency != nullptr) PerformanceFrequency->QuadPart = kPerformanceFrequency;
  return counter;
}

VOID NTAPI KeQueryTickCount(PLARGE_INTEGER CurrentCount) {
  CurrentCount->QuadPart = static_cast<LONGLONG>(clockFor("KeQueryTickCount").interruptTime() / kTimeIncrement);
}

ULONG NTAPI KeQueryTimeIncrement(VOID) { return kTimeIncrement; }

}  // extern "C"
