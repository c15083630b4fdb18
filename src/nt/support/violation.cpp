#include "nt/support/violation.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "nt/support/driver_image.hpp"
#include "nt/support/log.hpp"
#include "nt/support/rule_registry.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::nt {
namespace {

std::atomic<ViolationMode> currentMode{ViolationMode::Fatal};

struct Recorded {
  std::mutex lock;
  std::vector<Violation> violations;
};

Recorded& recorded() {
  static Recorded instance;
  return instance;
}

// Read on every report (rare), written when a runtime starts or stops: a mutex is enough.
struct Policy {
  std::mutex lock;
  ViolationPolicy current;
  std::map<std::string, std::uint64_t, std::less<>> suppressed;
};

Policy& policy() {
  static Policy instance;
  return instance;
}

bool checkedLocked(const Policy& p, std::string_view rule) {
  return p.current.enabled && p.current.disabledRules.find(std::string(rule)) == p.current.disabledRules.end();
}

// Counts the report when the policy swallows it.
bool suppressed(std::string_view rule) {
  auto& p = policy();
  std::lock_guard guard(p.lock);
  if (checkedLocked(p, rule)) return false;
  auto it = p.suppressed.find(rule);
  if (it == p.suppressed.end()) it = p.suppressed.emplace(std::string(rule), 0).first;
  ++it->second;
  return true;
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> text(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                                   &std::free);
  return status == 0 && text ? std::string(text.get()) : std::string(name);
}

std::string formatReport(const Violation& v) {
  return fmt::format(
      "*** rule violation: {}\n"
      "*** bug check 0x{:08X} ({:#x}, {:#x}, {:#x}, {:#x})\n"
      "*** driver: {}\n"
      "*** {}\n"
      "stack:\n{}",
      v.rule, v.code, v.parameters[0], v.parameters[1], v.parameters[2], v.parameters[3], v.driver, v.detail,
      v.stack);
}

}  // namespace

std::string captureStack(int skip) {
  void* frames[48];
  int count = backtrace(frames, 48);
  std::string text;
  for (int i = skip + 1; i < count; ++i) {
    Dl_info info{};
    const void* pc = frames[i];
    if (dladdr(pc, &info) != 0 && info.dli_fname != nullptr) {
      const char* file = info.dli_fname;
      if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
      auto offset = reinterpret_cast<std::uintptr_t>(pc) - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
      if (info.dli_sname != nullptr) {
        auto symOffset = reinterpret_cast<std::uintptr_t>(pc) - reinterpret_cast<std::uintptr_t>(info.dli_saddr);
        text += fmt::format("  #{:<2} {}!{}+{:#x}\n", i - skip - 1, file, demangle(info.dli_sname), symOffset);
      } else {
        text += fmt::format("  #{:<2} {}+{:#x}\n", i - skip - 1, file, offset);
      }
    } else {
      text += fmt::format("  #{:<2} {}\n", i - skip - 1, pc);
    }
  }
  return text;
}

void reportViolation(const ViolationSpec& spec, const void* caller, std::string detail) {
  // Before anything costly (the stack): a switched-off rule may fire on a hot path.
  if (suppressed(spec.rule)) return;
  Violation v;
  v.rule = std::string(spec.rule);
  v.code = spec.code;
  v.parameters[0] = spec.p1;
  v.parameters[1] = spec.p2;
  v.parameters[2] = spec.p3;
  v.parameters[3] = spec.p4;
  v.driver = describeCaller(caller);
  v.detail = std::move(detail);
  v.stack = captureStack(1);

  if (currentMode.load() == ViolationMode::Fatal) fatalBugCheck(v);

  logger("verifier").error("{}", formatReport(v));
  if (traceEnabled()) traceEmit(TraceCategory::Violation, v.driver, v.rule + ": " + v.detail);
  auto& r = recorded();
  std::lock_guard guard(r.lock);
  r.violations.push_back(std::move(v));
}

void fatalBugCheck(const Violation& v) {
  // Straight to stderr as well as the log: the process is about to stop and the report is
  // the one thing the developer needs to see.
  std::string report = formatReport(v);
  std::fprintf(stderr, "\n%s\n*** ndishost stopped the host, as Windows would bug check.\n", report.c_str());
  std::fflush(stderr);
  spdlog::shutdown();
  std::abort();
}

void setViolationMode(ViolationMode mode) { currentMode.store(mode); }
ViolationMode violationMode() { return currentMode.load(); }

void setViolationPolicy(ViolationPolicy next) {
  for (const std::string& rule : next.disabledRules) {
    if (!isKnownRule(rule)) throw std::invalid_argument("\"" + rule + "\" is not a rule name (docs/CHECKS.md lists them)");
    if (rule == kAlwaysFatalRule)
      throw std::invalid_argument("\"" + rule + "\" cannot be disabled: KeBugCheckEx is the driver asking to stop");
  }
  auto& p = policy();
  std::lock_guard guard(p.lock);
  p.current = std::move(next);
}

ViolationPolicy violationPolicy() {
  auto& p = policy();
  std::lock_guard guard(p.lock);
  return p.current;
}

bool ruleChecked(std::string_view rule) {
  auto& p = policy();
  std::lock_guard guard(p.lock);
  return checkedLocked(p, rule);
}

std::map<std::string, std::uint64_t, std::less<>> suppressedViolations() {
  auto& p = policy();
  std::lock_guard guard(p.lock);
  return p.suppressed;
}

std::uint64_t suppressedViolationCount(std::string_view rule) {
  auto& p = policy();
  std::lock_guard guard(p.lock);
  auto it = p.suppressed.find(rule);
  return it == p.suppressed.end() ? 0 : it->second;
}

ViolationPolicyScope::ViolationPolicyScope(ViolationPolicy next) : previous_(violationPolicy()) {
  setViolationPolicy(std::move(next));
}

ViolationPolicyScope::~ViolationPolicyScope() { setViolationPolicy(std::move(previous_)); }

std::vector<Violation> takeRecordedViolations() {
  auto& r = recorded();
  std::lock_guard guard(r.lock);
  std::vector<Violation> taken;
  taken.swap(r.violations);
  return taken;
}

RecordViolationsScope::RecordViolationsScope() : previous_(violationMode()) {
  takeRecordedViolations();
  setViolationMode(ViolationMode::Record);
}

RecordViolationsScope::~RecordViolationsScope() { setViolationMode(previous_); }

}  // namespace ndishost::nt
