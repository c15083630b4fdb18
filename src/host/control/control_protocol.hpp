// The wire format of the control socket, shared by ControlServer and ControlClient.
//
// One request per line, one JSON object per line, UTF-8, '\n'-terminated:
//   {"cmd":"hello"}                                   -> {"ok":true,"server":"ndishost","pid":N,"protocol":1}
//   {"cmd":"list"}                                    -> {"ok":true,"adapters":[{AdapterRow fields}]}
//   {"cmd":"stats","device":"ncm0"}                   -> {"ok":true,"stats":{...}}   ("" or absent = all)
//   {"cmd":"oid-query","device":D,"oid":N,"length":L} -> {"ok":true,"data":"hex bytes"}
//   {"cmd":"oid-set","device":D,"oid":N,"data":"hex"} -> {"ok":true}
//   {"cmd":"unplug"|"plug"|"reset"|"suspend"|"resume"|"hang","device":D} -> {"ok":true}
//   {"cmd":"link","device":D,"up":true|false}        -> {"ok":true}
//   {"cmd":"trace"}  -> {"ok":true,"streaming":true}, then {"event":{...}} lines until the
//                       client disconnects; {"dropped":N} when a slow reader lost N events.
// Any failure: {"ok":false,"error":"message for the user"}.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/control/host_control.hpp"

namespace ndishost::host::control {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::string_view kServerName = "ndishost";
// A request line longer than this is refused and the connection closed: no client needs it
// and it bounds what one client can make the server buffer.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

nlohmann::json toJson(const AdapterRow& row);
AdapterRow adapterRowFromJson(const nlohmann::json& object);

// "00 1a-2B:3c" style input: hex digit pairs, optional 0x prefix, separators ' ', ':', '-', ','.
// Throws std::invalid_argument naming the offending text.
std::vector<std::uint8_t> parseHexBytes(std::string_view text);
std::string toHex(std::span<const std::uint8_t> bytes);  // "001a2b3c"

}  // namespace ndishost::host::control
