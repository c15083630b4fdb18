// Text conversions shared by the Rtl string routines, the formatter and ntstrsafe.
//
// Wide text inside the runtime is char16_t (WCHAR is a 16-bit wchar_t only because of
// -fshort-wchar, and libc's wchar_t functions assume 32 bits, so none of them is used).
// ndishost's "ANSI" code page is UTF-8: every UTF-16 string converts losslessly, and log
// output stays readable. Unpaired surrogates become U+FFFD on the way to UTF-8; invalid
// UTF-8 bytes become U+FFFD on the way back.
#pragma once

#include <string>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ndishost::nt::rtl {

// Appends code units to a destination a caller owns. Once something did not fit, nothing
// more is written (the output stays a prefix of the full text).
template <class CharT>
class BoundedWriter {
 public:
  BoundedWriter(CharT* data, std::size_t capacity) : data_(data), capacity_(capacity) {}

  void put(CharT unit) {
    if (!truncated_ && length_ < capacity_) {
      data_[length_++] = unit;
    } else {
      truncated_ = true;
    }
  }
  // Writes all of `units` or, when they do not fit, none of them (a code point's units).
  void putWhole(const CharT* units, std::size_t count) {
    if (truncated_ || capacity_ - length_ < count) {
      truncated_ = true;
      return;
    }
    for (std::size_t i = 0; i < count; ++i) data_[length_++] = units[i];
  }
  void put(std::basic_string_view<CharT> units) {
    for (CharT unit : units) put(unit);
  }
  void repeat(CharT unit, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) put(unit);
  }

  std::size_t length() const { return length_; }
  bool truncated() const { return truncated_; }

 private:
  CharT* data_;
  std::size_t capacity_;
  std::size_t length_ = 0;
  bool truncated_ = false;
};

// Length of a null-terminated string, reading at most `limit` units; `limit` when no
// terminator was found within it.
std::size_t boundedLength(const char* text, std::size_t limit);
std::size_t boundedLength(const char16_t* text, std::size_t limit);

inline const char16_t* asU16(const void* wide) { return static_cast<const char16_t*>(wide); }
inline char16_t* asU16(void* wide) { return static_cast<char16_t*>(wide); }

// One code point decoded from the front of `text`; `consumed` units are used up.
char32_t decodeUtf16(std::u16string_view text, std::size_t& consumed);
char32_t decodeUtf8(std::string_view text, std::size_t& consumed);

// Number of UTF-8 bytes / UTF-16 units the other encoding of `text` needs.
std::size_t utf8Length(std::u16string_view text);
std::size_t utf16Length(std::string_view text);

// Converts, writing as much as fits (a code point is never split).
void appendAsUtf8(std::u16string_view text, BoundedWriter<char>& out);

// UTF-16 (a UNICODE_STRING's buffer) as UTF-8, for logs, traces and reports. Unpaired
// surrogates become U+FFFD.
std::string toUtf8(std::u16string_view text);
void appendAsUtf16(std::string_view text, BoundedWriter<char16_t>& out);
void appendCodePoint(char32_t codePoint, BoundedWriter<char>& out);
void appendCodePoint(char32_t codePoint, BoundedWriter<char16_t>& out);

// Simple case mapping: Latin-1, Latin Extended-A, Greek, Cyrillic and full-width Latin
// letters; every other code unit maps to itself.
char16_t upcase(char16_t c);
char16_t downcase(char16_t c);

}  // namespace ndishost::nt::rtl
