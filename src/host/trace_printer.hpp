// Prints the runtime's event trace for people: time since start, category, the device or
// driver it is about, and what happened ("dispatch IRP ... IRP_MJ_PNP IRP_MN_START_DEVICE").
#pragma once

#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "nt/support/trace.hpp"

namespace ndishost::host {

struct TracePrinterOptions {
  bool irps = true;  // TraceCategory::Irp events (dispatch, completion, cancel)
  // Texts containing any of these are counted, not printed (e.g. a read pump's IOCTL code).
  std::vector<std::string> hiddenWhenContaining;
};

class TracePrinter {
 public:
  TracePrinter(std::ostream& out, TracePrinterOptions options, std::uint64_t startTime100ns);
  void print(const nt::TraceEvent& event);
  std::uint64_t hidden() const;

 private:
  std::ostream& out_;
  TracePrinterOptions options_;
  std::uint64_t start_;
  mutable std::mutex lock_;
  std::uint64_t hidden_ = 0;
};

}  // namespace ndishost::host
