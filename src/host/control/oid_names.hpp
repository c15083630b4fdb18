// NDIS OID names <-> values for the control commands (`ndishost oid query OID_GEN_LINK_SPEED`).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace ndishost::host::control {

// Accepts a name (OID_GEN_LINK_SPEED, case-insensitive, the OID_ prefix optional) or a hex
// value with 0x prefix. Throws std::invalid_argument with a message for the user.
std::uint32_t parseOid(std::string_view text);
std::optional<std::string_view> oidName(std::uint32_t oid);
std::vector<std::pair<std::string_view, std::uint32_t>> knownOids();  // in header order

}  // namespace ndishost::host::control
