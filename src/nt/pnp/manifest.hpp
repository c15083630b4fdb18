// The driver manifest: ndishost's INF. It says which driver (.so) serves which device IDs,
// which devices the root enumerator reports, and per-driver parameters (what an INF's
// AddReg puts under the driver's registry key).
//
//   [[driver]]
//   name = "samplebus"                  # service name: registry path, logs, leak reports
//   path = "samplebus.so"               # relative to the manifest file
//   builtin = false                     # optional; true: a driver built into the host
//                                       # (PnpManager::registerBuiltinDriver), no path
//   ids = ["ROOT\\SAMPLEBUS"]           # hardware or compatible IDs the driver serves
//   description = "Sample bus"          # optional; IoGetDeviceProperty(DeviceDescription)
//   parameters = { PendingReads = 4 }   # optional; integers, strings, booleans
//
//   [[device]]                          # a root-enumerated device (ROOT\...)
//   hardware_ids = ["ROOT\\SAMPLEBUS"]
//   compatible_ids = []                 # optional
//   description = "Sample bus"          # optional
//
// Matching follows Windows: the device's hardware IDs in their order, then its compatible
// IDs in theirs; the first ID that some driver lists decides (manifest order breaks ties).
// IDs compare case-insensitively, as device IDs do on Windows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ndishost::nt::pnp {

// Names the place of the mistake: "samples.toml:12: driver[1].path: expected a string".
class ManifestError : public std::runtime_error {
 public:
  ManifestError(std::string file, std::uint32_t line, std::string key, const std::string& problem);
  const std::string& file() const { return file_; }
  std::uint32_t line() const { return line_; }  // 1-based; 0 when the whole file is at fault
  const std::string& key() const { return key_; }

 private:
  std::string file_;
  std::uint32_t line_;
  std::string key_;
};

using ManifestValue = std::variant<std::int64_t, std::string>;

struct ManifestDriver {
  std::string name;
  std::filesystem::path path;  // absolute; empty for a builtin driver
  bool builtin = false;        // served by PnpManager::registerBuiltinDriver, not loaded
  std::vector<std::string> ids;
  std::string description;
  std::map<std::string, ManifestValue, std::less<>> parameters;
};

struct ManifestDevice {
  std::vector<std::string> hardwareIds;
  std::vector<std::string> compatibleIds;
  std::string description;
};

struct DriverMatch {
  const ManifestDriver* driver = nullptr;
  std::string matchedId;
  bool viaCompatibleId = false;
};

class Manifest {
 public:
  static Manifest load(const std::filesystem::path& file);
  // `sourceName` names the text in errors; relative driver paths resolve against `baseDirectory`.
  static Manifest parse(std::string_view text, std::string sourceName, const std::filesystem::path& baseDirectory);

  const std::vector<ManifestDriver>& drivers() const { return drivers_; }
  const std::vector<ManifestDevice>& rootDevices() const { return rootDevices_; }
  const ManifestDriver* driverByName(std::string_view name) const;
  // For hosts that build their manifest in code: the same checks as parse(), reported
  // with std::invalid_argument.
  void addDriver(ManifestDriver driver);
  void addRootDevice(ManifestDevice device);
  std::optional<DriverMatch> findDriver(std::span<const std::string> hardwareIds,
                                        std::span<const std::string> compatibleIds) const;

 private:
  std::vector<ManifestDriver> drivers_;
  std::vector<ManifestDevice> rootDevices_;
};

bool deviceIdEquals(std::string_view a, std::string_view b);

}  // namespace ndishost::nt::pnp
