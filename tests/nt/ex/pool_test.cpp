// The executive pool: tags, zeroing, alignment, rule checks, per-driver accounting.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "nt/ex/pool.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/rtl/ddk.hpp"
#include "nt/support/driver_image.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;

namespace {

constexpr ULONG kTag = poolTag("Test");

bool allBytes(const void* p, std::size_t n, std::uint8_t value) {
  auto* bytes = static_cast<const std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes[i] != value) return false;
  }
  return true;
}

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

}  // namespace

TEST(Pool, Allocate2ZeroesUnlessAskedNotTo) {
  auto* zeroed = ExAllocatePool2(POOL_FLAG_NON_PAGED, 100, kTag);
  ASSERT_NE(zeroed, nullptr);
  EXPECT_TRUE(allBytes(zeroed, 100, 0));
  auto* raw = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, 100, kTag);
  ASSERT_NE(raw, nullptr);
  EXPECT_TRUE(allBytes(raw, 100, pool::kUninitializedFill));
  auto* legacy = ExAllocatePoolWithTag(NonPagedPoolNx, 64, kTag);
  EXPECT_TRUE(allBytes(legacy, 64, pool::kUninitializedFill));
  auto* zero = ExAllocatePoolZero(NonPagedPoolNx, 64, kTag);
  EXPECT_TRUE(allBytes(zero, 64, 0));
  auto* uninit = ExAllocatePoolUninitialized(PagedPool, 8, kTag);
  ASSERT_NE(uninit, nullptr);
  ExInitializeDriverRuntime(DrvRtPoolNxOptIn);
  auto* untagged = ExAllocatePool(NonPagedPool, 8);
  EXPECT_EQ(pool::blockTag(untagged), poolTag("None"));
  ExFreePool(untagged);
  EXPECT_EQ(pool::blockTag(zeroed), kTag);
  EXPECT_EQ(pool::blockSize(zeroed), 100u);
  ExFreePoolWithTag(zeroed, kTag);
  ExFreePoolWithTag(raw, kTag);
  ExFreePool(legacy);
  ExFreePool(zero);
  ExFreePool(uninit);
}

TEST(Pool, AlignmentAndPageRules) {
  std::vector<void*> blocks;
  for (std::size_t size : {1u, 7u, 16u, 33u, 100u, 1000u, 1500u, 2049u, 4000u, 4095u, 4096u, 5000u, 20000u}) {
    void* p = ExAllocatePool2(POOL_FLAG_NON_PAGED, size, kTag);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(address(p) % MEMORY_ALLOCATION_ALIGNMENT, 0u) << size;
    if (size >= PAGE_SIZE) {
      EXPECT_EQ(address(p) % PAGE_SIZE, 0u) << size;  // page aligned from PAGE_SIZE up
    } else {
      EXPECT_EQ(address(p) / PAGE_SIZE, (address(p) + size - 1) / PAGE_SIZE) << size;  // within one page
    }
    blocks.push_back(p);
  }
  void* aligned = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_CACHE_ALIGNED, 24, kTag);
  EXPECT_EQ(address(aligned) % 64, 0u);
  blocks.push_back(aligned);
  for (void* p : blocks) ExFreePoolWithTag(p, kTag);
}

TEST(Pool, Allocate2RefusesTagZeroAndBadFlags) {
  EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, 0), nullptr);
  EXPECT_EQ(ExAllocatePool2(0, 16, kTag), nullptr);                                        // no pool kind
  EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 16, kTag), nullptr);     // two kinds
  EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RESERVED2, 16, kTag), nullptr);  // unknown required
  EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_SESSION, 16, kTag), nullptr);
  void* optional = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_SPECIAL_POOL | (1ULL << 40), 16, kTag);
  EXPECT_NE(optional, nullptr);  // unknown optional flags are ignored
  ExFreePoolWithTag(optional, kTag);
}

TEST(Pool, DoubleFreeAndForeignFreeAreRefused) {
  RecordViolationsScope record;
  void* p = ExAllocatePool2(POOL_FLAG_NON_PAGED, 32, kTag);
  ExFreePoolWithTag(p, kTag);
  ExFreePoolWithTag(p, kTag);
  int onStack = 0;
  ExFreePool(&onStack);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].rule, "pool.double-free");
  EXPECT_EQ(violations[0].code, bugcheck::BadPoolCaller);
  EXPECT_EQ(violations[0].parameters[0], 0x07u);
  EXPECT_EQ(violations[0].parameters[3], address(p));
  EXPECT_EQ(violations[1].rule, "pool.bad-free");
  EXPECT_EQ(violations[1].parameters[1], address(&onStack));
  EXPECT_EQ(onStack, 0);  // nothing was written around a foreign pointer
}

TEST(Pool, TagMismatchIsReportedAndTheBlockStaysLive) {
  RecordViolationsScope record;
  void* p = ExAllocatePool2(POOL_FLAG_NON_PAGED, 32, kTag);
  ExFreePoolWithTag(p, poolTag("Othr"));
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "pool.tag-mismatch");
  EXPECT_EQ(violations[0].parameters[0], 0x0Au);
  EXPECT_EQ(violations[0].parameters[2], kTag);
  EXPECT_EQ(violations[0].parameters[3], poolTag("Othr"));
  EXPECT_TRUE(pool::isLiveBlock(p));
  ExFreePoolWithTag(p, kTag);
  EXPECT_FALSE(pool::isLiveBlock(p));
  EXPECT_TRUE(record.take().empty());
}

TEST(Pool, FreedBlocksArePoisonedAndWritesAfterFreeFound) {
  RecordViolationsScope record;
  pool::drainQuarantine();
  auto* p = static_cast<std::uint8_t*>(ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, kTag));
  ExFreePoolWithTag(p, kTag);
  // The block waits in the quarantine, poisoned.
  EXPECT_TRUE(allBytes(p, 64, pool::kFreedFill));
  p[10] = 1;  // a driver bug: write after free
  EXPECT_EQ(pool::drainQuarantine(), 1u);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "pool.write-after-free");
  EXPECT_EQ(violations[0].parameters[2], 10u);
}

TEST(Pool, WritesPastTheEndAreFoundAtFree) {
  RecordViolationsScope record;
  auto* p = static_cast<std::uint8_t*>(ExAllocatePool2(POOL_FLAG_NON_PAGED, 24, kTag));
  p[24] = 0;  // one past the end: the guard bytes catch it
  ExFreePoolWithTag(p, kTag);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "pool.overrun");
}

TEST(Pool, ZeroSizeIsReported) {
  RecordViolationsScope record;
  void* p = ExAllocatePoolWithTag(NonPagedPoolNx, 0, kTag);
  EXPECT_NE(p, nullptr);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "pool.zero-size");
  EXPECT_EQ(violations[0].parameters[0], 0u);
  ExFreePool(p);
}

TEST(Pool, IrqlRules) {
  Runtime runtime;
  RecordViolationsScope record;
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  void* nonpaged = ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, kTag);
  EXPECT_TRUE(record.take().empty());
  void* paged = ExAllocatePool2(POOL_FLAG_PAGED, 16, kTag);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "irql.too-high");
  EXPECT_EQ(violations[0].parameters[0], 0x08u);
  EXPECT_EQ(violations[0].parameters[1], std::uint64_t(DISPATCH_LEVEL));
  ExFreePoolWithTag(nonpaged, kTag);
  EXPECT_TRUE(record.take().empty());
  ExFreePoolWithTag(paged, kTag);
  violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "irql.too-high");
  EXPECT_EQ(violations[0].parameters[0], 0x09u);
  KeLowerIrql(old);
}

TEST(Pool, LiveAllocationsPerDriverGroupedByTag) {
  static char fakeImage[4096];
  auto image = std::make_shared<DriverImage>();
  image->name = "pooldrv";
  image->base = address(fakeImage);
  image->end = image->base + sizeof fakeImage;
  DriverImageRegistration registration(image);
  const void* driverCaller = fakeImage + 100;

  std::vector<void*> blocks;
  for (int i = 0; i < 3; ++i) {
    blocks.push_back(pool::allocate({.size = 100, .tag = poolTag("Aaaa"), .caller = driverCaller}));
  }
  blocks.push_back(pool::allocate({.size = 1000, .tag = poolTag("Bbbb"), .caller = driverCaller}));
  void* hostBlock = ExAllocatePool2(POOL_FLAG_NON_PAGED, 5000, poolTag("Host"));

  auto usage = pool::liveUsageByTag(*image);
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_EQ(usage[0].tag, poolTag("Bbbb"));  // largest first
  EXPECT_EQ(usage[0].count, 1u);
  EXPECT_EQ(usage[0].bytes, 1000u);
  EXPECT_EQ(usage[1].tag, poolTag("Aaaa"));
  EXPECT_EQ(usage[1].count, 3u);
  EXPECT_EQ(usage[1].bytes, 300u);
  EXPECT_EQ(ledgerCount(image.get(), ResourceKind::Pool), 4u);
  auto leaks = ledgerOutstanding(*image);
  ASSERT_EQ(leaks.size(), 4u);
  EXPECT_EQ(leaks[0].object, blocks[0]);
  EXPECT_EQ(leaks[0].callSite, driverCaller);

  for (void* p : blocks) pool::free(p, nullptr, driverCaller);
  ExFreePool(hostBlock);
  EXPECT_TRUE(pool::liveUsageByTag(*image).empty());
}

TEST(Pool, FailureInjectionAndRaiseOnFailure) {
  RecordViolationsScope record;
  auto before = pool::statistics();
  {
    pool::FailureInjection failTag([](std::uint32_t tag, std::size_t, const DriverImage*) { return tag == poolTag("Fail"); });
    EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, poolTag("Fail")), nullptr);
    void* other = ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, kTag);
    EXPECT_NE(other, nullptr);
    ExFreePool(other);
    EXPECT_TRUE(record.take().empty());
    EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RAISE_ON_FAILURE, 16, poolTag("Fail")), nullptr);
    auto violations = record.take();
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].rule, "pool.raise-on-failure");
    EXPECT_EQ(violations[0].parameters[0], std::uint32_t(STATUS_INSUFFICIENT_RESOURCES));
    EXPECT_EQ(ExAllocatePoolWithTag(static_cast<POOL_TYPE>(NonPagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE), 8,
                                    poolTag("Fail")),
              nullptr);
    EXPECT_EQ(record.take().size(), 1u);
  }
  void* after = ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, poolTag("Fail"));
  EXPECT_NE(after, nullptr);
  ExFreePool(after);
  EXPECT_GE(pool::statistics().failures, before.failures + 3);
  // Sizes no host could back fail instead of aborting.
  EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED, SIZE_T(1) << 50, kTag), nullptr);
}

TEST(Pool, ConcurrentAllocateAndFree) {
  auto before = pool::statistics();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      std::vector<void*> held;
      for (int i = 0; i < 5000; ++i) {
        held.push_back(ExAllocatePool2(POOL_FLAG_NON_PAGED, 16 + (i % 300), kTag + t));
        if (held.size() > 16) {
          ExFreePoolWithTag(held.front(), kTag + t);
          held.erase(held.begin());
        }
      }
      for (void* p : held) ExFreePoolWithTag(p, kTag + t);
    });
  }
  for (auto& t : threads) t.join();
  auto after = pool::statistics();
  EXPECT_EQ(after.liveBlocks, before.liveBlocks);
  EXPECT_EQ(after.allocations - before.allocations, 20000u);
}
