// The executive pool: ExAllocatePool2/ExAllocatePoolWithTag/ExFreePool(WithTag) and the
// runtime's own view of it.
//
// Every block carries a header just before the pointer the caller gets: its LedgerEntry
// (so each live block is charged to the driver that allocated it and reported at unload),
// tag, size, pool type and a magic word; 16 guard bytes follow the caller's bytes. Blocks
// are MEMORY_ALLOCATION_ALIGNMENT aligned, page aligned from PAGE_SIZE up, and smaller
// blocks never cross a page boundary (as documented). A freed block is poisoned and kept
// in a bounded quarantine, so a double free is recognised and a write after free is found
// when the block leaves the quarantine. The live-block set decides what is a pool block,
// so freeing a foreign pointer never reads memory around it.
#pragma once

#include "nt/rtl/ddk.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "nt/support/driver_image.hpp"

namespace ndishost::nt::pool {

// What an allocation asks for, after the DDI has translated its arguments.
struct Request {
  std::size_t size = 0;
  std::uint32_t tag = 0;
  bool paged = false;
  bool cacheAligned = false;
  bool zeroed = false;
  const void* caller = nullptr;  // the driver's return address: attribution and IRQL rule
};

// Allocates; nullptr when memory (or the failure injector) says no. Reports
// "irql.too-high" and "pool.zero-size" violations itself.
void* allocate(const Request& request);

// Frees a block. `expectedTag` is the tag ExFreePoolWithTag passed (nullopt for
// ExFreePool). Reports "pool.bad-free", "pool.double-free", "pool.tag-mismatch",
// "pool.overrun" and "irql.too-high"; refuses the free when the block is not a live one
// or the tag does not match.
void free(void* block, const std::uint32_t* expectedTag, const void* caller);

// True when `block` is the start of a live pool block.
bool isLiveBlock(const void* block);
// Size and tag of a live block (0 when it is not one).
std::size_t blockSize(const void* block);
std::uint32_t blockTag(const void* block);

// Live allocations of one driver image grouped by tag, largest first by bytes.
struct TagUsage {
  std::uint32_t tag = 0;
  std::size_t count = 0;
  std::size_t bytes = 0;
};
std::vector<TagUsage> liveUsageByTag(const DriverImage& image);

struct Statistics {
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::uint64_t failures = 0;
  std::uint64_t liveBlocks = 0;
  std::uint64_t liveBytes = 0;
};
Statistics statistics();

// Checks every quarantined block's poison now, reporting "pool.write-after-free" for each
// one that was modified, and releases them. Returns the number found modified.
std::size_t drainQuarantine();

// Makes chosen allocations fail, to exercise drivers' failure paths. The predicate sees
// the tag, size and owning image (nullptr: the host) and returns true to fail the call.
// Active while the returned object lives; one injector at a time.
using FailurePredicate = std::function<bool(std::uint32_t tag, std::size_t size, const DriverImage* owner)>;
class FailureInjection {
 public:
  explicit FailureInjection(FailurePredicate predicate);
  ~FailureInjection();
  FailureInjection(const FailureInjection&) = delete;
  FailureInjection& operator=(const FailureInjection&) = delete;
};

// Fill patterns, for tests and for reading dumps.
inline constexpr std::uint8_t kUninitializedFill = 0xCD;  // ExAllocatePoolWithTag contents
inline constexpr std::uint8_t kFreedFill = 0xDF;          // a freed block
inline constexpr std::uint8_t kGuardFill = 0xAB;          // the 16 bytes after a block

// POOL_TYPE with its modifier bits (POOL_RAISE_IF_ALLOCATION_FAILURE, ...) decoded.
struct DecodedPoolType {
  bool paged;
  bool cacheAligned;
  bool raiseOnFailure;
};
DecodedPoolType decodePoolType(POOL_TYPE type);

}  // namespace ndishost::nt::pool
