// The event log: one JSON object per line, one line per event of a running ndishost
// (adapter state changes, OIDs, resets, removals, status indications, errors), written from
// a HostControl::subscribe sink and read back by the timeline view (timeline.hpp).
//
// A record:
//   {"time":"2026-11-24T19:20:01.123Z", "time_ms":1795461601123, "device":"ncm0",
//    "kind":"state", "summary":"Paused -> Running (restart)", "details":{...}}
// kind is one of state | oid | reset | removal | status | error. details keeps what the
// source said beyond that (category, uptime_us, ...) plus what was recognised in the text:
// state {from,to,why}, oid {oid:"0x00010107", name}, power "D3".
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/control/host_control.hpp"

namespace ndishost::host {

// Turns an event as HostControl::subscribe delivers it (either already in the record form
// above, or the runtime's trace form {time_ms, uptime_us, category, source, text}) into a
// record. `receivedAt` is used when the event carries no time. Idempotent on records.
nlohmann::json normalizeEvent(const nlohmann::json& event, std::chrono::system_clock::time_point receivedAt);

std::string formatEventTime(std::int64_t timeMs);  // ISO 8601 UTC with milliseconds

// Reads an event log; lines that are not JSON objects are skipped and counted.
std::vector<nlohmann::json> readEventLog(std::istream& in, std::size_t* skippedLines = nullptr);

class EventLog {
 public:
  // Opens (appends to) `file`; throws std::runtime_error naming the file when it cannot.
  explicit EventLog(const std::filesystem::path& file);
  // Writes every event recorded so far, then closes the file.
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Never blocks on the file: events are queued and written by the log's own thread.
  void record(const nlohmann::json& event);
  // A sink for HostControl::subscribe; valid while this EventLog lives.
  std::function<void(const nlohmann::json&)> sink();
  // Subscribes to `host`; events flow into the log until the returned handle is destroyed
  // (destroy it before this EventLog).
  std::unique_ptr<HostControl::Subscription> attach(HostControl& host);
  // Returns once everything recorded before the call is written and flushed.
  void flush();

  std::uint64_t written() const;
  std::uint64_t dropped() const;  // events lost because the queue was full (writer too slow)
  const std::filesystem::path& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ndishost::host
