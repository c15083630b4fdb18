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

#include <fmt/format.h>

#include "nt/support/driver_image.hpp"
#include "nt/support/log.hpp"
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
