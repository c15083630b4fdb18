// The runtime's logger: one spdlog logger per component ("nt", "io", "pnp", "kd" for
// DbgPrint, "ndis", "usb", "host"), all writing to the same sinks so a run reads in order.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace ndishost::nt {

// The named logger, created on first use with the process-wide sinks and level.
spdlog::logger& logger(std::string_view component);

// Level for every component logger (trace, debug, info, warn, error, off).
void setLogLevel(spdlog::level::level_enum level);

}  // namespace ndishost::nt
