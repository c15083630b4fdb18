#include "usb/device/ncm_ntb.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

void NtbParameters::write(std::span<std::byte, WireSize> out) const {
  writeLe16(out, 0, wLength);
  writeLe16(out, 2, bmNtbFormatsSupported);
  writeLe32(out, 4, dwNtbInMaxSize);
  writeLe16(out, 8, wNdpInDivisor);
  writeLe16(out, 10, wNdpInPayloadRemainder);
  writeLe16(out, 12, wNdpInAlignment);
  writeLe16(out, 14, wReserved);
  writeLe32(out, 16, dwNtbOutMaxSize);
  writeLe16(out, 20, wNdpOutDivisor);
  writeLe16(out, 22, wNdpOutPayloadRemainder);
  writeLe16(out, 24, wNdpOutAlignment);
  writeLe16(out, 26, wNtbOutMaxDatagrams);
}

NtbParameters NtbParameters::read(std::span<const std::byte, WireSize> in) {
  NtbParameters p{};
  p.wLength = readLe16(in, 0);
  p.bmNtbFormatsSupported = readLe16(in, 2);
  p.dwNtbInMaxSize = readLe32(in, 4);
  p.wNdpInDivisor = readLe16(in, 8);
  p.wNdpInPayloadRemainder = readLe16(in, 10);
  p.wNdpInAlignment = readLe16(in, 12);
  p.wReserved = readLe16(in, 14);
  p.dwNtbOutMaxSize = readLe32(in, 16);
  p.wNdpOutDivisor = readLe16(in, 20);
  p.wNdpOutPayloadRemainder = readLe16(in, 22);
  p.wNdpOutAlignment = readLe16(in, 24);
  p.wNtbOutMaxDatagrams = readLe16(in, 26);
  return p;
}

std::string_view toString(NtbError error) {
  switch (error) {
    case NtbError::None: return "None";
    case NtbError::TruncatedHeader: return "TruncatedHeader";
    case NtbError::BadSignature: return "BadSignature";
    case NtbError::WrongFormat: return "WrongFormat";
    case NtbError::BadHeaderLength: return "BadHeaderLength";
    case NtbError::BlockLengthTooSmall: return "BlockLengthTooSmall";
    case NtbError::BlockLengthExceedsTransfer: return "BlockLengthExceedsTransfer";
    case NtbError::BlockLengthExceedsMax: return "BlockLengthExceedsMax";
    case NtbError::NdpIndexMisaligned: return "NdpIndexMisaligned";
    case NtbError::NdpOutOfBounds: return "NdpOutOfBounds";
    case NtbError::BadNdpSignature: return "BadNdpSignature";
    case NtbError::CrcNotSupported: return "CrcNotSupported";
    case NtbError::BadNdpLength: return "BadNdpLength";
    case NtbError::MissingTerminator: return "MissingTerminator";
    case NtbError::NdpLoop: return "NdpLoop";
    case NtbError::TooManyNdps: return "TooManyNdps";
    case NtbError::DatagramOutOfBounds: return "DatagramOutOfBounds";
    case NtbError::DatagramTooShort: return "DatagramTooShort";
    case NtbError::DatagramTooLong: return "DatagramTooLong";
    case NtbError::TooManyDatagrams: return "TooManyDatagrams";
    case NtbError::Count: break;
  }
  return "?";
}

namespace {

constexpr std::size_t Nth16Length = 12;
constexpr std::size_t Nth32Length = 16;
constexpr std::size_t Ndp16HeaderLength = 8;
constexpr std::size_t Ndp32HeaderLength = 16;
constexpr std::size_t Ndp16EntryLength = 4;
constexpr std::size_t Ndp32EntryLength = 8;
constexpr std::size_t NdpIndexAlignment = 4;
constexpr std::size_t MinimumDatagramLength = 14;  // an Ethernet header
constexpr std::size_t MaxNdpChain = 64;

std::size_t alignUp(std::size_t value, std::size_t alignment) {
  if (alignment <= 1) return value;
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

NtbParseResult parseNtb(std::span<const std::byte> transfer, const NtbLimits& limits,
                        std::span<std::span<const std::byte>> datagrams) {
  NtbParseResult result;
  auto fail = [&](NtbError error) {
    result.error = error;
    result.datagramCount = 0;
    return result;
  };

  // --- NTH ---
  if (transfer.size() < 4) return fail(NtbError::TruncatedHeader);
  const std::uint32_t signature = readLe32(transfer, 0);
  const bool ntb32 = signature == Nth32Signature;
  if (signature != Nth16Signature && !ntb32) return fail(NtbError::BadSignature);
  if (ntb32 != (limits.format == NtbFormat::Ntb32)) return fail(NtbError::WrongFormat);
  const std::size_t nthLength = ntb32 ? Nth32Length : Nth16Length;
  if (transfer.size() < nthLength) return fail(NtbError::TruncatedHeader);
  if (readLe16(transfer, 4) != nthLength) return fail(NtbError::BadHeaderLength);
  result.sequence = readLe16(transfer, 6);
  const std::size_t blockLength = ntb32 ? readLe32(transfer, 8) : readLe16(transfer, 8);
  std::size_t ndpIndex = ntb32 ? readLe32(transfer, 12) : readLe16(transfer, 10);
  result.blockLength = blockLength;
  if (blockLength < nthLength) return fail(NtbError::BlockLengthTooSmall);
  if (blockLength > limits.maxBlockLength) return fail(NtbError::BlockLengthExceedsMax);
  if (blockLength > transfer.size()) return fail(NtbError::BlockLengthExceedsTransfer);
  const std::span<const std::byte> block = transfer.first(blockLength);

  // --- NDP chain ---
  const std::size_t ndpHeaderLength = ntb32 ? Ndp32HeaderLength : Ndp16HeaderLength;
  const std::size_t entryLength = ntb32 ? Ndp32EntryLength : Ndp16EntryLength;
  const std::size_t ndpLengthMultiple = ntb32 ? 8 : 4;
  const std::size_t maxNdps = std::clamp<std::size_t>(limits.maxNdps, 1, MaxNdpChain);
  std::size_t room = datagrams.size();
  if (limits.maxDatagrams) room = std::min(room, limits.maxDatagrams);
  std::array<std::size_t, MaxNdpChain> visited{};
  std::size_t count = 0;

  // The first NDP is mandatory: an NTB always points at one.
  do {
    if (ndpIndex % NdpIndexAlignment != 0) return fail(NtbError::NdpIndexMisaligned);
    if (ndpIndex < nthLength || ndpIndex > block.size() ||
        block.size() - ndpIndex < ndpHeaderLength)
      return fail(NtbError::NdpOutOfBounds);
    for (std::size_t i = 0; i < result.ndpCount; ++i)
      if (visited[i] == ndpIndex) return fail(NtbError::NdpLoop);
    if (result.ndpCount == maxNdps) return fail(NtbError::TooManyNdps);
    visited[result.ndpCount++] = ndpIndex;

    const std::uint32_t ndpSignature = readLe32(block, ndpIndex);
    if (ndpSignature == (ntb32 ? Ndp32CrcSignature : Ndp16CrcSignature))
      return fail(NtbError::CrcNotSupported);
    if (ndpSignature != (ntb32 ? Ndp32Signature : Ndp16Signature))
      return fail(NtbError::BadNdpSignature);
    const std::size_t ndpLength = readLe16(block, ndpIndex + 4);
    // The smallest NDP holds one datagram entry and the terminator.
    if (ndpLength < ndpHeaderLength + 2 * entryLength || ndpLength % ndpLengthMultiple != 0)
      return fail(NtbError::BadNdpLength);
    if (ndpLength > block.size() - ndpIndex) return fail(NtbError::NdpOutOfBounds);
    const std::size_t nextIndex =
        ntb32 ? readLe32(block, ndpIndex + 8) : readLe16(block, ndpIndex + 6);

    bool terminated = false;
    for (std::size_t entry = ndpIndex + ndpHeaderLength; entry + entryLength <= ndpIndex + ndpLength;
         entry += entryLength) {
      const std::size_t index = ntb32 ? readLe32(block, entry) : readLe16(block, entry);
      const std::size_t length =
          ntb32 ? readLe32(block, entry + 4) : readLe16(block, entry + 2);
      if (index == 0 && length == 0) {
        terminated = true;
        break;
      }
      if (index < nthLength || index > block.size() || length > block.size() - index)
        return fail(NtbError::DatagramOutOfBounds);
      if (length < MinimumDatagramLength) return fail(NtbError::DatagramTooShort);
      if (length > limits.maxDatagramSize) return fail(NtbError::DatagramTooLong);
      if (count == room) return fail(NtbError::TooManyDatagrams);
      datagrams[count++] = block.subspan(index, length);
    }
    if (!terminated) return fail(NtbError::MissingTerminator);
    ndpIndex = nextIndex;
  } while (ndpIndex != 0);

  result.datagramCount = count;
  return result;
}

// ---- NtbWriter --------------------------------------------------------------------------------

std::size_t NtbWriter::headerLength() const {
  return params_.format == NtbFormat::Ntb32 ? Nth32Length : Nth16Length;
}

std::size_t NtbWriter::limit() const {
  std::size_t max = std::min(params_.maxBlockLength, buffer_.size());
  if (params_.format == NtbFormat::Ntb16) max = std::min<std::size_t>(max, 0xFFFF);
  return max;
}

std::size_t NtbWriter::datagramOffsetFor(std::size_t position) const {
  const std::size_t divisor = params_.divisor;
  if (divisor <= 1) return position;
  const std::size_t remainder = params_.payloadRemainder % divisor;
  return position + (remainder + divisor - position % divisor) % divisor;
}

std::size_t NtbWriter::ndpOffsetFor(std::size_t end) const {
  return alignUp(end, std::max<std::size_t>(params_.ndpAlignment, NdpIndexAlignment));
}

std::size_t NtbWriter::ndpLength(std::size_t datagrams) const {
  // Entries plus the (0, 0) terminator, and never below the minimum wLength (one entry and
  // the terminator); the lengths are multiples of 4 / 8 by construction.
  const std::size_t slots = std::max<std::size_t>(datagrams + 1, 2);
  return params_.format == NtbFormat::Ntb32 ? Ndp32HeaderLength + slots * Ndp32EntryLength
                                            : Ndp16HeaderLength + slots * Ndp16EntryLength;
}

void NtbWriter::begin(std::span<std::byte> buffer, const NtbBuildParameters& params,
                      std::uint16_t sequence) {
  buffer_ = buffer;
  params_ = params;
  sequence_ = sequence;
  entries_.clear();
  end_ = headerLength();
  active_ = true;
}

bool NtbWriter::fits(std::size_t datagramLength) const {
  if (!active_) return false;
  if (params_.maxDatagrams && entries_.size() >= params_.maxDatagrams) return false;
  const std::size_t offset = datagramOffsetFor(end_);
  const std::size_t total = ndpOffsetFor(offset + datagramLength) + ndpLength(entries_.size() + 1);
  return total <= limit();
}

bool NtbWriter::append(std::span<const std::byte> datagram) {
  if (!fits(datagram.size())) return false;
  const std::size_t offset = datagramOffsetFor(end_);
  std::memset(buffer_.data() + end_, 0, offset - end_);  // padding is zero, not stale data
  std::memcpy(buffer_.data() + offset, datagram.data(), datagram.size());
  entries_.push_back({static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(datagram.size())});
  end_ = offset + datagram.size();
  return true;
}

std::size_t NtbWriter::finish() {
  if (!active_) return 0;
  active_ = false;
  const bool ntb32 = params_.format == NtbFormat::Ntb32;
  const std::size_t ndpOffset = ndpOffsetFor(end_);
  const std::size_t ndpBytes = ndpLength(entries_.size());
  const std::size_t blockLength = ndpOffset + ndpBytes;
  if (blockLength > limit()) return 0;  // only possible for an empty NTB in a tiny buffer
  std::memset(buffer_.data() + end_, 0, ndpOffset - end_);

  writeLe32(buffer_, 0, ntb32 ? Nth32Signature : Nth16Signature);
  writeLe16(buffer_, 4, static_cast<std::uint16_t>(headerLength()));
  writeLe16(buffer_, 6, sequence_);
  if (ntb32) {
    writeLe32(buffer_, 8, static_cast<std::uint32_t>(blockLength));
    writeLe32(buffer_, 12, static_cast<std::uint32_t>(ndpOffset));
  } else {
    writeLe16(buffer_, 8, static_cast<std::uint16_t>(blockLength));
    writeLe16(buffer_, 10, static_cast<std::uint16_t>(ndpOffset));
  }

  std::size_t p = ndpOffset;
  if (ntb32) {
    writeLe32(buffer_, p, Ndp32Signature);
    writeLe16(buffer_, p + 4, static_cast<std::uint16_t>(ndpBytes));
    writeLe16(buffer_, p + 6, 0);
    writeLe32(buffer_, p + 8, 0);   // dwNextNdpIndex: a single NDP
    writeLe32(buffer_, p + 12, 0);
    p += Ndp32HeaderLength;
    for (const Entry& e : entries_) {
      writeLe32(buffer_, p, e.offset);
      writeLe32(buffer_, p + 4, e.length);
      p += Ndp32EntryLength;
    }
    std::memset(buffer_.data() + p, 0, ndpOffset + ndpBytes - p);  // terminator (+ padding entry)
  } else {
    writeLe32(buffer_, p, Ndp16Signature);
    writeLe16(buffer_, p + 4, static_cast<std::uint16_t>(ndpBytes));
    writeLe16(buffer_, p + 6, 0);   // wNextNdpIndex: a single NDP
    p += Ndp16HeaderLength;
    for (const Entry& e : entries_) {
      writeLe16(buffer_, p, static_cast<std::uint16_t>(e.offset));
      writeLe16(buffer_, p + 2, static_cast<std::uint16_t>(e.length));
      p += Ndp16EntryLength;
    }
    std::memset(buffer_.data() + p, 0, ndpOffset + ndpBytes - p);  // terminator (+ padding entry)
  }
  return blockLength;
}

std::optional<std::size_t> buildNtb(std::span<std::byte> out,
                                    std::span<const std::span<const std::byte>> datagrams,
                                    const NtbBuildParameters& params, std::uint16_t sequence) {
  NtbWriter writer;
  writer.begin(out, params, sequence);
  for (const auto& datagram : datagrams)
    if (!writer.append(datagram)) return std::nullopt;
  // An NTB with no datagram still needs room for its NTH and NDP.
  const std::size_t blockLength = writer.finish();
  if (blockLength == 0) return std::nullopt;
  return blockLength;
}

}  // namespace ndishost::usb::device
