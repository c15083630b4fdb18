// The <ndis.h> accessor and helper macros exercised on real structures from C++ (and,
// through nbl_walk.c, from C): walking a hand-built NBL chain, out-of-band information,
// NBL flags, context space, MDL helpers, memory and list helpers, version macros.
//
// The C++ library headers come first: <sal.h> (included by <ndis.h>) defines the legacy
// annotation __in as nothing, which libstdc++ uses as a parameter name.
#include <gtest/gtest.h>

#include <memory>

#define NDIS_MINIPORT_DRIVER 1
#define NDIS680_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>

#include "nbl_walk.h"

namespace {

class NblChain : public ::testing::Test {
 protected:
  void SetUp() override { nbl_walk_build(fixture_.get()); }
  std::unique_ptr<nbl_walk_fixture> fixture_ = std::make_unique<nbl_walk_fixture>();
};

TEST_F(NblChain, CWalkCountsEveryListBufferAndByte) {
  const nbl_walk_result r = nbl_walk_count(&fixture_->nbl[0]);
  EXPECT_EQ(r.nbls, 3u);
  EXPECT_EQ(r.nbs, 6u);
  EXPECT_EQ(r.bytes, 3u * (100u + 101u));
}

TEST_F(NblChain, CppWalkSeesTheSameChain) {
  ULONG nbls = 0, nbs = 0;
  for (PNET_BUFFER_LIST nbl = &fixture_->nbl[0]; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    ++nbls;
    for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != nullptr; nb = NET_BUFFER_NEXT_NB(nb)) {
      ++nbs;
      EXPECT_EQ(NET_BUFFER_FIRST_MDL(nb), &fixture_->mdl[0].mdl);
    }
  }
  EXPECT_EQ(nbls, 3u);
  EXPECT_EQ(nbs, 6u);
  // Cutting the chain after the first NBL is a single assignment through the macro.
  NET_BUFFER_LIST_NEXT_NBL(&fixture_->nbl[0]) = nullptr;
  EXPECT_EQ(nbl_walk_count(&fixture_->nbl[0]).nbls, 1u);
}

TEST_F(NblChain, DataOffsetSelectsTheFirstByte) {
  PNET_BUFFER nb = &fixture_->nb[0][1];
  EXPECT_EQ(NET_BUFFER_DATA_OFFSET(nb), 5u);
  EXPECT_EQ(nbl_walk_first_byte(nb), 0x10);
  // Crossing into the second MDL (64 bytes each) lands on its fill pattern.
  NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 70;
  EXPECT_EQ(nbl_walk_first_byte(nb), 0x11);
  NET_BUFFER_CURRENT_MDL(nb) = &fixture_->mdl[2].mdl;
  NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 0;
  EXPECT_EQ(nbl_walk_first_byte(nb), 0x12);
}

TEST_F(NblChain, DataLengthIsAlsoReadableAsSizeT) {
  PNET_BUFFER nb = &fixture_->nb[2][0];
  NET_BUFFER_DATA_LENGTH(nb) = 1514;
  EXPECT_EQ(nb->stDataLength, 1514u);  // the upper half of the union stays zero
  EXPECT_EQ(nb->NetBufferHeader.NetBufferData.DataLength, 1514u);
}

TEST_F(NblChain, InfoWrittenInCIsReadBackThroughTheStructures) {
  PNET_BUFFER_LIST nbl = &fixture_->nbl[1];
  nbl_walk_set_info(nbl);

  NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO csum;
  csum.Value = NET_BUFFER_LIST_INFO(nbl, TcpIpChecksumNetBufferListInfo);
  EXPECT_EQ(csum.Transmit.IsIPv4, 1u);
  EXPECT_EQ(csum.Transmit.IsIPv6, 0u);
  EXPECT_EQ(csum.Transmit.TcpChecksum, 1u);
  EXPECT_EQ(csum.Transmit.UdpChecksum, 0u);
  EXPECT_EQ(csum.Transmit.TcpHeaderOffset, 34u);
  // Bit positions as documented: IsIPv4 bit 0, TcpChecksum bit 2, TcpHeaderOffset bits 16..25.
  EXPECT_EQ(reinterpret_cast<ULONG_PTR>(csum.Value), 0x1u | 0x4u | (34u << 16));

  NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO lso;
  lso.Value = NET_BUFFER_LIST_INFO(nbl, TcpLargeSendNetBufferListInfo);
  EXPECT_EQ(lso.Transmit.Type, static_cast<ULONG>(NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE));
  EXPECT_EQ(lso.LsoV2Transmit.MSS, 1448u);
  EXPECT_EQ(lso.LsoV2Transmit.TcpHeaderOffset, 34u);
  EXPECT_EQ(reinterpret_cast<ULONG_PTR>(lso.Value), 1448u | (34u << 20) | (1u << 30));

  NDIS_NET_BUFFER_LIST_8021Q_INFO tag;
  tag.Value = NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo);
  EXPECT_EQ(tag.TagHeader.VlanId, 42u);
  EXPECT_EQ(tag.TagHeader.UserPriority, 5u);
  EXPECT_EQ(reinterpret_cast<ULONG_PTR>(tag.Value), 5u | (42u << 4));

  EXPECT_EQ(reinterpret_cast<ULONG_PTR>(NDIS_GET_NET_BUFFER_LIST_CANCEL_ID(nbl)), 0xAB000001u);
  EXPECT_EQ(NET_BUFFER_LIST_GET_HASH_VALUE(nbl), 0x12345678u);
  EXPECT_EQ(NET_BUFFER_LIST_GET_HASH_TYPE(nbl), static_cast<ULONG>(NDIS_HASH_TCP_IPV4));
  EXPECT_EQ(NET_BUFFER_LIST_GET_HASH_FUNCTION(nbl), static_cast<ULONG>(NdisHashFunctionToeplitz));
  EXPECT_EQ(NdisGetNetBufferListProtocolId(nbl), NDIS_PROTOCOL_ID_TCP_IP);
  EXPECT_EQ(NET_BUFFER_LIST_STATUS(nbl), NDIS_STATUS_SUCCESS);
  // Other NBLs in the chain were not touched.
  EXPECT_EQ(NET_BUFFER_LIST_INFO(&fixture_->nbl[0], Ieee8021QNetBufferListInfo), nullptr);
}

TEST_F(NblChain, NblFlagsSetTestAndClear) {
  PNET_BUFFER_LIST nbl = &fixture_->nbl[2];
  EXPECT_FALSE(NdisTestNblFlag(nbl, NDIS_NBL_FLAGS_IS_IPV6));
  NdisSetNblFlag(nbl, NDIS_NBL_FLAGS_IS_IPV6 | NDIS_NBL_FLAGS_IS_UDP);
  EXPECT_TRUE(NdisTestNblFlag(nbl, NDIS_NBL_FLAGS_IS_UDP));
  EXPECT_TRUE(NdisTestNblFlags(nbl, NDIS_NBL_FLAGS_IS_IPV6 | NDIS_NBL_FLAGS_IS_UDP));
  EXPECT_FALSE(NdisTestNblFlags(nbl, NDIS_NBL_FLAGS_IS_IPV6 | NDIS_NBL_FLAGS_IS_TCP));
  NdisClearNblFlag(nbl, NDIS_NBL_FLAGS_IS_UDP);
  EXPECT_FALSE(NdisTestNblFlag(nbl, NDIS_NBL_FLAGS_IS_UDP));
  EXPECT_EQ(NET_BUFFER_LIST_NBL_FLAGS(nbl), static_cast<ULONG>(NDIS_NBL_FLAGS_IS_IPV6));
  NET_BUFFER_LIST_FLAGS(nbl) = 0x5;
  EXPECT_EQ(nbl->Flags, 0x5u);
}

TEST_F(NblChain, ReservedAreasAreTheDriversOwn) {
  PNET_BUFFER_LIST nbl = &fixture_->nbl[0];
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
  NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)[0] = nbl;
  NET_BUFFER_MINIPORT_RESERVED(nb)[3] = nb;
  NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[3] = nb;
  EXPECT_EQ(nbl->MiniportReserved[0], nbl);
  EXPECT_EQ(nb->MiniportReserved[3], nb);
  EXPECT_EQ(nbl->ProtocolReserved[3], nb);
  // The reserved arrays are 16-aligned, as drivers that overlay structures there expect.
  EXPECT_EQ(reinterpret_cast<ULONG_PTR>(NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)) % MEMORY_ALLOCATION_ALIGNMENT, 0u);
  EXPECT_EQ(reinterpret_cast<ULONG_PTR>(NET_BUFFER_MINIPORT_RESERVED(nb)) % MEMORY_ALLOCATION_ALIGNMENT, 0u);
}

TEST_F(NblChain, ContextDataStartsAfterTheHeaderAtItsOffset) {
  // A context block as NdisAllocateNetBufferListContext lays it out: header, then data.
  alignas(16) UCHAR storage[sizeof(NET_BUFFER_LIST_CONTEXT) + 64] = {};
  auto *context = reinterpret_cast<PNET_BUFFER_LIST_CONTEXT>(storage);
  context->Size = 64;
  context->Offset = 48;  // 16 bytes in use at the end, as a back-fill leaves it
  PNET_BUFFER_LIST nbl = &fixture_->nbl[0];
  nbl->Context = context;
  EXPECT_EQ(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), storage + sizeof(NET_BUFFER_LIST_CONTEXT) + 48);
  EXPECT_EQ(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), context->ContextData + 48);
  EXPECT_EQ(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl), 64);
}

TEST_F(NblChain, MdlHelpers) {
  PMDL first = &fixture_->mdl[0].mdl;
  EXPECT_EQ(NDIS_MDL_LINKAGE(first), &fixture_->mdl[1].mdl);
  PMDL next = nullptr;
  NdisGetNextMdl(first, &next);
  EXPECT_EQ(next, &fixture_->mdl[1].mdl);
  ULONG offset = 0, length = 0;
  NdisQueryMdlOffset(first, &offset, &length);
  EXPECT_EQ(offset, BYTE_OFFSET(fixture_->data[0]));
  EXPECT_EQ(length, 64u);
  ULONG pages = 0;
  NdisGetMdlPhysicalArraySize(first, &pages);
  EXPECT_EQ(pages, ADDRESS_AND_SIZE_TO_SPAN_PAGES(fixture_->data[0], 64));
  NdisAdjustMdlLength(first, 10);
  EXPECT_EQ(MmGetMdlByteCount(first), 10u);
}

TEST(NdisHelpers, MemoryMacrosAreTheRtlOnes) {
  UCHAR a[16], b[16];
  NdisFillMemory(a, sizeof(a), 0xA5);
  NdisMoveMemory(b, a, sizeof(b));
  EXPECT_TRUE(NdisEqualMemory(a, b, sizeof(a)));
  NdisZeroMemory(b, 8);
  EXPECT_FALSE(NdisEqualMemory(a, b, sizeof(a)));
  EXPECT_TRUE(NdisEqualMemory(a + 8, b + 8, 8));
  EXPECT_EQ(b[0], 0);
}

TEST(NdisHelpers, InterlockedAndListMacros) {
  volatile LONG counter = 41;
  EXPECT_EQ(NdisInterlockedIncrement(&counter), 42);
  EXPECT_EQ(NdisInterlockedDecrement(&counter), 41);
  LIST_ENTRY head;
  NdisInitializeListHead(&head);
  EXPECT_EQ(head.Flink, &head);
  EXPECT_EQ(head.Blink, &head);
}

TEST(NdisHelpers, ObjectHeaderAndFlagHelpers) {
  NDIS_STATUS_INDICATION indication;
  NdisZeroMemory(&indication, sizeof(indication));
  indication.Header.Type = NDIS_OBJECT_TYPE_STATUS_INDICATION;
  indication.Header.Revision = NDIS_STATUS_INDICATION_REVISION_1;
  indication.Header.Size = NDIS_SIZEOF_STATUS_INDICATION_REVISION_1;
  EXPECT_EQ(indication.Header.Type, 0x98);
  EXPECT_EQ(indication.Header.Size, 112);
  EXPECT_EQ(reinterpret_cast<const UCHAR *>(&indication)[0], 0x98);  // Type is the first byte

  ULONG flags = 0;
  EXPECT_FALSE(NDIS_TEST_SEND_AT_DISPATCH_LEVEL(flags));
  NDIS_SET_SEND_FLAG(flags, NDIS_SEND_FLAGS_DISPATCH_LEVEL);
  EXPECT_TRUE(NDIS_TEST_SEND_AT_DISPATCH_LEVEL(flags));
  EXPECT_TRUE(NDIS_TEST_RECEIVE_CANNOT_PEND(NDIS_RECEIVE_FLAGS_RESOURCES | NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL));
  EXPECT_FALSE(NDIS_TEST_RETURN_AT_DISPATCH_LEVEL(0u));
}

TEST(NdisHelpers, VersionMacrosFollowTheMiniportVersion) {
  EXPECT_EQ(NDIS_MINIPORT_MAJOR_VERSION, 6);
  EXPECT_EQ(NDIS_MINIPORT_MINOR_VERSION, 80);
  EXPECT_TRUE(NDIS_SUPPORT_NDIS6 && NDIS_SUPPORT_NDIS61 && NDIS_SUPPORT_NDIS620 && NDIS_SUPPORT_NDIS630 &&
              NDIS_SUPPORT_NDIS680);
  EXPECT_FALSE(NDIS_SUPPORT_NDIS681);
  EXPECT_EQ(NDIS_RUNTIME_VERSION_680, (6 << 16) | 80);
}

TEST(NdisHelpers, StatusCodesKeepTheirSeverity) {
  // Status indications are informational (0x4...), failures have the error bit.
  EXPECT_EQ(static_cast<ULONG>(NDIS_STATUS_LINK_STATE), 0x40010017u);
  EXPECT_TRUE(NT_SUCCESS(NDIS_STATUS_LINK_STATE));
  EXPECT_FALSE(NT_SUCCESS(NDIS_STATUS_PAUSED));
  EXPECT_EQ(NDIS_STATUS_PENDING, STATUS_PENDING);
  EXPECT_EQ(NDIS_STATUS_RESOURCES, STATUS_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(NDIS_STATUS_FAILURE, STATUS_UNSUCCESSFUL);
  EXPECT_EQ(NDIS_STATUS_NOT_SUPPORTED, STATUS_NOT_SUPPORTED);
}

}  // namespace
