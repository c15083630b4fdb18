// CDC-NCM 1.0 transfer blocks (NTBs): pure parser and builder over byte spans.
//
// An NTB is an NTB header (NTH16 "NCMH" / NTH32 "ncmh") followed, anywhere inside the
// block, by a chain of datagram pointer tables (NDP16 "NCM0" / NDP32 "ncm0"; "NCM1"/"ncm1"
// are the CRC-carrying variants, not supported here), each listing (index, length) pairs of
// Ethernet datagrams and ending with a (0, 0) entry (NCM 1.0 section 3).
//
// parseNtb() validates every field before it reports any datagram: an NTB is either taken
// whole or rejected with one NtbError (the reason a device counts). It never reads outside
// the span it is given, whatever the input (it is fuzzed).
//
// NtbWriter builds device-to-host NTBs incrementally in a caller-provided buffer (the
// aggregation path, no allocation per datagram): NTH first, datagrams placed at offsets
// congruent to wNdpInPayloadRemainder modulo wNdpInDivisor, the NDP last at a multiple of
// wNdpInAlignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ndishost::usb::device {

// ---- wire structures (host-order mirrors of the little-endian layouts) --------------------

// GET_NTB_PARAMETERS reply (NCM 1.0 table 6-3).
struct NtbParameters {
  std::uint16_t wLength;
  std::uint16_t bmNtbFormatsSupported;   // D0 NTB16 (always), D1 NTB32
  std::uint32_t dwNtbInMaxSize;
  std::uint16_t wNdpInDivisor;
  std::uint16_t wNdpInPayloadRemainder;
  std::uint16_t wNdpInAlignment;
  std::uint16_t wReserved;
  std::uint32_t dwNtbOutMaxSize;
  std::uint16_t wNdpOutDivisor;
  std::uint16_t wNdpOutPayloadRemainder;
  std::uint16_t wNdpOutAlignment;
  std::uint16_t wNtbOutMaxDatagrams;

  static constexpr std::size_t WireSize = 28;
  void write(std::span<std::byte, WireSize> out) const;
  static NtbParameters read(std::span<const std::byte, WireSize> in);
};

// SET/GET_NTB_INPUT_SIZE with bmNetworkCapabilities D5 (NCM 1.0 table 6-4).
struct NtbInputSize {
  std::uint32_t dwNtbInMaxSize;
  std::uint16_t wNtbInMaxDatagrams;
  std::uint16_t wReserved;
  static constexpr std::size_t WireSize = 8;
};

struct Nth16 {  // NCM 1.0 table 3-1
  std::uint32_t dwSignature;
  std::uint16_t wHeaderLength;
  std::uint16_t wSequence;
  std::uint16_t wBlockLength;
  std::uint16_t wNdpIndex;
};

struct Nth32 {  // NCM 1.0 table 3-2
  std::uint32_t dwSignature;
  std::uint16_t wHeaderLength;
  std::uint16_t wSequence;
  std::uint32_t dwBlockLength;
  std::uint32_t dwNdpIndex;
};

struct Ndp16Header {  // NCM 1.0 table 3-3, followed by (wDatagramIndex, wDatagramLength) pairs
  std::uint32_t dwSignature;
  std::uint16_t wLength;
  std::uint16_t wNextNdpIndex;
};

struct Ndp32Header {  // NCM 1.0 table 3-4, followed by (dwDatagramIndex, dwDatagramLength) pairs
  std::uint32_t dwSignature;
  std::uint16_t wLength;
  std::uint16_t wReserved6;
  std::uint32_t dwNextNdpIndex;
  std::uint32_t dwReserved12;
};

static_assert(sizeof(NtbParameters) == NtbParameters::WireSize);
static_assert(sizeof(NtbInputSize) == NtbInputSize::WireSize);
static_assert(sizeof(Nth16) == 12);
static_assert(sizeof(Nth32) == 16);
static_assert(sizeof(Ndp16Header) == 8);
static_assert(sizeof(Ndp32Header) == 16);

inline constexpr std::uint32_t Nth16Signature = 0x484D434E;      // "NCMH"
inline constexpr std::uint32_t Nth32Signature = 0x686D636E;      // "ncmh"
inline constexpr std::uint32_t Ndp16Signature = 0x304D434E;      // "NCM0"
inline constexpr std::uint32_t Ndp16CrcSignature = 0x314D434E;   // "NCM1"
inline constexpr std::uint32_t Ndp32Signature = 0x306D636E;      // "ncm0"
inline constexpr std::uint32_t Ndp32CrcSignature = 0x316D636E;   // "ncm1"

// wValue of SET_NTB_FORMAT / reply of GET_NTB_FORMAT.
enum class NtbFormat : std::uint8_t { Ntb16 = 0, Ntb32 = 1 };

// ---- parsing --------------------------------------------------------------------------------

struct NtbLimits {
  NtbFormat format = NtbFormat::Ntb16;  // the format the host selected; the other is rejected
  std::size_t maxBlockLength = 16384;   // dwNtbOutMaxSize
  std::size_t maxDatagramSize = 1514;   // the current maximum datagram size
  std::size_t maxDatagrams = 0;         // wNtbOutMaxDatagrams; 0 = bounded by the output only
  std::size_t maxNdps = 16;             // longest NDP chain accepted (at most 64)
};

enum class NtbError : std::uint8_t {
  None,
  TruncatedHeader,             // shorter than an NTH
  BadSignature,                // neither NCMH nor ncmh
  WrongFormat,                 // the NTB format the host did not select
  BadHeaderLength,             // wHeaderLength != 12 / 16
  BlockLengthTooSmall,         // block length < header length (includes 0)
  BlockLengthExceedsTransfer,  // block length > bytes received
  BlockLengthExceedsMax,       // block length > dwNtbOutMaxSize
  NdpIndexMisaligned,          // NDP index (first or next) not a multiple of 4
  NdpOutOfBounds,              // NDP index inside the NTH, or the NDP runs past the block
  BadNdpSignature,             // not NCM0/ncm0 (for the NTB's format)
  CrcNotSupported,             // NCM1/ncm1: CRC mode is not supported by this function
  BadNdpLength,                // wLength too small or not a multiple of 4 (NDP16) / 8 (NDP32)
  MissingTerminator,           // no (0, 0) entry inside wLength
  NdpLoop,                     // wNextNdpIndex revisits an NDP
  TooManyNdps,                 // chain longer than NtbLimits::maxNdps
  DatagramOutOfBounds,         // index inside the NTH, or index + length past the block
  DatagramTooShort,            // shorter than an Ethernet header (14)
  DatagramTooLong,             // longer than the maximum datagram size
  TooManyDatagrams,            // more than wNtbOutMaxDatagrams / the caller's room
  Count
};

std::string_view toString(NtbError error);

struct NtbParseResult {
  NtbError error = NtbError::None;
  std::size_t datagramCount = 0;  // entries of the output span filled (0 on error)
  std::uint16_t sequence = 0;
  std::size_t blockLength = 0;
  std::size_t ndpCount = 0;
};

// Validates the NTB at the start of `transfer` (bytes after the block length are padding
// and ignored) and, when valid, stores views of its datagrams in `datagrams` (views into
// `transfer`).
NtbParseResult parseNtb(std::span<const std::byte> transfer, const NtbLimits& limits,
                        std::span<std::span<const std::byte>> datagrams);

// ---- building -------------------------------------------------------------------------------

struct NtbBuildParameters {
  NtbFormat format = NtbFormat::Ntb16;
  std::size_t maxBlockLength = 16384;  // the host's NTB input size (<= 65535 for NTB16)
  std::uint16_t divisor = 4;           // wNdpInDivisor
  std::uint16_t payloadRemainder = 0;  // wNdpInPayloadRemainder
  std::uint16_t ndpAlignment = 4;      // wNdpInAlignment
  std::size_t maxDatagrams = 0;        // the host's wNtbInMaxDatagrams; 0 = no limit
};

class NtbWriter {
 public:
  // Starts an NTB in `buffer` (at least params.maxBlockLength bytes; the writer never
  // writes past min(buffer.size(), maxBlockLength)).
  void begin(std::span<std::byte> buffer, const NtbBuildParameters& params, std::uint16_t sequence);
  bool fits(std::size_t datagramLength) const;
  // Copies the datagram in; false (and nothing written) when it does not fit.
  bool append(std::span<const std::byte> datagram);
  // Writes the NTH and the NDP; returns the block length. The writer is then idle.
  std::size_t finish();
  std::size_t datagramCount() const { return entries_.size(); }
  bool active() const { return active_; }
  // Pre-sizes the datagram table so that building NTBs of up to `datagrams` entries never
  // allocates.
  void reserve(std::size_t datagrams) { entries_.reserve(datagrams); }

 private:
  std::size_t headerLength() const;
  std::size_t datagramOffsetFor(std::size_t position) const;
  std::size_t ndpOffsetFor(std::size_t end) const;
  std::size_t ndpLength(std::size_t datagrams) const;
  std::size_t limit() const;

  struct Entry {
    std::uint32_t offset, length;
  };
  std::span<std::byte> buffer_;
  NtbBuildParameters params_;
  std::uint16_t sequence_ = 0;
  std::size_t end_ = 0;  // first byte after the last datagram
  std::vector<Entry> entries_;  // capacity kept across NTBs
  bool active_ = false;
};

// One-shot: an NTB holding all `datagrams`, or nullopt when they do not fit.
std::optional<std::size_t> buildNtb(std::span<std::byte> out,
                                    std::span<const std::span<const std::byte>> datagrams,
                                    const NtbBuildParameters& params, std::uint16_t sequence);

}  // namespace ndishost::usb::device
