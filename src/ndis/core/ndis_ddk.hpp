// <ndis.h> for the NDIS library's own sources (built with NDIS_WRAPPER=1, so every
// declaration of the newest NDIS version is visible), with the DDK's function-like macros
// that break C++ standard headers taken away again, as nt/rtl/ddk.hpp does for <wdm.h>.
#pragma once

#include "nt/rtl/ddk.hpp"

#include <ndis.h>

#undef min
#undef max
