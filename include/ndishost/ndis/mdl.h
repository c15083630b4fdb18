/*
 * ndishost/ndis/mdl.h -- the MDL helpers NDIS 6 drivers use on NET_BUFFER data: NDIS-pool
 * MDL allocation (NdisAllocateMdl/NdisFreeMdl) and the NdisQueryMdl family of macros over
 * the kernel's Mm* accessors.
 *
 * Included by <ndis.h>; not meant to be included on its own.
 */
#ifndef NDISHOST_NDIS_MDL_H
#define NDISHOST_NDIS_MDL_H

NDISHOST_EXTERN_C_BEGIN

/* IRQL <= DISPATCH_LEVEL. NdisHandle is any NDIS handle the caller owns (a miniport
 * adapter handle, a protocol binding handle, ...); the MDL maps VirtualAddress..+Length. */
PMDL NTAPI NdisAllocateMdl(_In_ NDIS_HANDLE NdisHandle, _In_reads_bytes_(Length) PVOID VirtualAddress, _In_ UINT Length);
/* IRQL <= DISPATCH_LEVEL. Frees an MDL from NdisAllocateMdl only. */
VOID NTAPI NdisFreeMdl(_In_ PMDL Mdl);

/* Next MDL in a chain. */
#define NDIS_MDL_LINKAGE(_Mdl) ((_Mdl)->Next)
#define NdisGetNextMdl(_CurrentMdl, _NextMdl) \
  do {                                        \
    *(_NextMdl) = (_CurrentMdl)->Next;        \
  } while (0)

/* System address (mapped at _Priority; NULL if mapping fails) and byte count of an MDL. */
#define NdisQueryMdl(_Mdl, _VirtualAddress, _Length, _Priority)                                  \
  do {                                                                                           \
    if ((_VirtualAddress) != NULL) {                                                             \
      *(PVOID *)(_VirtualAddress) = MmGetSystemAddressForMdlSafe((_Mdl), (_Priority));           \
    }                                                                                            \
    *(_Length) = MmGetMdlByteCount(_Mdl);                                                        \
  } while (0)

#define NdisQueryMdlOffset(_Mdl, _Offset, _Length) \
  do {                                             \
    *(_Offset) = MmGetMdlByteOffset(_Mdl);         \
    *(_Length) = MmGetMdlByteCount(_Mdl);          \
  } while (0)

#define NDIS_MDL_TO_SPAN_PAGES(_Mdl)                                                        \
  (MmGetMdlByteCount(_Mdl) == 0 ? 1                                                         \
                                : ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(_Mdl), \
                                                                 MmGetMdlByteCount(_Mdl)))
#define NdisGetMdlPhysicalArraySize(_Mdl, _ArraySize) (*(_ArraySize) = NDIS_MDL_TO_SPAN_PAGES(_Mdl))
#define NdisAdjustMdlLength(_Mdl, _Length) ((_Mdl)->ByteCount = (_Length))

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_NDIS_MDL_H */
