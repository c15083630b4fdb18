// The TAP binding's send descriptors: a fixed set of NET_BUFFER_LISTs, each with one
// NET_BUFFER over one MDL that describes a frame buffer of its own, all allocated when the
// binding is made. A frame from Linux is copied into a free one and sent; the send
// completion gives it back. Nothing is allocated per frame (the brief's hot-path rule), and
// `outstanding()` is what a pause or unbind waits on.
#pragma once

#include <ndis.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace ndishost::host::binding {

class TapSendPool {
 public:
  // Allocates `count` NBLs with `frameCapacity`-byte buffers (NdisAllocateNetBufferListPool,
  // NdisAllocateMdl, NdisAllocateNetBufferAndNetBufferList with `ndisHandle`, the protocol
  // driver's handle). `sourceHandle` (the binding handle) goes into every NBL's
  // SourceHandle, as NdisSendNetBufferLists requires. Throws std::runtime_error when NDIS
  // cannot allocate them. IRQL PASSIVE_LEVEL.
  TapSendPool(NDIS_HANDLE ndisHandle, NDIS_HANDLE sourceHandle, std::size_t count, std::size_t frameCapacity);
  ~TapSendPool();  // every NBL must be back (outstanding() == 0)
  TapSendPool(const TapSendPool&) = delete;
  TapSendPool& operator=(const TapSendPool&) = delete;

  // A free NBL holding a copy of `frame` (at most frameCapacity() bytes), ready to send, or
  // null when all are out. IRQL <= DISPATCH_LEVEL.
  PNET_BUFFER_LIST take(std::span<const std::byte> frame);
  // Gives back one NBL take() returned (after its send completed). IRQL <= DISPATCH_LEVEL.
  void give(PNET_BUFFER_LIST nbl);

  std::size_t frameCapacity() const { return frameCapacity_; }
  std::size_t capacity() const { return slots_.size(); }
  std::size_t outstanding() const { return outstanding_.load(std::memory_order_acquire); }
  // The frame bytes of an NBL from this pool (for the upper-edge capture).
  std::span<const std::byte> frameOf(PNET_BUFFER_LIST nbl) const;
  // The same bytes, writable: the binding prepares offloaded frames in the NBL's own copy
  // (between take() and the send).
  std::span<std::byte> writableFrameOf(PNET_BUFFER_LIST nbl);

 private:
  struct Slot {
    PMDL mdl = nullptr;
    PNET_BUFFER_LIST nbl = nullptr;
  };
  static std::size_t slotIndexOf(PNET_BUFFER_LIST nbl);
  void release();  // frees what NDIS gave (destructor, failed constructor)

  const std::size_t frameCapacity_;
  std::vector<std::byte> storage_;  // count * frameCapacity bytes, one slice per slot
  std::vector<Slot> slots_;
  NDIS_HANDLE nblPool_ = nullptr;
  std::mutex freeLock_;  // taken only around the free list, never while calling NDIS
  std::vector<std::uint32_t> free_;
  std::atomic<std::size_t> outstanding_{0};
};

}  // namespace ndishost::host::binding
