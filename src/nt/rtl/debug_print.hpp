// Debug output from drivers (DbgPrint, DbgPrintEx, vDbgPrintEx, vDbgPrintExWithPrefix,
// KdPrint/KdPrintEx): the runtime's view.
//
// Each printed line becomes one line of the "kd" log, prefixed with the calling driver's
// name; text without a trailing newline waits (per thread) for the rest of its line, as
// consecutive DbgPrint calls join in a debugger. Like Windows, one call carries at most
// 512 bytes. Levels map to log levels: ERROR -> error, WARNING -> warn, INFO -> info,
// TRACE and others -> debug. The component/level filter (DbgSetDebugFilterState) starts
// with everything enabled.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace ndishost::nt::rtl {

struct DebugPrintLine {
  std::string driver;  // describeCaller() of the printing call
  std::uint32_t componentId = 0;
  std::uint32_t level = 0;  // the DbgPrintEx Level argument as given
  std::string text;         // one line, without its newline
};

// Receives every line printed while the object lives (tests, the host's own sinks).
class DebugPrintCapture {
 public:
  explicit DebugPrintCapture(std::function<void(const DebugPrintLine&)> sink);
  ~DebugPrintCapture();
  DebugPrintCapture(const DebugPrintCapture&) = delete;
  DebugPrintCapture& operator=(const DebugPrintCapture&) = delete;

 private:
  std::uint64_t id_;
};

// Emits the calling thread's unfinished line now (tests; thread exit does it too).
void flushPendingDebugPrint();

}  // namespace ndishost::nt::rtl
