// The pool DDIs: argument checking and translation onto the pool engine (pool.hpp).
#include "nt/rtl/ddk.hpp"

#include <fmt/format.h>

#include "nt/ex/pool.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/log.hpp"
#include "nt/support/violation.hpp"

namespace {

using namespace ndishost::nt;

constexpr POOL_FLAGS kKnownRequiredFlags = POOL_FLAG_USE_QUOTA | POOL_FLAG_UNINITIALIZED | POOL_FLAG_CACHE_ALIGNED |
                                           POOL_FLAG_RAISE_ON_FAILURE | POOL_FLAG_NON_PAGED |
                                           POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED;
constexpr POOL_FLAGS kPoolKindFlags = POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED;

// A raised exception nobody handles ends in KMODE_EXCEPTION_NOT_HANDLED on Windows; drivers
// here cannot catch it, so the raise is reported as that.
void raiseAllocationFailure(const void* caller, SIZE_T size, ULONG tag) {
  reportViolation({"pool.raise-on-failure", bugcheck::KmodeExceptionNotHandled,
                   static_cast<std::uint32_t>(STATUS_INSUFFICIENT_RESOURCES), size, tag},
                  caller,
                  fmt::format("pool allocation of {} bytes (tag '{}') failed and the caller asked for an exception",
                              size, tagToString(tag)));
}

PVOID allocateWithType(POOL_TYPE type, SIZE_T size, ULONG tag, const void* caller) {
  auto decoded = pool::decodePoolType(type);
  void* block = pool::allocate({.size = size,
                                .tag = tag,
                                .paged = decoded.paged,
                                .cacheAligned = decoded.cacheAligned,
                                .zeroed = false,
                                .caller = caller});
  if (block == nullptr && decoded.raiseOnFailure) raiseAllocationFailure(caller, size, tag);
  return block;
}

}  // namespace

extern "C" {

// IRQL <= DISPATCH_LEVEL (POOL_FLAG_PAGED: <= APC_LEVEL).
PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag) {
  const void* caller = __builtin_return_address(0);
  POOL_FLAGS required = Flags & 0xFFFFFFFFULL;
  POOL_FLAGS kind = Flags & kPoolKindFlags;
  bool oneKind = kind != 0 && (kind & (kind - 1)) == 0;
  if (Tag == 0 || (required & ~kKnownRequiredFlags) != 0 || !oneKind) {
    logger("nt").warn("{}: ExAllocatePool2(flags {:#x}, {} bytes, tag {:#x}) refused: {}", describeCaller(caller),
                      Flags, NumberOfBytes, Tag,
                      Tag == 0 ? "tag 0 is invalid" : !oneKind ? "exactly one pool kind flag is required"
                                                               : "unsupported required flags");
    if ((Flags & POOL_FLAG_RAISE_ON_FAILURE) != 0) raiseAllocationFailure(caller, NumberOfBytes, Tag);
    return nullptr;
  }
  void* block = pool::allocate({.size = NumberOfBytes,
                                .tag = Tag,
                                .paged = (Flags & POOL_FLAG_PAGED) != 0,
                                .cacheAligned = (Flags & POOL_FLAG_CACHE_ALIGNED) != 0,
                                .zeroed = (Flags & POOL_FLAG_UNINITIALIZED) == 0,
                                .caller = caller});
  if (block == nullptr && (Flags & POOL_FLAG_RAISE_ON_FAILURE) != 0) raiseAllocationFailure(caller, NumberOfBytes, Tag);
  return block;
}

// IRQL <= DISPATCH_LEVEL (paged types: <= APC_LEVEL). Contents are not zeroed.
PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
  return allocateWithType(PoolType, NumberOfBytes, Tag, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL. The priority only matters when memory is scarce, which the host's
// allocator decides; it is accepted and otherwise ignored.
PVOID NTAPI ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                          EX_POOL_PRIORITY Priority) {
  (void)Priority;
  return allocateWithType(PoolType, NumberOfBytes, Tag, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL (paged blocks: <= APC_LEVEL).
VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag) {
  std::uint32_t tag = Tag;
  pool::free(P, &tag, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL (paged blocks: <= APC_LEVEL).
VOID NTAPI ExFreePool(PVOID P) { pool::free(P, nullptr, __builtin_return_address(0)); }

}  // extern "C"
