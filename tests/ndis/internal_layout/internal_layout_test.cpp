#include <gtest/gtest.h>

#include "internal_layout.hpp"

#include <ostream>

namespace ndishost::ndis::test {

// gtest prints a mismatch with this (found by argument-dependent lookup).
void PrintTo(const InternalLayout& l, std::ostream* out) {
  *out << "{Adapter " << l.adapter << ", AdapterAttributes " << l.adapterAttributes << ", AdapterInfo "
       << l.adapterInfo << ", AdapterConfigurationRequest " << l.adapterConfigurationRequest << ", AdapterBlock "
       << l.adapterBlock << ", TrafficCounters " << l.trafficCounters << ", HangDetectionOptions "
       << l.hangDetectionOptions << ", HangEvent " << l.hangEvent << "}";
}

namespace {

// Host code including these headers at NDIS 6.30 (with or without NDIS_WRAPPER) sees the
// library's layout.
TEST(NdisInternalLayout, IsTheSameWhateverNdisVersionTheIncluderBuildsFor) {
  const InternalLayout library = ndis_internal_layout_library();
  EXPECT_GT(library.adapter, 0u);
  EXPECT_EQ(ndis_internal_layout_ndis630(), library);
  EXPECT_EQ(ndis_internal_layout_runtime(), library);
}

}  // namespace
}  // namespace ndishost::ndis::test
