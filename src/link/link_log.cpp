#include "link/link_log.hpp"

#include <atomic>
#include <system_error>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "link/link_error.hpp"

namespace ndishost::link {
namespace {

std::shared_ptr<spdlog::logger> makeDefaultLogger() {
  auto logger = std::make_shared<spdlog::logger>(
      "link", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern("%H:%M:%S.%e %^%-5l%$ [%n] %v");
  logger->flush_on(spdlog::level::warn);
  return logger;
}

// atomic<shared_ptr> so a port thread logging while the host swaps loggers stays defined.
std::atomic<std::shared_ptr<spdlog::logger>>& current() {
  static std::atomic<std::shared_ptr<spdlog::logger>> logger{makeDefaultLogger()};
  return logger;
}

}  // namespace

spdlog::logger& linkLogger() {
  // Pinned per thread: the reference stays valid while this thread uses it even if
  // another thread replaces the logger meanwhile.
  thread_local std::shared_ptr<spdlog::logger> pinned;
  pinned = current().load();
  return *pinned;
}

void setLinkLogger(std::shared_ptr<spdlog::logger> logger) {
  current().store(logger ? std::move(logger) : makeDefaultLogger());
}

std::string systemErrorText(const std::string& what, int err) {
  return what + ": " + std::system_category().message(err);
}

}  // namespace ndishost::link
