// NDIS versions a driver may declare in its characteristics (MajorNdisVersion 6): the minor
// versions Windows has shipped, 6.0 to 6.89. Shared by miniport and protocol registration.
#pragma once

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

constexpr bool isKnownNdisMinorVersion(UCHAR minor) {
  switch (minor) {
    case 0: case 1: case 20: case 30: case 40: case 50: case 51: case 60: case 70:
    case 80: case 81: case 82: case 83: case 84: case 85: case 86: case 87: case 88: case 89:
      return true;
    default:
      return false;
  }
}

}  // namespace ndishost::ndis
