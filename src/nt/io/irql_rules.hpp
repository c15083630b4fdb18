// The IRQL rules the I/O manager's DDIs state, checked on entry.
#pragma once

#include <wdm.h>

namespace ndishost::nt {

// Reports "irql.too-high" (IRQL_NOT_LESS_OR_EQUAL) when the caller runs above `maximum`.
// Returns true when the rule holds; in Record mode the DDI carries on either way.
bool checkIrqlAtMost(KIRQL maximum, const char* ddi, const void* caller);

}  // namespace ndishost::nt
