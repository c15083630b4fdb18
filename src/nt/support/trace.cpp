#include "nt/support/trace.hpp"

#include <mutex>
#include <utility>
#include <vector>

#include <wdm.h>

#include "nt/ke/runtime.hpp"

namespace ndishost::nt {
namespace detail {
std::atomic<int> traceSubscribers{0};
}

namespace {

struct Subscribers {
  std::mutex lock;
  std::uint64_t nextId = 1;
  std::vector<std::pair<std::uint64_t, TraceSink>> sinks;
};

Subscribers& subscribers() {
  static Subscribers instance;
  return instance;
}

}  // namespace

const char* toString(TraceCategory category) {
  switch (category) {
    case TraceCategory::Irp: return "irp";
    case TraceCategory::Pnp: return "pnp";
    case TraceCategory::Power: return "power";
    case TraceCategory::Ke: return "ke";
    case TraceCategory::Pool: return "pool";
    case TraceCategory::Driver: return "driver";
    case TraceCategory::Ndis: return "ndis";
    case TraceCategory::Usb: return "usb";
    case TraceCategory::Host: return "host";
    case TraceCategory::Violation: return "violation";
  }
  return "?";
}

TraceSubscription::TraceSubscription(TraceSink sink) {
  auto& s = subscribers();
  std::lock_guard guard(s.lock);
  id_ = s.nextId++;
  s.sinks.emplace_back(id_, std::move(sink));
  detail::traceSubscribers.fetch_add(1, std::memory_order_relaxed);
}

TraceSubscription::~TraceSubscription() {
  auto& s = subscribers();
  std::lock_guard guard(s.lock);
  std::erase_if(s.sinks, [this](const auto& entry) { return entry.first == id_; });
  detail::traceSubscribers.fetch_sub(1, std::memory_order_relaxed);
}

void traceEmit(TraceCategory category, std::string source, std::string text) {
  if (!traceEnabled()) return;
  // The host may trace before a Runtime exists (loading its configuration) or after it
  // ended; the kernel clock is only asked while there is one.
  auto now = Runtime::current() != nullptr ? static_cast<std::uint64_t>(KeQueryInterruptTime()) : 0;
  TraceEvent event{now, category, std::move(source), std::move(text)};
  auto& s = subscribers();
  // Sinks run under the lock so a subscription's destructor never races a delivery to it;
  // sinks must therefore not subscribe or unsubscribe themselves.
  std::lock_guard guard(s.lock);
  for (auto& [id, sink] : s.sinks) sink(event);
}

}  // namespace ndishost::nt
