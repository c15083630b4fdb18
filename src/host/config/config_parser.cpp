#include "host/config/config_parser.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>
#include <toml++/toml.h>

#include "link/link_error.hpp"
#include "nt/support/rule_registry.hpp"

namespace ndishost::host::config {
namespace {

std::string describeValue(const toml::node& node) {
  std::ostringstream text;
  if (const auto* string = node.as_string()) {
    text << '"' << string->get() << '"';
  } else if (node.is_table()) {
    text << "a table";
  } else if (node.is_array()) {
    text << "an array";
  } else {
    node.visit([&](const auto& value) { text << value; });
  }
  return text.str();
}

std::string_view typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "floating-point number";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    default: return "date/time";
  }
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// One TOML table being read: knows its allowed keys, where it is, and how to word errors.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string context, const std::string& file, std::vector<std::string_view> allowed)
      : table_(table), context_(std::move(context)), file_(file), allowed_(std::move(allowed)) {
    for (auto&& [key, node] : table_) {
      if (std::find(allowed_.begin(), allowed_.end(), key.str()) != allowed_.end()) continue;
      const std::string suggestion = suggestKey(key.str(), allowed_);
      throw ConfigError(locationOf(key.source()), path(key.str()),
                        "unknown key" + (suggestion.empty() ? std::string() : " (did you mean '" + suggestion + "'?)"));
    }
  }

  SourceLocation locationOf(const toml::source_region& region) const {
    return {file_, static_cast<unsigned>(region.begin.line), static_cast<unsigned>(region.begin.column)};
  }
  SourceLocation where() const { return locationOf(table_.source()); }
  std::string path(std::string_view key) const { return context_.empty() ? std::string(key) : context_ + "." + std::string(key); }

  const toml::node* find(std::string_view key) const { return table_.get(key); }
  const std::string& file() const { return file_; }

  [[noreturn]] void fail(std::string_view key, const toml::node& node, const std::string& what) const {
    throw ConfigError(locationOf(node.source()), path(key), what);
  }
  [[noreturn]] void wrongType(std::string_view key, const toml::node& node, std::string_view expected) const {
    const bool scalar = !node.is_table() && !node.is_array();
    fail(key, node, "expected " + std::string(expected) + ", found " + std::string(typeName(node)) + (scalar ? " " + describeValue(node) : ""));
  }

  std::optional<std::string> string(std::string_view key) const {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_string()) wrongType(key, *node, "a string");
    return node->as_string()->get();
  }
  std::string requiredString(std::string_view key) const {
    auto value = string(key);
    if (!value) throw ConfigError(where(), path(key), "missing (required)");
    if (value->empty()) fail(key, *find(key), "must not be empty");
    return *value;
  }
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t minimum, std::int64_t maximum) const {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_integer()) wrongType(key, *node, "an integer");
    const std::int64_t value = node->as_integer()->get();
    if (value < minimum || value > maximum)
      fail(key, *node, std::to_string(value) + " is out of range (" + std::to_string(minimum) + " to " + std::to_string(maximum) + ")");
    return value;
  }
  std::optional<bool> boolean(std::string_view key) const {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_boolean()) wrongType(key, *node, "true or false");
    return node->as_boolean()->get();
  }
  std::vector<std::string> strings(std::string_view key) const {
    std::vector<std::string> values;
    const toml::node* node = find(key);
    if (node == nullptr) return values;
    if (!node->is_array()) wrongType(key, *node, "an array of strings");
    for (const toml::node& element : *node->as_array()) {
      if (!element.is_string()) wrongType(key, element, "an array of strings");
      values.push_back(element.as_string()->get());
    }
    return values;
  }
  const toml::table* table(std::string_view key) const {
    const toml::node* node = find(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) wrongType(key, *node, "a table");
    return node->as_table();
  }

 private:
  const toml::table& table_;
  std::string context_;
  const std::string& file_;
  std::vector<std::string_view> allowed_;
};

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& path) {
  const std::filesystem::path given(path);
  return given.is_absolute() || base.empty() ? given : base / given;
}

// Tables from [[name]]; a plain [name] table is an error (one `[driver]` is a common slip).
std::vector<std::pair<const toml::table*, std::string>> arrayOfTables(const TableReader& top, std::string_view key) {
  std::vector<std::pair<const toml::table*, std::string>> tables;
  const toml::node* node = top.find(key);
  if (node == nullptr) return tables;
  if (!node->is_array_of_tables()) top.wrongType(key, *node, "[[" + std::string(key) + "]] tables");
  std::size_t index = 0;
  for (const toml::node& element : *node->as_array())
    tables.emplace_back(element.as_table(), std::string(key) + "[" + std::to_string(index++) + "]");
  return tables;
}

DriverConfig readDriver(const toml::table& table, const std::string& context, const std::string& file, const std::filesystem::path& base) {
  TableReader reader(table, context, file, {"name", "path", "hardware-ids", "compatible-ids"});
  DriverConfig driver;
  driver.where = reader.where();
  const std::string path = reader.requiredString("path");
  driver.path = resolve(base, path);
  driver.name = reader.string("name").value_or(std::filesystem::path(path).stem().string());
  driver.hardwareIds = reader.strings("hardware-ids");
  driver.compatibleIds = reader.strings("compatible-ids");
  if (driver.hardwareIds.empty() && driver.compatibleIds.empty())
    throw ConfigError(driver.where, context, "a driver needs hardware-ids or compatible-ids (which devices it serves)");
  return driver;
}

RegistryValue readRegistryValue(const TableReader& registry, std::string_view keyword, const toml::node& node) {
  RegistryValue value{std::string(keyword), std::uint32_t{0}};
  if (const auto* integer = node.as_integer()) {
    // NdisParameterInteger holds a ULONG; negative values are kept as their two's complement.
    const std::int64_t number = integer->get();
    if (number < std::numeric_limits<std::int32_t>::min() || number > std::numeric_limits<std::uint32_t>::max())
      registry.fail(keyword, node, std::to_string(number) + " does not fit in 32 bits");
    value.value = static_cast<std::uint32_t>(number);
  } else if (const auto* string = node.as_string()) {
    value.value = string->get();
  } else if (const auto* table = node.as_table()) {
    TableReader binary(*table, registry.path(keyword), registry.file(), {"binary"});
    const toml::node* hex = table->get("binary");
    if (hex == nullptr || !hex->is_string()) registry.wrongType(keyword, node, "{ binary = \"<hex bytes>\" }");
    std::vector<std::uint8_t> bytes;
    std::string digits;
    for (char c : hex->as_string()->get()) {
      if (c == ' ' || c == ':' || c == '-') continue;
      if (!std::isxdigit(static_cast<unsigned char>(c))) registry.fail(keyword, *hex, describeValue(*hex) + " is not hexadecimal bytes");
      digits += c;
    }
    if (digits.size() % 2 != 0) registry.fail(keyword, *hex, describeValue(*hex) + " has an odd number of hex digits");
    for (std::size_t i = 0; i < digits.size(); i += 2) bytes.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    value.value = std::move(bytes);
  } else {
    registry.wrongType(keyword, node, "an integer, a string or { binary = \"<hex>\" }");
  }
  return value;
}

std::optional<std::uint32_t> readSnapLength(const TableReader& reader) {
  if (auto value = reader.integer("snaplen", kMinimumCaptureSnapLength, kDefaultCaptureSnapLength))
    return static_cast<std::uint32_t>(*value);
  return std::nullopt;
}

// [verification] disable: each name must be a rule the runtime checks; a misspelt one would
// otherwise leave the rule on without a word.
std::vector<std::string> readRuleNames(const TableReader& reader) {
  std::vector<std::string> names = reader.strings("disable");
  if (names.empty()) return names;
  std::size_t index = 0;
  for (const toml::node& element : *reader.find("disable")->as_array()) {
    const std::string& name = names[index++];
    if (name == nt::kAlwaysFatalRule)
      reader.fail("disable", element, "\"" + name + "\" cannot be disabled (KeBugCheckEx is the driver asking to stop)");
    if (nt::isKnownRule(name)) continue;
    const std::vector<std::string_view> known(nt::knownRules().begin(), nt::knownRules().end());
    const std::string suggestion = suggestKey(name, known);
    reader.fail("disable", element,
                "\"" + name + "\" is not a rule name" +
                    (suggestion.empty() ? std::string(" (docs/CHECKS.md lists them)") : " (did you mean '" + suggestion + "'?)"));
  }
  return names;
}

DeviceConfig readDevice(const toml::table& table, std::size_t index, const std::string& context, const std::string& file,
                        const std::filesystem::path& base, std::uint32_t defaultSnapLength) {
  TableReader reader(table, context, file,
                     {"name", "kind", "mac", "speed-mbps", "max-transfer-in", "max-transfer-out", "max-segment-size", "far-side", "tap", "tap-namespace",
                      "registry", "capture"});
  DeviceConfig device;
  device.where = reader.where();

  const std::string kind = reader.requiredString("kind");
  const auto parsedKind = parseDeviceKind(kind);
  if (!parsedKind) reader.fail("kind", *reader.find("kind"), "\"" + kind + "\" is not a device kind (expected ncm, ecm or rndis)");
  device.kind = *parsedKind;
  device.name = reader.string("name").value_or(std::string(deviceKindName(device.kind)) + std::to_string(index));

  device.mac = defaultMacAddress(index);
  if (auto mac = reader.string("mac")) {
    const auto parsed = parseMacAddress(*mac);
    if (!parsed) reader.fail("mac", *reader.find("mac"), "\"" + *mac + "\" is not a MAC address (write 02:00:00:00:00:01)");
    if (((*parsed)[0] & 1) != 0) reader.fail("mac", *reader.find("mac"), "\"" + *mac + "\" is a multicast address; a NIC needs a unicast one");
    device.mac = *parsed;
  }
  if (auto speed = reader.integer("speed-mbps", 1, 400'000)) device.speedBitsPerSecond = static_cast<std::uint64_t>(*speed) * 1'000'000;
  if (auto size = reader.integer("max-transfer-in", 64, 1 << 20)) device.maxTransferIn = static_cast<std::uint32_t>(*size);
  if (auto size = reader.integer("max-transfer-out", 64, 1 << 20)) device.maxTransferOut = static_cast<std::uint32_t>(*size);
  if (auto size = reader.integer("max-segment-size", 1514, 9014)) device.maxSegmentSize = static_cast<std::uint32_t>(*size);

  device.farSide = reader.requiredString("far-side");
  try {
    device.farSideSpec = link::parseFramePortSpec(device.farSide);
  } catch (const link::LinkError& error) {
    reader.fail("far-side", *reader.find("far-side"), error.what());
  }

  device.tap = reader.string("tap").value_or("ndis" + std::to_string(index));
  if (device.tap.empty() || device.tap.size() > 15 || device.tap.find_first_of("/: \t") != std::string::npos) {
    const toml::node* node = reader.find("tap");
    throw ConfigError(node ? reader.locationOf(node->source()) : device.where, reader.path("tap"),
                      "\"" + device.tap + "\" is not an interface name (1 to 15 characters, no '/', ':' or spaces)");
  }
  device.tapNamespace = reader.string("tap-namespace").value_or("");

  if (const toml::table* registry = reader.table("registry")) {
    std::vector<std::string_view> any;
    for (auto&& [key, node] : *registry) any.push_back(key.str());
    TableReader registryReader(*registry, reader.path("registry"), file, any);
    for (auto&& [key, node] : *registry) {
      // NDIS keywords are case-insensitive: two spellings of one keyword are a mistake.
      for (const RegistryValue& earlier : device.registry) {
        if (std::equal(earlier.keyword.begin(), earlier.keyword.end(), key.str().begin(), key.str().end(),
                       [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); }))
          throw ConfigError(registryReader.locationOf(key.source()), registryReader.path(key.str()),
                            "duplicate of keyword '" + earlier.keyword + "' (keywords are case-insensitive)");
      }
      device.registry.push_back(readRegistryValue(registryReader, key.str(), node));
    }
  }
  device.capture.snapLength = defaultSnapLength;
  if (const toml::table* capture = reader.table("capture")) {
    TableReader captureReader(*capture, reader.path("capture"), file, {"upper", "lower", "snaplen"});
    if (auto path = captureReader.string("upper")) device.capture.upperEdge = resolve(base, *path);
    if (auto path = captureReader.string("lower")) device.capture.lowerEdge = resolve(base, *path);
    if (auto snapLength = readSnapLength(captureReader)) device.capture.snapLength = *snapLength;
  }
  return device;
}

}  // namespace

std::string suggestKey(std::string_view key, std::span<const std::string_view> known) {
  std::string best;
  std::size_t bestDistance = 3;
  for (std::string_view candidate : known) {
    std::string lowered(key), candidateLowered(candidate);
    for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : candidateLowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::replace(lowered.begin(), lowered.end(), '_', '-');
    std::size_t distance = editDistance(lowered, candidateLowered);
    // A key cut short ("oid-timeout" for "oid-timeout-ms") is as good as a typo.
    const std::string_view shorter = lowered.size() < candidateLowered.size() ? lowered : candidateLowered;
    const std::string_view longer = lowered.size() < candidateLowered.size() ? candidateLowered : lowered;
    if (shorter.size() >= 4 && longer.starts_with(shorter)) distance = std::min<std::size_t>(distance, 2);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}

HostConfig parseConfig(std::string_view text, const std::string& fileName, const std::filesystem::path& baseDirectory) {
  toml::table document;
  try {
    document = toml::parse(text, fileName);
  } catch (const toml::parse_error& error) {
    const SourceLocation where{fileName, static_cast<unsigned>(error.source().begin.line), static_cast<unsigned>(error.source().begin.column)};
    throw ConfigError(where, "", "TOML syntax: " + std::string(error.description()));
  }

  HostConfig config;
  config.source = fileName;
  TableReader top(document, "", fileName, {"driver", "device", "ndis", "verification", "capture"});

  // Before the devices: [capture] gives their default.
  if (const toml::table* capture = top.table("capture")) {
    TableReader reader(*capture, "capture", fileName, {"snaplen"});
    if (auto snapLength = readSnapLength(reader)) config.captureSnapLength = *snapLength;
  }
  for (const auto& [table, context] : arrayOfTables(top, "driver"))
    config.drivers.push_back(readDriver(*table, context, fileName, baseDirectory));
  std::size_t index = 0;
  for (const auto& [table, context] : arrayOfTables(top, "device"))
    config.devices.push_back(readDevice(*table, index++, context, fileName, baseDirectory, config.captureSnapLength));

  if (const toml::table* ndis = top.table("ndis")) {
    TableReader reader(*ndis, "ndis", fileName,
                       {"oid-timeout-ms", "pause-timeout-ms", "halt-timeout-ms", "reset-timeout-ms", "check-for-hang-ms"});
    constexpr std::int64_t kHour = 3'600'000;
    auto millis = [&](std::string_view key, std::chrono::milliseconds& into) {
      if (auto value = reader.integer(key, 1, kHour)) into = std::chrono::milliseconds(*value);
    };
    millis("oid-timeout-ms", config.timeouts.oidRequest);
    millis("pause-timeout-ms", config.timeouts.pause);
    millis("halt-timeout-ms", config.timeouts.halt);
    millis("reset-timeout-ms", config.timeouts.reset);
    millis("check-for-hang-ms", config.timeouts.checkForHangInterval);
  }
  if (const toml::table* verification = top.table("verification")) {
    TableReader reader(*verification, "verification", fileName, {"enabled", "fatal", "leak-check", "disable"});
    config.verification.enabled = reader.boolean("enabled").value_or(true);
    config.verification.fatal = reader.boolean("fatal").value_or(false);
    config.verification.leakCheck = reader.boolean("leak-check").value_or(true);
    config.verification.disabledRules = readRuleNames(reader);
  }
  if (config.devices.empty()) throw ConfigError({fileName, 0, 0}, "device", "no [[device]] configured");
  validate(config);
  return config;
}

HostConfig loadConfigFile(const std::filesystem::path& file) {
  std::ifstream input(file, std::ios::binary);
  if (!input) throw ConfigError({file.string(), 0, 0}, "", "cannot open the configuration file");
  std::ostringstream text;
  text << input.rdbuf();
  return parseConfig(text.str(), file.string(), file.parent_path());
}

}  // namespace ndishost::host::config
