// Compiled once per set of NDIS version macros (CMakeLists.txt), each defining
// NDISHOST_LAYOUT_FN as its own function name.
#include "internal_layout.hpp"

#include "ndis/miniport/adapter.hpp"
#include "ndis/traffic/adapter_traffic.hpp"

namespace ndishost::ndis::test {

InternalLayout NDISHOST_LAYOUT_FN() {
  return {.adapter = sizeof(Adapter),
          .adapterAttributes = sizeof(AdapterAttributes),
          .adapterInfo = sizeof(AdapterInfo),
          .adapterConfigurationRequest = sizeof(AdapterConfigurationRequest),
          .adapterBlock = sizeof(AdapterBlock),
          .trafficCounters = sizeof(TrafficCounters),
          .hangDetectionOptions = sizeof(HangDetectionOptions),
          .hangEvent = sizeof(HangEvent)};
}

}  // namespace ndishost::ndis::test
