// Sizes of the NDIS library's internal structures that host code sees, as one translation
// unit with a given set of NDIS version macros computes them (internal_layout_variant.cpp).
#pragma once

#include <cstddef>

namespace ndishost::ndis::test {

struct InternalLayout {
  std::size_t adapter = 0;
  std::size_t adapterAttributes = 0;
  std::size_t adapterInfo = 0;
  std::size_t adapterConfigurationRequest = 0;
  std::size_t adapterBlock = 0;
  std::size_t trafficCounters = 0;
  std::size_t hangDetectionOptions = 0;
  std::size_t hangEvent = 0;
  bool operator==(const InternalLayout&) const = default;
};

InternalLayout ndis_internal_layout_library();
InternalLayout ndis_internal_layout_ndis630();
InternalLayout ndis_internal_layout_runtime();

}  // namespace ndishost::ndis::test
