// DbgPrint and friends, DbgBreakPoint, RtlAssert and RtlFailFast.
#include "nt/rtl/debug_print.hpp"

#include "nt/rtl/ddk.hpp"

#include <array>
#include <atomic>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "nt/rtl/format.hpp"
#include "nt/support/driver_image.hpp"
#include "nt/support/log.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::rtl {
namespace {

// What one DbgPrint call can carry on Windows.
constexpr std::size_t kCallLimit = 512;
// An unfinished line longer than this is emitted anyway.
constexpr std::size_t kPendingLimit = 4096;
constexpr std::uint32_t kKernelSecurityCheckFailure = 0x139;
constexpr std::size_t kComponents = 512;

struct Subscribers {
  std::mutex lock;
  std::uint64_t nextId = 1;
  std::vector<std::pair<std::uint64_t, std::function<void(const DebugPrintLine&)>>> sinks;
  std::atomic<bool> any{false};
};

Subscribers& subscribers() {
  static Subscribers instance;
  return instance;
}

// Per component, the bit mask of enabled levels (bit n: level n).
struct Filter {
  std::array<std::atomic<std::uint32_t>, kComponents> masks;
  Filter() {
    for (auto& mask : masks) mask.store(0xFFFFFFFFu, std::memory_order_relaxed);
  }
};

Filter& filter() {
  static Filter instance;
  return instance;
}

std::uint32_t levelMask(ULONG level) { return level <= 31 ? (1u << level) : (level & ~ULONG(DPFLTR_MASK)); }

bool enabled(ULONG componentId, ULONG level) {
  std::size_t index = componentId < kComponents ? componentId : std::size_t(DPFLTR_DEFAULT_ID);
  return (filter().masks[index].load(std::memory_order_relaxed) & levelMask(level)) != 0;
}

spdlog::level::level_enum logLevel(ULONG level) {
  ULONG effective = level;
  if (level > 31) {
    std::uint32_t mask = level & ~ULONG(DPFLTR_MASK);
    effective = mask == 0 ? DPFLTR_INFO_LEVEL : ULONG(__builtin_ctz(mask));
  }
  switch (effective) {
    case DPFLTR_ERROR_LEVEL: return spdlog::level::err;
    case DPFLTR_WARNING_LEVEL: return spdlog::level::warn;
    case DPFLTR_INFO_LEVEL: return spdlog::level::info;
    default: return spdlog::level::debug;
  }
}

void emit(const DebugPrintLine& line) {
  logger("kd").log(logLevel(line.level), "[{}] {}", line.driver, line.text);
  auto& s = subscribers();
  if (!s.any.load(std::memory_order_acquire)) return;
  std::lock_guard guard(s.lock);
  for (auto& [id, sink] : s.sinks) sink(line);
}

// The calling thread's unfinished line.
struct PendingLine {
  DebugPrintLine line;
  bool active = false;
  ~PendingLine() { flush(); }
  void flush() {
    if (!active) return;
    active = false;
    emit(line);
    line.text.clear();
  }
};

PendingLine& pending() {
  thread_local PendingLine instance;
  return instance;
}

void append(std::string_view text, ULONG componentId, ULONG level, const void* caller) {
  auto& p = pending();
  while (!text.empty()) {
    if (!p.active) {
      p.active = true;
      p.line.driver = describeCaller(caller);
      p.line.componentId = componentId;
      p.line.level = level;
      p.line.text.clear();
    }
    auto newline = text.find('\n');
    p.line.text.append(text.substr(0, newline));
    if (newline == std::string_view::npos) {
      if (p.line.text.size() > kPendingLimit) p.flush();
      return;
    }
    if (!p.line.text.empty() && p.line.text.back() == '\r') p.line.text.pop_back();
    p.flush();
    text.remove_prefix(newline + 1);
  }
}

ULONG print(ULONG componentId, ULONG level, const char* prefix, const char* format, va_list arguments,
            const void* caller) {
  if (format == nullptr || !enabled(componentId, level)) return STATUS_SUCCESS;
  char buffer[kCallLimit];
  BoundedWriter<char> out(buffer, sizeof buffer);
  if (prefix != nullptr) out.put(std::string_view(prefix, boundedLength(prefix, kCallLimit)));
  VaListArguments source(arguments);
  formatWindows(std::string_view(format, boundedLength(format, SIZE_MAX)), source, out);
  append(std::string_view(buffer, out.length()), componentId, level, caller);
  return STATUS_SUCCESS;
}

bool debuggerAttached() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return false;
  char line[256];
  long tracer = 0;
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::strncmp(line, "TracerPid:", 10) == 0) {
      tracer = std::strtol(line + 10, nullptr, 10);
      break;
    }
  }
  std::fclose(status);
  return tracer != 0;
}

void breakPoint(const void* caller, std::string_view what) {
  if (debuggerAttached()) {
    std::raise(SIGTRAP);
    return;
  }
  logger("kd").warn("[{}] {} with no debugger attached; continuing", describeCaller(caller), what);
}

}  // namespace

DebugPrintCapture::DebugPrintCapture(std::function<void(const DebugPrintLine&)> sink) {
  auto& s = subscribers();
  std::lock_guard guard(s.lock);
  id_ = s.nextId++;
  s.sinks.emplace_back(id_, std::move(sink));
  s.any.store(true, std::memory_order_release);
}

DebugPrintCapture::~DebugPrintCapture() {
  auto& s = subscribers();
  std::lock_guard guard(s.lock);
  std::erase_if(s.sinks, [this](const auto& entry) { return entry.first == id_; });
  s.any.store(!s.sinks.empty(), std::memory_order_release);
}

void flushPendingDebugPrint() { pending().flush(); }

}  // namespace ndishost::nt::rtl

using namespace ndishost::nt;
using namespace ndishost::nt::rtl;

extern "C" {

// Any IRQL (as DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, ...)).
ULONG __cdecl DbgPrint(PCSTR Format, ...) {
  va_list arguments;
  va_start(arguments, Format);
  ULONG status = print(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, nullptr, Format, arguments, __builtin_return_address(0));
  va_end(arguments);
  return status;
}

// Any IRQL.
ULONG __cdecl DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...) {
  va_list arguments;
  va_start(arguments, Format);
  ULONG status = print(ComponentId, Level, nullptr, Format, arguments, __builtin_return_address(0));
  va_end(arguments);
  return status;
}

// Any IRQL.
ULONG NTAPI vDbgPrintEx(ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist) {
  return print(ComponentId, Level, nullptr, Format, arglist, __builtin_return_address(0));
}

// Any IRQL. Prefix comes before the formatted text.
ULONG NTAPI vDbgPrintExWithPrefix(PCCH Prefix, ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist) {
  return print(ComponentId, Level, Prefix, Format, arglist, __builtin_return_address(0));
}

// Any IRQL. TRUE or FALSE (as an NTSTATUS) for whether the level prints.
NTSTATUS NTAPI DbgQueryDebugFilterState(ULONG ComponentId, ULONG Level) {
  if (ComponentId >= kComponents) return STATUS_INVALID_PARAMETER_1;
  return enabled(ComponentId, Level) ? TRUE : FALSE;
}

// Any IRQL.
NTSTATUS NTAPI DbgSetDebugFilterState(ULONG ComponentId, ULONG Level, BOOLEAN State) {
  if (ComponentId >= kComponents) return STATUS_INVALID_PARAMETER_1;
  auto& mask = filter().masks[ComponentId];
  if (State) {
    mask.fetch_or(levelMask(Level), std::memory_order_relaxed);
  } else {
    mask.fetch_and(~levelMask(Level), std::memory_order_relaxed);
  }
  return STATUS_SUCCESS;
}

// Any IRQL.
VOID NTAPI DbgBreakPoint(VOID) { breakPoint(__builtin_return_address(0), "DbgBreakPoint()"); }

VOID NTAPI DbgBreakPointWithStatus(ULONG Status) {
  breakPoint(__builtin_return_address(0), fmt::format("DbgBreakPointWithStatus({:#x})", Status));
}

// A failed ASSERT/NT_ASSERT/NT_VERIFY (DBG builds): rule "dbg.assert-failed".
VOID NTAPI RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber, PSTR MutableMessage) {
  auto* assertion = static_cast<const char*>(VoidFailedAssertion);
  auto* file = static_cast<const char*>(VoidFileName);
  reportViolation({"dbg.assert-failed", bugcheck::KmodeExceptionNotHandled,
                   static_cast<std::uint32_t>(STATUS_ASSERTION_FAILURE), LineNumber},
                  __builtin_return_address(0),
                  fmt::format("assertion failed: {} at {}:{}{}{}", assertion ? assertion : "?", file ? file : "?",
                              LineNumber, MutableMessage ? ": " : "", MutableMessage ? MutableMessage : ""));
}

// KERNEL_SECURITY_CHECK_FAILURE. Code FAST_FAIL_CORRUPT_LIST_ENTRY is rule "list.corrupt".
VOID NTAPI RtlFailFast(ULONG Code) {
  bool list = Code == FAST_FAIL_CORRUPT_LIST_ENTRY;
  reportViolation({list ? "list.corrupt" : "rtl.fail-fast", kKernelSecurityCheckFailure, Code},
                  __builtin_return_address(0),
                  list ? std::string("a LIST_ENTRY's neighbours do not point back at it (double removal, or an entry "
                                     "freed or reused while still linked)")
                       : fmt::format("fail-fast code {}", Code));
}

}  // extern "C"
