// <wdm.h> and <ntstrsafe.h> for runtime code in ex, mm and rtl.
//
// Runtime C++ builds with NOMINMAX (CMakeLists.txt) and sal.h leaves out the legacy
// __in/__out names, so the DDK headers mix freely with the standard library.
#pragma once

#include <ntstrsafe.h>
#include <wdm.h>

#include <cstdint>

namespace ndishost::nt {

// A pool tag from its four characters as tools print them: poolTag("Strg") == 'grtS'.
constexpr std::uint32_t poolTag(const char (&text)[5]) {
  return std::uint32_t(std::uint8_t(text[0])) | std::uint32_t(std::uint8_t(text[1])) << 8 |
         std::uint32_t(std::uint8_t(text[2])) << 16 | std::uint32_t(std::uint8_t(text[3])) << 24;
}

}  // namespace ndishost::nt
