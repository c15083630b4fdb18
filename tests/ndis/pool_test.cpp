// NBL and NB pools: parameter validation, what an allocation looks like, recycling without
// heap growth, and the rules for freeing.
#include "ndis_test.hpp"

#include "ndis/nbl/unit_pool.hpp"

using namespace ndistest;
using ndishost::ndis::packetPoolStatistics;
using ndishost::nt::RecordViolationsScope;

namespace {

class PoolTest : public NdisTest {};

NET_BUFFER_LIST_POOL_PARAMETERS validParameters() {
  NET_BUFFER_LIST_POOL_PARAMETERS p = {};
  p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  p.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  p.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  p.fAllocateNetBuffer = TRUE;
  p.ContextSize = 16;
  p.PoolTag = 'tseT';
  p.DataSize = 0;
  return p;
}

TEST_F(PoolTest, RejectsInvalidNblPoolParameters) {
  auto p = validParameters();
  p.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
  EXPECT_EQ(NdisAllocateNetBufferListPool(nullptr, &p), nullptr);
  p = validParameters();
  p.Header.Revision = 0;
  EXPECT_EQ(NdisAllocateNetBufferListPool(nullptr, &p), nullptr);
  p = validParameters();
  p.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 - 1;
  EXPECT_EQ(NdisAllocateNetBufferListPool(nullptr, &p), nullptr);
  p = validParameters();
  p.ContextSize = 8;  // not a multiple of MEMORY_ALLOCATION_ALIGNMENT
  EXPECT_EQ(NdisAllocateNetBufferListPool(nullptr, &p), nullptr);
  p = validParameters();
  p.fAllocateNetBuffer = FALSE;
  p.DataSize = 64;  // data needs a NET_BUFFER
  EXPECT_EQ(NdisAllocateNetBufferListPool(nullptr, &p), nullptr);
  EXPECT_EQ(NdisAllocateNetBufferListPool(nullptr, nullptr), nullptr);

  p = validParameters();
  NDIS_HANDLE pool = NdisAllocateNetBufferListPool(nullptr, &p);
  ASSERT_NE(pool, nullptr);
  NdisFreeNetBufferListPool(pool);
}

TEST_F(PoolTest, NblWithPreallocatedNetBufferAndData) {
  NDIS_HANDLE pool = makeNblPool(32, TRUE, 1514, NDIS_PROTOCOL_ID_TCP_IP);
  ASSERT_NE(pool, nullptr);
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 16, 0);
  ASSERT_NE(nbl, nullptr);
  EXPECT_EQ(NdisGetPoolFromNetBufferList(nbl), pool);
  EXPECT_EQ(NdisGetNetBufferListProtocolId(nbl), NDIS_PROTOCOL_ID_TCP_IP);
  EXPECT_EQ(NET_BUFFER_LIST_NEXT_NBL(nbl), nullptr);
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
  ASSERT_NE(nb, nullptr);
  EXPECT_EQ(NET_BUFFER_NEXT_NB(nb), nullptr);
  EXPECT_EQ(NET_BUFFER_DATA_LENGTH(nb), 1514u);
  EXPECT_EQ(NET_BUFFER_DATA_OFFSET(nb), 0u);
  PMDL mdl = NET_BUFFER_FIRST_MDL(nb);
  ASSERT_NE(mdl, nullptr);
  EXPECT_EQ(NET_BUFFER_CURRENT_MDL(nb), mdl);
  EXPECT_EQ(MmGetMdlByteCount(mdl), 1514u);
  auto* data = static_cast<PUCHAR>(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority));
  ASSERT_NE(data, nullptr);
  std::fill(data, data + 1514, 0x5A);  // the whole buffer is writable

  // Context: the pool preallocated 32 bytes; 16 are in use.
  ASSERT_NE(nbl->Context, nullptr);
  EXPECT_EQ(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl), 32u);
  EXPECT_EQ(nbl->Context->Offset, 16u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl)) % MEMORY_ALLOCATION_ALIGNMENT, 0u);

  // More context than the pool preallocated: NDIS allocates ContextSize + ContextBackFill.
  PNET_BUFFER_LIST big = NdisAllocateNetBufferList(pool, 32, 32);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->Context->Size, 64u);
  EXPECT_EQ(big->Context->Offset, 32u);

  NdisFreeNetBufferList(big);
  NdisFreeNetBufferList(nbl);
  NdisFreeNetBufferListPool(pool);
}

TEST_F(PoolTest, NblAndNetBufferOverCallerMdlChain) {
  NDIS_HANDLE pool = makeNblPool(0, TRUE, 0);
  MdlBuffer a(10), b(20);
  a.mdl->Next = b.mdl;
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, a.mdl, 14, 16);
  ASSERT_NE(nbl, nullptr);
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
  EXPECT_EQ(nb->MdlChain, a.mdl);
  EXPECT_EQ(nb->CurrentMdl, b.mdl);  // offset 14 lies 4 bytes into the second MDL
  EXPECT_EQ(nb->CurrentMdlOffset, 4u);
  EXPECT_EQ(nb->DataLength, 16u);
  EXPECT_EQ(nbl->Context, nullptr);
  NdisFreeNetBufferList(nbl);
  a.mdl->Next = nullptr;

  RecordViolationsScope scope;
  NDIS_HANDLE noNb = makeNblPool(0, FALSE, 0);
  EXPECT_EQ(NdisAllocateNetBufferAndNetBufferList(noNb, 0, 0, nullptr, 0, 0), nullptr);
  EXPECT_EQ(NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, nullptr, 4, 0), nullptr);  // NULL chain needs 0/0
  EXPECT_EQ(NdisAllocateNetBufferList(pool, 8, 0), nullptr);  // ContextSize not 16-aligned
  auto seen = rules(scope);
  EXPECT_TRUE(contains(seen, "ndis.pool-wrong-kind"));
  EXPECT_TRUE(contains(seen, "ndis.nb-bad-parameters"));
  EXPECT_TRUE(contains(seen, "ndis.nbl-context-size"));
  NdisFreeNetBufferListPool(noNb);
  NdisFreeNetBufferListPool(pool);
}

TEST_F(PoolTest, RecyclesWithoutHeapGrowthInSteadyState) {
  NDIS_HANDLE pool = makeNblPool(16, TRUE, 2048);
  std::vector<PNET_BUFFER_LIST> held;
  for (int i = 0; i < 200; ++i) held.push_back(NdisAllocateNetBufferList(pool, 0, 0));
  for (auto* nbl : held) ASSERT_NE(nbl, nullptr);
  for (auto* nbl : held) NdisFreeNetBufferList(nbl);
  auto warm = packetPoolStatistics(pool);
  EXPECT_EQ(warm.outstanding, 0u);
  EXPECT_GE(warm.capacity, 200u);
  EXPECT_GT(warm.chunkAllocations, 0u);
  for (int round = 0; round < 20; ++round) {
    held.clear();
    for (int i = 0; i < 200; ++i) held.push_back(NdisAllocateNetBufferList(pool, 0, 0));
    EXPECT_EQ(packetPoolStatistics(pool).outstanding, 200u);
    for (auto* nbl : held) NdisFreeNetBufferList(nbl);
  }
  EXPECT_EQ(packetPoolStatistics(pool).chunkAllocations, warm.chunkAllocations);
  EXPECT_EQ(packetPoolStatistics(pool).capacity, warm.capacity);
  NdisFreeNetBufferListPool(pool);
}

TEST_F(PoolTest, DoubleFreeAndForeignFreeAreRecorded) {
  NDIS_HANDLE pool = makeNblPool(0, FALSE, 0);
  NDIS_HANDLE other = makeNblPool(0, FALSE, 0);
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 0, 0);
  ASSERT_NE(nbl, nullptr);
  EXPECT_EQ(nbl->FirstNetBuffer, nullptr);
  RecordViolationsScope scope;
  NdisFreeNetBufferList(nbl);
  NdisFreeNetBufferList(nbl);
  auto violations = scope.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "ndis.nbl-double-free");
  EXPECT_EQ(violations[0].code, 0x7Cu);

  // An NBL the driver made itself, claiming a real pool.
  NET_BUFFER_LIST fake = {};
  fake.NdisPoolHandle = other;
  NdisFreeNetBufferList(&fake);
  EXPECT_EQ(rules(scope), std::vector<std::string>{"ndis.nbl-bad-free"});

  // Freeing a pool with an NBL outstanding is refused.
  PNET_BUFFER_LIST held = NdisAllocateNetBufferList(other, 0, 0);
  NdisFreeNetBufferListPool(other);
  violations = scope.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "ndis.pool-free-with-outstanding");
  EXPECT_EQ(violations[0].code, 0x7Cu);
  EXPECT_EQ(violations[0].parameters[2], 1u);  // outstanding count
  NdisFreeNetBufferList(held);
  NdisFreeNetBufferListPool(other);
  NdisFreeNetBufferListPool(pool);
  EXPECT_TRUE(scope.take().empty());
}

TEST_F(PoolTest, NetBufferPool) {
  NDIS_HANDLE pool = makeNbPool(0);
  ASSERT_NE(pool, nullptr);
  MdlBuffer a(100);
  PNET_BUFFER nb = NdisAllocateNetBuffer(pool, a.mdl, 10, 50);
  ASSERT_NE(nb, nullptr);
  EXPECT_EQ(NdisGetPoolFromNetBuffer(nb), pool);
  EXPECT_EQ(nb->CurrentMdl, a.mdl);
  EXPECT_EQ(nb->CurrentMdlOffset, 10u);
  NdisFreeNetBuffer(nb);

  NDIS_HANDLE dataPool = makeNbPool(600);
  PNET_BUFFER withData = NdisAllocateNetBufferMdlAndData(dataPool);
  ASSERT_NE(withData, nullptr);
  EXPECT_EQ(withData->DataLength, 600u);
  EXPECT_EQ(MmGetMdlByteCount(withData->MdlChain), 600u);

  RecordViolationsScope scope;
  EXPECT_EQ(NdisAllocateNetBufferMdlAndData(pool), nullptr);  // pool without DataSize
  NDIS_HANDLE nblPool = makeNblPool(0, TRUE, 0);
  PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(nblPool, 0, 0);
  NdisFreeNetBuffer(NET_BUFFER_LIST_FIRST_NB(nbl));  // preallocated with the NBL
  NdisFreeNetBufferPool(dataPool);                   // still holds withData
  auto seen = rules(scope);
  EXPECT_EQ(seen, (std::vector<std::string>{"ndis.pool-wrong-kind", "ndis.nb-bad-free", "ndis.pool-free-with-outstanding"}));
  NdisFreeNetBufferList(nbl);
  NdisFreeNetBufferListPool(nblPool);
  NdisFreeNetBuffer(withData);
  NdisFreeNetBuffer(withData);
  EXPECT_EQ(rules(scope), std::vector<std::string>{"ndis.nb-double-free"});
  NdisFreeNetBufferPool(dataPool);
  NdisFreeNetBufferPool(pool);
}

}  // namespace
