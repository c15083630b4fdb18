#include "host/control/timeline.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "host/control/event_log.hpp"

namespace ndishost::host {

namespace {

std::string escapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// State colours chosen so that "working" reads green, "in transition" blue, "stopped" grey
// and "gone or broken" red at a glance.
std::string_view stateColour(std::string_view state) {
  if (state == "Running") return "#5cb85c";
  if (state == "Paused") return "#f0ad4e";
  if (state == "Initializing" || state == "Restarting" || state == "Pausing" || state == "Opening" ||
      state == "Binding")
    return "#5bc0de";
  if (state == "Halted" || state == "Shutdown" || state == "Closed" || state == "Unbound") return "#9e9e9e";
  if (state == "unplugged" || state == "removed" || state == "failed" || state == "Failed") return "#d9534f";
  return "#b39ddb";
}

struct Mark {
  std::string_view colour;
  std::string_view label;
};

Mark markFor(std::string_view kind) {
  if (kind == "oid") return {"#337ab7", "OID"};
  if (kind == "reset") return {"#ff7f0e", "reset"};
  if (kind == "removal") return {"#c9302c", "removal"};
  if (kind == "error") return {"#8b0000", "error"};
  if (kind == "state") return {"#333333", "state"};
  return {"#777777", "status"};
}

struct Event {
  std::int64_t timeMs = 0;
  std::string device;
  std::string kind;
  std::string summary;
  std::string time;
  nlohmann::json details;
};

struct Lane {
  std::string device;
  std::vector<const Event*> events;
};

std::string describe(const Event& e) {
  std::string text = fmt::format("{} {} [{}] {}", e.time, e.device, e.kind, e.summary);
  if (!e.details.empty()) text += " " + e.details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return text;
}

std::string relative(std::int64_t ms) { return fmt::format("{:.3f} s", static_cast<double>(ms) / 1000.0); }

}  // namespace

std::string renderTimeline(const std::vector<nlohmann::json>& records, const TimelineOptions& options) {
  std::vector<Event> events;
  events.reserve(records.size());
  for (const auto& record : records) {
    if (!record.is_object()) continue;
    Event e;
    e.timeMs = record.value("time_ms", std::int64_t{0});
    e.device = record.value("device", "");
    if (e.device.empty()) e.device = "(host)";
    e.kind = record.value("kind", "status");
    e.summary = record.value("summary", "");
    e.time = record.value("time", formatEventTime(e.timeMs));
    e.details = record.contains("details") ? record["details"] : nlohmann::json::object();
    events.push_back(std::move(e));
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.timeMs < b.timeMs; });

  std::vector<Lane> lanes;
  std::map<std::string, std::size_t> laneIndex;
  std::map<std::string, std::size_t> kindCounts;
  for (const Event& e : events) {
    auto [it, added] = laneIndex.emplace(e.device, lanes.size());
    if (added) lanes.push_back({e.device, {}});
    lanes[it->second].events.push_back(&e);
    ++kindCounts[e.kind];
  }

  // Adapters first: lanes with state changes, then lanes with OIDs, resets, removals or
  // errors, then lanes that only carry status chatter (bus, PnP manager, driver images).
  auto rank = [](const Lane& lane) {
    int best = 2;
    for (const Event* e : lane.events) {
      if (e->kind == "state") return 0;
      if (e->kind != "status") best = 1;
    }
    return best;
  };
  std::stable_sort(lanes.begin(), lanes.end(), [&](const Lane& a, const Lane& b) { return rank(a) < rank(b); });

  const std::int64_t start = events.empty() ? 0 : events.front().timeMs;
  const std::int64_t end = events.empty() ? 0 : events.back().timeMs;
  const std::int64_t spanMs = std::max<std::int64_t>(end - start, 1);

  constexpr int kLabelWidth = 220, kPlotWidth = 1000, kLaneHeight = 34, kAxisHeight = 28;
  const int height = kAxisHeight + static_cast<int>(lanes.size()) * kLaneHeight + 8;
  auto x = [&](std::int64_t ms) {
    return kLabelWidth + static_cast<double>(ms - start) * kPlotWidth / static_cast<double>(spanMs);
  };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"adapter timeline\">\n",
      kLabelWidth + kPlotWidth + 20, height);
  // Time axis: ten ticks in seconds since the first event.
  for (int tick = 0; tick <= 10; ++tick) {
    const std::int64_t ms = start + spanMs * tick / 10;
    const double tx = x(ms);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" class=\"grid\"/>"
        "<text x=\"{0:.1f}\" y=\"16\" class=\"tick\">{3}</text>\n",
        tx, kAxisHeight - 6, height, escapeHtml(relative(ms - start)));
  }
  for (std::size_t laneNumber = 0; laneNumber < lanes.size(); ++laneNumber) {
    const Lane& lane = lanes[laneNumber];
    const int top = kAxisHeight + static_cast<int>(laneNumber) * kLaneHeight;
    svg += fmt::format("<g class=\"lane\" data-device=\"{}\">\n", escapeHtml(lane.device));
    svg += fmt::format("<text x=\"4\" y=\"{}\" class=\"lane-label\">{}</text>\n", top + 21, escapeHtml(lane.device));
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"lane-bg\"/>\n", kLabelWidth, top + 4,
                       kPlotWidth, kLaneHeight - 8);
    // State spans: each state change starts a span that lasts until the next one (or the
    // end); a removal starts a "removed" span, so an unplugged adapter reads as gone.
    struct Transition {
      std::int64_t timeMs;
      std::string state;
      std::string time;
    };
    std::vector<Transition> transitions;
    for (const Event* e : lane.events) {
      if (e->kind == "state" && e->details.contains("to") && e->details["to"].is_string())
        transitions.push_back({e->timeMs, e->details["to"].get<std::string>(), e->time});
      else if (e->kind == "removal" && (transitions.empty() || transitions.back().state != "removed"))
        transitions.push_back({e->timeMs, "removed", e->time});
    }
    for (std::size_t i = 0; i < transitions.size(); ++i) {
      const Transition& t = transitions[i];
      const std::int64_t until = i + 1 < transitions.size() ? transitions[i + 1].timeMs : end;
      const double x0 = x(t.timeMs), x1 = std::max(x(until), x0 + 2.0);
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\" class=\"span\" data-state=\"{}\">"
          "<title>{}: {} from {} for {}</title></rect>\n",
          x0, top + 6, x1 - x0, kLaneHeight - 12, stateColour(t.state), escapeHtml(t.state), escapeHtml(lane.device),
          escapeHtml(t.state), escapeHtml(t.time), escapeHtml(relative(until - t.timeMs)));
      if (x1 - x0 > 7.0 * static_cast<double>(t.state.size()))
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"span-label\">{}</text>\n", x0 + 3, top + 22,
                           escapeHtml(t.state));
    }
    for (const Event* e : lane.events) {
      if (e->kind == "state") continue;
      const Mark mark = markFor(e->kind);
      const double mx = x(e->timeMs);
      if (e->kind == "reset" || e->kind == "removal" || e->kind == "error") {
        // Big events: a full-height bar with a diamond, so they cannot be missed.
        svg += fmt::format(
            "<g class=\"mark {0}\"><line x1=\"{1:.1f}\" y1=\"{2}\" x2=\"{1:.1f}\" y2=\"{3}\" stroke=\"{4}\" "
            "stroke-width=\"2\"/><path d=\"M{1:.1f} {5} l5 5 l-5 5 l-5 -5 z\" fill=\"{4}\"/><title>{6}</title></g>\n",
            e->kind, mx, top + 2, top + kLaneHeight - 2, mark.colour, top + 2, escapeHtml(describe(*e)));
      } else {
        svg += fmt::format(
            "<g class=\"mark {0}\"><line x1=\"{1:.1f}\" y1=\"{2}\" x2=\"{1:.1f}\" y2=\"{3}\" stroke=\"{4}\" "
            "stroke-width=\"1\"/><title>{5}</title></g>\n",
            e->kind, mx, top + kLaneHeight - 12, top + kLaneHeight - 4, mark.colour, escapeHtml(describe(*e)));
      }
    }
    svg += "</g>\n";
  }
  svg += "</svg>\n";

  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += fmt::format("<title>{}</title>\n", escapeHtml(options.title));
  html += R"(<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
.meta { color: #555; margin-bottom: 1em; }
.chart { overflow-x: auto; border: 1px solid #ddd; padding: 6px; background: #fafafa; }
svg text { font-family: system-ui, sans-serif; }
.tick { font-size: 11px; fill: #555; text-anchor: middle; }
.grid { stroke: #e2e2e2; stroke-width: 1; }
.lane-label { font-size: 13px; font-weight: 600; fill: #222; }
.lane-bg { fill: #ffffff; stroke: #ddd; }
.span-label { font-size: 11px; fill: #fff; pointer-events: none; }
.legend span { display: inline-block; margin-right: 1.2em; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin-right: 4px; border-radius: 2px; }
table { border-collapse: collapse; margin-top: 1em; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.kind-error, td.kind-removal { color: #b00; font-weight: 600; }
td.kind-reset { color: #c60; font-weight: 600; }
td.kind-state { color: #246; font-weight: 600; }
td.details { color: #666; font-family: ui-monospace, monospace; font-size: 12px; }
</style>
</head>
<body>
)";
  html += fmt::format("<h1>{}</h1>\n", escapeHtml(options.title));
  if (events.empty()) {
    html += "<p class=\"meta\">The event log holds no events.</p>\n";
  } else {
    std::string counts;
    for (const auto& [kind, count] : kindCounts) counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", count, kind);
    html += fmt::format("<p class=\"meta\">{} events ({}) on {} lanes, from {} to {} ({}).</p>\n", events.size(),
                        escapeHtml(counts), lanes.size(), escapeHtml(events.front().time),
                        escapeHtml(events.back().time), escapeHtml(relative(end - start)));
  }
  html += "<div class=\"legend\">";
  for (std::string_view state : {"Running", "Paused", "Initializing", "Halted", "removed"})
    html += fmt::format("<span><i class=\"swatch\" style=\"background:{}\"></i>{}</span>", stateColour(state), state);
  for (std::string_view kind : {"oid", "reset", "removal", "error", "status"})
    html += fmt::format("<span><i class=\"swatch\" style=\"background:{}\"></i>{} mark</span>", markFor(kind).colour,
                        markFor(kind).label);
  html += "</div>\n<p class=\"meta\">Hover a span or a mark for the event. Time is seconds since the first event.</p>\n";
  html += "<div class=\"chart\">\n" + svg + "</div>\n";

  html += "<h2>Events</h2>\n<table>\n<tr><th>time</th><th>+s</th><th>device</th><th>kind</th><th>what</th><th>details</th></tr>\n";
  std::size_t rows = 0;
  for (const Event& e : events) {
    if (rows++ == options.maxTableRows) {
      html += fmt::format("<tr><td colspan=\"6\">... {} more events not listed (all are in the lanes above)</td></tr>\n",
                          events.size() - options.maxTableRows);
      break;
    }
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"kind-{}\">{}</td><td>{}</td><td class=\"details\">{}</td></tr>\n",
        escapeHtml(e.time), escapeHtml(relative(e.timeMs - start)), escapeHtml(e.device), escapeHtml(e.kind),
        escapeHtml(e.kind), escapeHtml(e.summary),
        e.details.empty() ? "" : escapeHtml(e.details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  }
  html += "</table>\n</body>\n</html>\n";
  return html;
}

TimelineResult writeTimeline(const std::filesystem::path& eventLog, const std::filesystem::path& html,
                             const TimelineOptions& options) {
  std::ifstream in(eventLog);
  if (!in) throw std::runtime_error(fmt::format("cannot read the event log {}", eventLog.string()));
  TimelineResult result;
  const auto events = readEventLog(in, &result.skippedLines);
  if (in.bad()) throw std::runtime_error(fmt::format("error reading the event log {}", eventLog.string()));
  result.events = events.size();
  std::map<std::string, int> devices;
  for (const auto& e : events) devices[e.value("device", "")] = 1;
  result.lanes = devices.size();
  const std::string page = renderTimeline(events, options);
  std::ofstream out(html, std::ios::out | std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("cannot write {}", html.string()));
  out << page;
  out.flush();
  if (!out) throw std::runtime_error(fmt::format("error writing {}", html.string()));
  return result;
}

}  // namespace ndishost::host
