// The link layer's logger. src/link sits below src/nt and must not link it, so it has its
// own "link" logger; the host may hand it the runtime's logger (same sinks, one ordered
// stream) with setLinkLogger().
#pragma once

#include <memory>

#include <spdlog/spdlog.h>

namespace ndishost::link {

spdlog::logger& linkLogger();

// Replaces the logger (nullptr restores the default stderr logger). Not for use while
// ports are being created or torn down on other threads.
void setLinkLogger(std::shared_ptr<spdlog::logger> logger);

}  // namespace ndishost::link
