#include "ndis/nbl/unit_pool.hpp"

#include <algorithm>
#include <new>
#include <shared_mutex>
#include <unordered_set>

namespace ndishost::ndis {
namespace {

constexpr std::size_t kAlign = MEMORY_ALLOCATION_ALIGNMENT;
constexpr std::size_t kChunkAlign = 64;
constexpr std::size_t kTargetChunkBytes = 256 * 1024;

constexpr std::size_t alignUp(std::size_t value, std::size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

struct PoolRegistry {
  std::shared_mutex lock;
  std::unordered_set<const PacketPool*> live;
};

PoolRegistry& registry() {
  static PoolRegistry instance;
  return instance;
}

// Room for an MDL over `dataSize` bytes wherever the buffer lands (one extra page for a
// buffer that does not start on a page boundary).
std::size_t mdlStorageFor(std::size_t dataSize) {
  return sizeof(MDL) + sizeof(PFN_NUMBER) * (dataSize / PAGE_SIZE + 2);
}

}  // namespace

PacketPool::PacketPool(const PacketPoolParameters& parameters, const void* caller) : parameters_(parameters) {
  hasNb_ = parameters.kind == PacketPoolKind::NetBuffer || parameters.allocateNetBuffer;
  std::size_t offset = alignUp(sizeof(UnitHeader), kAlign);
  if (parameters.kind == PacketPoolKind::NetBufferList) {
    nblOffset_ = offset;
    offset = alignUp(offset + sizeof(NET_BUFFER_LIST), kAlign);
    contextOffset_ = offset;
    offset = alignUp(offset + sizeof(NET_BUFFER_LIST_CONTEXT) + parameters.contextSize, kAlign);
  }
  if (hasNb_) {
    nbOffset_ = offset;
    offset = alignUp(offset + sizeof(NET_BUFFER), kAlign);
  }
  if (parameters.dataSize != 0) {
    mdlOffset_ = offset;
    offset = alignUp(offset + mdlStorageFor(parameters.dataSize), kAlign);
    dataOffset_ = offset;
    offset = alignUp(offset + parameters.dataSize, kAlign);
  }
  unitSize_ = alignUp(offset, kAlign);
  unitsPerChunk_ = std::clamp<std::size_t>(kTargetChunkBytes / unitSize_, 4, 64);

  ledger_.kind = nt::ResourceKind::Other;
  ledger_.object = this;
  ledger_.callSite = caller;
  ledger_.tag = parameters.tag;
  ledger_.size = sizeof(*this);
  nt::ledgerAdd(ledger_);
}

PacketPool::~PacketPool() {
  retire();
  nt::ledgerRemove(ledger_);
}

void PacketPool::publish() {
  auto& r = registry();
  std::unique_lock guard(r.lock);
  r.live.insert(this);
}

void PacketPool::retire() {
  auto& r = registry();
  std::unique_lock guard(r.lock);
  r.live.erase(this);
}

PacketPool* PacketPool::fromHandle(NDIS_HANDLE handle) {
  if (handle == nullptr) return nullptr;
  auto& r = registry();
  std::shared_lock guard(r.lock);
  return r.live.contains(static_cast<const PacketPool*>(handle)) ? static_cast<PacketPool*>(handle) : nullptr;
}

void PacketPool::ChunkDeleter::operator()(std::byte* chunk) const {
  ::operator delete(chunk, std::align_val_t(kChunkAlign));
}

bool PacketPool::grow() {
  std::size_t bytes = unitSize_ * unitsPerChunk_;
  auto* memory = static_cast<std::byte*>(::operator new(bytes, std::align_val_t(kChunkAlign), std::nothrow));
  if (memory == nullptr) return false;
  std::unique_ptr<std::byte, ChunkDeleter> chunk(memory);
  try {
    chunks_.push_back(std::move(chunk));
  } catch (const std::bad_alloc&) {
    return false;
  }
  // Units are pushed in reverse so the free list hands them out in address order.
  for (std::size_t i = unitsPerChunk_; i-- > 0;) {
    auto* unit = new (memory + i * unitSize_) UnitHeader();
    unit->pool = this;
    unit->nextFree = freeList_;
    freeList_ = unit;
  }
  chunkAllocations_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

UnitHeader* PacketPool::allocateUnit(const void* caller) {
  UnitHeader* unit = nullptr;
  {
    std::lock_guard guard(lock_);
    if (freeList_ == nullptr && !grow()) return nullptr;
    unit = freeList_;
    freeList_ = unit->nextFree;
  }
  unit->nextFree = nullptr;
  unit->allocated.store(true, std::memory_order_release);
  unit->ledger = nt::LedgerEntry{};
  unit->ledger.kind = nt::ResourceKind::Other;
  unit->ledger.object = parameters_.kind == PacketPoolKind::NetBufferList ? static_cast<const void*>(nblOf(unit))
                                                                           : static_cast<const void*>(nbOf(unit));
  unit->ledger.callSite = caller;
  unit->ledger.tag = parameters_.tag;
  unit->ledger.size = unitSize_;
  nt::ledgerAdd(unit->ledger);
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  return unit;
}

void PacketPool::freeUnit(UnitHeader* unit) {
  nt::ledgerRemove(unit->ledger);
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard guard(lock_);
  unit->nextFree = freeList_;
  freeList_ = unit;
}

UnitHeader* PacketPool::unitOf(const void* object, std::size_t memberOffset) const {
  auto address = reinterpret_cast<std::uintptr_t>(object);
  std::lock_guard guard(lock_);
  for (const auto& chunk : chunks_) {
    auto base = reinterpret_cast<std::uintptr_t>(chunk.get());
    if (address < base || address >= base + unitSize_ * unitsPerChunk_) continue;
    std::size_t within = (address - base) % unitSize_;
    if (within != memberOffset) return nullptr;
    return reinterpret_cast<UnitHeader*>(address - memberOffset);
  }
  return nullptr;
}

void PacketPool::resetDataMdl(UnitHeader* unit) const {
  PMDL mdl = mdlOf(unit);
  PUCHAR data = dataOf(unit);
  MmInitializeMdl(mdl, data, parameters_.dataSize);
  MmBuildMdlForNonPagedPool(mdl);
}

std::size_t PacketPool::capacity() const {
  std::lock_guard guard(lock_);
  return chunks_.size() * unitsPerChunk_;
}

}  // namespace ndishost::ndis
