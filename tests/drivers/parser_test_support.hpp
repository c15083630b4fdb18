// Helpers shared by the USB NIC parser tests: byte buffers sized exactly (so ASan sees any
// read past the end), little-endian patching, and a network port that goes nowhere for
// the emulated functions whose descriptors the tests read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "link/frame_port.hpp"

namespace usbnic_test {

using Bytes = std::vector<unsigned char>;

inline void putLe16(Bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = static_cast<unsigned char>(v);
  b.at(at + 1) = static_cast<unsigned char>(v >> 8);
}
inline void putLe32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.at(at + i) = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint32_t getLe32(const unsigned char* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

// A copy in its own heap block of exactly `length` bytes: a parser reading one byte too far
// trips ASan.
inline std::unique_ptr<unsigned char[]> exactCopy(const unsigned char* data, std::size_t length) {
  auto copy = std::make_unique<unsigned char[]>(length == 0 ? 1 : length);
  if (length) std::memcpy(copy.get(), data, length);
  return copy;
}

inline Bytes toBytes(std::span<const std::byte> in) {
  Bytes out(in.size());
  if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
  return out;
}

inline Bytes frameOf(std::size_t length, unsigned seed) {
  Bytes f(length);
  for (std::size_t i = 0; i < length; ++i) f[i] = static_cast<unsigned char>(seed * 31 + i * 7);
  return f;
}

// A tiny deterministic generator for mutation loops (reproducible failures).
struct Lcg {
  std::uint32_t state;
  std::uint32_t next() { return state = state * 1664525u + 1013904223u; }
};

class NullPort final : public ndishost::link::FramePort {
 public:
  bool transmit(std::span<const std::byte>) override { return true; }
  void setReceiveHandler(ReceiveHandler) override {}
  std::size_t maxFrameSize() const override { return 9018; }
  ndishost::link::FramePortCounters counters() const override { return {}; }
  std::string describe() const override { return "null"; }
};

}  // namespace usbnic_test
