/* nbl_walk.h -- the C half of the NBL macro tests (see nbl_walk.c). Include after <ndis.h>. */
#ifndef NDISHOST_TESTS_NDIS_NBL_WALK_H
#define NDISHOST_TESTS_NDIS_NBL_WALK_H

#define NBL_WALK_NBLS 3
#define NBL_WALK_NBS 2
#define NBL_WALK_MDLS 3

NDISHOST_EXTERN_C_BEGIN

/* An MDL with room for its page array, as MmSizeOfMdl would size it. */
struct nbl_walk_mdl {
  MDL mdl;
  ULONG_PTR pages[2];
};

struct nbl_walk_fixture {
  UCHAR data[NBL_WALK_MDLS][64];
  struct nbl_walk_mdl mdl[NBL_WALK_MDLS];
  NET_BUFFER nb[NBL_WALK_NBLS][NBL_WALK_NBS];
  NET_BUFFER_LIST nbl[NBL_WALK_NBLS];
};

struct nbl_walk_result {
  ULONG nbls;
  ULONG nbs;
  ULONG bytes;
};

void nbl_walk_build(struct nbl_walk_fixture *f);
struct nbl_walk_result nbl_walk_count(PNET_BUFFER_LIST first);
UCHAR nbl_walk_first_byte(PNET_BUFFER nb);
void nbl_walk_set_info(PNET_BUFFER_LIST nbl);

NDISHOST_EXTERN_C_END

#endif
