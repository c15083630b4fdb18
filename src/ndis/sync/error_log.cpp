// NdisWriteErrorLogEntry: the event log is a log line naming the driver, the error code
// and the values. NdisGeneratePartialCancelId.
#include <atomic>
#include <cstdarg>
#include <string>

#include <fmt/format.h>

#include "ndis/core/ndis_object.hpp"
#include "ndis/core/ndis_rules.hpp"
#include "nt/support/log.hpp"

using namespace ndishost;

// IRQL <= DISPATCH_LEVEL. NumberOfErrorValues ULONG values follow ErrorCode.
extern "C" VOID __cdecl NdisWriteErrorLogEntry(NDIS_HANDLE NdisAdapterHandle, NDIS_ERROR_CODE ErrorCode,
                                              ULONG NumberOfErrorValues, ...) {
  const void* caller = __builtin_return_address(0);
  ndis::checkIrqlAtMost(DISPATCH_LEVEL, "NdisWriteErrorLogEntry", caller);
  std::string values;
  va_list arguments;
  va_start(arguments, NumberOfErrorValues);
  for (ULONG i = 0; i < NumberOfErrorValues; ++i) {
    ULONG value = va_arg(arguments, ULONG);
    values += fmt::format("{}{:#010x}", i == 0 ? "" : " ", value);
  }
  va_end(arguments);
  ndis::NdisObject* object = ndis::NdisObject::fromHandle(NdisAdapterHandle);
  nt::logger("ndis").error("event log: driver {} ({}) error {:#010x} values [{}]", nt::describeCaller(caller),
                           object != nullptr ? object->describe() : fmt::format("handle {}", NdisAdapterHandle),
                           ErrorCode, values);
}

// IRQL <= DISPATCH_LEVEL. Successive values, so each caller's cancel IDs differ from the
// ones other callers generate.
extern "C" UCHAR NTAPI NdisGeneratePartialCancelId(VOID) {
  static std::atomic<unsigned> next{1};
  return static_cast<UCHAR>(next.fetch_add(1, std::memory_order_relaxed));
}
