// Little-endian field access over byte spans. USB descriptors, CDC requests, NTBs and RNDIS
// messages are all little-endian on the wire; these helpers keep every parser free of
// unaligned pointer casts (which UBSan rightly rejects) and of host-endianness assumptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace ndishost::usb::device {

inline std::uint8_t readU8(std::span<const std::byte> bytes, std::size_t offset) {
  return static_cast<std::uint8_t>(bytes[offset]);
}

inline std::uint16_t readLe16(std::span<const std::byte> bytes, std::size_t offset) {
  return static_cast<std::uint16_t>(static_cast<unsigned>(bytes[offset]) |
                                    (static_cast<unsigned>(bytes[offset + 1]) << 8));
}

inline std::uint32_t readLe32(std::span<const std::byte> bytes, std::size_t offset) {
  return static_cast<std::uint32_t>(readLe16(bytes, offset)) |
         (static_cast<std::uint32_t>(readLe16(bytes, offset + 2)) << 16);
}

inline void writeU8(std::span<std::byte> bytes, std::size_t offset, std::uint8_t value) {
  bytes[offset] = static_cast<std::byte>(value);
}

inline void writeLe16(std::span<std::byte> bytes, std::size_t offset, std::uint16_t value) {
  bytes[offset] = static_cast<std::byte>(value & 0xFF);
  bytes[offset + 1] = static_cast<std::byte>(value >> 8);
}

inline void writeLe32(std::span<std::byte> bytes, std::size_t offset, std::uint32_t value) {
  writeLe16(bytes, offset, static_cast<std::uint16_t>(value & 0xFFFF));
  writeLe16(bytes, offset + 2, static_cast<std::uint16_t>(value >> 16));
}

// Appends little-endian fields to a growing byte vector (descriptor and control-message
// building, never on a per-packet path).
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::byte>& out) : out_(out) {}

  ByteWriter& u8(std::uint8_t value) {
    out_.push_back(static_cast<std::byte>(value));
    return *this;
  }
  ByteWriter& le16(std::uint16_t value) {
    u8(static_cast<std::uint8_t>(value & 0xFF));
    return u8(static_cast<std::uint8_t>(value >> 8));
  }
  ByteWriter& le32(std::uint32_t value) {
    le16(static_cast<std::uint16_t>(value & 0xFFFF));
    return le16(static_cast<std::uint16_t>(value >> 16));
  }
  ByteWriter& bytes(std::span<const std::byte> data) {
    out_.insert(out_.end(), data.begin(), data.end());
    return *this;
  }
  std::size_t size() const { return out_.size(); }

 private:
  std::vector<std::byte>& out_;
};

inline std::span<const std::byte> asBytes(const void* data, std::size_t size) {
  return {static_cast<const std::byte*>(data), size};
}

}  // namespace ndishost::usb::device
