#include "nt/ex/pool.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <new>

#include <fmt/format.h>

#include "nt/ex/current_irql.hpp"
#include "nt/ex/pointer_set.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::pool {
namespace {

constexpr std::uint64_t kLiveMagic = 0x4C4F4F50'4556494CULL;   // "LIVEPOOL"
constexpr std::uint64_t kFreedMagic = 0x4C4F4F50'45455246ULL;  // "FREEPOOL"
constexpr std::size_t kGuardBytes = 16;
// Beyond this a request is refused outright instead of asking the C library (which may
// abort under sanitizers rather than fail).
constexpr std::size_t kLargestRequest = std::size_t(1) << 36;
constexpr std::size_t kQuarantineBlocks = 1024;
constexpr std::size_t kQuarantineBytes = std::size_t(8) << 20;

// SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION: what Windows reports for bytes written past a
// block or into a freed one when it can see them.
constexpr std::uint32_t kSpecialPoolDetectedMemoryCorruption = 0xC1;
// BAD_POOL_CALLER first parameters.
constexpr std::uint64_t kZeroByteRequest = 0x00;
constexpr std::uint64_t kFreeOfFreedBlock = 0x07;
constexpr std::uint64_t kAllocateAtBadIrql = 0x08;
constexpr std::uint64_t kFreeAtBadIrql = 0x09;
constexpr std::uint64_t kFreeWithWrongTag = 0x0A;
constexpr std::uint64_t kFreeOfInvalidAddress = 0x46;

struct alignas(MEMORY_ALLOCATION_ALIGNMENT) BlockHeader {
  LedgerEntry ledger;
  std::uint64_t magic = kLiveMagic;
  std::uint32_t tag = 0;
  bool paged = false;
  std::size_t size = 0;
  void* base = nullptr;  // what aligned_alloc returned
  std::byte* user() { return reinterpret_cast<std::byte*>(this + 1); }
};
static_assert(sizeof(BlockHeader) % MEMORY_ALLOCATION_ALIGNMENT == 0);

BlockHeader* headerOf(const void* block) {
  return reinterpret_cast<BlockHeader*>(const_cast<void*>(block)) - 1;
}

// The set of live blocks, sharded so unrelated threads rarely meet on one lock.
struct LiveShard {
  std::mutex lock;
  PointerSet blocks;
};
constexpr std::size_t kShards = 16;

std::array<LiveShard, kShards>& liveShards() {
  static std::array<LiveShard, kShards> shards;
  return shards;
}

LiveShard& shardFor(const void* block) {
  auto key = reinterpret_cast<std::uintptr_t>(block) >> 4;
  return liveShards()[(key * 0x9E3779B97F4A7C15ULL) >> 60];
}

struct Quarantine {
  std::mutex lock;
  std::deque<BlockHeader*> fifo;
  PointerSet members;
  std::size_t bytes = 0;
  // At process exit the blocks go back to the C library unchecked: reporting needs the
  // loggers, which may already be gone.
  ~Quarantine() {
    for (BlockHeader* header : fifo) std::free(header->base);
  }
};

Quarantine& quarantine() {
  static Quarantine instance;
  return instance;
}

struct Counters {
  std::atomic<std::uint64_t> allocations{0};
  std::atomic<std::uint64_t> frees{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> liveBlocks{0};
  std::atomic<std::uint64_t> liveBytes{0};
};

Counters& counters() {
  static Counters instance;
  return instance;
}

struct Injector {
  std::atomic<bool> active{false};
  std::mutex lock;
  FailurePredicate predicate;
};

Injector& injector() {
  static Injector instance;
  return instance;
}

bool injectedFailure(const Request& request, const DriverImage* owner) {
  auto& inj = injector();
  if (!inj.active.load(std::memory_order_acquire)) return false;
  std::lock_guard guard(inj.lock);
  return inj.predicate && inj.predicate(request.tag, request.size, owner);
}

std::size_t roundUp(std::size_t value, std::size_t alignment) { return (value + alignment - 1) & ~(alignment - 1); }

std::size_t alignmentFor(const Request& request) {
  if (request.size >= PAGE_SIZE) return PAGE_SIZE;
  // A power-of-two block aligned to its own size never straddles a page.
  std::size_t alignment = std::bit_ceil(std::max<std::size_t>(request.size, MEMORY_ALLOCATION_ALIGNMENT));
  if (request.cacheAligned) alignment = std::max<std::size_t>(alignment, 64);
  return alignment;
}

// The first byte in [data, data+length) that is not `fill`, or length. Compares a chunk at
// a time (this runs over every freed block) and looks for the byte only in a bad chunk.
std::size_t firstDifferent(const std::byte* data, std::size_t length, std::uint8_t fill) {
  constexpr std::size_t kChunk = 256;
  static const auto pattern = [] {
    std::array<std::array<std::byte, kChunk>, 256> patterns{};
    for (std::size_t value = 0; value < 256; ++value) patterns[value].fill(std::byte(value));
    return patterns;
  }();
  const std::byte* expected = pattern[fill].data();
  for (std::size_t offset = 0; offset < length; offset += kChunk) {
    std::size_t n = std::min(kChunk, length - offset);
    if (std::memcmp(data + offset, expected, n) == 0) continue;
    for (std::size_t i = 0; i < n; ++i) {
      if (data[offset + i] != std::byte{fill}) return offset + i;
    }
  }
  return length;
}

// Releases a quarantined block to the C library after checking nobody wrote to it.
// Returns true when the poison was intact.
bool release(BlockHeader* header) {
  std::size_t span = header->size + kGuardBytes;
  std::size_t offset = firstDifferent(header->user(), span, kFreedFill);
  bool intact = offset == span;
  if (!intact) {
    reportViolation({"pool.write-after-free", kSpecialPoolDetectedMemoryCorruption,
                     reinterpret_cast<std::uintptr_t>(header->user()), header->size, offset, header->tag},
                    header->ledger.callSite,
                    fmt::format("pool block {} (tag '{}', {} bytes) was written at offset {} after it was freed",
                                static_cast<const void*>(header->user()), tagToString(header->tag), header->size,
                                offset));
  }
  void* base = header->base;
  header->~BlockHeader();
  std::free(base);
  return intact;
}

void quarantineBlock(BlockHeader* header) {
  std::vector<BlockHeader*> evicted;
  {
    auto& q = quarantine();
    std::lock_guard guard(q.lock);
    q.fifo.push_back(header);
    q.members.insert(header->user());
    q.bytes += header->size;
    while (q.fifo.size() > kQuarantineBlocks || q.bytes > kQuarantineBytes) {
      BlockHeader* oldest = q.fifo.front();
      q.fifo.pop_front();
      q.members.erase(oldest->user());
      q.bytes -= oldest->size;
      evicted.push_back(oldest);
    }
  }
  for (BlockHeader* oldest : evicted) release(oldest);
}

bool inQuarantine(const void* block) {
  auto& q = quarantine();
  std::lock_guard guard(q.lock);
  return q.members.contains(block);
}

KIRQL currentIrql() { return currentIrqlOrPassive(); }

}  // namespace

DecodedPoolType decodePoolType(POOL_TYPE type) {
  auto bits = static_cast<unsigned>(type);
  return {.paged = (bits & 1u) != 0,
          .cacheAligned = (bits & 4u) != 0,
          .raiseOnFailure = (bits & POOL_RAISE_IF_ALLOCATION_FAILURE) != 0};
}

void* allocate(const Request& request) {
  KIRQL irql = currentIrql();
  if (irql > DISPATCH_LEVEL || (request.paged && irql > APC_LEVEL)) {
    reportViolation({"irql.too-high", bugcheck::BadPoolCaller, kAllocateAtBadIrql, irql, request.paged ? 1u : 0u,
                     request.size},
                    request.caller,
                    fmt::format("{} pool allocation of {} bytes (tag '{}') at IRQL {}; the limit is {}",
                                request.paged ? "paged" : "nonpaged", request.size, tagToString(request.tag), irql,
                                request.paged ? "APC_LEVEL" : "DISPATCH_LEVEL"));
  }
  if (request.size == 0) {
    reportViolation({"pool.zero-size", bugcheck::BadPoolCaller, kZeroByteRequest, 0, request.paged ? 1u : 0u,
                     request.tag},
                    request.caller, fmt::format("zero-byte pool allocation (tag '{}')", tagToString(request.tag)));
  }

  auto owner = findDriverImage(request.caller);
  auto& stats = counters();
  if (request.size > kLargestRequest || injectedFailure(request, owner.get())) {
    stats.failures.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }

  std::size_t alignment = alignmentFor(request);
  std::size_t headerRegion = roundUp(sizeof(BlockHeader), alignment);
  std::size_t total = roundUp(headerRegion + std::max<std::size_t>(request.size, 1) + kGuardBytes, alignment);
  void* base = std::aligned_alloc(alignment, total);
  if (base == nullptr) {
    stats.failures.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }

  std::byte* user = static_cast<std::byte*>(base) + headerRegion;
  auto* header = new (user - sizeof(BlockHeader)) BlockHeader;
  header->tag = request.tag;
  header->paged = request.paged;
  header->size = request.size;
  header->base = base;
  std::memset(user, request.zeroed ? 0 : kUninitializedFill, request.size);
  std::memset(user + request.size, kGuardFill, kGuardBytes);

  header->ledger.kind = ResourceKind::Pool;
  header->ledger.owner = owner.get();
  header->ledger.object = user;
  header->ledger.callSite = request.caller;
  header->ledger.tag = request.tag;
  header->ledger.size = request.size;
  ledgerAdd(header->ledger);
  {
    auto& shard = shardFor(user);
    std::lock_guard guard(shard.lock);
    shard.blocks.insert(user);
  }
  stats.allocations.fetch_add(1, std::memory_order_relaxed);
  stats.liveBlocks.fetch_add(1, std::memory_order_relaxed);
  stats.liveBytes.fetch_add(request.size, std::memory_order_relaxed);
  return user;
}

void free(void* block, const std::uint32_t* expectedTag, const void* caller) {
  KIRQL irql = currentIrql();
  BlockHeader* header = nullptr;
  std::uint32_t actualTag = 0;
  {
    auto& shard = shardFor(block);
    std::lock_guard guard(shard.lock);
    if (shard.blocks.contains(block)) {
      header = headerOf(block);
      actualTag = header->tag;
      // A free with someone else's tag is refused, so the block stays live.
      if (expectedTag == nullptr || *expectedTag == actualTag) shard.blocks.erase(block);
    }
  }

  if (header == nullptr) {
    bool twice = block != nullptr && inQuarantine(block);
    if (twice) {
      reportViolation({"pool.double-free", bugcheck::BadPoolCaller, kFreeOfFreedBlock, 0, 0,
                       reinterpret_cast<std::uintptr_t>(block)},
                      caller, fmt::format("pool block {} was freed a second time", block));
    } else {
      reportViolation({"pool.bad-free", bugcheck::BadPoolCaller, kFreeOfInvalidAddress,
                       reinterpret_cast<std::uintptr_t>(block)},
                      caller, fmt::format("{} is not the start of a live pool block", block));
    }
    return;
  }
  if (expectedTag != nullptr && *expectedTag != actualTag) {
    reportViolation({"pool.tag-mismatch", bugcheck::BadPoolCaller, kFreeWithWrongTag,
                     reinterpret_cast<std::uintptr_t>(block), actualTag, *expectedTag},
                    caller,
                    fmt::format("pool block {} has tag '{}' but was freed with tag '{}'", block,
                                tagToString(actualTag), tagToString(*expectedTag)));
    return;
  }
  if (irql > DISPATCH_LEVEL || (header->paged && irql > APC_LEVEL)) {
    reportViolation({"irql.too-high", bugcheck::BadPoolCaller, kFreeAtBadIrql, irql, header->paged ? 1u : 0u,
                     reinterpret_cast<std::uintptr_t>(block)},
                    caller,
                    fmt::format("{} pool block {} freed at IRQL {}", header->paged ? "paged" : "nonpaged", block,
                                irql));
  }
  std::size_t guardOffset = firstDifferent(header->user() + header->size, kGuardBytes, kGuardFill);
  if (guardOffset != kGuardBytes) {
    reportViolation({"pool.overrun", kSpecialPoolDetectedMemoryCorruption, reinterpret_cast<std::uintptr_t>(block),
                     header->size, header->size + guardOffset, actualTag},
                    caller,
                    fmt::format("pool block {} (tag '{}', {} bytes) was written past its end (byte {} after it)",
                                block, tagToString(actualTag), header->size, guardOffset));
  }

  ledgerRemove(header->ledger);
  header->magic = kFreedMagic;
  std::memset(header->user(), kFreedFill, header->size + kGuardBytes);
  auto& stats = counters();
  stats.frees.fetch_add(1, std::memory_order_relaxed);
  stats.liveBlocks.fetch_sub(1, std::memory_order_relaxed);
  stats.liveBytes.fetch_sub(header->size, std::memory_order_relaxed);
  quarantineBlock(header);
}

bool isLiveBlock(const void* block) {
  auto& shard = shardFor(block);
  std::lock_guard guard(shard.lock);
  return shard.blocks.contains(block);
}

std::size_t blockSize(const void* block) {
  auto& shard = shardFor(block);
  std::lock_guard guard(shard.lock);
  return shard.blocks.contains(block) ? headerOf(block)->size : 0;
}

std::uint32_t blockTag(const void* block) {
  auto& shard = shardFor(block);
  std::lock_guard guard(shard.lock);
  return shard.blocks.contains(block) ? headerOf(block)->tag : 0;
}

std::vector<TagUsage> liveUsageByTag(const DriverImage& image) {
  std::map<std::uint32_t, TagUsage> byTag;
  for (const auto& record : ledgerOutstanding(image)) {
    if (record.kind != ResourceKind::Pool) continue;
    auto& usage = byTag[record.tag];
    usage.tag = record.tag;
    usage.count += 1;
    usage.bytes += record.size;
  }
  std::vector<TagUsage> usages;
  for (auto& [tag, usage] : byTag) usages.push_back(usage);
  std::stable_sort(usages.begin(), usages.end(), [](const TagUsage& a, const TagUsage& b) { return a.bytes > b.bytes; });
  return usages;
}

Statistics statistics() {
  auto& c = counters();
  return {c.allocations.load(), c.frees.load(), c.failures.load(), c.liveBlocks.load(), c.liveBytes.load()};
}

std::size_t drainQuarantine() {
  std::deque<BlockHeader*> drained;
  {
    auto& q = quarantine();
    std::lock_guard guard(q.lock);
    drained.swap(q.fifo);
    q.members = PointerSet();
    q.bytes = 0;
  }
  std::size_t modified = 0;
  for (BlockHeader* header : drained) {
    if (!release(header)) ++modified;
  }
  return modified;
}

FailureInjection::FailureInjection(FailurePredicate predicate) {
  auto& inj = injector();
  std::lock_guard guard(inj.lock);
  inj.predicate = std::move(predicate);
  inj.active.store(true, std::memory_order_release);
}

FailureInjection::~FailureInjection() {
  auto& inj = injector();
  std::lock_guard guard(inj.lock);
  inj.active.store(false, std::memory_order_release);
  inj.predicate = nullptr;
}

}  // namespace ndishost::nt::pool
