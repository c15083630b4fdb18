#include "host/control/control_protocol.hpp"

#include <stdexcept>

namespace ndishost::host::control {

nlohmann::json toJson(const AdapterRow& row) {
  return nlohmann::json{{"device", row.device}, {"kind", row.kind}, {"driver", row.driver}, {"state", row.state},
                        {"link", row.link},     {"tap", row.tap},   {"farSide", row.farSide}};
}

AdapterRow adapterRowFromJson(const nlohmann::json& object) {
  AdapterRow row;
  row.device = object.value("device", "");
  row.kind = object.value("kind", "");
  row.driver = object.value("driver", "");
  row.state = object.value("state", "");
  row.link = object.value("link", "");
  row.tap = object.value("tap", "");
  row.farSide = object.value("farSide", "");
  return row;
}

namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isSeparator(char c) { return c == ' ' || c == ':' || c == '-' || c == ',' || c == '\t'; }

}  // namespace

std::vector<std::uint8_t> parseHexBytes(std::string_view text) {
  std::vector<std::uint8_t> bytes;
  std::size_t i = 0;
  auto fail = [&](std::string_view why) {
    throw std::invalid_argument("bad hex bytes \"" + std::string(text) + "\": " + std::string(why));
  };
  while (i < text.size()) {
    if (isSeparator(text[i])) {
      ++i;
      continue;
    }
    if (text[i] == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
      i += 2;
      continue;
    }
    if (i + 1 >= text.size() || hexDigit(text[i]) < 0 || hexDigit(text[i + 1]) < 0)
      fail("expected pairs of hex digits, e.g. \"01 00 00 00\" or 01000000");
    bytes.push_back(static_cast<std::uint8_t>(hexDigit(text[i]) * 16 + hexDigit(text[i + 1])));
    i += 2;
  }
  return bytes;
}

std::string toHex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

}  // namespace ndishost::host::control
