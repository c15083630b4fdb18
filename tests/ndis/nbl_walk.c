/*
 * nbl_walk.c -- the NET_BUFFER/NET_BUFFER_LIST accessor macros used from C, the way a C
 * miniport uses them: build an NBL chain by hand over real MDLs, walk it, and read the
 * out-of-band information back. Called from nbl_macros_test.cpp.
 */
#define NDIS_MINIPORT_DRIVER 1
#define NDIS680_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>

#include "nbl_walk.h"

void nbl_walk_build(struct nbl_walk_fixture *f) {
  NdisZeroMemory(f, sizeof(*f));
  for (int i = 0; i < NBL_WALK_MDLS; ++i) {
    NdisFillMemory(f->data[i], sizeof(f->data[i]), (UCHAR)(0x10 + i));
    PMDL mdl = &f->mdl[i].mdl;
    mdl->Size = (CSHORT)sizeof(f->mdl[i]);
    mdl->MdlFlags = MDL_SOURCE_IS_NONPAGED_POOL;
    mdl->StartVa = (PVOID)((ULONG_PTR)f->data[i] & ~(ULONG_PTR)(PAGE_SIZE - 1));
    mdl->ByteOffset = BYTE_OFFSET(f->data[i]);
    mdl->ByteCount = sizeof(f->data[i]);
    mdl->MappedSystemVa = f->data[i];
    mdl->Next = (i + 1 < NBL_WALK_MDLS) ? &f->mdl[i + 1].mdl : NULL;
  }
  /* 3 NBLs x 2 NBs; every NB covers the MDL chain from DataOffset 4 + nb for 100 + nb bytes. */
  for (int l = 0; l < NBL_WALK_NBLS; ++l) {
    PNET_BUFFER_LIST nbl = &f->nbl[l];
    NET_BUFFER_LIST_NEXT_NBL(nbl) = (l + 1 < NBL_WALK_NBLS) ? &f->nbl[l + 1] : NULL;
    NET_BUFFER_LIST_FIRST_NB(nbl) = &f->nb[l][0];
    for (int b = 0; b < NBL_WALK_NBS; ++b) {
      PNET_BUFFER nb = &f->nb[l][b];
      NET_BUFFER_NEXT_NB(nb) = (b + 1 < NBL_WALK_NBS) ? &f->nb[l][b + 1] : NULL;
      NET_BUFFER_FIRST_MDL(nb) = &f->mdl[0].mdl;
      NET_BUFFER_CURRENT_MDL(nb) = &f->mdl[0].mdl;
      NET_BUFFER_DATA_OFFSET(nb) = 4 + (ULONG)b;
      NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 4 + (ULONG)b;
      NET_BUFFER_DATA_LENGTH(nb) = 100 + (ULONG)b;
    }
  }
}

struct nbl_walk_result nbl_walk_count(PNET_BUFFER_LIST first) {
  struct nbl_walk_result r = {0, 0, 0};
  for (PNET_BUFFER_LIST nbl = first; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    ++r.nbls;
    for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != NULL; nb = NET_BUFFER_NEXT_NB(nb)) {
      ++r.nbs;
      r.bytes += NET_BUFFER_DATA_LENGTH(nb);
    }
  }
  return r;
}

/* Reads the first data byte of a NET_BUFFER through CurrentMdl/CurrentMdlOffset. */
UCHAR nbl_walk_first_byte(PNET_BUFFER nb) {
  PMDL mdl = NET_BUFFER_CURRENT_MDL(nb);
  ULONG offset = NET_BUFFER_CURRENT_MDL_OFFSET(nb);
  while (mdl != NULL && offset >= MmGetMdlByteCount(mdl)) {
    offset -= MmGetMdlByteCount(mdl);
    NdisGetNextMdl(mdl, &mdl);
  }
  return mdl == NULL ? 0 : ((PUCHAR)MmGetMdlVirtualAddress(mdl))[offset];
}

/* Writes send-side out-of-band data the way a protocol would; the C++ side reads it back. */
void nbl_walk_set_info(PNET_BUFFER_LIST nbl) {
  NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO csum;
  csum.Value = NULL;
  csum.Transmit.IsIPv4 = 1;
  csum.Transmit.TcpChecksum = 1;
  csum.Transmit.TcpHeaderOffset = 34;
  NET_BUFFER_LIST_INFO(nbl, TcpIpChecksumNetBufferListInfo) = csum.Value;

  NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO lso;
  lso.Value = NULL;
  lso.LsoV2Transmit.Type = NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE;
  lso.LsoV2Transmit.MSS = 1448;
  lso.LsoV2Transmit.TcpHeaderOffset = 34;
  lso.LsoV2Transmit.IPVersion = NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4;
  NET_BUFFER_LIST_INFO(nbl, TcpLargeSendNetBufferListInfo) = lso.Value;

  NDIS_NET_BUFFER_LIST_8021Q_INFO tag;
  tag.Value = NULL;
  tag.TagHeader.VlanId = 42;
  tag.TagHeader.UserPriority = 5;
  NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo) = tag.Value;

  NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(nbl, (ULONG_PTR)0xAB000001u);
  NET_BUFFER_LIST_SET_HASH_VALUE(nbl, 0x12345678u);
  NET_BUFFER_LIST_SET_HASH_TYPE(nbl, NDIS_HASH_TCP_IPV4);
  NET_BUFFER_LIST_SET_HASH_FUNCTION(nbl, NdisHashFunctionToeplitz);
  NdisSetNetBufferListProtocolId(nbl, NDIS_PROTOCOL_ID_TCP_IP);
  NdisSetNblFlag(nbl, NDIS_NBL_FLAGS_IS_IPV4 | NDIS_NBL_FLAGS_IS_TCP);
  NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
}
