// A per-adapter (or per-driver) keyword store: what a driver's registry Parameters key is on
// Windows. The host fills it from its configuration file (keyword = integer, hex, string,
// multi-string or binary value); NdisReadConfiguration reads it and NdisWriteConfiguration
// writes it. Keywords compare case-insensitively, as registry value names do. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace ndishost::ndis {

struct ConfigurationValue {
  using MultiString = std::vector<std::u16string>;
  using Binary = std::vector<std::uint8_t>;
  // ULONG (REG_DWORD), string (REG_SZ), multi-string (REG_MULTI_SZ), binary (REG_BINARY).
  std::variant<std::uint32_t, std::u16string, MultiString, Binary> data;
};

class ConfigurationStore {
 public:
  void setInteger(std::u16string_view keyword, std::uint32_t value);
  void setString(std::u16string_view keyword, std::u16string value);
  void setMultiString(std::u16string_view keyword, std::vector<std::u16string> values);
  void setBinary(std::u16string_view keyword, std::vector<std::uint8_t> bytes);
  void set(std::u16string_view keyword, ConfigurationValue value);
  bool remove(std::u16string_view keyword);

  std::optional<ConfigurationValue> find(std::u16string_view keyword) const;
  std::size_t size() const;

  // UTF-8 convenience for the host and tests.
  static std::u16string widen(std::string_view text);

 private:
  static std::u16string fold(std::u16string_view keyword);

  mutable std::mutex lock_;
  std::unordered_map<std::u16string, ConfigurationValue> values_;  // key: folded keyword
};

}  // namespace ndishost::ndis
