// <wdm.h> and <ntstrsafe.h> for runtime code in ex, mm and rtl.
//
// The DDK headers define function-like min/max (ntdef.h) and the legacy SAL names __in,
// __out, ... (sal.h), as the WDK does for drivers; in C++ those break standard library
// headers included after them, so they are taken away again right here. Runtime sources
// include this instead of <wdm.h>.
#pragma once

#include <ntstrsafe.h>
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

#include <cstdint>

namespace ndishost::nt {

// A pool tag from its four characters as tools print them: poolTag("Strg") == 'grtS'.
constexpr std::uint32_t poolTag(const char (&text)[5]) {
  return std::uint32_t(std::uint8_t(text[0])) | std::uint32_t(std::uint8_t(text[1])) << 8 |
         std::uint32_t(std::uint8_t(text[2])) << 16 | std::uint32_t(std::uint8_t(text[3])) << 24;
}

}  // namespace ndishost::nt
