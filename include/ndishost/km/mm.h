/*
 * ndishost/km/mm.h -- memory-manager part of <wdm.h>: memory descriptor lists (MDLs) and
 * the page arithmetic that goes with them. The Io* MDL routines are declared here too.
 *
 * ndishost runs in one user-space address space that is always resident: the "system
 * address" of an MDL is the buffer's own address, and the page frame array that follows
 * an MDL holds virtual page numbers (address >> PAGE_SHIFT), so partial MDLs and
 * MmGetMdlPfnArray stay consistent with the documented arithmetic. Locking and mapping
 * are recorded in MdlFlags exactly as documented and checked (docs/CHECKS.md).
 * Written for ndishost from the DDI reference. Included by <wdm.h>.
 */
#ifndef NDISHOST_KM_MM_H
#define NDISHOST_KM_MM_H

#include <ndishost/km/wdm_types.h>

NDISHOST_EXTERN_C_BEGIN

typedef ULONG_PTR PFN_NUMBER, *PPFN_NUMBER;

typedef enum _LOCK_OPERATION { IoReadAccess, IoWriteAccess, IoModifyAccess } LOCK_OPERATION;

typedef enum _MEMORY_CACHING_TYPE_ORIG { MmFrameBufferCached = 2 } MEMORY_CACHING_TYPE_ORIG;
typedef enum _MEMORY_CACHING_TYPE {
  MmNonCached = FALSE,
  MmCached = TRUE,
  MmWriteCombined = MmFrameBufferCached,
  MmHardwareCoherentCached,
  MmNonCachedUnordered,
  MmUSWCCached,
  MmMaximumCacheType,
  MmNotMapped = -1
} MEMORY_CACHING_TYPE;

typedef enum _MM_PAGE_PRIORITY { LowPagePriority, NormalPagePriority = 16, HighPagePriority = 32 } MM_PAGE_PRIORITY;
/* Flags ORed into an MM_PAGE_PRIORITY argument. */
#define MdlMappingNoWrite 0x80000000
#define MdlMappingNoExecute 0x40000000

/* ---- page arithmetic ----------------------------------------------------------------- */
#define BYTE_OFFSET(Va) ((ULONG)((LONG_PTR)(Va) & (PAGE_SIZE - 1)))
#define PAGE_ALIGN(Va) ((PVOID)((ULONG_PTR)(Va) & ~((ULONG_PTR)PAGE_SIZE - 1)))
#define ROUND_TO_PAGES(Size) (((ULONG_PTR)(Size) + PAGE_SIZE - 1) & ~((ULONG_PTR)PAGE_SIZE - 1))
#define BYTES_TO_PAGES(Size) (((Size) >> PAGE_SHIFT) + (((Size) & (PAGE_SIZE - 1)) != 0))
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size) \
  ((ULONG)((((ULONG_PTR)(Size)) >> PAGE_SHIFT) + ((BYTE_OFFSET(Va) + ((ULONG_PTR)(Size) & (PAGE_SIZE - 1)) + (PAGE_SIZE - 1)) >> PAGE_SHIFT)))
#define COMPUTE_PAGES_SPANNED(Va, Size) ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size)

/* ---- MDL accessors (macros in the WDK) ------------------------------------------------ */
#define MmGetMdlPfnArray(Mdl) ((PPFN_NUMBER)((Mdl) + 1))
#define MmGetMdlVirtualAddress(Mdl) ((PVOID)((PCHAR)((Mdl)->StartVa) + (Mdl)->ByteOffset))
#define MmGetMdlByteCount(Mdl) ((Mdl)->ByteCount)
#define MmGetMdlByteOffset(Mdl) ((Mdl)->ByteOffset)
#define MmGetMdlBaseVa(Mdl) ((Mdl)->StartVa)

/* Prepares caller-provided storage of at least MmSizeOfMdl(BaseVa, Length) bytes. */
#define MmInitializeMdl(MemoryDescriptorList, BaseVa, Length)                                           \
  do {                                                                                                  \
    (MemoryDescriptorList)->Next = (PMDL)NULL;                                                          \
    (MemoryDescriptorList)->Size =                                                                      \
        (CSHORT)(sizeof(MDL) + (sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES((BaseVa), (Length)))); \
    (MemoryDescriptorList)->MdlFlags = 0;                                                               \
    (MemoryDescriptorList)->StartVa = (PVOID)PAGE_ALIGN((BaseVa));                                      \
    (MemoryDescriptorList)->ByteOffset = BYTE_OFFSET((BaseVa));                                         \
    (MemoryDescriptorList)->ByteCount = (ULONG)(Length);                                                \
  } while (0)

/* ---- routines ----------------------------------------------------------------------- */
/* <= DISPATCH_LEVEL. Attaches to Irp->MdlAddress (SecondaryBuffer FALSE) or the end of its
 * chain (TRUE). Tracked per driver (leaks reported at unload). Length < 4 GB - PAGE_SIZE. */
NTKERNELAPI PMDL NTAPI IoAllocateMdl(_In_opt_ __drv_aliasesMem PVOID VirtualAddress, _In_ ULONG Length,
                                     _In_ BOOLEAN SecondaryBuffer, _In_ BOOLEAN ChargeQuota, _Inout_opt_ PIRP Irp);
/* <= DISPATCH_LEVEL. Only MDLs from IoAllocateMdl ("mdl.bad-free" otherwise); releases a
 * partial MDL's mapping. */
NTKERNELAPI VOID NTAPI IoFreeMdl(PMDL Mdl);
/* <= DISPATCH_LEVEL. Length 0 means "to the end of the source". */
NTKERNELAPI VOID NTAPI IoBuildPartialMdl(_In_ PMDL SourceMdl, _Inout_ PMDL TargetMdl,
                                         _Inout_ PVOID VirtualAddress, _In_ ULONG Length);

/* <= DISPATCH_LEVEL. Fills the page array and marks MDL_SOURCE_IS_NONPAGED_POOL. */
NTKERNELAPI VOID NTAPI MmBuildMdlForNonPagedPool(_Inout_ PMDL MemoryDescriptorList);
/* Any IRQL. */
NTKERNELAPI SIZE_T NTAPI MmSizeOfMdl(_In_reads_bytes_opt_(Length) PVOID Base, _In_ SIZE_T Length);
/* <= APC_LEVEL (<= DISPATCH_LEVEL for nonpaged buffers). Records MDL_PAGES_LOCKED. */
NTKERNELAPI VOID NTAPI MmProbeAndLockPages(_Inout_ PMDL MemoryDescriptorList, _In_ KPROCESSOR_MODE AccessMode,
                                           _In_ LOCK_OPERATION Operation);
/* <= DISPATCH_LEVEL. Unlocking an MDL that is not locked is "mdl.unlock-not-locked". */
NTKERNELAPI VOID NTAPI MmUnlockPages(_Inout_ PMDL MemoryDescriptorList);
/* KernelMode only (UserMode mappings are not supported: "mdl.user-mapping"). */
NTKERNELAPI PVOID NTAPI MmMapLockedPagesSpecifyCache(_Inout_ PMDL MemoryDescriptorList, _In_ KPROCESSOR_MODE AccessMode,
                                                     _In_ MEMORY_CACHING_TYPE CacheType, _In_opt_ PVOID RequestedAddress,
                                                     _In_ ULONG BugCheckOnFailure, _In_ ULONG Priority);
NTKERNELAPI PVOID NTAPI MmMapLockedPages(_Inout_ PMDL MemoryDescriptorList, _In_ KPROCESSOR_MODE AccessMode);
NTKERNELAPI VOID NTAPI MmUnmapLockedPages(_In_ PVOID BaseAddress, _Inout_ PMDL MemoryDescriptorList);

/* <= DISPATCH_LEVEL. The mapping of a nonpaged-pool or already mapped MDL, else a new one. */
FORCEINLINE PVOID MmGetSystemAddressForMdlSafe(_Inout_ PMDL Mdl, _In_ ULONG Priority) {
  if (Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) {
    return Mdl->MappedSystemVa;
  }
  return MmMapLockedPagesSpecifyCache(Mdl, KernelMode, MmCached, NULL, FALSE, Priority);
}

/* Deprecated form: maps with BugCheckOnFailure semantics. */
FORCEINLINE PVOID MmGetSystemAddressForMdl(_Inout_ PMDL Mdl) {
  if (Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) {
    return Mdl->MappedSystemVa;
  }
  return MmMapLockedPages(Mdl, KernelMode);
}

/* Releases a partial MDL's own mapping so the MDL can be rebuilt by IoBuildPartialMdl. */
FORCEINLINE VOID MmPrepareMdlForReuse(_Inout_ PMDL Mdl) {
  if ((Mdl->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED) != 0) {
    MmUnmapLockedPages(Mdl->MappedSystemVa, Mdl);
  }
}

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_KM_MM_H */
