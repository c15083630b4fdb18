// The one formatter behind DbgPrint/DbgPrintEx/vDbgPrintEx* and the RtlString*Printf and
// RtlUnicodeStringPrintf routines, with the Windows kernel's format language:
//
//   %[flags][width][.precision][size]type
//   flags      - + space # 0
//   width      digits or * (a negative * means '-' and the absolute value)
//   precision  digits or * (a negative * means "none")
//   size       hh (8-bit) h (16-bit) l (32-bit: LONG is 32-bit) ll / I64 / L (64-bit)
//              I32 (32-bit) I / z / t / j (pointer sized, 64-bit) w (wide, for c/s/Z)
//   types      d i u o x X       integers
//              c C s S           characters and strings: lower case has the width of the
//                                output (narrow for DbgPrint and *A, wide for *W), upper
//                                case the other width; h forces narrow, l/w force wide
//              Z                 PANSI_STRING, or PUNICODE_STRING with w or l (%wZ)
//              p                 pointer as 16 upper-case hex digits
//              e E f F g G a A   floating point (as the C library formats them)
//              n                 not supported: the argument is consumed, nothing stored
//              %                 a percent sign
// A NULL string argument prints "(null)". Unknown conversions are copied literally.
// Narrow and wide text meet through UTF-8 (text_codec.hpp).
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nt/rtl/text_codec.hpp"

namespace ndishost::nt::rtl {

// Where a format call's arguments come from, in order, by the type the C caller passed.
class FormatArguments {
 public:
  virtual ~FormatArguments() = default;
  virtual std::int32_t nextInt32() = 0;  // int, and everything narrower (promoted)
  virtual std::int64_t nextInt64() = 0;  // long long / __int64 / size_t
  virtual const void* nextPointer() = 0;
  virtual double nextDouble() = 0;
};

// Arguments of a C variadic call.
class VaListArguments final : public FormatArguments {
 public:
  explicit VaListArguments(va_list arguments) { va_copy(arguments_, arguments); }
  ~VaListArguments() override { va_end(arguments_); }
  VaListArguments(const VaListArguments&) = delete;
  VaListArguments& operator=(const VaListArguments&) = delete;

  std::int32_t nextInt32() override { return va_arg(arguments_, int); }
  std::int64_t nextInt64() override { return va_arg(arguments_, long long); }
  const void* nextPointer() override { return va_arg(arguments_, const void*); }
  double nextDouble() override { return va_arg(arguments_, double); }

 private:
  va_list arguments_;
};

// Formats into `out`; returns false when the output was truncated.
bool formatWindows(std::string_view format, FormatArguments& arguments, BoundedWriter<char>& out);
bool formatWindows(std::u16string_view format, FormatArguments& arguments, BoundedWriter<char16_t>& out);

}  // namespace ndishost::nt::rtl
