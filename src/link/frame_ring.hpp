// A bounded FIFO of frame copies in storage allocated once: depth slots of maxFrameSize
// bytes each, so queuing a frame never allocates. Not synchronized; the owner locks.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace ndishost::link {

class FrameRing {
 public:
  FrameRing(std::size_t depth, std::size_t maxFrameSize)
      : depth_(depth),
        slotSize_(maxFrameSize),
        // for_overwrite: pages of slots never used are never touched.
        storage_(std::make_unique_for_overwrite<std::byte[]>(depth * maxFrameSize)),
        lengths_(depth, 0) {}

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == depth_; }

  // Copies the frame in; false when the ring is full or the frame exceeds a slot.
  bool push(std::span<const std::byte> frame) {
    if (full() || frame.size() > slotSize_) return false;
    const std::size_t slot = (head_ + count_) % depth_;
    if (!frame.empty()) std::memcpy(slotData(slot), frame.data(), frame.size());
    lengths_[slot] = frame.size();
    ++count_;
    return true;
  }

  // The oldest frame; valid until pop(), even while other frames are pushed.
  std::span<const std::byte> front() const { return {slotData(head_), lengths_[head_]}; }

  void pop() {
    head_ = (head_ + 1) % depth_;
    --count_;
  }

  // Forgets all but the oldest `keep` frames (keep 1 spares a frame being delivered).
  // Returns how many were forgotten.
  std::size_t truncate(std::size_t keep) {
    if (count_ <= keep) return 0;
    const std::size_t forgotten = count_ - keep;
    count_ = keep;
    return forgotten;
  }

 private:
  std::byte* slotData(std::size_t slot) const { return storage_.get() + slot * slotSize_; }

  std::size_t depth_;
  std::size_t slotSize_;
  std::unique_ptr<std::byte[]> storage_;
  std::vector<std::size_t> lengths_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace ndishost::link
