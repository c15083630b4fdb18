#include "nt/rtl/text_codec.hpp"

namespace ndishost::nt::rtl {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool isHighSurrogate(char32_t c) { return c >= 0xD800 && c <= 0xDBFF; }
bool isLowSurrogate(char32_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

std::size_t utf8Units(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

}  // namespace

std::size_t boundedLength(const char* text, std::size_t limit) {
  std::size_t n = 0;
  while (n < limit && text[n] != 0) ++n;
  return n;
}

std::size_t boundedLength(const char16_t* text, std::size_t limit) {
  std::size_t n = 0;
  while (n < limit && text[n] != 0) ++n;
  return n;
}

char32_t decodeUtf16(std::u16string_view text, std::size_t& consumed) {
  char32_t first = text[0];
  consumed = 1;
  if (isHighSurrogate(first)) {
    if (text.size() >= 2 && isLowSurrogate(text[1])) {
      consumed = 2;
      return 0x10000 + ((first - 0xD800) << 10) + (char32_t(text[1]) - 0xDC00);
    }
    return kReplacement;
  }
  return isLowSurrogate(first) ? kReplacement : first;
}

char32_t decodeUtf8(std::string_view text, std::size_t& consumed) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  consumed = 1;
  if (lead < 0x80) return lead;
  std::size_t extra;
  char32_t value;
  char32_t minimum;
  if ((lead & 0xE0) == 0xC0) {
    extra = 1, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, value = lead & 0x07, minimum = 0x10000;
  } else {
    return kReplacement;
  }
  if (text.size() < 1 + extra) return kReplacement;
  for (std::size_t i = 1; i <= extra; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return kReplacement;
    value = (value << 6) | (byte(i) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not characters.
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return kReplacement;
  consumed = 1 + extra;
  return value;
}

std::size_t utf8Length(std::u16string_view text) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t consumed;
    total += utf8Units(decodeUtf16(text.substr(i), consumed));
    i += consumed;
  }
  return total;
}

std::size_t utf16Length(std::string_view text) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t consumed;
    total += decodeUtf8(text.substr(i), consumed) >= 0x10000 ? 2 : 1;
    i += consumed;
  }
  return total;
}

void appendCodePoint(char32_t c, BoundedWriter<char>& out) {
  char units[4];
  std::size_t count = utf8Units(c);
  switch (count) {
    case 1:
      units[0] = static_cast<char>(c);
      break;
    case 2:
      units[0] = static_cast<char>(0xC0 | (c >> 6));
      units[1] = static_cast<char>(0x80 | (c & 0x3F));
      break;
    case 3:
      units[0] = static_cast<char>(0xE0 | (c >> 12));
      units[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      units[2] = static_cast<char>(0x80 | (c & 0x3F));
      break;
    default:
      units[0] = static_cast<char>(0xF0 | (c >> 18));
      units[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      units[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      units[3] = static_cast<char>(0x80 | (c & 0x3F));
      break;
  }
  out.putWhole(units, count);
}

void appendCodePoint(char32_t c, BoundedWriter<char16_t>& out) {
  if (c < 0x10000) {
    out.put(static_cast<char16_t>(c));
    return;
  }
  char16_t units[2] = {static_cast<char16_t>(0xD800 + ((c - 0x10000) >> 10)),
                       static_cast<char16_t>(0xDC00 + ((c - 0x10000) & 0x3FF))};
  out.putWhole(units, 2);
}

void appendAsUtf8(std::u16string_view text, BoundedWriter<char>& out) {
  for (std::size_t i = 0; i < text.size() && !out.truncated();) {
    std::size_t consumed;
    appendCodePoint(decodeUtf16(text.substr(i), consumed), out);
    i += consumed;
  }
}

std::string toUtf8(std::u16string_view text) {
  std::string out(utf8Length(text), '\0');
  BoundedWriter<char> writer(out.data(), out.size());
  appendAsUtf8(text, writer);
  out.resize(writer.length());
  return out;
}

void appendAsUtf16(std::string_view text, BoundedWriter<char16_t>& out) {
  for (std::size_t i = 0; i < text.size() && !out.truncated();) {
    std::size_t consumed;
    appendCodePoint(decodeUtf8(text.substr(i), consumed), out);
    i += consumed;
  }
}

char16_t upcase(char16_t c) {
  if (c < 0x61) return c;
  if (c <= 0x7A) return c - 0x20;
  if (c < 0xE0) return c == 0xB5 ? char16_t(0x39C) : c;  // micro sign -> Greek capital mu
  if (c <= 0xFE) return c == 0xF7 ? c : char16_t(c - 0x20);
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F) {
    // Latin Extended-A pairs capital/small letters; the pairing flips parity at U+0139
    // and U+0179, and a few letters have no partner here.
    if (c == 0x131) return 'I';
    if (c == 0x17F) return 'S';
    if (c == 0x130 || c == 0x138 || c == 0x149) return c;
    bool oddIsSmall = (c < 0x139) || (c >= 0x14A && c < 0x179);
    bool isOdd = (c & 1) != 0;
    return isOdd == oddIsSmall ? char16_t(c - 1) : c;
  }
  if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) return c - 0x20;  // Greek small letters
  if (c == 0x3C2) return 0x3A3;                                  // final sigma
  if (c >= 0x430 && c <= 0x44F) return c - 0x20;                 // Cyrillic а-я
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;                 // Cyrillic ѐ-џ
  if (c >= 0xFF41 && c <= 0xFF5A) return c - 0x20;               // full-width a-z
  return c;
}

char16_t downcase(char16_t c) {
  if (c < 0x41) return c;
  if (c <= 0x5A) return c + 0x20;
  if (c < 0xC0) return c;
  if (c <= 0xDE) return c == 0xD7 ? c : char16_t(c + 0x20);
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x130) return 'i';
    if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    bool oddIsSmall = (c < 0x139) || (c >= 0x14A && c < 0x179);
    bool isOdd = (c & 1) != 0;
    return isOdd == oddIsSmall ? c : char16_t(c + 1);
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 0x20;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if (c >= 0xFF21 && c <= 0xFF3A) return c + 0x20;
  return c;
}

}  // namespace ndishost::nt::rtl
