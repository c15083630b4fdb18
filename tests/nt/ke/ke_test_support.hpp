// Shared by the kernel-core tests: the DDK headers (minus the macros that break the
// standard library in C++) and the runtime.
#pragma once

#include <atomic>
#include <cstring>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <wdm.h>
#undef min
#undef max

#include "nt/ke/runtime.hpp"
#include "nt/support/violation.hpp"

namespace ke_test {

inline LARGE_INTEGER relativeMs(long long ms) {
  LARGE_INTEGER value;
  value.QuadPart = -ms * 10'000;
  return value;
}

inline bool hasRule(const std::vector<ndishost::nt::Violation>& violations, const std::string& rule) {
  for (const auto& v : violations)
    if (v.rule == rule) return true;
  return false;
}

inline double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

}  // namespace ke_test
