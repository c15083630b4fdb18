// Memory descriptor lists.
//
// The process is one always-resident address space, so an MDL's "physical" pages are its
// virtual pages: the page frame array holds address >> PAGE_SHIFT, the system address of
// a mapping is the buffer's own address, and locking cannot fail. What Windows would
// track in page tables is tracked in MdlFlags exactly as documented, and the rules around
// it are checked: mapping or building a partial MDL over pages nobody locked, unlocking
// twice, freeing an MDL that IoAllocateMdl did not return, freeing one still locked.
//
// IoAllocateMdl blocks carry a header (LedgerEntry: the MDL is charged to the calling
// driver and reported if it leaks) and small ones are recycled through a bounded cache.
#include "nt/mm/mdl.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include <fmt/format.h>

#include "nt/ex/current_irql.hpp"
#include "nt/ex/pointer_set.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/log.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::mm {
namespace {

// TARGET_MDL_TOO_SMALL: IoBuildPartialMdl's target cannot hold the subrange's pages.
constexpr std::uint32_t kTargetMdlTooSmall = 0x40;
// The largest buffer one MDL may describe (Windows 7 and later): 4 GB - PAGE_SIZE.
constexpr std::uint64_t kLargestMdlBuffer = 0x100000000ULL - PAGE_SIZE;
constexpr std::size_t kCacheDepth = 256;

struct alignas(MEMORY_ALLOCATION_ALIGNMENT) MdlHeader {
  LedgerEntry ledger;
  std::size_t capacityPages = 0;
  PMDL mdl() { return reinterpret_cast<PMDL>(this + 1); }
};
static_assert(sizeof(MdlHeader) % MEMORY_ALLOCATION_ALIGNMENT == 0);

MdlHeader* headerOf(const MDL* mdl) { return reinterpret_cast<MdlHeader*>(const_cast<MDL*>(mdl)) - 1; }

std::size_t blockBytes(std::size_t pages) { return sizeof(MdlHeader) + sizeof(MDL) + pages * sizeof(PFN_NUMBER); }

struct Allocator {
  std::mutex lock;
  PointerSet live;
  std::vector<void*> cache;  // free blocks of kCachedMdlPages capacity
  std::size_t cacheHits = 0;
  std::size_t allocations = 0;
  Allocator() { cache.reserve(kCacheDepth); }
  ~Allocator() {
    for (void* block : cache) std::free(block);
  }
};

Allocator& allocator() {
  static Allocator instance;
  return instance;
}

PFN_NUMBER pageNumber(const void* address) { return reinterpret_cast<ULONG_PTR>(address) >> PAGE_SHIFT; }

// Fills the page frame array with the pages the MDL's buffer spans.
void fillPageArray(PMDL mdl) {
  PVOID start = MmGetMdlVirtualAddress(mdl);
  ULONG pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(start, mdl->ByteCount);
  PPFN_NUMBER frames = MmGetMdlPfnArray(mdl);
  PFN_NUMBER first = pageNumber(mdl->StartVa);
  for (ULONG i = 0; i < pages; ++i) frames[i] = first + i;
}

std::uint64_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

void checkIrql(KIRQL limit, const char* routine, const void* caller) {
  KIRQL irql = currentIrqlOrPassive();
  if (irql > limit) {
    reportViolation({"irql.too-high", bugcheck::IrqlNotLessOrEqual, 0, irql, 0, address(caller)}, caller,
                    fmt::format("{} called at IRQL {} (limit {})", routine, irql, limit));
  }
}

void reportMdl(std::string_view rule, std::uint32_t code, const MDL* mdl, const void* caller, std::string detail) {
  reportViolation({rule, code, address(mdl), static_cast<std::uint16_t>(mdl->MdlFlags), mdl->ByteCount,
                   address(MmGetMdlVirtualAddress(mdl))},
                  caller, std::move(detail));
}

// Drops a mapping the MDL owns (not one it borrows from its parent).
void unmap(PMDL mdl) {
  mdl->MdlFlags &= ~(MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED);
}

PVOID mapLocked(PMDL mdl, KPROCESSOR_MODE accessMode, const void* caller) {
  checkIrql(DISPATCH_LEVEL, "MmMapLockedPagesSpecifyCache", caller);
  if (accessMode != KernelMode) {
    // Mapping into a user process has no meaning in ndishost; say so instead of pretending.
    logger("nt").error("{}: MmMapLockedPagesSpecifyCache(UserMode) is not supported by ndishost",
                       describeCaller(caller));
    return nullptr;
  }
  if ((mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARENT_MAPPED_SYSTEM_VA)) != 0) return mdl->MappedSystemVa;
  constexpr CSHORT kDescribesLockedPages = MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL;
  if ((mdl->MdlFlags & kDescribesLockedPages) == 0) {
    reportMdl("mdl.map-unlocked", bugcheck::DriverVerifierDetectedViolation, mdl, caller,
              fmt::format("MDL {} is mapped but its pages were never locked (MmProbeAndLockPages) or built for "
                          "nonpaged pool (MmBuildMdlForNonPagedPool)",
                          static_cast<const void*>(mdl)));
  }
  mdl->MappedSystemVa = MmGetMdlVirtualAddress(mdl);
  mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
  if ((mdl->MdlFlags & MDL_PARTIAL) != 0) mdl->MdlFlags |= MDL_PARTIAL_HAS_BEEN_MAPPED;
  return mdl->MappedSystemVa;
}

}  // namespace

PMDL allocateMdl(PVOID virtualAddress, ULONG length, bool secondaryBuffer, PIRP irp, const void* caller) {
  checkIrql(DISPATCH_LEVEL, "IoAllocateMdl", caller);
  if (length > kLargestMdlBuffer) return nullptr;
  std::size_t pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(virtualAddress, length);
  bool small = pages <= kCachedMdlPages;
  std::size_t capacity = small ? kCachedMdlPages : pages;

  auto& a = allocator();
  void* block = nullptr;
  if (small) {
    std::lock_guard guard(a.lock);
    if (!a.cache.empty()) {
      block = a.cache.back();
      a.cache.pop_back();
      ++a.cacheHits;
    }
  }
  if (block == nullptr) {
    std::size_t bytes = (blockBytes(capacity) + MEMORY_ALLOCATION_ALIGNMENT - 1) & ~std::size_t(MEMORY_ALLOCATION_ALIGNMENT - 1);
    block = std::aligned_alloc(MEMORY_ALLOCATION_ALIGNMENT, bytes);
    if (block == nullptr) return nullptr;
  }

  auto* header = new (block) MdlHeader;
  header->capacityPages = capacity;
  PMDL mdl = header->mdl();
  MmInitializeMdl(mdl, virtualAddress, length);
  if (small) mdl->MdlFlags |= MDL_ALLOCATED_FIXED_SIZE;
  mdl->Process = nullptr;
  mdl->MappedSystemVa = nullptr;

  header->ledger.kind = ResourceKind::Mdl;
  header->ledger.object = mdl;
  header->ledger.callSite = caller;
  header->ledger.size = length;
  ledgerAdd(header->ledger);
  {
    std::lock_guard guard(a.lock);
    a.live.insert(mdl);
    ++a.allocations;
  }

  if (irp != nullptr) {
    if (secondaryBuffer && irp->MdlAddress != nullptr) {
      PMDL last = irp->MdlAddress;
      while (last->Next != nullptr) last = last->Next;
      last->Next = mdl;
    } else {
      irp->MdlAddress = mdl;
    }
  }
  return mdl;
}

void freeMdl(PMDL mdl, const void* caller) {
  checkIrql(DISPATCH_LEVEL, "IoFreeMdl", caller);
  auto& a = allocator();
  bool ours;
  {
    std::lock_guard guard(a.lock);
    ours = a.live.erase(mdl);
  }
  if (!ours) {
    reportViolation({"mdl.bad-free", bugcheck::DriverVerifierDetectedViolation, address(mdl)}, caller,
                    fmt::format("IoFreeMdl({}): not an MDL from IoAllocateMdl, or freed already",
                                static_cast<const void*>(mdl)));
    return;
  }
  if ((mdl->MdlFlags & MDL_PAGES_LOCKED) != 0) {
    reportMdl("mdl.free-locked", bugcheck::DriverVerifierDetectedViolation, mdl, caller,
              fmt::format("MDL {} freed while its pages are still locked (MmUnlockPages was not called)",
                          static_cast<const void*>(mdl)));
  }
  // IoFreeMdl releases a partial MDL's own mapping, as documented.
  if ((mdl->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED) != 0) unmap(mdl);

  MdlHeader* header = headerOf(mdl);
  ledgerRemove(header->ledger);
  bool recycle = header->capacityPages == kCachedMdlPages;
  std::memset(static_cast<void*>(mdl), 0xDF, sizeof(MDL));  // expose use after free
  header->~MdlHeader();
  if (recycle) {
    std::lock_guard guard(a.lock);
    if (a.cache.size() < kCacheDepth) {
      a.cache.push_back(header);
      return;
    }
  }
  std::free(header);
}

bool isAllocatedMdl(const MDL* mdl) {
  auto& a = allocator();
  std::lock_guard guard(a.lock);
  return a.live.contains(mdl);
}

MdlStatistics mdlStatistics() {
  auto& a = allocator();
  std::lock_guard guard(a.lock);
  return {a.live.size(), a.cache.size(), a.cacheHits, a.allocations};
}

}  // namespace ndishost::nt::mm

using namespace ndishost::nt;
using namespace ndishost::nt::mm;

extern "C" {

// IRQL <= DISPATCH_LEVEL.
PMDL NTAPI IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota, PIRP Irp) {
  (void)ChargeQuota;  // reserved; drivers pass FALSE
  return allocateMdl(VirtualAddress, Length, SecondaryBuffer != FALSE, Irp, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI IoFreeMdl(PMDL Mdl) { freeMdl(Mdl, __builtin_return_address(0)); }

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length) {
  const void* caller = __builtin_return_address(0);
  checkIrql(DISPATCH_LEVEL, "IoBuildPartialMdl", caller);
  auto* sourceStart = static_cast<PCHAR>(MmGetMdlVirtualAddress(SourceMdl));
  auto* start = static_cast<PCHAR>(VirtualAddress);
  std::uint64_t offset = static_cast<std::uint64_t>(start - sourceStart);
  if (start < sourceStart || offset > SourceMdl->ByteCount) {
    reportMdl("mdl.partial-out-of-range", bugcheck::DriverVerifierDetectedViolation, SourceMdl, caller,
              fmt::format("IoBuildPartialMdl: {} is outside the source MDL's buffer {} + {:#x}", VirtualAddress,
                          static_cast<const void*>(sourceStart), SourceMdl->ByteCount));
    return;
  }
  if (Length == 0) Length = static_cast<ULONG>(SourceMdl->ByteCount - offset);
  if (offset + Length > SourceMdl->ByteCount) {
    reportMdl("mdl.partial-out-of-range", bugcheck::DriverVerifierDetectedViolation, SourceMdl, caller,
              fmt::format("IoBuildPartialMdl: {:#x} bytes at offset {:#x} run past the source MDL's {:#x} bytes",
                          Length, offset, SourceMdl->ByteCount));
    return;
  }
  std::size_t pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(VirtualAddress, Length);
  if (static_cast<std::size_t>(TargetMdl->Size) < sizeof(MDL) + pages * sizeof(PFN_NUMBER)) {
    reportViolation({"mdl.target-too-small", kTargetMdlTooSmall, address(SourceMdl), address(TargetMdl),
                     pages, static_cast<std::uint64_t>(TargetMdl->Size)},
                    caller,
                    fmt::format("IoBuildPartialMdl: target MDL of {} bytes cannot describe {} pages", TargetMdl->Size,
                                pages));
    return;
  }
  constexpr CSHORT kDescribesLockedPages =
      MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL | MDL_MAPPED_TO_SYSTEM_VA;
  if ((SourceMdl->MdlFlags & kDescribesLockedPages) == 0) {
    reportMdl("mdl.partial-of-unlocked", bugcheck::DriverVerifierDetectedViolation, SourceMdl, caller,
              fmt::format("IoBuildPartialMdl: the source MDL {} describes pages that were never locked",
                          static_cast<const void*>(SourceMdl)));
  }
  if ((TargetMdl->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED) != 0) {
    reportMdl("mdl.reuse-without-prepare", bugcheck::DriverVerifierDetectedViolation, TargetMdl, caller,
              fmt::format("IoBuildPartialMdl: target MDL {} still holds its previous mapping "
                          "(MmPrepareMdlForReuse was not called)",
                          static_cast<const void*>(TargetMdl)));
  }

  TargetMdl->MdlFlags &= (MDL_ALLOCATED_FIXED_SIZE | MDL_ALLOCATED_MUST_SUCCEED);
  TargetMdl->MdlFlags |= MDL_PARTIAL | (SourceMdl->MdlFlags & (MDL_IO_SPACE | MDL_WRITE_OPERATION));
  TargetMdl->Process = SourceMdl->Process;
  TargetMdl->StartVa = PAGE_ALIGN(VirtualAddress);
  TargetMdl->ByteOffset = BYTE_OFFSET(VirtualAddress);
  TargetMdl->ByteCount = Length;
  TargetMdl->MappedSystemVa = nullptr;
  // A partial MDL shares its parent's mapping when the parent has one.
  if ((SourceMdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) != 0) {
    TargetMdl->MdlFlags |= MDL_PARENT_MAPPED_SYSTEM_VA;
    TargetMdl->MappedSystemVa = static_cast<PCHAR>(SourceMdl->MappedSystemVa) + offset;
  }
  fillPageArray(TargetMdl);
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList) {
  const void* caller = __builtin_return_address(0);
  checkIrql(DISPATCH_LEVEL, "MmBuildMdlForNonPagedPool", caller);
  if ((MemoryDescriptorList->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL)) != 0) {
    reportMdl("mdl.bad-build", bugcheck::DriverVerifierDetectedViolation, MemoryDescriptorList, caller,
              "MmBuildMdlForNonPagedPool on an MDL that is locked, mapped or partial");
  }
  fillPageArray(MemoryDescriptorList);
  MemoryDescriptorList->MappedSystemVa = MmGetMdlVirtualAddress(MemoryDescriptorList);
  MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

// Any IRQL.
SIZE_T NTAPI MmSizeOfMdl(PVOID Base, SIZE_T Length) {
  return sizeof(MDL) + sizeof(PFN_NUMBER) * static_cast<SIZE_T>(ADDRESS_AND_SIZE_TO_SPAN_PAGES(Base, Length));
}

// IRQL <= APC_LEVEL for pageable buffers, <= DISPATCH_LEVEL for nonpaged ones; ndishost
// cannot tell them apart and checks DISPATCH_LEVEL.
VOID NTAPI MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation) {
  (void)AccessMode;
  const void* caller = __builtin_return_address(0);
  checkIrql(DISPATCH_LEVEL, "MmProbeAndLockPages", caller);
  if ((MemoryDescriptorList->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL)) != 0) {
    reportMdl("mdl.bad-lock", bugcheck::DriverVerifierDetectedViolation, MemoryDescriptorList, caller,
              fmt::format("MmProbeAndLockPages on MDL {} which is already locked, built for nonpaged pool or "
                          "partial",
                          static_cast<const void*>(MemoryDescriptorList)));
  }
  fillPageArray(MemoryDescriptorList);
  MemoryDescriptorList->MdlFlags |= MDL_PAGES_LOCKED;
  if (Operation != IoReadAccess) MemoryDescriptorList->MdlFlags |= MDL_WRITE_OPERATION;
}

// IRQL <= DISPATCH_LEVEL. Also drops the MDL's system mapping, as on Windows.
VOID NTAPI MmUnlockPages(PMDL MemoryDescriptorList) {
  const void* caller = __builtin_return_address(0);
  checkIrql(DISPATCH_LEVEL, "MmUnlockPages", caller);
  if ((MemoryDescriptorList->MdlFlags & MDL_PAGES_LOCKED) == 0) {
    reportMdl("mdl.unlock-not-locked", bugcheck::DriverVerifierDetectedViolation, MemoryDescriptorList, caller,
              fmt::format("MmUnlockPages on MDL {} whose pages are not locked",
                          static_cast<const void*>(MemoryDescriptorList)));
    return;
  }
  if ((MemoryDescriptorList->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) != 0) unmap(MemoryDescriptorList);
  MemoryDescriptorList->MdlFlags &= ~(MDL_PAGES_LOCKED | MDL_WRITE_OPERATION);
}

// IRQL <= DISPATCH_LEVEL (KernelMode). The Priority flags MdlMappingNoWrite and
// MdlMappingNoExecute are accepted; the mapping is the buffer itself, so they protect
// nothing. CacheType does not apply to ordinary memory.
PVOID NTAPI MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                         MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                         ULONG BugCheckOnFailure, ULONG Priority) {
  (void)CacheType, (void)RequestedAddress, (void)BugCheckOnFailure, (void)Priority;
  return mapLocked(MemoryDescriptorList, AccessMode, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL (KernelMode).
PVOID NTAPI MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode) {
  return mapLocked(MemoryDescriptorList, AccessMode, __builtin_return_address(0));
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList) {
  const void* caller = __builtin_return_address(0);
  checkIrql(DISPATCH_LEVEL, "MmUnmapLockedPages", caller);
  if ((MemoryDescriptorList->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0 ||
      BaseAddress != MemoryDescriptorList->MappedSystemVa) {
    reportMdl("mdl.unmap-not-mapped", bugcheck::DriverVerifierDetectedViolation, MemoryDescriptorList, caller,
              fmt::format("MmUnmapLockedPages({}, MDL {}): the MDL has no mapping at that address", BaseAddress,
                          static_cast<const void*>(MemoryDescriptorList)));
    return;
  }
  unmap(MemoryDescriptorList);
}

}  // extern "C"
