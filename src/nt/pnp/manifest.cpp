#include "nt/pnp/manifest.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

// Header-only: the runtime is built with -fshort-wchar, so nothing of toml++ that might
// mention wchar_t should cross into a library compiled without it.
#define TOML_HEADER_ONLY 1
#define TOML_ENABLE_WINDOWS_COMPAT 0
#include <toml++/toml.h>

namespace ndishost::nt::pnp {
namespace {

std::uint32_t lineOf(const toml::source_region& region) { return region.begin.line; }

// Reads one [[driver]] or [[device]] table, remembering the table's own line for errors
// about keys that are missing from it.
class TableReader {
 public:
  TableReader(const std::string& file, const toml::table& table, std::string prefix)
      : file_(file), table_(table), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const toml::source_region& where, std::string_view key, const std::string& problem) const {
    throw ManifestError(file_, lineOf(where), key.empty() ? prefix_ : fmt::format("{}.{}", prefix_, key), problem);
  }

  void rejectUnknownKeys(std::initializer_list<std::string_view> known) const {
    for (auto&& [key, value] : table_) {
      if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
        fail(key.source(), key.str(), fmt::format("unknown key (expected one of: {})", fmt::join(known, ", ")));
      }
    }
  }

  std::optional<std::string> optionalString(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    auto value = node->value<std::string>();
    if (!node->is_string() || !value) fail(node->source(), key, "expected a string");
    if (value->empty()) fail(node->source(), key, "must not be empty");
    return value;
  }

  std::string requiredString(std::string_view key) const {
    if (table_.get(key) == nullptr) fail(table_.source(), key, "missing (required)");
    return *optionalString(key);
  }

  std::vector<std::string> idList(std::string_view key, bool required) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      if (required) fail(table_.source(), key, "missing (required): a list of device IDs");
      return {};
    }
    const toml::array* array = node->as_array();
    if (array == nullptr) fail(node->source(), key, "expected a list of strings, e.g. [\"ROOT\\\\SAMPLEBUS\"]");
    if (required && array->empty()) fail(node->source(), key, "must list at least one device ID");
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      std::string elementKey = fmt::format("{}[{}]", key, i);
      if (!element.is_string()) fail(element.source(), elementKey, "expected a string");
      auto id = *element.value<std::string>();
      // A device ID is at most 200 characters of printable ASCII other than ','.
      if (id.empty() || id.size() > 200 ||
          std::any_of(id.begin(), id.end(), [](char c) { return c <= ' ' || c > '~' || c == ','; })) {
        fail(element.source(), elementKey,
             fmt::format("\"{}\" is not a device ID (1-200 printable characters, no spaces or commas)", id));
      }
      ids.push_back(std::move(id));
    }
    return ids;
  }

  std::map<std::string, ManifestValue, std::less<>> parameters(std::string_view key) const {
    std::map<std::string, ManifestValue, std::less<>> result;
    const toml::node* node = table_.get(key);
    if (node == nullptr) return result;
    const toml::table* table = node->as_table();
    if (table == nullptr) fail(node->source(), key, "expected a table, e.g. { PendingReads = 4 }");
    for (auto&& [name, value] : *table) {
      std::string valueKey = fmt::format("{}.{}", key, name.str());
      if (auto i = value.value_exact<std::int64_t>()) {
        result.emplace(std::string(name.str()), *i);
      } else if (auto b = value.value_exact<bool>()) {
        result.emplace(std::string(name.str()), static_cast<std::int64_t>(*b ? 1 : 0));
      } else if (auto s = value.value_exact<std::string>()) {
        result.emplace(std::string(name.str()), *s);
      } else {
        fail(value.source(), valueKey, "expected an integer, a boolean or a string");
      }
    }
    return result;
  }

  const toml::table& table() const { return table_; }

 private:
  const std::string& file_;
  const toml::table& table_;
  std::string prefix_;
};

bool isServiceName(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

// Each entry of an array of tables, with its index for error keys.
template <typename Visit>
void forEachTable(const std::string& file, const toml::table& root, std::string_view name, Visit visit) {
  const toml::node* node = root.get(name);
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    throw ManifestError(file, lineOf(node->source()), std::string(name),
                        fmt::format("expected one or more [[{}]] tables", name));
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    visit(TableReader(file, *array->get(i)->as_table(), fmt::format("{}[{}]", name, i)));
  }
}

}  // namespace

ManifestError::ManifestError(std::string file, std::uint32_t line, std::string key, const std::string& problem)
    : std::runtime_error(line > 0 ? fmt::format("{}:{}: {}: {}", file, line, key, problem)
                                  : fmt::format("{}: {}: {}", file, key, problem)),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)) {}

bool deviceIdEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

Manifest Manifest::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ManifestError(file.string(), 0, "(file)", "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string(), std::filesystem::absolute(file).parent_path());
}

Manifest Manifest::parse(std::string_view text, std::string sourceName, const std::filesystem::path& baseDirectory) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(sourceName));
  } catch (const toml::parse_error& error) {
    throw ManifestError(sourceName, lineOf(error.source()), "(syntax)", std::string(error.description()));
  }

  for (auto&& [key, value] : root) {
    if (key.str() != "driver" && key.str() != "device") {
      throw ManifestError(sourceName, lineOf(key.source()), std::string(key.str()),
                          "unknown top-level key (expected [[driver]] or [[device]] tables)");
    }
  }

  Manifest manifest;
  std::set<std::string> names;
  forEachTable(sourceName, root, "driver", [&](const TableReader& reader) {
    reader.rejectUnknownKeys({"name", "path", "builtin", "ids", "description", "parameters"});
    ManifestDriver driver;
    driver.name = reader.requiredString("name");
    if (!isServiceName(driver.name)) {
      reader.fail(reader.table().get("name")->source(), "name",
                  fmt::format("\"{}\" is not a service name (letters, digits, '_' and '-', at most 64)", driver.name));
    }
    if (!names.insert(driver.name).second) {
      reader.fail(reader.table().get("name")->source(), "name",
                  fmt::format("driver \"{}\" is listed twice", driver.name));
    }
    const toml::node* builtin = reader.table().get("builtin");
    if (builtin != nullptr) {
      if (!builtin->is_boolean())
        reader.fail(builtin->source(), "builtin", "expected a boolean");
      driver.builtin = builtin->as_boolean()->get();
    }
    if (driver.builtin) {
      if (const toml::node* path = reader.table().get("path"); path != nullptr)
        reader.fail(path->source(), "path", "a builtin driver has no path (it is part of the host)");
    } else {
      std::filesystem::path path = reader.requiredString("path");
      driver.path = (path.is_absolute() ? path : baseDirectory / path).lexically_normal();
    }
    driver.ids = reader.idList("ids", true);
    driver.description = reader.optionalString("description").value_or("");
    driver.parameters = reader.parameters("parameters");
    manifest.drivers_.push_back(std::move(driver));
  });
  forEachTable(sourceName, root, "device", [&](const TableReader& reader) {
    reader.rejectUnknownKeys({"hardware_ids", "compatible_ids", "description"});
    ManifestDevice device;
    device.hardwareIds = reader.idList("hardware_ids", true);
    device.compatibleIds = reader.idList("compatible_ids", false);
    device.description = reader.optionalString("description").value_or(device.hardwareIds.front());
    manifest.rootDevices_.push_back(std::move(device));
  });
  return manifest;
}

void Manifest::addDriver(ManifestDriver driver) {
  if (!isServiceName(driver.name))
    throw std::invalid_argument(fmt::format("Manifest::addDriver: \"{}\" is not a service name", driver.name));
  if (driverByName(driver.name) != nullptr)
    throw std::invalid_argument(fmt::format("Manifest::addDriver: driver \"{}\" is listed twice", driver.name));
  if (driver.ids.empty())
    throw std::invalid_argument(fmt::format("Manifest::addDriver: driver \"{}\" serves no IDs", driver.name));
  if (driver.builtin != driver.path.empty())
    throw std::invalid_argument(fmt::format("Manifest::addDriver: driver \"{}\" needs a path unless builtin, and a "
                                            "builtin one has none",
                                            driver.name));
  drivers_.push_back(std::move(driver));
}

void Manifest::addRootDevice(ManifestDevice device) {
  if (device.hardwareIds.empty()) throw std::invalid_argument("Manifest::addRootDevice: a device needs a hardware ID");
  if (device.description.empty()) device.description = device.hardwareIds.front();
  rootDevices_.push_back(std::move(device));
}

const ManifestDriver* Manifest::driverByName(std::string_view name) const {
  auto it = std::find_if(drivers_.begin(), drivers_.end(), [&](const auto& d) { return d.name == name; });
  return it == drivers_.end() ? nullptr : &*it;
}

std::optional<DriverMatch> Manifest::findDriver(std::span<const std::string> hardwareIds,
                                                std::span<const std::string> compatibleIds) const {
  auto lookup = [&](const std::string& id) -> const ManifestDriver* {
    for (const auto& driver : drivers_) {
      if (std::any_of(driver.ids.begin(), driver.ids.end(), [&](const auto& own) { return deviceIdEquals(own, id); })) {
        return &driver;
      }
    }
    return nullptr;
  };
  for (const auto& id : hardwareIds) {
    if (const auto* driver = lookup(id)) return DriverMatch{driver, id, false};
  }
  for (const auto& id : compatibleIds) {
    if (const auto* driver = lookup(id)) return DriverMatch{driver, id, true};
  }
  return std::nullopt;
}

}  // namespace ndishost::nt::pnp
