// CDC-NCM transfer blocks: NTB16/NTB32 round trips over every datagram size, the exact NTB
// size boundary, every malformed-NTB class, and random mutations that must never read out
// of bounds (ASan) nor be accepted with datagrams outside the block.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <random>

#include "test_support.hpp"
#include "usb/device/ncm_ntb.hpp"

using namespace ndishost::usb::device;
using namespace ndishost::usb::device::test;

namespace {

static_assert(offsetof(NtbParameters, dwNtbInMaxSize) == 4);
static_assert(offsetof(NtbParameters, wNdpInDivisor) == 8);
static_assert(offsetof(NtbParameters, dwNtbOutMaxSize) == 16);
static_assert(offsetof(NtbParameters, wNtbOutMaxDatagrams) == 26);
static_assert(offsetof(Nth32, dwBlockLength) == 8);
static_assert(offsetof(Ndp32Header, dwNextNdpIndex) == 8);

std::array<std::span<const std::byte>, 512> outputs;

NtbParseResult parse(std::span<const std::byte> ntb, const NtbLimits& limits) {
  return parseNtb(ntb, limits, outputs);
}

NtbLimits limitsFor(NtbFormat format, std::size_t maxBlock = 65536, std::size_t maxDatagram = 9014) {
  NtbLimits limits;
  limits.format = format;
  limits.maxBlockLength = maxBlock;
  limits.maxDatagramSize = maxDatagram;
  return limits;
}

NtbBuildParameters paramsFor(NtbFormat format, std::size_t maxBlock = 65536) {
  NtbBuildParameters p;
  p.format = format;
  p.maxBlockLength = maxBlock;
  return p;
}

void expectRoundTrip(NtbFormat format, const std::vector<Bytes>& datagrams,
                     const NtbBuildParameters& params, std::uint16_t sequence) {
  Bytes block(params.maxBlockLength);
  std::vector<std::span<const std::byte>> views(datagrams.begin(), datagrams.end());
  auto length = buildNtb(block, views, params, sequence);
  ASSERT_TRUE(length.has_value());
  ASSERT_LE(*length, params.maxBlockLength);
  const NtbParseResult r = parse(std::span(block).first(*length), limitsFor(format, params.maxBlockLength));
  ASSERT_EQ(r.error, NtbError::None) << toString(r.error);
  EXPECT_EQ(r.sequence, sequence);
  EXPECT_EQ(r.blockLength, *length);
  ASSERT_EQ(r.datagramCount, datagrams.size());
  for (std::size_t i = 0; i < datagrams.size(); ++i) {
    ASSERT_TRUE(std::equal(outputs[i].begin(), outputs[i].end(), datagrams[i].begin(), datagrams[i].end()))
        << "datagram " << i;
    // Datagram placement honours wNdpInDivisor / wNdpInPayloadRemainder.
    const auto offset = static_cast<std::size_t>(outputs[i].data() - block.data());
    EXPECT_EQ(offset % params.divisor, params.payloadRemainder % params.divisor);
  }
}

// A hand-built NTB16 with one NDP at `ndpIndex` listing `entries` (then a terminator).
Bytes ntb16(std::size_t blockLength, std::size_t ndpIndex,
            std::vector<std::pair<std::uint16_t, std::uint16_t>> entries,
            std::uint32_t ndpSignature = Ndp16Signature, std::uint16_t next = 0,
            std::optional<std::uint16_t> ndpLength = std::nullopt) {
  Bytes b(std::max<std::size_t>(blockLength, ndpIndex + 8 + 4 * (entries.size() + 1)));
  writeLe32(b, 0, Nth16Signature);
  writeLe16(b, 4, 12);
  writeLe16(b, 6, 7);
  writeLe16(b, 8, static_cast<std::uint16_t>(blockLength));
  writeLe16(b, 10, static_cast<std::uint16_t>(ndpIndex));
  writeLe32(b, ndpIndex, ndpSignature);
  writeLe16(b, ndpIndex + 4, ndpLength.value_or(static_cast<std::uint16_t>(8 + 4 * (entries.size() + 1))));
  writeLe16(b, ndpIndex + 6, next);
  std::size_t p = ndpIndex + 8;
  for (auto [index, length] : entries) {
    writeLe16(b, p, index);
    writeLe16(b, p + 2, length);
    p += 4;
  }
  return b;
}

}  // namespace

TEST(NtbParameters, WireRoundTripIs28Bytes) {
  NtbParameters p{};
  p.wLength = 28;
  p.bmNtbFormatsSupported = 3;
  p.dwNtbInMaxSize = 0x12345678;
  p.wNdpInDivisor = 4;
  p.wNdpInPayloadRemainder = 2;
  p.wNdpInAlignment = 8;
  p.dwNtbOutMaxSize = 0x0000C000;
  p.wNdpOutDivisor = 16;
  p.wNdpOutPayloadRemainder = 14;
  p.wNdpOutAlignment = 4;
  p.wNtbOutMaxDatagrams = 40;
  std::array<std::byte, 28> wire;
  p.write(wire);
  EXPECT_EQ(readLe32(wire, 4), 0x12345678u);
  EXPECT_EQ(readLe16(wire, 26), 40);
  NtbParameters back = NtbParameters::read(wire);
  EXPECT_EQ(std::memcmp(&back, &p, sizeof p), 0);
}

TEST(Ntb, RoundTripsEveryDatagramSizeFrom14To1514) {
  for (NtbFormat format : {NtbFormat::Ntb16, NtbFormat::Ntb32}) {
    for (std::size_t size = 14; size <= 1514; ++size) {
      // Three datagrams of neighbouring sizes exercise the alignment padding between them.
      std::vector<Bytes> datagrams{makeFrame(size, HostMac, 1), makeFrame(size, HostMac, 2),
                                   makeFrame(std::max<std::size_t>(14, size - 1), HostMac, 3)};
      expectRoundTrip(format, datagrams, paramsFor(format, 8192), static_cast<std::uint16_t>(size));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(Ntb, RoundTripsJumboDatagramsUpTo9014) {
  for (NtbFormat format : {NtbFormat::Ntb16, NtbFormat::Ntb32}) {
    for (std::size_t size = 1515; size <= 9014; size += 97) {
      expectRoundTrip(format, {makeFrame(size, HostMac, 5), makeFrame(size / 2 + 14, HostMac, 6)},
                      paramsFor(format, 32768), 1);
    }
    expectRoundTrip(format, {makeFrame(9014, HostMac, 9), makeFrame(9014, HostMac, 10)},
                    paramsFor(format, 32768), 2);
  }
}

TEST(Ntb, HonoursDivisorRemainderAndNdpAlignment) {
  NtbBuildParameters p = paramsFor(NtbFormat::Ntb16, 16384);
  p.divisor = 16;
  p.payloadRemainder = 14;  // IP header of each datagram lands on 16 bytes
  p.ndpAlignment = 16;
  std::vector<Bytes> datagrams;
  for (unsigned i = 0; i < 7; ++i) datagrams.push_back(makeFrame(60 + i * 13, HostMac, i));
  expectRoundTrip(NtbFormat::Ntb16, datagrams, p, 3);
  Bytes block(16384);
  std::vector<std::span<const std::byte>> views(datagrams.begin(), datagrams.end());
  auto length = buildNtb(block, views, p, 3);
  ASSERT_TRUE(length);
  EXPECT_EQ(readLe16(block, 10) % 16, 0) << "NDP index honours wNdpInAlignment";
}

TEST(Ntb, FillsExactlyToTheNegotiatedBlockSizeAndNoFurther) {
  for (NtbFormat format : {NtbFormat::Ntb16, NtbFormat::Ntb32}) {
    const std::size_t maxBlock = 4096;
    const std::size_t header = format == NtbFormat::Ntb16 ? 12 : 16;
    const std::size_t ndp = format == NtbFormat::Ntb16 ? 8 + 2 * 4 : 16 + 2 * 8;
    // NTH, then the datagram at the first multiple of 4, then the NDP at a multiple of 4.
    const std::size_t datagramOffset = (header + 3) / 4 * 4;
    const std::size_t exact = maxBlock - ndp - datagramOffset;  // multiple of 4: no padding
    NtbWriter writer;
    Bytes block(maxBlock);
    writer.begin(block, paramsFor(format, maxBlock), 0);
    EXPECT_FALSE(writer.fits(exact + 1));
    ASSERT_TRUE(writer.fits(exact));
    Bytes frame = makeFrame(exact);
    ASSERT_TRUE(writer.append(frame));
    EXPECT_FALSE(writer.fits(14));
    const std::size_t length = writer.finish();
    EXPECT_EQ(length, maxBlock);
    NtbParseResult r = parse(block, limitsFor(format, maxBlock));
    ASSERT_EQ(r.error, NtbError::None) << toString(r.error);
    ASSERT_EQ(r.datagramCount, 1u);
    EXPECT_TRUE(std::equal(outputs[0].begin(), outputs[0].end(), frame.begin(), frame.end()));
    // One byte over the negotiated maximum is refused by the receiver.
    EXPECT_EQ(parse(block, limitsFor(format, maxBlock - 1)).error, NtbError::BlockLengthExceedsMax);
  }
}

TEST(Ntb, WriterRespectsTheHostsDatagramLimit) {
  NtbBuildParameters p = paramsFor(NtbFormat::Ntb16, 16384);
  p.maxDatagrams = 3;
  NtbWriter writer;
  Bytes block(16384);
  writer.begin(block, p, 0);
  Bytes frame = makeFrame(60);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer.append(frame));
  EXPECT_FALSE(writer.append(frame));
  writer.finish();
  EXPECT_EQ(parse(block, limitsFor(NtbFormat::Ntb16)).datagramCount, 3u);
}

TEST(Ntb, FollowsAChainOfNdps) {
  // NTH | datagram A @16 | NDP1 @80 -> NDP2 @112 | datagram B lives at 40.
  Bytes b(160);
  writeLe32(b, 0, Nth16Signature);
  writeLe16(b, 4, 12);
  writeLe16(b, 8, 160);
  writeLe16(b, 10, 80);
  writeLe32(b, 80, Ndp16Signature);
  writeLe16(b, 84, 16);
  writeLe16(b, 86, 112);
  writeLe16(b, 88, 16);
  writeLe16(b, 90, 20);
  writeLe32(b, 112, Ndp16Signature);
  writeLe16(b, 116, 16);
  writeLe16(b, 118, 0);
  writeLe16(b, 120, 40);
  writeLe16(b, 122, 30);
  NtbParseResult r = parse(b, limitsFor(NtbFormat::Ntb16));
  ASSERT_EQ(r.error, NtbError::None) << toString(r.error);
  EXPECT_EQ(r.ndpCount, 2u);
  ASSERT_EQ(r.datagramCount, 2u);
  EXPECT_EQ(outputs[0].data() - b.data(), 16);
  EXPECT_EQ(outputs[1].size(), 30u);
}

TEST(Ntb, RejectsEachMalformedClass) {
  const NtbLimits l16 = limitsFor(NtbFormat::Ntb16, 16384, 1514);
  auto good = [] { return ntb16(64, 32, {{12, 20}}); };
  ASSERT_EQ(parse(good(), l16).error, NtbError::None);

  auto expectError = [&](const Bytes& b, NtbError error, const NtbLimits& limits) {
    NtbParseResult r = parse(b, limits);
    EXPECT_EQ(r.error, error) << "got " << toString(r.error) << " expected " << toString(error);
    EXPECT_EQ(r.datagramCount, 0u);
  };
  NtbLimits l = l16;

  {
    Bytes b = good();
    b.resize(8);
    expectError(b, NtbError::TruncatedHeader, l);
  }
  {
    Bytes b = good();
    writeLe32(b, 0, 0x12345678);
    expectError(b, NtbError::BadSignature, l);
  }
  expectError(good(), NtbError::WrongFormat, limitsFor(NtbFormat::Ntb32));
  {
    Bytes b = good();
    writeLe16(b, 4, 16);
    expectError(b, NtbError::BadHeaderLength, l);
  }
  {
    Bytes b = good();
    writeLe16(b, 8, 0);
    expectError(b, NtbError::BlockLengthTooSmall, l);
  }
  {
    Bytes truncated = good();
    truncated.resize(63);
    expectError(truncated, NtbError::BlockLengthExceedsTransfer, l);
  }
  {
    NtbLimits small = l;
    small.maxBlockLength = 63;
    expectError(good(), NtbError::BlockLengthExceedsMax, small);
  }
  expectError(ntb16(64, 30, {{12, 20}}), NtbError::NdpIndexMisaligned, l);
  {
    Bytes b = good();
    writeLe16(b, 10, 8);  // first NDP inside the NTH
    expectError(b, NtbError::NdpOutOfBounds, l);
  }
  expectError(ntb16(40, 36, {{12, 20}}), NtbError::NdpOutOfBounds, l);       // past the block
  expectError(ntb16(64, 32, {{12, 20}}, 0x41424344), NtbError::BadNdpSignature, l);
  expectError(ntb16(64, 32, {{12, 20}}, Ndp16CrcSignature), NtbError::CrcNotSupported, l);
  expectError(ntb16(64, 32, {{12, 20}}, Ndp16Signature, 0, 12), NtbError::BadNdpLength, l);
  expectError(ntb16(64, 32, {{12, 20}}, Ndp16Signature, 0, 18), NtbError::BadNdpLength, l);
  {
    // wLength says 16 but the only "terminator" slot holds a datagram.
    Bytes b = ntb16(64, 32, {{12, 20}, {12, 20}}, Ndp16Signature, 0, 16);
    expectError(b, NtbError::MissingTerminator, l);
  }
  expectError(ntb16(64, 32, {{12, 20}}, Ndp16Signature, 32), NtbError::NdpLoop, l);
  {
    NtbLimits one = l;
    one.maxNdps = 1;
    Bytes b = ntb16(96, 32, {{12, 20}}, Ndp16Signature, 64);
    writeLe32(b, 64, Ndp16Signature);
    writeLe16(b, 68, 16);
    expectError(b, NtbError::TooManyNdps, one);
    // With room for more NDPs the same chain is fine (an NDP whose first entry is the
    // terminator lists no datagram, which is allowed).
    EXPECT_EQ(parse(b, l).error, NtbError::None);
  }
  expectError(ntb16(64, 32, {{4, 20}}), NtbError::DatagramOutOfBounds, l);   // inside the NTH
  expectError(ntb16(64, 32, {{50, 20}}), NtbError::DatagramOutOfBounds, l);  // past the block
  expectError(ntb16(64, 32, {{0, 20}}), NtbError::DatagramOutOfBounds, l);   // index 0, length != 0
  expectError(ntb16(64, 32, {{12, 13}}), NtbError::DatagramTooShort, l);
  expectError(ntb16(64, 32, {{12, 0}}), NtbError::DatagramTooShort, l);
  {
    NtbLimits tiny = l;
    tiny.maxDatagramSize = 19;
    expectError(good(), NtbError::DatagramTooLong, tiny);
  }
  {
    NtbLimits two = l;
    two.maxDatagrams = 2;
    expectError(ntb16(64, 32, {{12, 14}, {12, 14}, {12, 14}}), NtbError::TooManyDatagrams, two);
  }
}

TEST(Ntb, RejectsMalformedNtb32) {
  Bytes b(96);
  writeLe32(b, 0, Nth32Signature);
  writeLe16(b, 4, 16);
  writeLe32(b, 8, 96);
  writeLe32(b, 12, 48);
  writeLe32(b, 48, Ndp32Signature);
  writeLe16(b, 52, 32);
  writeLe32(b, 64, 16);
  writeLe32(b, 68, 20);
  const NtbLimits l = limitsFor(NtbFormat::Ntb32);
  ASSERT_EQ(parse(b, l).error, NtbError::None);
  EXPECT_EQ(parse(b, limitsFor(NtbFormat::Ntb16)).error, NtbError::WrongFormat);
  Bytes crc = b;
  writeLe32(crc, 48, Ndp32CrcSignature);
  EXPECT_EQ(parse(crc, l).error, NtbError::CrcNotSupported);
  Bytes ndp16 = b;
  writeLe32(ndp16, 48, Ndp16Signature);
  EXPECT_EQ(parse(ndp16, l).error, NtbError::BadNdpSignature);
  Bytes badLength = b;
  writeLe16(badLength, 52, 36);  // not a multiple of 8
  EXPECT_EQ(parse(badLength, l).error, NtbError::BadNdpLength);
  Bytes huge = b;
  writeLe32(huge, 68, 0xFFFFFFF0);  // index + length overflows
  EXPECT_EQ(parse(huge, l).error, NtbError::DatagramOutOfBounds);
  Bytes farNdp = b;
  writeLe32(farNdp, 12, 0xFFFFFFFC);
  EXPECT_EQ(parse(farNdp, l).error, NtbError::NdpOutOfBounds);
}

TEST(Ntb, RandomMutationsNeverEscapeTheBlock) {
  std::mt19937 rng(12345);
  for (NtbFormat format : {NtbFormat::Ntb16, NtbFormat::Ntb32}) {
    std::vector<Bytes> datagrams{makeFrame(60), makeFrame(100), makeFrame(14), makeFrame(1514)};
    std::vector<std::span<const std::byte>> views(datagrams.begin(), datagrams.end());
    Bytes seed(4096);
    auto length = buildNtb(seed, views, paramsFor(format, 4096), 9);
    ASSERT_TRUE(length);
    seed.resize(*length);
    for (int iteration = 0; iteration < 20000; ++iteration) {
      Bytes b = seed;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<std::byte>(rng());
      if (rng() % 8 == 0) b.resize(rng() % (b.size() + 1));
      NtbParseResult r = parse(b, limitsFor(format, 4096, 1514));
      if (r.error == NtbError::None) {
        for (std::size_t i = 0; i < r.datagramCount; ++i) {
          ASSERT_GE(outputs[i].data(), b.data() + (format == NtbFormat::Ntb16 ? 12 : 16));
          ASSERT_LE(outputs[i].data() + outputs[i].size(), b.data() + r.blockLength);
          ASSERT_GE(outputs[i].size(), 14u);
        }
      }
    }
  }
}
