#include "host/control/event_log.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <fstream>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "host/control/oid_names.hpp"

namespace ndishost::host {

namespace {

constexpr std::string_view kKinds[] = {"state", "oid", "reset", "removal", "status", "error"};

bool isKind(std::string_view kind) { return std::find(std::begin(kKinds), std::end(kKinds), kind) != std::end(kKinds); }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) { return haystack.find(needle) != std::string_view::npos; }

std::string stringField(const nlohmann::json& event, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const auto it = event.find(name);
    if (it != event.end() && it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
  }
  return {};
}

// What the text of a runtime trace event says, recognised from the formats src/ndis and
// src/nt/pnp emit: "Paused -> Running (why)", "binding Opening -> Running (why)",
// "MiniportOidRequest(type 0, OID 0x00010107)", "MiniportResetEx", "IRP_MN_SURPRISE_REMOVAL ...".
std::string classify(std::string_view category, std::string_view text, nlohmann::json& details) {
  static const std::regex kStateChange(R"(^(?:binding )?([A-Z][A-Za-z0-9]*) -> ([A-Z][A-Za-z0-9]*)(?: \((.*)\))?$)");
  static const std::regex kOidValue(R"(OID (0x[0-9A-Fa-f]{1,8}))");
  static const std::regex kPower(R"(SET_POWER (D[0-3]))");
  const std::string lowered = lower(text);
  const std::string textCopy(text);
  std::smatch match;
  if (lower(category) == "violation") return "error";
  // std::regex is slow; the cheap substring checks keep it off most events.
  if (contains(text, "SET_POWER") && std::regex_search(textCopy, match, kPower)) details["power"] = match[1].str();
  if (contains(text, " -> ") && std::regex_match(textCopy, match, kStateChange)) {
    details["from"] = match[1].str();
    details["to"] = match[2].str();
    if (match[3].matched) details["why"] = match[3].str();
    return "state";
  }
  if (contains(lowered, "surprise_removal") || contains(lowered, "remove_device") || contains(lowered, "unplug") ||
      contains(lowered, "surprise removal"))
    return "removal";
  if (contains(lowered, "reset")) return "reset";
  if (contains(text, "OID")) {
    if (std::regex_search(textCopy, match, kOidValue)) {
      const auto value = static_cast<std::uint32_t>(std::stoul(match[1].str(), nullptr, 16));
      details["oid"] = fmt::format("{:#010x}", value);
      if (const auto name = control::oidName(value)) details["name"] = std::string(*name);
    }
    return "oid";
  }
  if (contains(lowered, "fail") || contains(lowered, "error") || contains(lowered, "timed out") ||
      contains(lowered, "hang"))
    return "error";
  return "status";
}

std::int64_t nowMs(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace

std::string formatEventTime(std::int64_t timeMs) {
  const std::time_t seconds = static_cast<std::time_t>(timeMs / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(timeMs % 1000));
}

nlohmann::json normalizeEvent(const nlohmann::json& event, std::chrono::system_clock::time_point receivedAt) {
  if (!event.is_object()) return normalizeEvent(nlohmann::json{{"summary", event.dump()}}, receivedAt);
  std::int64_t timeMs = nowMs(receivedAt);
  if (const auto it = event.find("time_ms"); it != event.end() && it->is_number()) timeMs = it->get<std::int64_t>();
  else if (const auto t = event.find("time"); t != event.end() && t->is_number()) timeMs = t->get<std::int64_t>();

  nlohmann::json details = nlohmann::json::object();
  if (const auto it = event.find("details"); it != event.end()) {
    if (it->is_object()) details = *it;
    else details["value"] = *it;
  }
  static constexpr std::string_view kConsumed[] = {"time", "time_ms", "device", "adapter", "source",
                                                   "kind", "summary", "text", "details"};
  for (const auto& [key, value] : event.items())
    if (std::find(std::begin(kConsumed), std::end(kConsumed), key) == std::end(kConsumed)) details[key] = value;

  const std::string summary = stringField(event, {"summary", "text"});
  std::string kind = stringField(event, {"kind"});
  if (!isKind(kind)) {
    nlohmann::json recognised = nlohmann::json::object();
    const std::string category = stringField(event, {"category"});
    kind = classify(category.empty() ? kind : category, summary, recognised);
    for (auto& [key, value] : recognised.items())
      if (!details.contains(key)) details[key] = value;
  }
  return nlohmann::json{{"time", formatEventTime(timeMs)},
                        {"time_ms", timeMs},
                        {"device", stringField(event, {"device", "adapter", "source"})},
                        {"kind", kind},
                        {"summary", summary},
                        {"details", std::move(details)}};
}

std::vector<nlohmann::json> readEventLog(std::istream& in, std::size_t* skippedLines) {
  std::vector<nlohmann::json> events;
  std::size_t skipped = 0;
  std::string line;
  const auto epoch = std::chrono::system_clock::time_point{};
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    // Lines from `ndishost trace --json` or the raw socket stream ({"event":{...}}) work too.
    if (parsed.is_object() && parsed.contains("event") && parsed["event"].is_object()) parsed = parsed["event"];
    if (!parsed.is_object()) {
      ++skipped;
      continue;
    }
    events.push_back(normalizeEvent(parsed, epoch));
  }
  if (skippedLines != nullptr) *skippedLines = skipped;
  return events;
}

struct EventLog::Impl {
  static constexpr std::size_t kQueueLimit = 65536;

  std::filesystem::path path;
  std::ofstream file;
  mutable std::mutex lock;
  std::condition_variable wake;
  std::condition_variable drained;
  struct Pending {
    nlohmann::json event;
    std::chrono::system_clock::time_point receivedAt;
  };
  std::deque<Pending> queue;
  std::uint64_t queued = 0;  // events accepted so far
  std::uint64_t writtenCount = 0;
  std::uint64_t droppedCount = 0;
  bool stopping = false;
  std::thread writer;

  void writeLoop() {
    std::unique_lock guard(lock);
    for (;;) {
      wake.wait(guard, [&] { return stopping || !queue.empty(); });
      if (queue.empty() && stopping) return;
      std::deque<Pending> batch;
      batch.swap(queue);
      guard.unlock();
      std::string out;
      for (const auto& pending : batch)
        out += normalizeEvent(pending.event, pending.receivedAt).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      file << out;
      file.flush();
      guard.lock();
      writtenCount += batch.size();
      drained.notify_all();
    }
  }
};

EventLog::EventLog(const std::filesystem::path& file) : impl_(std::make_unique<Impl>()) {
  impl_->path = file;
  impl_->file.open(file, std::ios::out | std::ios::app);
  if (!impl_->file) throw std::runtime_error(fmt::format("cannot open the event log {} for writing", file.string()));
  impl_->writer = std::thread([impl = impl_.get()] { impl->writeLoop(); });
}

EventLog::~EventLog() {
  {
    std::lock_guard guard(impl_->lock);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->writer.join();
}

void EventLog::record(const nlohmann::json& event) {
  const auto now = std::chrono::system_clock::now();
  {
    std::lock_guard guard(impl_->lock);
    if (impl_->queue.size() >= Impl::kQueueLimit) {
      ++impl_->droppedCount;
      return;
    }
    impl_->queue.push_back({event, now});
    ++impl_->queued;
  }
  impl_->wake.notify_one();
}

std::function<void(const nlohmann::json&)> EventLog::sink() {
  return [this](const nlohmann::json& event) { record(event); };
}

std::unique_ptr<HostControl::Subscription> EventLog::attach(HostControl& host) { return host.subscribe(sink()); }

void EventLog::flush() {
  std::unique_lock guard(impl_->lock);
  const std::uint64_t target = impl_->queued;
  impl_->drained.wait(guard, [&] { return impl_->writtenCount >= target; });
}

std::uint64_t EventLog::written() const {
  std::lock_guard guard(impl_->lock);
  return impl_->writtenCount;
}

std::uint64_t EventLog::dropped() const {
  std::lock_guard guard(impl_->lock);
  return impl_->droppedCount;
}

const std::filesystem::path& EventLog::path() const { return impl_->path; }

}  // namespace ndishost::host
