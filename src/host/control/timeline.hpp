// The timeline view: an event log (event_log.hpp) rendered as one self-contained HTML page
// (inline CSS and SVG, no scripts, no external assets) with one lane per adapter showing its
// state spans over time and marks for OIDs, resets, removals, status changes and errors,
// followed by the full event table.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ndishost::host {

struct TimelineOptions {
  std::string title = "ndishost timeline";
  std::size_t maxTableRows = 20000;  // the lanes always show every event; the table stops here
};

// `events` are event-log records (normalizeEvent form); order does not matter.
std::string renderTimeline(const std::vector<nlohmann::json>& events, const TimelineOptions& options = {});

struct TimelineResult {
  std::size_t events = 0;
  std::size_t skippedLines = 0;
  std::size_t lanes = 0;
};

// Reads `eventLog`, writes `html`. Throws std::runtime_error naming the file on I/O failure.
TimelineResult writeTimeline(const std::filesystem::path& eventLog, const std::filesystem::path& html,
                             const TimelineOptions& options = {});

}  // namespace ndishost::host
