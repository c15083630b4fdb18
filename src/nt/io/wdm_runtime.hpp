// <wdm.h> for runtime code. The DDK headers define function-like min/max (ntdef.h) and
// the legacy SAL names __in/__out/... (sal.h), as the WDK does for drivers; in C++ they
// break the standard library headers included after them. Runtime code includes the DDK
// through this header, which takes those names away again right after.
#pragma once

#include <wdm.h>

#undef min
#undef max
#undef __in
#undef __out
#undef __inout
#undef __in_opt
#undef __out_opt
#undef __inout_opt
#undef __in_bcount
#undef __out_bcount
#undef __in_ecount
#undef __out_ecount
