// Every layout translation unit (NDIS 6.0 / 6.30 / 6.80 miniport with and without NDIS_WDM,
// and an NDIS 6.30 protocol, each as C and as C++) compiled; its static assertions are the
// main check. Here each unit reports the version it was built for, the size of
// NET_BUFFER_LIST and the number of NBL information slots, so a unit compiled with the
// wrong macros (or a C/C++ disagreement) fails at run time too.
#include <gtest/gtest.h>

extern "C" {
unsigned long ndis_layout_miniport60_wdm0_c(void);
unsigned long ndis_layout_miniport60_wdm0_cpp(void);
unsigned long ndis_layout_miniport60_wdm1_c(void);
unsigned long ndis_layout_miniport60_wdm1_cpp(void);
unsigned long ndis_layout_miniport630_wdm0_c(void);
unsigned long ndis_layout_miniport630_wdm0_cpp(void);
unsigned long ndis_layout_miniport630_wdm1_c(void);
unsigned long ndis_layout_miniport630_wdm1_cpp(void);
unsigned long ndis_layout_miniport680_wdm0_c(void);
unsigned long ndis_layout_miniport680_wdm0_cpp(void);
unsigned long ndis_layout_miniport680_wdm1_c(void);
unsigned long ndis_layout_miniport680_wdm1_cpp(void);
unsigned long ndis_layout_protocol630_wdm0_c(void);
unsigned long ndis_layout_protocol630_wdm0_cpp(void);
}

namespace {

// version * 1000000 + sizeof(NET_BUFFER_LIST) * 100 + MaxNetBufferListInfo
TEST(NdisLayout, EveryVariantReportsItsVersionAndNblShape) {
  EXPECT_EQ(ndis_layout_miniport60_wdm0_c(), 600000000UL + 24000UL + 11UL);
  EXPECT_EQ(ndis_layout_miniport60_wdm0_cpp(), 600000000UL + 24000UL + 11UL);
  EXPECT_EQ(ndis_layout_miniport60_wdm1_c(), 600000000UL + 24000UL + 11UL);
  EXPECT_EQ(ndis_layout_miniport60_wdm1_cpp(), 600000000UL + 24000UL + 11UL);
  EXPECT_EQ(ndis_layout_miniport630_wdm0_c(), 630000000UL + 33600UL + 24UL);
  EXPECT_EQ(ndis_layout_miniport630_wdm0_cpp(), 630000000UL + 33600UL + 24UL);
  EXPECT_EQ(ndis_layout_miniport630_wdm1_c(), 630000000UL + 33600UL + 24UL);
  EXPECT_EQ(ndis_layout_miniport630_wdm1_cpp(), 630000000UL + 33600UL + 24UL);
  EXPECT_EQ(ndis_layout_miniport680_wdm0_c(), 680000000UL + 36800UL + 27UL);
  EXPECT_EQ(ndis_layout_miniport680_wdm0_cpp(), 680000000UL + 36800UL + 27UL);
  EXPECT_EQ(ndis_layout_miniport680_wdm1_c(), 680000000UL + 36800UL + 27UL);
  EXPECT_EQ(ndis_layout_miniport680_wdm1_cpp(), 680000000UL + 36800UL + 27UL);
  EXPECT_EQ(ndis_layout_protocol630_wdm0_c(), 630000000UL + 33600UL + 24UL);
  EXPECT_EQ(ndis_layout_protocol630_wdm0_cpp(), 630000000UL + 33600UL + 24UL);
}

}  // namespace
