// NDIS's copy of a miniport's NDIS_OFFLOAD (offload attributes, current-configuration
// indications).
//
// NDIS_OFFLOAD grows with the NDIS version macros of the file that includes ndis.h: the
// library is built for the newest NDIS, host code (the TAP binding) for 6.30. A structure of
// NDIS's that held an NDIS_OFFLOAD by value would have a different layout in each, and the
// code on one side would read the other's members at the wrong offsets (an ODR violation
// that crashed a host test reading Adapter::traffic()). The copy is therefore kept as bytes
// of one fixed size every includer agrees on.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

class OffloadBlock {
 public:
  static constexpr std::size_t kCapacity = 1024;
  static_assert(sizeof(NDIS_OFFLOAD) <= kCapacity, "NDIS_OFFLOAD outgrew NDIS's copy");

  // Header.Size bytes of `offload`, at most what this file's NDIS_OFFLOAD holds (the copy's
  // header then says how much it kept); zero beyond.
  static OffloadBlock copyOf(const NDIS_OFFLOAD& offload) {
    OffloadBlock block;
    const std::size_t size = std::min<std::size_t>(offload.Header.Size, sizeof(NDIS_OFFLOAD));
    std::memcpy(block.bytes_.data(), &offload, size);
    block.get().Header.Size = static_cast<USHORT>(size);
    return block;
  }

  NDIS_OFFLOAD& get() { return *reinterpret_cast<NDIS_OFFLOAD*>(bytes_.data()); }
  const NDIS_OFFLOAD& get() const { return *reinterpret_cast<const NDIS_OFFLOAD*>(bytes_.data()); }

 private:
  alignas(8) std::array<std::byte, kCapacity> bytes_{};
};

}  // namespace ndishost::ndis
