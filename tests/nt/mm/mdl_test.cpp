// MDLs: page arithmetic, allocation with IRP attachment, nonpaged and locked buffers,
// system addresses, partial MDLs, and the rules around locking and mapping.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "nt/mm/mdl.hpp"
#include "nt/rtl/ddk.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;

namespace {

// A page-aligned buffer of several pages, so offsets within pages are known.
struct PageBuffer {
  explicit PageBuffer(std::size_t pages) : base(static_cast<char*>(std::aligned_alloc(PAGE_SIZE, pages * PAGE_SIZE))) {}
  ~PageBuffer() { std::free(base); }
  char* base;
};

PFN_NUMBER pageOf(const void* p) { return reinterpret_cast<ULONG_PTR>(p) >> PAGE_SHIFT; }

}  // namespace

static_assert(sizeof(MDL) == 48);

TEST(MdlMath, PageMacros) {
  auto* va = reinterpret_cast<PVOID>(0x12345678);
  EXPECT_EQ(BYTE_OFFSET(va), 0x678u);
  EXPECT_EQ(PAGE_ALIGN(va), reinterpret_cast<PVOID>(0x12345000));
  EXPECT_EQ(ROUND_TO_PAGES(1), PAGE_SIZE);
  EXPECT_EQ(ROUND_TO_PAGES(PAGE_SIZE), PAGE_SIZE);
  EXPECT_EQ(ROUND_TO_PAGES(PAGE_SIZE + 1), 2u * PAGE_SIZE);
  EXPECT_EQ(BYTES_TO_PAGES(0u), 0u);
  EXPECT_EQ(BYTES_TO_PAGES(1u), 1u);
  EXPECT_EQ(BYTES_TO_PAGES(8192u), 2u);
  EXPECT_EQ(BYTES_TO_PAGES(8193u), 3u);
  auto* aligned = reinterpret_cast<PVOID>(0x10000);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(aligned, 0), 0u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(aligned, 4096), 1u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(aligned, 4097), 2u);
  auto* late = reinterpret_cast<PVOID>(0x10FFF);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(late, 1), 1u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(late, 2), 2u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(late, 8194), 4u);  // 1 + 4096 + 4096 + 1 bytes
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(reinterpret_cast<PVOID>(0x10800), 0xFFFFF000ULL), 0x100000u);
  EXPECT_EQ(MmSizeOfMdl(aligned, 4096), sizeof(MDL) + sizeof(PFN_NUMBER));
  EXPECT_EQ(MmSizeOfMdl(reinterpret_cast<PVOID>(0x10064), 4096), sizeof(MDL) + 2 * sizeof(PFN_NUMBER));
  EXPECT_EQ(MmSizeOfMdl(aligned, 0), sizeof(MDL));
}

TEST(Mdl, DescribesABufferCrossingPages) {
  PageBuffer buffer(4);
  char* start = buffer.base + 100;
  ULONG length = 2 * PAGE_SIZE + 50;  // touches pages 0, 1 and 2
  PMDL mdl = IoAllocateMdl(start, length, FALSE, FALSE, nullptr);
  ASSERT_NE(mdl, nullptr);
  EXPECT_EQ(mdl->Next, nullptr);
  EXPECT_EQ(mdl->StartVa, buffer.base);
  EXPECT_EQ(mdl->ByteOffset, 100u);
  EXPECT_EQ(mdl->ByteCount, length);
  EXPECT_EQ(MmGetMdlVirtualAddress(mdl), start);
  EXPECT_EQ(MmGetMdlByteCount(mdl), length);
  EXPECT_EQ(MmGetMdlByteOffset(mdl), 100u);
  EXPECT_EQ(static_cast<std::size_t>(mdl->Size), sizeof(MDL) + 3 * sizeof(PFN_NUMBER));
  EXPECT_TRUE(mm::isAllocatedMdl(mdl));

  MmBuildMdlForNonPagedPool(mdl);
  EXPECT_TRUE(mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
  PPFN_NUMBER frames = MmGetMdlPfnArray(mdl);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(frames[i], pageOf(buffer.base) + i);
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority | MdlMappingNoExecute), start);
  EXPECT_FALSE(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);  // nonpaged pool needs no mapping
  IoFreeMdl(mdl);
  EXPECT_FALSE(mm::isAllocatedMdl(mdl));
}

TEST(Mdl, ProbeLockMapUnlock) {
  PageBuffer buffer(2);
  PMDL mdl = IoAllocateMdl(buffer.base + 10, 5000, FALSE, FALSE, nullptr);
  MmProbeAndLockPages(mdl, KernelMode, IoWriteAccess);
  EXPECT_TRUE(mdl->MdlFlags & MDL_PAGES_LOCKED);
  EXPECT_TRUE(mdl->MdlFlags & MDL_WRITE_OPERATION);
  EXPECT_EQ(MmGetMdlPfnArray(mdl)[1], pageOf(buffer.base) + 1);
  PVOID system = MmGetSystemAddressForMdlSafe(mdl, HighPagePriority);
  EXPECT_EQ(system, buffer.base + 10);
  EXPECT_TRUE(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
  EXPECT_EQ(mdl->MappedSystemVa, system);
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, HighPagePriority), system);  // the existing mapping
  MmUnlockPages(mdl);  // also drops the mapping
  EXPECT_FALSE(mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA));
  IoFreeMdl(mdl);
}

TEST(Mdl, ExplicitMapAndUnmap) {
  PageBuffer buffer(1);
  PMDL mdl = IoAllocateMdl(buffer.base, 64, FALSE, FALSE, nullptr);
  MmProbeAndLockPages(mdl, KernelMode, IoReadAccess);
  EXPECT_FALSE(mdl->MdlFlags & MDL_WRITE_OPERATION);
  PVOID va = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, nullptr, FALSE, NormalPagePriority);
  EXPECT_EQ(va, buffer.base);
  MmUnmapLockedPages(va, mdl);
  EXPECT_FALSE(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
  EXPECT_EQ(MmMapLockedPagesSpecifyCache(mdl, UserMode, MmCached, nullptr, FALSE, NormalPagePriority), nullptr);
  MmUnlockPages(mdl);
  IoFreeMdl(mdl);
}

TEST(Mdl, LockingAndMappingRules) {
  RecordViolationsScope record;
  PageBuffer buffer(1);
  PMDL mdl = IoAllocateMdl(buffer.base, 100, FALSE, FALSE, nullptr);

  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), buffer.base);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "mdl.map-unlocked");
  MmUnmapLockedPages(buffer.base, mdl);

  MmUnlockPages(mdl);
  violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "mdl.unlock-not-locked");

  MmUnmapLockedPages(buffer.base, mdl);
  violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "mdl.unmap-not-mapped");

  MmProbeAndLockPages(mdl, KernelMode, IoReadAccess);
  MmProbeAndLockPages(mdl, KernelMode, IoReadAccess);
  violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "mdl.bad-lock");

  IoFreeMdl(mdl);  // still locked
  violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "mdl.free-locked");
}

TEST(Mdl, FreeingForeignOrFreedMdlsIsRefused) {
  RecordViolationsScope record;
  PageBuffer buffer(1);
  alignas(16) unsigned char storage[sizeof(MDL) + 2 * sizeof(PFN_NUMBER)];
  auto* own = reinterpret_cast<PMDL>(storage);
  MmInitializeMdl(own, buffer.base, 100);
  EXPECT_EQ(static_cast<std::size_t>(own->Size), sizeof(MDL) + sizeof(PFN_NUMBER));
  IoFreeMdl(own);
  PMDL mdl = IoAllocateMdl(buffer.base, 100, FALSE, FALSE, nullptr);
  IoFreeMdl(mdl);
  IoFreeMdl(mdl);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].rule, "mdl.bad-free");
  EXPECT_EQ(violations[1].rule, "mdl.bad-free");
  EXPECT_EQ(own->ByteCount, 100u);  // untouched
}

TEST(Mdl, IrpAttachmentAndSecondaryChains) {
  IRP irp{};
  PageBuffer buffer(1);
  PMDL first = IoAllocateMdl(buffer.base, 10, FALSE, FALSE, &irp);
  EXPECT_EQ(irp.MdlAddress, first);
  PMDL second = IoAllocateMdl(buffer.base + 10, 10, TRUE, FALSE, &irp);
  PMDL third = IoAllocateMdl(buffer.base + 20, 10, TRUE, FALSE, &irp);
  EXPECT_EQ(irp.MdlAddress, first);
  EXPECT_EQ(first->Next, second);
  EXPECT_EQ(second->Next, third);
  EXPECT_EQ(third->Next, nullptr);
  IRP empty{};
  PMDL secondaryOnly = IoAllocateMdl(buffer.base, 10, TRUE, FALSE, &empty);
  EXPECT_EQ(empty.MdlAddress, secondaryOnly);  // nothing to chain to: it becomes the first
  for (PMDL m : {first, second, third, secondaryOnly}) IoFreeMdl(m);
}

TEST(Mdl, PartialMdlOfALockedBuffer) {
  PageBuffer buffer(4);
  PMDL source = IoAllocateMdl(buffer.base + 200, 3 * PAGE_SIZE, FALSE, FALSE, nullptr);
  MmProbeAndLockPages(source, KernelMode, IoModifyAccess);
  char* subStart = buffer.base + 200 + 5000;  // page 1, offset 1104
  // Sized for the largest subrange it will describe below (three pages).
  PMDL partial = IoAllocateMdl(buffer.base, 3 * PAGE_SIZE, FALSE, FALSE, nullptr);
  IoBuildPartialMdl(source, partial, subStart, 3000);
  EXPECT_TRUE(partial->MdlFlags & MDL_PARTIAL);
  EXPECT_FALSE(partial->MdlFlags & MDL_PARENT_MAPPED_SYSTEM_VA);
  EXPECT_EQ(partial->StartVa, buffer.base + PAGE_SIZE);
  EXPECT_EQ(partial->ByteOffset, 1104u);
  EXPECT_EQ(partial->ByteCount, 3000u);
  // The partial MDL's pages are the matching slice of the source's page array.
  PPFN_NUMBER sourceFrames = MmGetMdlPfnArray(source);
  PPFN_NUMBER frames = MmGetMdlPfnArray(partial);
  EXPECT_EQ(frames[0], sourceFrames[1]);
  EXPECT_EQ(frames[1], sourceFrames[2]);

  // Its own mapping, released by MmPrepareMdlForReuse.
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(partial, NormalPagePriority), subStart);
  EXPECT_TRUE(partial->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED);
  MmPrepareMdlForReuse(partial);
  EXPECT_FALSE(partial->MdlFlags & (MDL_PARTIAL_HAS_BEEN_MAPPED | MDL_MAPPED_TO_SYSTEM_VA));

  // Length 0: the rest of the source.
  IoBuildPartialMdl(source, partial, subStart, 0);
  EXPECT_EQ(partial->ByteCount, 3 * PAGE_SIZE - 5000u);
  MmGetSystemAddressForMdlSafe(partial, NormalPagePriority);
  IoFreeMdl(partial);  // releases the partial mapping itself
  MmUnlockPages(source);
  IoFreeMdl(source);
}

TEST(Mdl, PartialMdlSharesAMappedParentsAddress) {
  PageBuffer buffer(2);
  PMDL source = IoAllocateMdl(buffer.base, 2 * PAGE_SIZE, FALSE, FALSE, nullptr);
  MmBuildMdlForNonPagedPool(source);
  PMDL partial = IoAllocateMdl(buffer.base + 4000, 200, FALSE, FALSE, nullptr);
  IoBuildPartialMdl(source, partial, buffer.base + 4000, 200);
  EXPECT_TRUE(partial->MdlFlags & MDL_PARENT_MAPPED_SYSTEM_VA);
  EXPECT_EQ(partial->MappedSystemVa, buffer.base + 4000);
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(partial, NormalPagePriority), buffer.base + 4000);
  EXPECT_FALSE(partial->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED);
  EXPECT_EQ(static_cast<std::size_t>(partial->Size) >= sizeof(MDL) + 2 * sizeof(PFN_NUMBER), true);
  IoFreeMdl(partial);
  IoFreeMdl(source);
}

TEST(Mdl, PartialMdlRules) {
  RecordViolationsScope record;
  PageBuffer buffer(4);
  PMDL source = IoAllocateMdl(buffer.base, 3 * PAGE_SIZE, FALSE, FALSE, nullptr);
  PMDL target = IoAllocateMdl(buffer.base, 3 * PAGE_SIZE, FALSE, FALSE, nullptr);

  IoBuildPartialMdl(source, target, buffer.base, 100);  // source never locked
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "mdl.partial-of-unlocked");

  MmBuildMdlForNonPagedPool(source);
  IoBuildPartialMdl(source, target, buffer.base + 3 * PAGE_SIZE - 10, 100);  // past the end
  IoBuildPartialMdl(source, target, buffer.base - 1, 10);                    // before the start
  violations = record.take();
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].rule, "mdl.partial-out-of-range");
  EXPECT_EQ(violations[1].rule, "mdl.partial-out-of-range");

  alignas(16) unsigned char storage[sizeof(MDL) + sizeof(PFN_NUMBER)];
  auto* small = reinterpret_cast<PMDL>(storage);
  MmInitializeMdl(small, buffer.base, 10);
  IoBuildPartialMdl(source, small, buffer.base + 4000, 200);  // spans two pages
  violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "mdl.target-too-small");
  EXPECT_EQ(violations[0].code, 0x40u);

  PMDL locked = IoAllocateMdl(buffer.base, PAGE_SIZE, FALSE, FALSE, nullptr);
  MmProbeAndLockPages(locked, KernelMode, IoReadAccess);
  IoBuildPartialMdl(locked, target, buffer.base, 10);
  MmGetSystemAddressForMdlSafe(target, NormalPagePriority);
  IoBuildPartialMdl(locked, target, buffer.base + 10, 10);  // without MmPrepareMdlForReuse
  violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "mdl.reuse-without-prepare");

  MmUnlockPages(locked);
  for (PMDL m : {source, target, locked}) IoFreeMdl(m);
}

TEST(Mdl, SmallMdlsAreRecycledAndLargeOnesWork) {
  PageBuffer buffer(40);
  PMDL small = IoAllocateMdl(buffer.base, 1500, FALSE, FALSE, nullptr);
  EXPECT_TRUE(small->MdlFlags & MDL_ALLOCATED_FIXED_SIZE);
  IoFreeMdl(small);
  auto before = mm::mdlStatistics();
  PMDL again = IoAllocateMdl(buffer.base + 7, 60000, FALSE, FALSE, nullptr);  // 15 pages: still small
  EXPECT_EQ(mm::mdlStatistics().cacheHits, before.cacheHits + 1);
  IoFreeMdl(again);

  PMDL large = IoAllocateMdl(buffer.base + 1, 39 * PAGE_SIZE, FALSE, FALSE, nullptr);
  ASSERT_NE(large, nullptr);
  EXPECT_FALSE(large->MdlFlags & MDL_ALLOCATED_FIXED_SIZE);
  MmBuildMdlForNonPagedPool(large);
  EXPECT_EQ(MmGetMdlPfnArray(large)[39], pageOf(buffer.base) + 39);
  IoFreeMdl(large);

  EXPECT_EQ(IoAllocateMdl(buffer.base, 0xFFFFF001u, FALSE, FALSE, nullptr), nullptr);  // over 4 GB - PAGE_SIZE
}

TEST(Mdl, AllocatedMdlsAreInTheLedger) {
  PageBuffer buffer(1);
  auto before = ledgerCount(nullptr, ResourceKind::Mdl);
  PMDL mdl = IoAllocateMdl(buffer.base, 10, FALSE, FALSE, nullptr);
  EXPECT_EQ(ledgerCount(nullptr, ResourceKind::Mdl), before + 1);
  IoFreeMdl(mdl);
  EXPECT_EQ(ledgerCount(nullptr, ResourceKind::Mdl), before);
}
