// What the benchmark programs share: the DDK headers as C++ sees them and the runtime.
#pragma once

#include "nt/rtl/ddk.hpp"

#define NDIS_MINIPORT_DRIVER 1
#define NDIS689_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>
#undef min
#undef max

#include <memory>

#include "nt/ke/runtime.hpp"

namespace ndisbench {

// One runtime for the whole program (a Runtime is a process singleton); created on first
// use so that programs without kernel benchmarks do not start its threads.
inline ndishost::nt::Runtime& runtime() {
  static ndishost::nt::Runtime instance{ndishost::nt::RuntimeOptions{.processors = 2}};
  return instance;
}

}  // namespace ndisbench
