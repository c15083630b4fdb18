// A set of addresses that allocates only when it grows: open addressing with linear
// probing. The pool and the MDL allocator use it to decide whether a pointer handed back
// by a driver is one of theirs without reading memory around that pointer, and without a
// heap allocation per block (std::unordered_set allocates a node per insert).
// Not thread-safe: callers hold their own lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ndishost::nt {

class PointerSet {
 public:
  PointerSet() : slots_(kInitialCapacity, kEmpty) {}

  // False when the pointer was already present.
  bool insert(const void* p) {
    if ((used_ + 1) * 2 > slots_.size()) rehash(live_ * 4 > slots_.size() ? slots_.size() * 2 : slots_.size());
    auto key = toKey(p);
    std::size_t tombstone = SIZE_MAX;
    for (std::size_t i = indexOf(key);; i = (i + 1) & mask()) {
      if (slots_[i] == key) return false;
      if (slots_[i] == kTombstone && tombstone == SIZE_MAX) tombstone = i;
      if (slots_[i] == kEmpty) {
        if (tombstone != SIZE_MAX) {
          slots_[tombstone] = key;
        } else {
          slots_[i] = key;
          ++used_;
        }
        ++live_;
        return true;
      }
    }
  }

  bool contains(const void* p) const { return find(toKey(p)) != SIZE_MAX; }

  // False when the pointer was not present.
  bool erase(const void* p) {
    std::size_t i = find(toKey(p));
    if (i == SIZE_MAX) return false;
    slots_[i] = kTombstone;
    --live_;
    return true;
  }

  std::size_t size() const { return live_; }

 private:
  // Null and the all-ones address are never blocks, so they mark free and deleted slots.
  static constexpr std::uintptr_t kEmpty = 0;
  static constexpr std::uintptr_t kTombstone = ~std::uintptr_t(0);
  static constexpr std::size_t kInitialCapacity = 1024;

  static std::uintptr_t toKey(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
  std::size_t mask() const { return slots_.size() - 1; }
  std::size_t indexOf(std::uintptr_t key) const { return ((key >> 4) * 0x9E3779B97F4A7C15ULL >> 17) & mask(); }

  std::size_t find(std::uintptr_t key) const {
    if (key == kEmpty || key == kTombstone) return SIZE_MAX;
    for (std::size_t i = indexOf(key);; i = (i + 1) & mask()) {
      if (slots_[i] == key) return i;
      if (slots_[i] == kEmpty) return SIZE_MAX;
    }
  }

  void rehash(std::size_t capacity) {
    std::vector<std::uintptr_t> old(capacity, kEmpty);
    old.swap(slots_);
    used_ = live_ = 0;
    for (std::uintptr_t key : old) {
      if (key != kEmpty && key != kTombstone) {
        for (std::size_t i = indexOf(key);; i = (i + 1) & mask()) {
          if (slots_[i] == kEmpty) {
            slots_[i] = key;
            break;
          }
        }
        ++used_;
        ++live_;
      }
    }
  }

  std::vector<std::uintptr_t> slots_;
  std::size_t used_ = 0;  // slots not empty (live + tombstones)
  std::size_t live_ = 0;
};

}  // namespace ndishost::nt
