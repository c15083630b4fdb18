#include "nt/rtl/format.hpp"

#include <algorithm>
#include <cstdio>
#include <type_traits>

namespace ndishost::nt::rtl {
namespace {

enum class SizePrefix { None, Char, Short, Long, LongLong, Int64, Int32, PointerSized, Wide };

struct Spec {
  bool left = false;
  bool plus = false;
  bool space = false;
  bool alternate = false;
  bool zero = false;
  int width = 0;
  int precision = -1;  // -1: none given
  SizePrefix size = SizePrefix::None;
};

// The counted-string layout %Z and %wZ receive (STRING and UNICODE_STRING on x64).
struct CountedString {
  std::uint16_t length;  // bytes
  std::uint16_t maximumLength;
  const void* buffer;
};

constexpr std::string_view kNull = "(null)";

template <class CharT>
class Formatter {
 public:
  static constexpr bool kWideOutput = std::is_same_v<CharT, char16_t>;

  Formatter(std::basic_string_view<CharT> format, FormatArguments& arguments, BoundedWriter<CharT>& out)
      : format_(format), arguments_(arguments), out_(out) {}

  bool run() {
    while (pos_ < format_.size() && !out_.truncated()) {
      CharT c = format_[pos_++];
      if (c != '%') {
        out_.put(c);
        continue;
      }
      conversion(pos_ - 1);
    }
    return !out_.truncated();
  }

 private:
  bool atEnd() const { return pos_ >= format_.size(); }
  CharT peek() const { return atEnd() ? CharT(0) : format_[pos_]; }
  bool accept(char c) {
    if (!atEnd() && format_[pos_] == CharT(c)) {
      ++pos_;
      return true;
    }
    return false;
  }

  int number() {
    int value = 0;
    while (!atEnd() && format_[pos_] >= '0' && format_[pos_] <= '9') {
      value = std::min(value * 10 + int(format_[pos_] - '0'), 1 << 20);
      ++pos_;
    }
    return value;
  }

  void conversion(std::size_t start) {
    if (accept('%')) {
      out_.put(CharT('%'));
      return;
    }
    Spec spec;
    for (bool more = true; more && !atEnd();) {
      switch (static_cast<char>(peek())) {
        case '-': spec.left = true; break;
        case '+': spec.plus = true; break;
        case ' ': spec.space = true; break;
        case '#': spec.alternate = true; break;
        case '0': spec.zero = true; break;
        default: more = false; continue;
      }
      ++pos_;
    }
    if (accept('*')) {
      int width = arguments_.nextInt32();
      if (width < 0) {
        spec.left = true;
        width = width == INT32_MIN ? INT32_MAX : -width;
      }
      spec.width = std::min(width, 1 << 20);
    } else {
      spec.width = number();
    }
    if (accept('.')) {
      if (accept('*')) {
        int precision = arguments_.nextInt32();
        spec.precision = precision < 0 ? -1 : std::min(precision, 1 << 20);
      } else {
        spec.precision = number();
      }
    }
    if (accept('h')) {
      spec.size = accept('h') ? SizePrefix::Char : SizePrefix::Short;
    } else if (accept('l')) {
      spec.size = accept('l') ? SizePrefix::LongLong : SizePrefix::Long;
    } else if (accept('w')) {
      spec.size = SizePrefix::Wide;
    } else if (accept('L')) {
      spec.size = SizePrefix::LongLong;
    } else if (accept('I')) {
      if (accept('6')) {
        if (!accept('4')) return literal(start);
        spec.size = SizePrefix::Int64;
      } else if (accept('3')) {
        if (!accept('2')) return literal(start);
        spec.size = SizePrefix::Int32;
      } else {
        spec.size = SizePrefix::PointerSized;
      }
    } else if (accept('z') || accept('t') || accept('j')) {
      spec.size = SizePrefix::PointerSized;
    }
    if (atEnd()) return literal(start);
    char type = static_cast<char>(format_[pos_++]);
    switch (type) {
      case 'd':
      case 'i': return signedInteger(spec);
      case 'u': return unsignedInteger(spec, 10, false);
      case 'o': return unsignedInteger(spec, 8, false);
      case 'x': return unsignedInteger(spec, 16, false);
      case 'X': return unsignedInteger(spec, 16, true);
      case 'p': return pointer(spec);
      case 'c': return character(spec, wantsWide(spec, kWideOutput));
      case 'C': return character(spec, wantsWide(spec, !kWideOutput));
      case 's': return string(spec, wantsWide(spec, kWideOutput));
      case 'S': return string(spec, wantsWide(spec, !kWideOutput));
      case 'Z': return countedString(spec);
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
      case 'a':
      case 'A': return floating(spec, type);
      case 'n': arguments_.nextPointer(); return;  // never writes through the argument
      default: return literal(start);
    }
  }

  void literal(std::size_t start) { out_.put(format_.substr(start, pos_ - start)); }

  static bool wantsWide(const Spec& spec, bool byDefault) {
    if (spec.size == SizePrefix::Wide || spec.size == SizePrefix::Long) return true;
    if (spec.size == SizePrefix::Short) return false;
    return byDefault;
  }

  bool is64(const Spec& spec) const {
    return spec.size == SizePrefix::LongLong || spec.size == SizePrefix::Int64 ||
           spec.size == SizePrefix::PointerSized;
  }

  void signedInteger(const Spec& spec) {
    std::int64_t value;
    if (is64(spec)) {
      value = arguments_.nextInt64();
    } else {
      std::int32_t narrow = arguments_.nextInt32();
      value = spec.size == SizePrefix::Char    ? std::int64_t(static_cast<std::int8_t>(narrow))
              : spec.size == SizePrefix::Short ? std::int64_t(static_cast<std::int16_t>(narrow))
                                               : std::int64_t(narrow);
    }
    bool negative = value < 0;
    std::uint64_t magnitude = negative ? ~static_cast<std::uint64_t>(value) + 1 : static_cast<std::uint64_t>(value);
    char sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : 0;
    integer(spec, magnitude, 10, false, sign, {});
  }

  void unsignedInteger(const Spec& spec, unsigned base, bool upper) {
    std::uint64_t value;
    if (is64(spec)) {
      value = static_cast<std::uint64_t>(arguments_.nextInt64());
    } else {
      auto narrow = static_cast<std::uint32_t>(arguments_.nextInt32());
      value = spec.size == SizePrefix::Char    ? std::uint64_t(static_cast<std::uint8_t>(narrow))
              : spec.size == SizePrefix::Short ? std::uint64_t(static_cast<std::uint16_t>(narrow))
                                               : std::uint64_t(narrow);
    }
    std::string_view prefix;
    if (spec.alternate && value != 0) {
      if (base == 16) prefix = upper ? "0X" : "0x";
      if (base == 8) prefix = "0";
    }
    integer(spec, value, base, upper, 0, prefix);
  }

  void integer(const Spec& spec, std::uint64_t value, unsigned base, bool upper, char sign, std::string_view prefix) {
    const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char digits[24];
    int count = 0;
    for (std::uint64_t v = value; v != 0; v /= base) digits[count++] = alphabet[v % base];
    int minimumDigits = spec.precision >= 0 ? spec.precision : 1;
    // "%#o" shows a leading zero, which a precision of zeros may already provide.
    if (prefix == "0" && minimumDigits > count) prefix = {};
    int zeros = std::max(minimumDigits - count, 0);
    int body = (sign != 0 ? 1 : 0) + int(prefix.size()) + zeros + count;
    int padding = std::max(spec.width - body, 0);
    bool padWithZeros = spec.zero && !spec.left && spec.precision < 0;
    if (!spec.left && !padWithZeros) repeat(' ', padding);
    if (sign != 0) out_.put(CharT(sign));
    putAscii(prefix);
    if (padWithZeros) repeat('0', padding);
    repeat('0', zeros);
    while (count > 0) out_.put(CharT(digits[--count]));
    if (spec.left) repeat(' ', padding);
  }

  void pointer(const Spec& spec) {
    auto value = reinterpret_cast<std::uintptr_t>(arguments_.nextPointer());
    char digits[16];
    for (int i = 15; i >= 0; --i, value >>= 4) digits[i] = "0123456789ABCDEF"[value & 0xF];
    int padding = std::max(spec.width - 16, 0);
    if (!spec.left) repeat(' ', padding);
    putAscii(std::string_view(digits, 16));
    if (spec.left) repeat(' ', padding);
  }

  void character(const Spec& spec, bool wide) {
    std::int32_t value = arguments_.nextInt32();
    int padding = std::max(spec.width - 1, 0);
    if (!spec.left) repeat(' ', padding);
    if (wide) {
      auto unit = static_cast<char16_t>(value);
      if constexpr (kWideOutput) {
        out_.put(unit);
      } else {
        std::size_t consumed;
        appendCodePoint(decodeUtf16(std::u16string_view(&unit, 1), consumed), out_);
      }
    } else {
      auto byte = static_cast<unsigned char>(value);
      out_.put(static_cast<CharT>(byte));  // to wide: the byte as a Latin-1 character
    }
    if (spec.left) repeat(' ', padding);
  }

  void string(const Spec& spec, bool wide) {
    const void* text = arguments_.nextPointer();
    if (text == nullptr) return nullString(spec);
    auto limit = spec.precision >= 0 ? std::size_t(spec.precision) : SIZE_MAX;
    if (wide) {
      auto units = static_cast<const char16_t*>(text);
      emit(spec, std::u16string_view(units, boundedLength(units, limit)));
    } else {
      auto bytes = static_cast<const char*>(text);
      emit(spec, std::string_view(bytes, boundedLength(bytes, limit)));
    }
  }

  void countedString(const Spec& spec) {
    auto counted = static_cast<const CountedString*>(arguments_.nextPointer());
    bool wide = spec.size == SizePrefix::Wide || spec.size == SizePrefix::Long;
    if (counted == nullptr || counted->buffer == nullptr) return nullString(spec);
    auto limit = spec.precision >= 0 ? std::size_t(spec.precision) : SIZE_MAX;
    if (wide) {
      std::u16string_view units(static_cast<const char16_t*>(counted->buffer), counted->length / 2);
      emit(spec, units.substr(0, std::min(limit, units.size())));
    } else {
      std::string_view bytes(static_cast<const char*>(counted->buffer), counted->length);
      emit(spec, bytes.substr(0, std::min(limit, bytes.size())));
    }
  }

  void nullString(const Spec& spec) {
    auto limit = spec.precision >= 0 ? std::size_t(spec.precision) : kNull.size();
    emit(spec, kNull.substr(0, std::min(limit, kNull.size())));
  }

  // Writes text in either encoding, padded to the width in output units.
  template <class SourceChar>
  void emit(const Spec& spec, std::basic_string_view<SourceChar> text) {
    std::size_t units;
    if constexpr (std::is_same_v<SourceChar, CharT>) {
      units = text.size();
    } else if constexpr (kWideOutput) {
      units = utf16Length(text);
    } else {
      units = utf8Length(text);
    }
    int padding = std::max(spec.width - int(std::min<std::size_t>(units, 1 << 20)), 0);
    if (!spec.left) repeat(' ', padding);
    if constexpr (std::is_same_v<SourceChar, CharT>) {
      out_.put(text);
    } else if constexpr (kWideOutput) {
      appendAsUtf16(text, out_);
    } else {
      appendAsUtf8(text, out_);
    }
    if (spec.left) repeat(' ', padding);
  }

  void floating(const Spec& spec, char type) {
    double value = arguments_.nextDouble();
    // The C library formats doubles the same way; only the conversion spec we rebuild
    // here ever reaches it.
    char conversion[48];
    int n = std::snprintf(conversion, sizeof conversion, "%%%s%s%s%s%s*.*%c", spec.left ? "-" : "",
                          spec.plus ? "+" : "", spec.space ? " " : "", spec.alternate ? "#" : "",
                          spec.zero ? "0" : "", type);
    if (n <= 0) return;
    char text[512];
    int width = std::min(spec.width, 400);
    int precision = spec.precision < 0 ? 6 : std::min(spec.precision, 100);
    if (spec.precision < 0 && (type == 'a' || type == 'A')) precision = 13;
    int length = std::snprintf(text, sizeof text, conversion, width, precision, value);
    if (length > 0) putAscii(std::string_view(text, std::min<std::size_t>(std::size_t(length), sizeof text - 1)));
  }

  void repeat(char c, int count) {
    if (count > 0) out_.repeat(CharT(c), std::size_t(count));
  }
  void putAscii(std::string_view text) {
    for (char c : text) out_.put(CharT(c));
  }

  std::basic_string_view<CharT> format_;
  std::size_t pos_ = 0;
  FormatArguments& arguments_;
  BoundedWriter<CharT>& out_;
};

}  // namespace

bool formatWindows(std::string_view format, FormatArguments& arguments, BoundedWriter<char>& out) {
  return Formatter<char>(format, arguments, out).run();
}

bool formatWindows(std::u16string_view format, FormatArguments& arguments, BoundedWriter<char16_t>& out) {
  return Formatter<char16_t>(format, arguments, out).run();
}

}  // namespace ndishost::nt::rtl
