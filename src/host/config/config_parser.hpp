// The TOML configuration file (format: docs/CONFIG.md) into a HostConfig. Every error is a
// ConfigError naming the file, line, column and key, and the bad value; unknown keys are
// rejected with the nearest known key as a suggestion.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "host/config/config_model.hpp"

namespace ndishost::host::config {

// Reads and parses a file; relative driver and capture paths are relative to its directory.
HostConfig loadConfigFile(const std::filesystem::path& file);

// Parses TOML text; `fileName` is used in messages, `baseDirectory` to resolve relative paths.
HostConfig parseConfig(std::string_view text, const std::string& fileName, const std::filesystem::path& baseDirectory);

// The known key nearest to `key` (edit distance at most 2, or a case-only difference), or "".
std::string suggestKey(std::string_view key, std::span<const std::string_view> known);

}  // namespace ndishost::host::config
