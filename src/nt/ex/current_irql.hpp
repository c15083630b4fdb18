// The IRQL the pool, lookaside and MDL rules check against.
//
// These DDIs also serve code that runs before or without a Runtime (unit tests of other
// layers, tools): with no runtime there is no IRQL model, and the caller counts as
// PASSIVE_LEVEL instead of stopping the process.
#pragma once

#include "nt/rtl/ddk.hpp"

#include "nt/ke/runtime.hpp"

namespace ndishost::nt {

inline KIRQL currentIrqlOrPassive() { return Runtime::current() != nullptr ? KeGetCurrentIrql() : KIRQL(PASSIVE_LEVEL); }

}  // namespace ndishost::nt
