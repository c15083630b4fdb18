// NET_BUFFER data: retreat/advance with and without backfill, NBL context space,
// NdisGetDataBuffer and copies across MDL boundaries.
#include "ndis_test.hpp"

#include <atomic>
#include <cstring>
#include <numeric>

using namespace ndistest;
using ndishost::nt::RecordViolationsScope;

namespace {

class DataTest : public NdisTest {
 protected:
  void SetUp() override { pool_ = makeNblPool(0, TRUE, 0); }
  void TearDown() override { NdisFreeNetBufferListPool(pool_); }
  NDIS_HANDLE pool_ = nullptr;
};

TEST_F(DataTest, RetreatUsesUnusedSpaceThenAdvanceGivesItBack) {
  MdlBuffer buffer(100);
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool_, 0, 0, buffer.mdl, 32, 60);
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
  ASSERT_EQ(NdisRetreatNetBufferDataStart(nb, 14, 0, nullptr), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(nb->MdlChain, buffer.mdl);  // no new MDL
  EXPECT_EQ(nb->DataOffset, 18u);
  EXPECT_EQ(nb->DataLength, 74u);
  EXPECT_EQ(nb->CurrentMdlOffset, 18u);
  NdisAdvanceNetBufferDataStart(nb, 14, TRUE, nullptr);
  EXPECT_EQ(nb->MdlChain, buffer.mdl);
  EXPECT_EQ(nb->DataOffset, 32u);
  EXPECT_EQ(nb->DataLength, 60u);
  NdisFreeNetBufferList(nbl);
}

TEST_F(DataTest, RetreatBeyondBackfillPrependsAnMdlAndAdvanceFreesIt) {
  MdlBuffer buffer(64);
  std::iota(buffer.bytes.begin(), buffer.bytes.end(), UCHAR(0));
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool_, 0, 0, buffer.mdl, 4, 60);
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
  ASSERT_EQ(NdisRetreatNetBufferDataStart(nb, 14, 50, nullptr), NDIS_STATUS_SUCCESS);
  PMDL added = nb->MdlChain;
  ASSERT_NE(added, buffer.mdl);
  EXPECT_EQ(added->Next, buffer.mdl);
  EXPECT_EQ(MmGetMdlByteCount(added), 60u);  // 10 missing bytes + DataBackFill 50
  EXPECT_EQ(nb->DataOffset, 50u);
  EXPECT_EQ(nb->DataLength, 74u);
  EXPECT_EQ(nb->CurrentMdl, added);
  EXPECT_EQ(nb->CurrentMdlOffset, 50u);
  // The 14 new bytes: 10 at the end of the new buffer, then the old chain's 4 unused ones.
  auto* head = static_cast<PUCHAR>(MmGetSystemAddressForMdlSafe(added, NormalPagePriority));
  std::memset(head + 50, 0xEE, 10);
  UCHAR storage[20];
  auto* header = static_cast<PUCHAR>(NdisGetDataBuffer(nb, 20, storage, 1, 0));
  ASSERT_EQ(header, storage);  // spans two MDLs: copied
  for (int i = 0; i < 10; ++i) EXPECT_EQ(storage[i], 0xEE);
  for (int i = 10; i < 20; ++i) EXPECT_EQ(storage[i], i - 10) << i;

  // Another retreat now fits in the backfill of the added MDL.
  ASSERT_EQ(NdisRetreatNetBufferDataStart(nb, 8, 0, nullptr), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(nb->MdlChain, added);
  EXPECT_EQ(nb->DataOffset, 42u);
  NdisAdvanceNetBufferDataStart(nb, 22, TRUE, nullptr);
  EXPECT_EQ(nb->MdlChain, buffer.mdl);  // the library's MDL was freed
  EXPECT_EQ(nb->DataOffset, 4u);
  EXPECT_EQ(nb->DataLength, 60u);
  EXPECT_EQ(nb->CurrentMdl, buffer.mdl);
  EXPECT_EQ(nb->CurrentMdlOffset, 4u);
  NdisFreeNetBufferList(nbl);
}

std::atomic<int> allocatedByHandler{0};
std::atomic<int> freedByHandler{0};
std::vector<UCHAR> handlerBuffers[4];

PMDL NTAPI testAllocateMdl(PULONG bufferSize) {
  int index = allocatedByHandler++;
  handlerBuffers[index].assign(*bufferSize, 0);
  PMDL mdl = IoAllocateMdl(handlerBuffers[index].data(), *bufferSize, FALSE, FALSE, nullptr);
  MmBuildMdlForNonPagedPool(mdl);
  return mdl;
}

VOID NTAPI testFreeMdl(PMDL mdl) {
  ++freedByHandler;
  IoFreeMdl(mdl);
}

TEST_F(DataTest, NblRetreatAndAdvanceWithDriverMdlHandlers) {
  allocatedByHandler = 0;
  freedByHandler = 0;
  MdlBuffer a(40), b(40);
  NDIS_HANDLE nbPool = makeNbPool(0);
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(makeNblPool(0, FALSE, 0), 0, 0);
  NDIS_HANDLE nblPool = NdisGetPoolFromNetBufferList(nbl);
  PNET_BUFFER first = NdisAllocateNetBuffer(nbPool, a.mdl, 0, 40);
  PNET_BUFFER second = NdisAllocateNetBuffer(nbPool, b.mdl, 20, 20);
  first->Next = second;
  nbl->FirstNetBuffer = first;

  ASSERT_EQ(NdisRetreatNetBufferListDataStart(nbl, 16, 0, testAllocateMdl, testFreeMdl), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(allocatedByHandler.load(), 1);  // only the first NB lacked room
  EXPECT_NE(first->MdlChain, a.mdl);
  EXPECT_EQ(first->DataLength, 56u);
  EXPECT_EQ(second->MdlChain, b.mdl);
  EXPECT_EQ(second->DataOffset, 4u);
  NdisAdvanceNetBufferListDataStart(nbl, 16, TRUE, testFreeMdl);
  EXPECT_EQ(freedByHandler.load(), 1);
  EXPECT_EQ(first->MdlChain, a.mdl);
  EXPECT_EQ(first->DataOffset, 0u);
  EXPECT_EQ(second->DataOffset, 20u);

  // FreeMdl FALSE keeps the MDL for the next retreat.
  ASSERT_EQ(NdisRetreatNetBufferDataStart(first, 8, 0, testAllocateMdl), NDIS_STATUS_SUCCESS);
  NdisAdvanceNetBufferDataStart(first, 8, FALSE, testFreeMdl);
  EXPECT_NE(first->MdlChain, a.mdl);
  EXPECT_EQ(first->DataOffset, 8u);
  NdisAdvanceNetBufferDataStart(first, 0, TRUE, testFreeMdl);
  EXPECT_EQ(first->MdlChain, a.mdl);
  EXPECT_EQ(freedByHandler.load(), 2);

  nbl->FirstNetBuffer = nullptr;
  NdisFreeNetBuffer(first);
  NdisFreeNetBuffer(second);
  NdisFreeNetBufferList(nbl);
  NdisFreeNetBufferListPool(nblPool);
  NdisFreeNetBufferPool(nbPool);
}

TEST_F(DataTest, ContextAllocationRules) {
  NDIS_HANDLE pool = makeNblPool(32, FALSE, 0);
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 16, 0);
  PNET_BUFFER_LIST_CONTEXT base = nbl->Context;
  // Fits in the unused 16 bytes: only Offset moves.
  ASSERT_EQ(NdisAllocateNetBufferListContext(nbl, 8, 0, 'xtCT'), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(nbl->Context, base);
  EXPECT_EQ(base->Offset, 8u);
  // Does not fit: a new context of ContextSize + ContextBackFill goes in front.
  ASSERT_EQ(NdisAllocateNetBufferListContext(nbl, 24, 16, 'xtCT'), NDIS_STATUS_SUCCESS);
  ASSERT_NE(nbl->Context, base);
  EXPECT_EQ(nbl->Context->Next, base);
  EXPECT_EQ(nbl->Context->Size, 40u);
  EXPECT_EQ(nbl->Context->Offset, 16u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl)) % sizeof(void*), 0u);
  NdisFreeNetBufferListContext(nbl, 24);  // pops the pushed context
  EXPECT_EQ(nbl->Context, base);
  NdisFreeNetBufferListContext(nbl, 8);
  EXPECT_EQ(base->Offset, 16u);

  RecordViolationsScope scope;
  EXPECT_EQ(NdisAllocateNetBufferListContext(nbl, 5, 0, 'xtCT'), NDIS_STATUS_FAILURE);
  NdisFreeNetBufferListContext(nbl, 32);  // only 16 in use
  EXPECT_EQ(rules(scope), (std::vector<std::string>{"ndis.nbl-context-size", "ndis.nbl-context-underflow"}));
  ASSERT_EQ(NdisAllocateNetBufferListContext(nbl, 64, 0, 'xtCT'), NDIS_STATUS_SUCCESS);
  NdisFreeNetBufferList(nbl);  // without freeing that context first
  EXPECT_EQ(rules(scope), std::vector<std::string>{"ndis.nbl-free-with-context"});
  NdisFreeNetBufferListPool(pool);
}

TEST_F(DataTest, GetDataBufferContiguousCopyOrNull) {
  MdlBuffer a(16), b(32);
  std::iota(a.bytes.begin(), a.bytes.end(), UCHAR(0));
  std::iota(b.bytes.begin(), b.bytes.end(), UCHAR(100));
  a.mdl->Next = b.mdl;
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool_, 0, 0, a.mdl, 4, 40);
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
  UCHAR storage[64];
  // Contiguous: a pointer into the buffer itself.
  EXPECT_EQ(NdisGetDataBuffer(nb, 12, storage, 1, 0), a.bytes.data() + 4);
  EXPECT_EQ(NdisGetDataBuffer(nb, 12, nullptr, 1, 0), a.bytes.data() + 4);
  // Across the MDL boundary: copied to Storage, or NULL without one.
  auto* copied = static_cast<PUCHAR>(NdisGetDataBuffer(nb, 20, storage, 1, 0));
  ASSERT_EQ(copied, storage);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(storage[i], 4 + i);
  for (int i = 12; i < 20; ++i) EXPECT_EQ(storage[i], 100 + i - 12);
  EXPECT_EQ(NdisGetDataBuffer(nb, 20, nullptr, 1, 0), nullptr);
  // More than DataLength: NULL even with Storage.
  EXPECT_EQ(NdisGetDataBuffer(nb, 41, storage, 1, 0), nullptr);
  // Misaligned for the request: copied.
  auto address = reinterpret_cast<std::uintptr_t>(a.bytes.data() + 4);
  UINT multiple = 8;
  UINT wrongOffset = static_cast<UINT>((address + 1) % multiple);
  EXPECT_EQ(NdisGetDataBuffer(nb, 4, storage, multiple, wrongOffset), storage);
  EXPECT_EQ(NdisGetDataBuffer(nb, 4, storage, multiple, static_cast<UINT>(address % multiple)), a.bytes.data() + 4);
  // Data starting exactly at the MDL boundary.
  NdisAdvanceNetBufferDataStart(nb, 12, FALSE, nullptr);
  EXPECT_EQ(nb->CurrentMdl, b.mdl);
  EXPECT_EQ(NdisGetDataBuffer(nb, 28, nullptr, 1, 0), b.bytes.data());
  EXPECT_EQ(NdisQueryNetBufferPhysicalCount(nb), ADDRESS_AND_SIZE_TO_SPAN_PAGES(b.bytes.data(), 28));
  NdisFreeNetBufferList(nbl);
  a.mdl->Next = nullptr;
}

TEST_F(DataTest, CopyBetweenNetBuffersAcrossMdlBoundaries) {
  MdlBuffer s1(5), s2(7), s3(11), d1(9), d2(20, 0xFF);
  std::iota(s1.bytes.begin(), s1.bytes.end(), UCHAR(1));
  std::iota(s2.bytes.begin(), s2.bytes.end(), UCHAR(6));
  std::iota(s3.bytes.begin(), s3.bytes.end(), UCHAR(13));
  s1.mdl->Next = s2.mdl;
  s2.mdl->Next = s3.mdl;
  d1.mdl->Next = d2.mdl;
  NDIS_HANDLE nbPool = makeNbPool(0);
  PNET_BUFFER source = NdisAllocateNetBuffer(nbPool, s1.mdl, 2, 20);  // bytes 3..22
  PNET_BUFFER destination = NdisAllocateNetBuffer(nbPool, d1.mdl, 3, 0);
  ULONG copied = 0;
  // From source offset 1 (value 4) to destination offset 2 (d1[5]).
  ASSERT_EQ(NdisCopyFromNetBufferToNetBuffer(destination, 2, 15, source, 1, &copied), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(copied, 15u);
  std::vector<UCHAR> written(d1.bytes.begin() + 5, d1.bytes.end());
  written.insert(written.end(), d2.bytes.begin(), d2.bytes.begin() + 11);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(written[i], 4 + i) << i;
  EXPECT_EQ(d2.bytes[11], 0xFF);  // nothing past the copy
  // The source runs out: 20 - 10 = 10 bytes left.
  ASSERT_EQ(NdisCopyFromNetBufferToNetBuffer(destination, 0, 100, source, 10, &copied), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(copied, 10u);
  // The destination runs out: 29 - 3 - 20 = 6 bytes of room.
  ASSERT_EQ(NdisCopyFromNetBufferToNetBuffer(destination, 20, 100, source, 0, &copied), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(copied, 6u);
  NdisFreeNetBuffer(source);
  NdisFreeNetBuffer(destination);
  NdisFreeNetBufferPool(nbPool);
  s1.mdl->Next = s2.mdl->Next = d1.mdl->Next = nullptr;
}

}  // namespace
