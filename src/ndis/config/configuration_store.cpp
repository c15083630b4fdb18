#include "ndis/config/configuration_store.hpp"

namespace ndishost::ndis {

std::u16string ConfigurationStore::fold(std::u16string_view keyword) {
  std::u16string folded(keyword);
  for (char16_t& c : folded) {
    if (c >= u'a' && c <= u'z') c = static_cast<char16_t>(c - u'a' + u'A');
  }
  return folded;
}

std::u16string ConfigurationStore::widen(std::string_view text) {
  // Keywords and values in configuration files are ASCII or UTF-8; decode UTF-8 to UTF-16.
  std::u16string out;
  for (std::size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    char32_t cp = byte;
    std::size_t length = 1;
    if (byte >= 0xF0 && i + 3 < text.size()) {
      cp = ((byte & 0x07u) << 18) | ((text[i + 1] & 0x3Fu) << 12) | ((text[i + 2] & 0x3Fu) << 6) | (text[i + 3] & 0x3Fu);
      length = 4;
    } else if (byte >= 0xE0 && i + 2 < text.size()) {
      cp = ((byte & 0x0Fu) << 12) | ((text[i + 1] & 0x3Fu) << 6) | (text[i + 2] & 0x3Fu);
      length = 3;
    } else if (byte >= 0xC0 && i + 1 < text.size()) {
      cp = ((byte & 0x1Fu) << 6) | (text[i + 1] & 0x3Fu);
      length = 2;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += length;
  }
  return out;
}

void ConfigurationStore::set(std::u16string_view keyword, ConfigurationValue value) {
  std::lock_guard guard(lock_);
  values_[fold(keyword)] = std::move(value);
}

void ConfigurationStore::setInteger(std::u16string_view keyword, std::uint32_t value) { set(keyword, {value}); }
void ConfigurationStore::setString(std::u16string_view keyword, std::u16string value) {
  set(keyword, {std::move(value)});
}
void ConfigurationStore::setMultiString(std::u16string_view keyword, std::vector<std::u16string> values) {
  set(keyword, {ConfigurationValue::MultiString(std::move(values))});
}
void ConfigurationStore::setBinary(std::u16string_view keyword, std::vector<std::uint8_t> bytes) {
  set(keyword, {ConfigurationValue::Binary(std::move(bytes))});
}

bool ConfigurationStore::remove(std::u16string_view keyword) {
  std::lock_guard guard(lock_);
  return values_.erase(fold(keyword)) != 0;
}

std::optional<ConfigurationValue> ConfigurationStore::find(std::u16string_view keyword) const {
  std::lock_guard guard(lock_);
  auto it = values_.find(fold(keyword));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::size_t ConfigurationStore::size() const {
  std::lock_guard guard(lock_);
  return values_.size();
}

}  // namespace ndishost::ndis
