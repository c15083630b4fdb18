#include "host/binding/tap_send_pool.hpp"

#include <cstring>
#include <stdexcept>
#include <utility>

namespace ndishost::host::binding {
namespace {

constexpr ULONG kPoolTag = 'pTaT';

}  // namespace

TapSendPool::TapSendPool(NDIS_HANDLE ndisHandle, NDIS_HANDLE sourceHandle, std::size_t count, std::size_t frameCapacity)
    : frameCapacity_(frameCapacity), storage_(count * frameCapacity), slots_(count) {
  NET_BUFFER_LIST_POOL_PARAMETERS parameters;
  std::memset(&parameters, 0, sizeof(parameters));
  parameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  parameters.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  parameters.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  parameters.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
  parameters.fAllocateNetBuffer = TRUE;  // one NET_BUFFER with each NBL
  parameters.ContextSize = 0;
  parameters.PoolTag = kPoolTag;
  parameters.DataSize = 0;  // the data buffers are ours (storage_), described by our MDLs
  nblPool_ = NdisAllocateNetBufferListPool(ndisHandle, &parameters);
  if (nblPool_ == nullptr) throw std::runtime_error("NdisAllocateNetBufferListPool failed");
  free_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Slot& slot = slots_[i];
    slot.mdl = NdisAllocateMdl(ndisHandle, storage_.data() + i * frameCapacity, static_cast<UINT>(frameCapacity));
    if (slot.mdl != nullptr)
      slot.nbl = NdisAllocateNetBufferAndNetBufferList(nblPool_, 0, 0, slot.mdl, 0, frameCapacity);
    if (slot.nbl == nullptr) {
      release();
      throw std::runtime_error("cannot allocate the binding's send NBLs");
    }
    slot.nbl->SourceHandle = sourceHandle;
    // The slot index rides in the protocol's own area of the NBL.
    NET_BUFFER_LIST_PROTOCOL_RESERVED(slot.nbl)[0] = reinterpret_cast<PVOID>(static_cast<std::uintptr_t>(i));
    free_.push_back(static_cast<std::uint32_t>(i));
  }
}

TapSendPool::~TapSendPool() { release(); }

void TapSendPool::release() {
  for (Slot& slot : slots_) {
    if (slot.nbl != nullptr) NdisFreeNetBufferList(std::exchange(slot.nbl, nullptr));
    if (slot.mdl != nullptr) NdisFreeMdl(std::exchange(slot.mdl, nullptr));
  }
  if (nblPool_ != nullptr) NdisFreeNetBufferListPool(std::exchange(nblPool_, nullptr));
}

std::size_t TapSendPool::slotIndexOf(PNET_BUFFER_LIST nbl) {
  return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0]));
}

PNET_BUFFER_LIST TapSendPool::take(std::span<const std::byte> frame) {
  if (frame.size() > frameCapacity_ || frame.empty()) return nullptr;
  std::uint32_t index;
  {
    std::lock_guard guard(freeLock_);
    if (free_.empty()) return nullptr;
    index = free_.back();
    free_.pop_back();
  }
  outstanding_.fetch_add(1, std::memory_order_acq_rel);
  Slot& slot = slots_[index];
  std::memcpy(storage_.data() + index * frameCapacity_, frame.data(), frame.size());
  const ULONG length = static_cast<ULONG>(frame.size());
  // What a previous send (or the miniport) may have changed goes back to "one frame at
  // offset 0 of our MDL": the MDL's byte count is the frame's, so drivers that walk the
  // MDL rather than the NET_BUFFER's DataLength see no stale tail either.
  NdisAdjustMdlLength(slot.mdl, length);
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(slot.nbl);
  NET_BUFFER_FIRST_MDL(nb) = slot.mdl;
  NET_BUFFER_CURRENT_MDL(nb) = slot.mdl;
  NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 0;
  NET_BUFFER_DATA_OFFSET(nb) = 0;
  NET_BUFFER_DATA_LENGTH(nb) = length;
  NET_BUFFER_NEXT_NB(nb) = nullptr;
  NET_BUFFER_LIST_NEXT_NBL(slot.nbl) = nullptr;
  NET_BUFFER_LIST_STATUS(slot.nbl) = NDIS_STATUS_SUCCESS;
  std::memset(slot.nbl->NetBufferListInfo, 0, sizeof(slot.nbl->NetBufferListInfo));
  return slot.nbl;
}

void TapSendPool::give(PNET_BUFFER_LIST nbl) {
  const std::size_t index = slotIndexOf(nbl);
  {
    std::lock_guard guard(freeLock_);
    free_.push_back(static_cast<std::uint32_t>(index));
  }
  outstanding_.fetch_sub(1);  // seq_cst: pairs with the pump's waitingForNbl_ store
}

std::span<const std::byte> TapSendPool::frameOf(PNET_BUFFER_LIST nbl) const {
  const std::size_t index = slotIndexOf(nbl);
  return {storage_.data() + index * frameCapacity_, NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(nbl))};
}

std::span<std::byte> TapSendPool::writableFrameOf(PNET_BUFFER_LIST nbl) {
  const std::size_t index = slotIndexOf(nbl);
  return {storage_.data() + index * frameCapacity_, NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(nbl))};
}

}  // namespace ndishost::host::binding
