#include <algorithm>
#include <fmt/format.h>

#include "nt/pnp/leak_report.hpp"

namespace ndishost::nt::pnp {

std::size_t LeakReport::count(ResourceKind kind) const {
  return static_cast<std::size_t>(
      std::count_if(resources.begin(), resources.end(), [kind](const auto& r) { return r.kind == kind; }));
}

std::size_t LeakReport::bytesWithTag(std::uint32_t tag) const {
  std::size_t bytes = 0;
  for (const auto& r : resources) {
    if (r.kind == ResourceKind::Pool && r.tag == tag) bytes += r.size;
  }
  return bytes;
}

std::string LeakReport::format() const {
  if (empty()) return fmt::format("{}: no leaks", driver);

  std::string text = fmt::format("{}: {} leak{} at unload ({})\n", driver, resources.size() + callbacks.size(),
                                 resources.size() + callbacks.size() == 1 ? "" : "s", path);
  for (const auto& r : resources) {
    std::string what;
    if (r.kind == ResourceKind::Pool) {
      what = fmt::format("pool, tag '{}', {} bytes", tagToString(r.tag), r.size);
    } else if (r.size != 0) {
      what = fmt::format("{}, {} bytes", toString(r.kind), r.size);
    } else {
      what = toString(r.kind);
    }
    text += fmt::format("  {:<40} at {}  allocated by {}\n", what, r.object, r.callSite);
  }
  for (const auto& c : callbacks) {
    text += c.kind == PendingCallback::Kind::Timer
                ? fmt::format("  {:<40} at {}  DPC routine {}\n", c.periodic ? "timer still set (periodic)" : "timer still set",
                              c.object, c.routine)
                : fmt::format("  {:<40} at {}  routine {}\n", "DPC still queued", c.object, c.routine);
  }
  if (imageKeptMapped) text += "  the image stays mapped: code in it may still run\n";
  text.pop_back();
  return text;
}

}  // namespace ndishost::nt::pnp
