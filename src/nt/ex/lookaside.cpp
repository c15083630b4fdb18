// Lookaside lists: NPAGED_LOOKASIDE_LIST, PAGED_LOOKASIDE_LIST and LOOKASIDE_LIST_EX.
//
// Free entries are kept on the list's own SLIST_HEADER (ListHead), so the structure the
// driver owns is the whole state, as on Windows. The list holds at most MaximumDepth
// (EX_MAXIMUM_LOOKASIDE_DEPTH_BASE) free entries -- a fixed bound, where Windows tunes
// Depth over time -- and the documented counters are maintained. Entries come from the
// pool with the list's tag, so cached and outstanding entries show per driver and tag.
// Each live list is charged to the driver that initialized it (kind "lookaside list"):
// a list not deleted before unload is reported as a leak.
#include "nt/rtl/ddk.hpp"

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "nt/ex/current_irql.hpp"
#include "nt/ex/pool.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/violation.hpp"

namespace {

using namespace ndishost::nt;

// The three list types share the GENERAL_LOOKASIDE member layout; only the alignment of
// the outer structure differs.
static_assert(offsetof(GENERAL_LOOKASIDE, Future) == offsetof(GENERAL_LOOKASIDE_POOL, Future));
static_assert(offsetof(GENERAL_LOOKASIDE, AllocateEx) == offsetof(GENERAL_LOOKASIDE_POOL, AllocateEx));
static_assert(offsetof(LOOKASIDE_LIST_EX, L) == 0 && offsetof(NPAGED_LOOKASIDE_LIST, L) == 0 &&
              offsetof(PAGED_LOOKASIDE_LIST, L) == 0);

enum class Flavor {
  Legacy,  // ALLOCATE_FUNCTION / FREE_FUNCTION (NPAGED_ and PAGED_LOOKASIDE_LIST)
  Ex,      // ALLOCATE_FUNCTION_EX / FREE_FUNCTION_EX (LOOKASIDE_LIST_EX)
};

GENERAL_LOOKASIDE_POOL& general(PNPAGED_LOOKASIDE_LIST list) { return *reinterpret_cast<PGENERAL_LOOKASIDE_POOL>(&list->L); }
GENERAL_LOOKASIDE_POOL& general(PPAGED_LOOKASIDE_LIST list) { return *reinterpret_cast<PGENERAL_LOOKASIDE_POOL>(&list->L); }
GENERAL_LOOKASIDE_POOL& general(PLOOKASIDE_LIST_EX list) { return list->L; }

void bump(ULONG& counter) { std::atomic_ref<ULONG>(counter).fetch_add(1, std::memory_order_relaxed); }

// Live lists, keyed by address: the ledger entry lives here because the structure belongs
// to the driver and has no room for it.
struct Registry {
  std::mutex lock;
  std::map<const void*, std::unique_ptr<LedgerEntry>> lists;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

void registerList(const void* list, const GENERAL_LOOKASIDE_POOL& l, const void* caller) {
  auto entry = std::make_unique<LedgerEntry>();
  entry->kind = ResourceKind::Lookaside;
  entry->object = list;
  entry->callSite = caller;
  entry->tag = l.Tag;
  entry->size = l.Size;
  ledgerAdd(*entry);
  std::unique_ptr<LedgerEntry> previous;
  {
    auto& r = registry();
    std::lock_guard guard(r.lock);
    auto& slot = r.lists[list];
    previous = std::move(slot);
    slot = std::move(entry);
  }
  if (previous) {
    ledgerRemove(*previous);
    reportViolation({"lookaside.double-init", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(list), l.Tag},
                    caller,
                    fmt::format("lookaside list {} (tag '{}') initialized again without being deleted", list,
                                tagToString(l.Tag)));
  }
}

bool unregisterList(const void* list, const void* caller) {
  std::unique_ptr<LedgerEntry> entry;
  {
    auto& r = registry();
    std::lock_guard guard(r.lock);
    if (auto it = r.lists.find(list); it != r.lists.end()) {
      entry = std::move(it->second);
      r.lists.erase(it);
    }
  }
  if (!entry) {
    reportViolation({"lookaside.not-initialized", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(list)},
                    caller, fmt::format("lookaside list {} deleted but it is not an initialized list", list));
    return false;
  }
  ledgerRemove(*entry);
  return true;
}

void initialize(const void* list, GENERAL_LOOKASIDE_POOL& l, POOL_TYPE type, SIZE_T size, ULONG tag,
                PVOID allocate, PVOID free, const void* caller) {
  InitializeSListHead(&l.ListHead);
  l.Depth = EX_MAXIMUM_LOOKASIDE_DEPTH_BASE;
  l.MaximumDepth = EX_MAXIMUM_LOOKASIDE_DEPTH_BASE;
  l.TotalAllocates = 0;
  l.AllocateMisses = 0;
  l.TotalFrees = 0;
  l.FreeMisses = 0;
  l.Type = type;
  l.Tag = tag;
  // An entry must hold the SLIST link while it waits on the list.
  l.Size = static_cast<ULONG>(size < LOOKASIDE_MINIMUM_BLOCK_SIZE ? LOOKASIDE_MINIMUM_BLOCK_SIZE : size);
  l.AllocateEx = reinterpret_cast<PALLOCATE_FUNCTION_EX>(allocate);
  l.FreeEx = reinterpret_cast<PFREE_FUNCTION_EX>(free);
  InitializeListHead(&l.ListEntry);
  l.LastTotalAllocates = 0;
  l.LastAllocateMisses = 0;
  l.Future[0] = l.Future[1] = 0;
  registerList(list, l, caller);
}

void checkIrql(const void* list, const GENERAL_LOOKASIDE_POOL& l, const void* caller) {
  KIRQL irql = currentIrqlOrPassive();
  bool paged = pool::decodePoolType(l.Type).paged;
  if (irql > DISPATCH_LEVEL || (paged && irql > APC_LEVEL)) {
    reportViolation({"irql.too-high", bugcheck::IrqlNotLessOrEqual, reinterpret_cast<std::uintptr_t>(list), irql},
                    caller,
                    fmt::format("{} lookaside list {} used at IRQL {}", paged ? "paged" : "nonpaged", list, irql));
  }
}

PVOID allocateEntry(void* list, GENERAL_LOOKASIDE_POOL& l, Flavor flavor, const void* caller) {
  checkIrql(list, l, caller);
  bump(l.TotalAllocates);
  if (PSLIST_ENTRY entry = InterlockedPopEntrySList(&l.ListHead)) return entry;
  bump(l.AllocateMisses);
  if (l.Allocate == nullptr) {
    auto decoded = pool::decodePoolType(l.Type);
    PVOID block = pool::allocate({.size = l.Size,
                                  .tag = l.Tag,
                                  .paged = decoded.paged,
                                  .cacheAligned = decoded.cacheAligned,
                                  .zeroed = false,
                                  .caller = caller});
    return block;
  }
  if (flavor == Flavor::Ex) return l.AllocateEx(l.Type, l.Size, l.Tag, static_cast<PLOOKASIDE_LIST_EX>(list));
  return l.Allocate(l.Type, l.Size, l.Tag);
}

void releaseEntry(void* list, GENERAL_LOOKASIDE_POOL& l, Flavor flavor, PVOID entry, const void* caller) {
  if (l.Free == nullptr) {
    pool::free(entry, nullptr, caller);
  } else if (flavor == Flavor::Ex) {
    l.FreeEx(entry, static_cast<PLOOKASIDE_LIST_EX>(list));
  } else {
    l.Free(entry);
  }
}

void freeEntry(void* list, GENERAL_LOOKASIDE_POOL& l, Flavor flavor, PVOID entry, const void* caller) {
  checkIrql(list, l, caller);
  bump(l.TotalFrees);
  if (ExQueryDepthSList(&l.ListHead) >= l.Depth) {
    bump(l.FreeMisses);
    releaseEntry(list, l, flavor, entry, caller);
    return;
  }
  InterlockedPushEntrySList(&l.ListHead, static_cast<PSLIST_ENTRY>(entry));
}

void flush(void* list, GENERAL_LOOKASIDE_POOL& l, Flavor flavor, const void* caller) {
  PSLIST_ENTRY entry = InterlockedFlushSList(&l.ListHead);
  while (entry != nullptr) {
    PSLIST_ENTRY next = entry->Next;
    releaseEntry(list, l, flavor, entry, caller);
    entry = next;
  }
}

void destroy(void* list, GENERAL_LOOKASIDE_POOL& l, Flavor flavor, const void* caller) {
  if (!unregisterList(list, caller)) return;
  flush(list, l, flavor, caller);
}

}  // namespace

extern "C" {

// IRQL <= DISPATCH_LEVEL. Flags may hold POOL_NX_ALLOCATION / POOL_RAISE_IF_ALLOCATION_FAILURE.
VOID NTAPI ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                           PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth) {
  (void)Depth;  // reserved
  initialize(Lookaside, general(Lookaside), static_cast<POOL_TYPE>(NonPagedPool | Flags), Size, Tag,
             reinterpret_cast<PVOID>(Allocate), reinterpret_cast<PVOID>(Free), __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) {
  destroy(Lookaside, general(Lookaside), Flavor::Legacy, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
PVOID NTAPI ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) {
  return allocateEntry(Lookaside, general(Lookaside), Flavor::Legacy, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) {
  freeEntry(Lookaside, general(Lookaside), Flavor::Legacy, Entry, __builtin_return_address(0));
}

// IRQL <= APC_LEVEL.
VOID NTAPI ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                          PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth) {
  (void)Depth;  // reserved
  initialize(Lookaside, general(Lookaside), static_cast<POOL_TYPE>(PagedPool | Flags), Size, Tag,
             reinterpret_cast<PVOID>(Allocate), reinterpret_cast<PVOID>(Free), __builtin_return_address(0));
}

// IRQL <= APC_LEVEL.
VOID NTAPI ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside) {
  destroy(Lookaside, general(Lookaside), Flavor::Legacy, __builtin_return_address(0));
}

// IRQL <= APC_LEVEL.
PVOID NTAPI ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside) {
  return allocateEntry(Lookaside, general(Lookaside), Flavor::Legacy, __builtin_return_address(0));
}

// IRQL <= APC_LEVEL.
VOID NTAPI ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) {
  freeEntry(Lookaside, general(Lookaside), Flavor::Legacy, Entry, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
NTSTATUS NTAPI ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate,
                                           PFREE_FUNCTION_EX Free, POOL_TYPE PoolType, ULONG Flags, SIZE_T Size,
                                           ULONG Tag, USHORT Depth) {
  (void)Depth;  // reserved
  constexpr unsigned kAcceptedTypeBits = 0x1 | 0x4 | POOL_COLD_ALLOCATION | POOL_NX_ALLOCATION;
  if ((static_cast<unsigned>(PoolType) & ~kAcceptedTypeBits) != 0) return STATUS_INVALID_PARAMETER_4;
  if (Flags != 0 && Flags != EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL && Flags != EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE) {
    return STATUS_INVALID_PARAMETER_5;
  }
  unsigned type = static_cast<unsigned>(PoolType);
  if (Flags == EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL) type |= POOL_RAISE_IF_ALLOCATION_FAILURE;
  if (Flags == EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE) type |= POOL_QUOTA_FAIL_INSTEAD_OF_RAISE;
  initialize(Lookaside, general(Lookaside), static_cast<POOL_TYPE>(type), Size, Tag, reinterpret_cast<PVOID>(Allocate),
             reinterpret_cast<PVOID>(Free), __builtin_return_address(0));
  return STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
  destroy(Lookaside, general(Lookaside), Flavor::Ex, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL (paged lists: <= APC_LEVEL).
PVOID NTAPI ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
  return allocateEntry(Lookaside, general(Lookaside), Flavor::Ex, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL (paged lists: <= APC_LEVEL).
VOID NTAPI ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry) {
  freeEntry(Lookaside, general(Lookaside), Flavor::Ex, Entry, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL. Frees every cached entry; the list stays usable.
VOID NTAPI ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
  flush(Lookaside, general(Lookaside), Flavor::Ex, __builtin_return_address(0));
}

}  // extern "C"
