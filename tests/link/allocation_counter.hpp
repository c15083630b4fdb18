// Counts heap allocations so a test can prove a steady-state frame path makes none.
// Include in exactly one translation unit of a test binary: it replaces operator new.
// Sanitizer runtimes bring their own allocator hooks, so there the count is off.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NDISHOST_LINK_COUNT_ALLOCATIONS 0
#else
#define NDISHOST_LINK_COUNT_ALLOCATIONS 1

namespace ndishost::link::test {
inline std::atomic<std::uint64_t> allocationCount{0};

// Proves the replacement is in effect, so a count of zero means something.
inline bool allocationCounterWorks() {
  const std::uint64_t before = allocationCount.load();
  int* volatile probe = new int(1);  // volatile: the pair must not be optimized away
  delete probe;
  return allocationCount.load() == before + 1;
}
}  // namespace ndishost::link::test

[[gnu::noinline]] void* operator new(std::size_t size) {
  ndishost::link::test::allocationCount.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// Not inlined: GCC would otherwise see free() on a pointer from operator new at each
// call site and warn (-Wmismatched-new-delete), though this new is malloc underneath.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif
