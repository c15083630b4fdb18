// The Internet checksum (RFC 1071) over byte ranges, for completing checksums that a
// Linux sender left to "hardware" (CHECKSUM_PARTIAL) before a frame leaves the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ndishost::link {

// One's-complement sum of big-endian 16-bit words, added to `sum`, not folded. An odd
// trailing byte is padded with zero.
inline std::uint64_t addChecksumWords(std::span<const std::byte> bytes, std::uint64_t sum = 0) {
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2)
    sum += (std::to_integer<std::uint64_t>(bytes[i]) << 8) | std::to_integer<std::uint64_t>(bytes[i + 1]);
  if (i < bytes.size()) sum += std::to_integer<std::uint64_t>(bytes[i]) << 8;
  return sum;
}

inline std::uint16_t foldChecksum(std::uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// Fills in a partial checksum as a NIC would: the field at start + offset holds the
// pseudo-header sum; the checksum covers [start, end of frame). False (frame unchanged)
// when the offsets do not fit the frame.
inline bool completePartialChecksum(std::span<std::byte> frame, std::size_t start, std::size_t offset) {
  if (start > frame.size() || offset + 2 > frame.size() - start) return false;
  std::uint16_t checksum = static_cast<std::uint16_t>(~foldChecksum(addChecksumWords(frame.subspan(start))));
  // A computed zero is sent as all ones: zero means "no checksum" to UDP.
  if (checksum == 0) checksum = 0xffff;
  frame[start + offset] = static_cast<std::byte>(checksum >> 8);
  frame[start + offset + 1] = static_cast<std::byte>(checksum & 0xff);
  return true;
}

}  // namespace ndishost::link
