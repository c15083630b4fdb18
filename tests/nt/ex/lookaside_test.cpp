// Lookaside lists: layouts, reuse, depth bound, counters, custom routines, leaks by tag.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "nt/ex/pool.hpp"
#include "nt/rtl/ddk.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;

// Windows x64 layouts.
static_assert(sizeof(GENERAL_LOOKASIDE) == 0x80 && alignof(GENERAL_LOOKASIDE) == 64);
static_assert(sizeof(GENERAL_LOOKASIDE_POOL) == 0x60);
static_assert(sizeof(LOOKASIDE_LIST_EX) == 0x60 && alignof(LOOKASIDE_LIST_EX) == 16);
static_assert(sizeof(NPAGED_LOOKASIDE_LIST) == 0x80 && alignof(NPAGED_LOOKASIDE_LIST) == 64);
static_assert(sizeof(PAGED_LOOKASIDE_LIST) == 0x80);
static_assert(offsetof(GENERAL_LOOKASIDE, Depth) == 0x10);
static_assert(offsetof(GENERAL_LOOKASIDE, MaximumDepth) == 0x12);
static_assert(offsetof(GENERAL_LOOKASIDE, TotalAllocates) == 0x14);
static_assert(offsetof(GENERAL_LOOKASIDE, AllocateMisses) == 0x18);
static_assert(offsetof(GENERAL_LOOKASIDE, TotalFrees) == 0x1C);
static_assert(offsetof(GENERAL_LOOKASIDE, FreeMisses) == 0x20);
static_assert(offsetof(GENERAL_LOOKASIDE, Type) == 0x24);
static_assert(offsetof(GENERAL_LOOKASIDE, Tag) == 0x28);
static_assert(offsetof(GENERAL_LOOKASIDE, Size) == 0x2C);
static_assert(offsetof(GENERAL_LOOKASIDE, AllocateEx) == 0x30);
static_assert(offsetof(GENERAL_LOOKASIDE, FreeEx) == 0x38);
static_assert(offsetof(GENERAL_LOOKASIDE, ListEntry) == 0x40);
static_assert(offsetof(GENERAL_LOOKASIDE, LastTotalAllocates) == 0x50);
static_assert(offsetof(GENERAL_LOOKASIDE, Future) == 0x58);
static_assert(sizeof(SLIST_HEADER) == 16 && alignof(SLIST_HEADER) == 16 && sizeof(SLIST_ENTRY) == 16);

namespace {

constexpr ULONG kTag = poolTag("Look");

int customAllocations = 0;
int customFrees = 0;

PVOID NTAPI customAllocate(POOL_TYPE type, SIZE_T size, ULONG tag) {
  ++customAllocations;
  return ExAllocatePoolWithTag(type, size, tag);
}
VOID NTAPI customFree(PVOID buffer) {
  ++customFrees;
  ExFreePool(buffer);
}

// The pattern the reference shows: per-list private data around the LOOKASIDE_LIST_EX.
struct ListContext {
  ULONG allocations = 0;
  ULONG frees = 0;
  POOL_TYPE lastType = NonPagedPool;
  LOOKASIDE_LIST_EX list;
};

PVOID NTAPI contextAllocate(POOL_TYPE type, SIZE_T size, ULONG tag, PLOOKASIDE_LIST_EX lookaside) {
  auto* context = CONTAINING_RECORD(lookaside, ListContext, list);
  ++context->allocations;
  context->lastType = type;
  return ExAllocatePoolWithTag(type, size, tag);
}
VOID NTAPI contextFree(PVOID buffer, PLOOKASIDE_LIST_EX lookaside) {
  ++CONTAINING_RECORD(lookaside, ListContext, list)->frees;
  ExFreePool(buffer);
}

}  // namespace

TEST(Lookaside, NPagedReusesEntriesAndKeepsCounters) {
  NPAGED_LOOKASIDE_LIST list;
  ExInitializeNPagedLookasideList(&list, nullptr, nullptr, POOL_NX_ALLOCATION, 200, kTag, 0);
  EXPECT_EQ(list.L.Size, 200u);
  EXPECT_EQ(list.L.Tag, kTag);
  EXPECT_EQ(list.L.MaximumDepth, EX_MAXIMUM_LOOKASIDE_DEPTH_BASE);
  void* a = ExAllocateFromNPagedLookasideList(&list);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(pool::blockTag(a), kTag);  // entries come from the pool with the list's tag
  EXPECT_EQ(pool::blockSize(a), 200u);
  ExFreeToNPagedLookasideList(&list, a);
  EXPECT_EQ(ExQueryDepthSList(&list.L.ListHead), 1);
  void* b = ExAllocateFromNPagedLookasideList(&list);
  EXPECT_EQ(b, a);  // reused, not reallocated
  EXPECT_EQ(list.L.TotalAllocates, 2u);
  EXPECT_EQ(list.L.AllocateMisses, 1u);
  EXPECT_EQ(list.L.TotalFrees, 1u);
  EXPECT_EQ(list.L.FreeMisses, 0u);
  ExFreeToNPagedLookasideList(&list, b);
  ExDeleteNPagedLookasideList(&list);
  EXPECT_FALSE(pool::isLiveBlock(a));  // delete returned the cached entry to the pool
}

TEST(Lookaside, DepthIsBounded) {
  NPAGED_LOOKASIDE_LIST list;
  ExInitializeNPagedLookasideList(&list, nullptr, nullptr, 0, 48, kTag, 0);
  std::vector<void*> entries;
  for (int i = 0; i < 300; ++i) entries.push_back(ExAllocateFromNPagedLookasideList(&list));
  auto live = pool::statistics().liveBlocks;
  for (void* e : entries) ExFreeToNPagedLookasideList(&list, e);
  EXPECT_EQ(ExQueryDepthSList(&list.L.ListHead), EX_MAXIMUM_LOOKASIDE_DEPTH_BASE);
  EXPECT_EQ(list.L.FreeMisses, 300u - EX_MAXIMUM_LOOKASIDE_DEPTH_BASE);
  EXPECT_EQ(pool::statistics().liveBlocks, live - (300 - EX_MAXIMUM_LOOKASIDE_DEPTH_BASE));
  ExDeleteNPagedLookasideList(&list);
  EXPECT_EQ(pool::statistics().liveBlocks, live - 300);
}

TEST(Lookaside, CustomRoutinesAreHonoured) {
  customAllocations = customFrees = 0;
  PAGED_LOOKASIDE_LIST list;
  ExInitializePagedLookasideList(&list, customAllocate, customFree, 0, 64, kTag, 0);
  void* a = ExAllocateFromPagedLookasideList(&list);
  void* b = ExAllocateFromPagedLookasideList(&list);
  EXPECT_EQ(customAllocations, 2);
  ExFreeToPagedLookasideList(&list, a);
  ExFreeToPagedLookasideList(&list, b);
  EXPECT_EQ(customFrees, 0);  // cached
  EXPECT_EQ(ExAllocateFromPagedLookasideList(&list), b);
  EXPECT_EQ(customAllocations, 2);
  ExFreeToPagedLookasideList(&list, b);
  ExDeletePagedLookasideList(&list);
  EXPECT_EQ(customFrees, 2);
}

TEST(Lookaside, ListExPassesTheListAndFlagsToItsRoutines) {
  ListContext context;
  ASSERT_EQ(ExInitializeLookasideListEx(&context.list, contextAllocate, contextFree, NonPagedPoolNx,
                                        EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL, 128, kTag, 0),
            STATUS_SUCCESS);
  void* a = ExAllocateFromLookasideListEx(&context.list);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(context.allocations, 1u);
  EXPECT_EQ(static_cast<unsigned>(context.lastType), unsigned(NonPagedPoolNx) | POOL_RAISE_IF_ALLOCATION_FAILURE);
  ExFreeToLookasideListEx(&context.list, a);
  ExFlushLookasideListEx(&context.list);
  EXPECT_EQ(context.frees, 1u);
  EXPECT_EQ(ExQueryDepthSList(&context.list.L.ListHead), 0);
  void* b = ExAllocateFromLookasideListEx(&context.list);  // still usable after a flush
  EXPECT_EQ(context.allocations, 2u);
  ExFreeToLookasideListEx(&context.list, b);
  ExDeleteLookasideListEx(&context.list);
  EXPECT_EQ(context.frees, 2u);
}

TEST(Lookaside, ListExChecksItsParameters) {
  LOOKASIDE_LIST_EX list;
  EXPECT_EQ(ExInitializeLookasideListEx(&list, nullptr, nullptr, NonPagedPoolNx, 3, 32, kTag, 0),
            STATUS_INVALID_PARAMETER_5);
  EXPECT_EQ(ExInitializeLookasideListEx(&list, nullptr, nullptr, NonPagedPoolSession, 0, 32, kTag, 0),
            STATUS_INVALID_PARAMETER_4);
  ASSERT_EQ(ExInitializeLookasideListEx(&list, nullptr, nullptr, PagedPool, 0, 32, kTag, 0), STATUS_SUCCESS);
  void* e = ExAllocateFromLookasideListEx(&list);
  EXPECT_EQ(pool::blockTag(e), kTag);
  ExFreeToLookasideListEx(&list, e);
  ExDeleteLookasideListEx(&list);
}

TEST(Lookaside, ListsAreChargedToTheirCreatorUntilDeleted) {
  auto before = ledgerCount(nullptr, ResourceKind::Lookaside);
  LOOKASIDE_LIST_EX list;
  ASSERT_EQ(ExInitializeLookasideListEx(&list, nullptr, nullptr, NonPagedPoolNx, 0, 32, kTag, 0), STATUS_SUCCESS);
  EXPECT_EQ(ledgerCount(nullptr, ResourceKind::Lookaside), before + 1);
  ExDeleteLookasideListEx(&list);
  EXPECT_EQ(ledgerCount(nullptr, ResourceKind::Lookaside), before);

  RecordViolationsScope record;
  ExDeleteLookasideListEx(&list);  // twice
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "lookaside.not-initialized");

  ASSERT_EQ(ExInitializeLookasideListEx(&list, nullptr, nullptr, NonPagedPoolNx, 0, 32, kTag, 0), STATUS_SUCCESS);
  ASSERT_EQ(ExInitializeLookasideListEx(&list, nullptr, nullptr, NonPagedPoolNx, 0, 32, kTag, 0), STATUS_SUCCESS);
  violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "lookaside.double-init");
  ExDeleteLookasideListEx(&list);
  EXPECT_EQ(ledgerCount(nullptr, ResourceKind::Lookaside), before);
}

TEST(Lookaside, TinyEntriesStillHoldTheLink) {
  NPAGED_LOOKASIDE_LIST list;
  ExInitializeNPagedLookasideList(&list, nullptr, nullptr, 0, 4, kTag, 0);
  EXPECT_EQ(list.L.Size, LOOKASIDE_MINIMUM_BLOCK_SIZE);
  void* a = ExAllocateFromNPagedLookasideList(&list);
  ExFreeToNPagedLookasideList(&list, a);
  EXPECT_EQ(ExAllocateFromNPagedLookasideList(&list), a);
  ExFreeToNPagedLookasideList(&list, a);
  ExDeleteNPagedLookasideList(&list);
}
