#include "nt/support/log.hpp"

#include <map>
#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace ndishost::nt {
namespace {

struct Loggers {
  std::mutex lock;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  spdlog::level::level_enum level = spdlog::level::info;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> byName;
};

Loggers& loggers() {
  static Loggers instance;
  return instance;
}

}  // namespace

spdlog::logger& logger(std::string_view component) {
  auto& l = loggers();
  std::lock_guard guard(l.lock);
  if (auto it = l.byName.find(component); it != l.byName.end()) return *it->second;
  auto created = std::make_shared<spdlog::logger>(std::string(component), l.sink);
  created->set_level(l.level);
  created->set_pattern("%H:%M:%S.%e %^%-5l%$ [%n] %v");
  created->flush_on(spdlog::level::warn);
  auto& result = *created;
  l.byName.emplace(std::string(component), std::move(created));
  return result;
}

void setLogLevel(spdlog::level::level_enum level) {
  auto& l = loggers();
  std::lock_guard guard(l.lock);
  l.level = level;
  for (auto& [name, log] : l.byName) log->set_level(level);
}

}  // namespace ndishost::nt
