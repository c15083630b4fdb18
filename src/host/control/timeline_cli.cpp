#include <memory>
#include <string>

#include <fmt/format.h>

#include "host/control/control_cli.hpp"
#include "host/control/timeline.hpp"

namespace ndishost::host {

void addTimelineCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  // addControlCommands includes this command; tolerate a caller adding it again.
  if (!app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "timeline"; }).empty()) return;
  struct Options {
    std::string input;
    std::string output = "timeline.html";
    std::string title;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "timeline",
      "Render an event log (JSON lines, from `ndishost up --event-log` or `ndishost trace\n"
      "--json`) as one self-contained HTML page: a lane per adapter with its states over\n"
      "time and marks for OIDs, resets, removals and errors, then a table of every event.\n"
      "Needs no running ndishost. Example: ndishost timeline events.jsonl -o timeline.html");
  command->add_option("events", options->input, "Event log to read (JSON lines)")->required();
  command->add_option("-o,--output", options->output, "HTML file to write")->capture_default_str();
  command->add_option("--title", options->title, "Page title (default: \"ndishost timeline: <event log name>\")");
  command->footer("Exit status: 0 page written; 2 the event log cannot be read or the page cannot be written.");
  command->callback([options, &out, &err] {
    TimelineOptions timeline;
    timeline.title = options->title.empty()
                         ? fmt::format("ndishost timeline: {}", std::filesystem::path(options->input).filename().string())
                         : options->title;
    try {
      const TimelineResult result = writeTimeline(options->input, options->output, timeline);
      out << fmt::format("{}: {} events on {} lanes", options->output, result.events, result.lanes);
      if (result.skippedLines != 0)
        out << fmt::format(" ({} line{} that {} not a JSON object skipped)", result.skippedLines,
                           result.skippedLines == 1 ? "" : "s", result.skippedLines == 1 ? "is" : "are");
      out << "\n";
    } catch (const std::exception& error) {
      err << "ndishost timeline: " << error.what() << "\n";
      throw CLI::RuntimeError(kExitBadInput);
    }
  });
}

}  // namespace ndishost::host
