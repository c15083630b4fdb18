// The memory behind NET_BUFFER_LIST and NET_BUFFER pools.
//
// A pool hands out fixed-layout units. An NBL pool's unit holds, after a private header,
// the NET_BUFFER_LIST (at the library's own, newest, size), its preallocated
// NET_BUFFER_LIST_CONTEXT with ContextSize bytes, and -- with fAllocateNetBuffer -- one
// NET_BUFFER, plus (DataSize != 0) an MDL and DataSize bytes of data. An NB pool's unit
// holds a NET_BUFFER and, with DataSize, its MDL and data. Units come from chunks that are
// allocated when the free list runs dry and are kept until the pool is freed: in steady
// state allocating and freeing an NBL touches only the free list (no heap allocation).
//
// Every unit a driver holds carries a LedgerEntry charged to the allocating driver, so NBLs
// leaked at unload are reported with the pool tag.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ndis/core/ndis_ddk.hpp"
#include "nt/support/ledger.hpp"

namespace ndishost::ndis {

enum class PacketPoolKind : std::uint8_t { NetBufferList, NetBuffer };

struct PacketPoolParameters {
  PacketPoolKind kind = PacketPoolKind::NetBufferList;
  bool allocateNetBuffer = false;  // NBL pools: one NET_BUFFER preallocated per NBL
  UCHAR protocolId = 0;
  USHORT contextSize = 0;          // NBL pools: preallocated NET_BUFFER_LIST_CONTEXT bytes
  ULONG tag = 0;
  ULONG dataSize = 0;              // preallocated data (and MDL) per unit
};

// The library's bookkeeping in front of each unit.
struct UnitHeader {
  nt::LedgerEntry ledger;
  UnitHeader* nextFree = nullptr;
  std::atomic<bool> allocated{false};
  class PacketPool* pool = nullptr;
  // NBL pools: the context NdisAllocateNetBufferList set up (embedded in the unit, or a
  // pool block when the request exceeded the pool's ContextSize). Contexts in front of it
  // came from NdisAllocateNetBufferListContext.
  PNET_BUFFER_LIST_CONTEXT baseContext = nullptr;
};

struct PacketPoolStatistics {
  std::size_t outstanding = 0;       // units drivers hold
  std::size_t chunkAllocations = 0;  // heap allocations the pool made (one per chunk)
  std::size_t capacity = 0;          // units in all chunks
};
// Statistics of a live pool (zeros for an unknown handle), for tests and the host.
PacketPoolStatistics packetPoolStatistics(NDIS_HANDLE pool);

class PacketPool {
 public:
  PacketPool(const PacketPoolParameters& parameters, const void* caller);
  ~PacketPool();
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  NDIS_HANDLE handle() { return this; }
  // The live pool `handle` names, or null. Never dereferences an unknown pointer.
  static PacketPool* fromHandle(NDIS_HANDLE handle);
  // Makes fromHandle find this pool (after construction succeeded) / stop finding it.
  void publish();
  void retire();

  const PacketPoolParameters& parameters() const { return parameters_; }

  // A unit from the free list (growing by one chunk when it is empty), charged to the
  // driver at `caller`; null when memory is exhausted.
  UnitHeader* allocateUnit(const void* caller);
  // Returns a unit to the free list.
  void freeUnit(UnitHeader* unit);

  // The unit whose NBL (or, for NB pools, NB) is `object`; null when `object` is not the
  // start of such a member of one of this pool's units. Reads no memory of `object`.
  UnitHeader* unitOfNbl(const void* object) const { return unitOf(object, nblOffset_); }
  UnitHeader* unitOfNb(const void* object) const { return hasNb_ ? unitOf(object, nbOffset_) : nullptr; }

  PNET_BUFFER_LIST nblOf(UnitHeader* unit) const { return at<NET_BUFFER_LIST>(unit, nblOffset_); }
  PNET_BUFFER_LIST_CONTEXT contextOf(UnitHeader* unit) const { return at<NET_BUFFER_LIST_CONTEXT>(unit, contextOffset_); }
  PNET_BUFFER nbOf(UnitHeader* unit) const { return hasNb_ ? at<NET_BUFFER>(unit, nbOffset_) : nullptr; }
  PMDL mdlOf(UnitHeader* unit) const { return parameters_.dataSize != 0 ? at<MDL>(unit, mdlOffset_) : nullptr; }
  PUCHAR dataOf(UnitHeader* unit) const { return parameters_.dataSize != 0 ? at<UCHAR>(unit, dataOffset_) : nullptr; }
  // Rebuilds the unit's embedded MDL over its whole data buffer.
  void resetDataMdl(UnitHeader* unit) const;

  std::size_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }
  std::size_t chunkAllocations() const { return chunkAllocations_.load(std::memory_order_relaxed); }
  std::size_t capacity() const;

 private:
  template <typename T>
  T* at(UnitHeader* unit, std::size_t offset) const {
    return reinterpret_cast<T*>(reinterpret_cast<std::byte*>(unit) + offset);
  }
  UnitHeader* unitOf(const void* object, std::size_t memberOffset) const;
  bool grow();  // with lock_ held

  struct ChunkDeleter {
    void operator()(std::byte* chunk) const;
  };

  PacketPoolParameters parameters_;
  bool hasNb_ = false;
  std::size_t nblOffset_ = 0, contextOffset_ = 0, nbOffset_ = 0, mdlOffset_ = 0, dataOffset_ = 0;
  std::size_t unitSize_ = 0;
  std::size_t unitsPerChunk_ = 0;

  mutable std::mutex lock_;
  std::vector<std::unique_ptr<std::byte, ChunkDeleter>> chunks_;
  UnitHeader* freeList_ = nullptr;
  std::atomic<std::size_t> outstanding_{0};
  std::atomic<std::size_t> chunkAllocations_{0};

  nt::LedgerEntry ledger_;  // the pool itself, charged to the driver that created it
};

}  // namespace ndishost::ndis
