// The control commands of the ndishost program. main.cpp needs exactly one line:
//
//   ndishost::host::addControlCommands(app);   // before CLI11_PARSE(app, argc, argv)
//
// It adds list, stats, oid (query|set|names), unplug, plug, reset, suspend, resume, trace
// and timeline. Each command does its work in its CLI11 callback during parsing: on success
// parsing returns normally (main then returns 0); on failure the callback throws
// CLI::RuntimeError(status), which CLI11_PARSE turns into the exit status silently.
//
// Exit statuses (also in every command's --help and docs/CLI.md):
//   0  done
//   1  ndishost refused or failed the request (unknown device, OID failed, ...)
//   2  bad input found before asking ndishost (unknown OID name, bad hex bytes), or
//      timeline: unreadable event log / unwritable output
//   3  cannot talk to ndishost (not running, permission denied, connection lost)
//   CLI11's own codes (105 bad value, 106 missing argument, 109 unexpected argument, ...)
//      for command-line syntax errors, after printing the problem.
#pragma once

#include <iostream>

#include <CLI/CLI.hpp>

namespace ndishost::host {

inline constexpr int kExitRequestFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitNotReachable = 3;

// `out`/`err` receive the commands' output and messages; they must outlive `app`.
void addControlCommands(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);
// Only `ndishost timeline` (addControlCommands already includes it; adding twice is harmless).
void addTimelineCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace ndishost::host
