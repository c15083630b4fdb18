#include <algorithm>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "host/trace_printer.hpp"

namespace ndishost::host {

TracePrinter::TracePrinter(std::ostream& out, TracePrinterOptions options, std::uint64_t startTime100ns)
    : out_(out), options_(std::move(options)), start_(startTime100ns) {}

void TracePrinter::print(const nt::TraceEvent& event) {
  std::lock_guard guard(lock_);
  bool hide = (event.category == nt::TraceCategory::Irp && !options_.irps) ||
              std::any_of(options_.hiddenWhenContaining.begin(), options_.hiddenWhenContaining.end(),
                          [&](const std::string& part) { return event.text.find(part) != std::string::npos; });
  if (hide) {
    ++hidden_;
    return;
  }
  double ms = event.interruptTime100ns >= start_ ? static_cast<double>(event.interruptTime100ns - start_) / 10'000.0 : 0.0;
  fmt::print(out_, "  {:9.3f} ms  {:<6} {:<34} {}\n", ms, nt::toString(event.category), event.source, event.text);
}

std::uint64_t TracePrinter::hidden() const {
  std::lock_guard guard(lock_);
  return hidden_;
}

}  // namespace ndishost::host
