// NTB parsing and building: round trips through the driver's own writer and parser, interop
// with the emulated device's NTB code (device-built NTBs parse here; driver-built NTBs parse
// there), and malformed blocks of every kind the NCM specification makes possible.
#include <gtest/gtest.h>

#include <vector>

#include "ncm_ntb.h"
#include "parser_test_support.hpp"
#include "usb/device/ncm_ntb.hpp"

using namespace usbnic_test;
namespace dev = ndishost::usb::device;

namespace {

NCM_NTB_LIMITS limits16(ULONG maxBlock = 16384) {
  NCM_NTB_LIMITS l{};
  l.Ntb32 = FALSE;
  l.MaxBlockLength = maxBlock;
  l.MaxDatagramSize = 9014;
  l.MaxNdps = 16;
  return l;
}

NCM_NTB_BUILD_PARAMETERS build(bool ntb32, ULONG maxBlock, USHORT divisor = 4, USHORT remainder = 0,
                               USHORT alignment = 4, ULONG maxDatagrams = 0) {
  NCM_NTB_BUILD_PARAMETERS p{};
  p.Ntb32 = ntb32;
  p.MaxBlockLength = maxBlock;
  p.Divisor = divisor;
  p.PayloadRemainder = remainder;
  p.NdpAlignment = alignment;
  p.MaxDatagrams = maxDatagrams;
  return p;
}

struct Parsed {
  NCM_NTB_ERROR error;
  NCM_NTB_INFO info;
  std::vector<NCM_DATAGRAM> datagrams;
};

Parsed parse(const Bytes& ntb, const NCM_NTB_LIMITS& limits, ULONG capacity = 256) {
  Parsed p;
  p.datagrams.resize(capacity == 0 ? 1 : capacity);
  auto copy = exactCopy(ntb.data(), ntb.size());
  p.error = NcmParseNtb(copy.get(), static_cast<ULONG>(ntb.size()), &limits, p.datagrams.data(),
                        capacity, &p.info);
  p.datagrams.resize(p.info.DatagramCount);
  return p;
}

// Builds an NTB of `frames` with the driver's writer.
Bytes writeNtb(const std::vector<Bytes>& frames, const NCM_NTB_BUILD_PARAMETERS& params,
               USHORT sequence = 1) {
  Bytes buffer(params.MaxBlockLength);
  std::vector<NCM_DATAGRAM> table(frames.size() + 1);
  NCM_NTB_WRITER w;
  NcmNtbWriterBegin(&w, buffer.data(), static_cast<ULONG>(buffer.size()), &params, table.data(),
                    static_cast<ULONG>(table.size()), sequence);
  for (const Bytes& f : frames) {
    if (!NcmNtbWriterAppend(&w, f.data(), static_cast<ULONG>(f.size()))) return {};
  }
  buffer.resize(NcmNtbWriterFinish(&w));
  return buffer;
}

// A valid NTB16 with two datagrams, built by hand for surgical corruption:
// NTH16 @0, datagrams @12 (60 bytes) and @72 (60 bytes), NDP16 @132 (8 + 3*4 = 20 bytes).
Bytes handNtb16() {
  Bytes b(152, 0);
  putLe32(b, 0, NCM_NTH16_SIGNATURE);
  putLe16(b, 4, 12);
  putLe16(b, 6, 5);
  putLe16(b, 8, 152);
  putLe16(b, 10, 132);
  for (std::size_t i = 12; i < 132; ++i) b[i] = static_cast<unsigned char>(i);
  putLe32(b, 132, NCM_NDP16_SIGNATURE);
  putLe16(b, 136, 20);
  putLe16(b, 138, 0);
  putLe16(b, 140, 12);
  putLe16(b, 142, 60);
  putLe16(b, 144, 72);
  putLe16(b, 146, 60);
  return b;
}

}  // namespace

TEST(NcmNtb, HandBuiltNtb16Parses) {
  Parsed p = parse(handNtb16(), limits16());
  ASSERT_EQ(p.error, NcmNtbOk) << NcmNtbErrorName(p.error);
  EXPECT_EQ(p.info.Sequence, 5);
  EXPECT_EQ(p.info.BlockLength, 152u);
  EXPECT_EQ(p.info.NdpCount, 1u);
  ASSERT_EQ(p.datagrams.size(), 2u);
  EXPECT_EQ(p.datagrams[0].Offset, 12u);
  EXPECT_EQ(p.datagrams[1].Offset, 72u);
  EXPECT_EQ(p.datagrams[1].Length, 60u);
}

TEST(NcmNtb, RoundTripEverySizeBothFormats) {
  for (bool ntb32 : {false, true}) {
    NCM_NTB_LIMITS limits = limits16(65535);
    limits.Ntb32 = ntb32;
    for (std::size_t size = 14; size <= 9014; size += (size < 1600 ? 1 : 97)) {
      const std::vector<Bytes> frames = {frameOf(size, 1), frameOf(60, 2), frameOf(size, 3)};
      const Bytes ntb = writeNtb(frames, build(ntb32, 32768, 4, 2, 8));
      ASSERT_FALSE(ntb.empty()) << size;
      Parsed p = parse(ntb, limits);
      ASSERT_EQ(p.error, NcmNtbOk) << size << " " << NcmNtbErrorName(p.error);
      ASSERT_EQ(p.datagrams.size(), frames.size());
      for (std::size_t i = 0; i < frames.size(); ++i) {
        EXPECT_EQ(p.datagrams[i].Offset % 4, 2u) << "payload remainder honoured";
        ASSERT_EQ(p.datagrams[i].Length, frames[i].size());
        EXPECT_EQ(0, std::memcmp(ntb.data() + p.datagrams[i].Offset, frames[i].data(), frames[i].size()));
      }
    }
  }
}

TEST(NcmNtb, WriterHonoursLimitsAndAlignment) {
  // A 2048-byte block holds 1514 + 60 but not a second 1514.
  Bytes buffer(2048);
  NCM_DATAGRAM table[8];
  NCM_NTB_WRITER w;
  const NCM_NTB_BUILD_PARAMETERS params = build(false, 2048, 16, 0, 16, 3);
  NcmNtbWriterBegin(&w, buffer.data(), 2048, &params, table, 8, 9);
  const Bytes big = frameOf(1514, 1), small = frameOf(60, 2);
  EXPECT_TRUE(NcmNtbWriterAppend(&w, big.data(), 1514));
  EXPECT_FALSE(NcmNtbWriterAppend(&w, big.data(), 1514));
  EXPECT_TRUE(NcmNtbWriterAppend(&w, small.data(), 60));
  EXPECT_TRUE(NcmNtbWriterAppend(&w, small.data(), 60));
  EXPECT_FALSE(NcmNtbWriterAppend(&w, small.data(), 60)) << "wNtbOutMaxDatagrams = 3";
  const ULONG length = NcmNtbWriterFinish(&w);
  ASSERT_GT(length, 0u);
  ASSERT_LE(length, 2048u);
  EXPECT_EQ(getLe32(buffer.data() + (buffer[10] | buffer[11] << 8)), NCM_NDP16_SIGNATURE);
  EXPECT_EQ((buffer[10] | buffer[11] << 8) % 16, 0) << "NDP alignment";
  buffer.resize(length);
  Parsed p = parse(buffer, limits16());
  ASSERT_EQ(p.error, NcmNtbOk);
  for (const auto& d : p.datagrams) EXPECT_EQ(d.Offset % 16, 0u) << "divisor";
  // An empty writer produces nothing; a 0-byte or oversize datagram never fits.
  NcmNtbWriterBegin(&w, buffer.data(), static_cast<ULONG>(buffer.size()), &params, table, 8, 1);
  EXPECT_EQ(NcmNtbWriterFinish(&w), 0u);
  EXPECT_EQ(NcmNtbWriterReserve(&w, 0), 0u);
  EXPECT_EQ(NcmNtbWriterReserve(&w, 100000), 0u);
}

TEST(NcmNtb, InteropWithTheEmulatedDevice) {
  // Device-built NTBs (device to host) parse with the driver's parser ...
  for (auto format : {dev::NtbFormat::Ntb16, dev::NtbFormat::Ntb32}) {
    std::vector<Bytes> frames;
    for (unsigned i = 0; i < 10; ++i) frames.push_back(frameOf(60 + i * 140, i));
    std::vector<std::span<const std::byte>> views;
    for (auto& f : frames) views.emplace_back(reinterpret_cast<const std::byte*>(f.data()), f.size());
    std::vector<std::byte> out(16384);
    dev::NtbBuildParameters bp;
    bp.format = format;
    bp.maxBlockLength = 16384;
    auto length = dev::buildNtb(out, views, bp, 77);
    ASSERT_TRUE(length.has_value());
    Bytes ntb = toBytes(std::span<const std::byte>(out.data(), *length));
    NCM_NTB_LIMITS limits = limits16();
    limits.Ntb32 = format == dev::NtbFormat::Ntb32;
    Parsed p = parse(ntb, limits);
    ASSERT_EQ(p.error, NcmNtbOk) << NcmNtbErrorName(p.error);
    EXPECT_EQ(p.info.Sequence, 77);
    ASSERT_EQ(p.datagrams.size(), frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i)
      EXPECT_EQ(0, std::memcmp(ntb.data() + p.datagrams[i].Offset, frames[i].data(), frames[i].size()));

    // ... and driver-built NTBs (host to device) pass the device's strict validation.
    const Bytes mine = writeNtb(frames, build(limits.Ntb32, 16384, 4, 0, 4, 64));
    std::vector<std::span<const std::byte>> seen(64);
    dev::NtbLimits dl;
    dl.format = format;
    dl.maxBlockLength = 16384;
    dl.maxDatagrams = 64;
    auto r = dev::parseNtb(std::span(reinterpret_cast<const std::byte*>(mine.data()), mine.size()), dl, seen);
    ASSERT_EQ(r.error, dev::NtbError::None) << dev::toString(r.error);
    EXPECT_EQ(r.datagramCount, frames.size());
  }
}

TEST(NcmNtb, RejectsMalformedHeaders) {
  const Bytes good = handNtb16();
  auto expectError = [&](Bytes b, NCM_NTB_ERROR e, NCM_NTB_LIMITS l = limits16()) {
    Parsed p = parse(b, l);
    EXPECT_EQ(p.error, e) << NcmNtbErrorName(p.error) << " expected " << NcmNtbErrorName(e);
    EXPECT_EQ(p.info.DatagramCount, 0u) << "nothing reported from a rejected block";
  };
  expectError(Bytes(good.begin(), good.begin() + 11), NcmNtbTruncatedHeader);
  Bytes b = good; b[0] = 'X'; expectError(b, NcmNtbBadSignature);
  NCM_NTB_LIMITS l32 = limits16(); l32.Ntb32 = TRUE;
  expectError(good, NcmNtbWrongFormat, l32);
  b = good; putLe16(b, 4, 16); expectError(b, NcmNtbBadHeaderLength);
  b = good; putLe16(b, 8, 11); expectError(b, NcmNtbBlockLengthTooSmall);
  b = good; putLe16(b, 8, 153); expectError(b, NcmNtbBlockLengthExceedsTransfer);
  expectError(good, NcmNtbBlockLengthExceedsMax, limits16(100));
  b = good; putLe16(b, 10, 134); expectError(b, NcmNtbNdpIndexMisaligned);
  b = good; putLe16(b, 10, 8); expectError(b, NcmNtbNdpOutOfBounds);
  b = good; putLe16(b, 10, 0); expectError(b, NcmNtbNdpOutOfBounds);
  b = good; putLe16(b, 10, 148); expectError(b, NcmNtbNdpOutOfBounds);
  // A zero NTB16 block length means "the whole transfer".
  b = good; putLe16(b, 8, 0);
  EXPECT_EQ(parse(b, limits16()).error, NcmNtbOk);
}

TEST(NcmNtb, RejectsMalformedNdpsAndDatagrams) {
  const Bytes good = handNtb16();
  auto expectError = [&](Bytes b, NCM_NTB_ERROR e, ULONG capacity = 256) {
    Parsed p = parse(b, limits16(), capacity);
    EXPECT_EQ(p.error, e) << NcmNtbErrorName(p.error) << " expected " << NcmNtbErrorName(e);
  };
  Bytes b = good; putLe32(b, 132, 0x12345678); expectError(b, NcmNtbBadNdpSignature);
  b = good; putLe32(b, 132, NCM_NDP16_CRC_SIGNATURE); expectError(b, NcmNtbCrcNotSupported);
  b = good; putLe16(b, 136, 12); expectError(b, NcmNtbBadNdpLength);
  b = good; putLe16(b, 136, 22); expectError(b, NcmNtbBadNdpLength);
  b = good; putLe16(b, 136, 24); expectError(b, NcmNtbNdpOutOfBounds);
  b = good; putLe16(b, 148, 72); putLe16(b, 150, 14); expectError(b, NcmNtbMissingTerminator);
  b = good; putLe16(b, 138, 132); expectError(b, NcmNtbNdpLoop);
  b = good; putLe16(b, 138, 134); expectError(b, NcmNtbNdpIndexMisaligned);
  b = good; putLe16(b, 140, 4); expectError(b, NcmNtbDatagramOutOfBounds);
  b = good; putLe16(b, 142, 200); expectError(b, NcmNtbDatagramOutOfBounds);
  b = good; putLe16(b, 144, 0xFFF0); expectError(b, NcmNtbDatagramOutOfBounds);
  b = good; putLe16(b, 142, 13); expectError(b, NcmNtbDatagramTooShort);
  NCM_NTB_LIMITS small = limits16(); small.MaxDatagramSize = 59;
  EXPECT_EQ(parse(good, small).error, NcmNtbDatagramTooLong);
  expectError(good, NcmNtbTooManyDatagrams, 1);
}

TEST(NcmNtb, NdpChainsAndTheirLimits) {
  // Two NDPs, the second after the first: three datagrams in all.
  Bytes b = handNtb16();
  b.resize(172, 0);
  putLe16(b, 8, 172);
  putLe16(b, 138, 152);  // next NDP
  putLe16(b, 144, 0);    // first NDP now lists one datagram
  putLe16(b, 146, 0);
  putLe32(b, 152, NCM_NDP16_SIGNATURE);
  putLe16(b, 156, 16);
  putLe16(b, 160, 72);
  putLe16(b, 162, 60);
  Parsed p = parse(b, limits16());
  ASSERT_EQ(p.error, NcmNtbOk) << NcmNtbErrorName(p.error);
  EXPECT_EQ(p.info.NdpCount, 2u);
  EXPECT_EQ(p.datagrams.size(), 2u);
  NCM_NTB_LIMITS one = limits16();
  one.MaxNdps = 1;
  EXPECT_EQ(parse(b, one).error, NcmNtbTooManyNdps);
  // The second NDP pointing back at the first: a loop.
  putLe16(b, 158, 132);
  EXPECT_EQ(parse(b, limits16()).error, NcmNtbNdpLoop);
}

TEST(NcmNtb, TruncationsAndMutationsNeverReadOutOfBounds) {
  std::vector<Bytes> seeds = {handNtb16(),
                              writeNtb({frameOf(60, 1), frameOf(1514, 2), frameOf(100, 3)},
                                       build(true, 4096))};
  for (std::size_t s = 0; s < seeds.size(); ++s) {
    NCM_NTB_LIMITS limits = limits16();
    limits.Ntb32 = s == 1;
    const Bytes& good = seeds[s];
    for (std::size_t n = 0; n <= good.size(); ++n) parse(Bytes(good.begin(), good.begin() + n), limits);
    Lcg rng{static_cast<std::uint32_t>(11 + s)};
    int accepted = 0;
    for (int round = 0; round < 20000; ++round) {
      Bytes m = good;
      const int flips = 1 + rng.next() % 4;
      for (int i = 0; i < flips; ++i) {
        // Aim most mutations at the header fields that steer the walk.
        const std::size_t at = rng.next() % 2 ? rng.next() % 16 : rng.next() % m.size();
        m[at] = static_cast<unsigned char>(rng.next());
      }
      Parsed p = parse(m, limits);
      if (p.error == NcmNtbOk) {
        ++accepted;
        for (const auto& d : p.datagrams) {
          EXPECT_LE(d.Offset + d.Length, p.info.BlockLength);
          EXPECT_GE(d.Length, 14u);
        }
      }
    }
    EXPECT_GT(accepted, 0) << "some mutations touch only payload";
  }
}

TEST(NcmNtb, NtbParameters) {
  Bytes p(28, 0);
  putLe16(p, 0, 28);
  putLe16(p, 2, 3);
  putLe32(p, 4, 16384);
  putLe16(p, 8, 4);
  putLe16(p, 12, 4);
  putLe32(p, 16, 8192);
  putLe16(p, 20, 4);
  putLe16(p, 22, 2);
  putLe16(p, 24, 8);
  putLe16(p, 26, 32);
  NCM_NTB_PARAMETERS out;
  auto copy = exactCopy(p.data(), p.size());
  ASSERT_TRUE(NcmParseNtbParameters(copy.get(), 28, &out));
  EXPECT_EQ(out.NtbFormatsSupported, 3);
  EXPECT_EQ(out.NtbInMaxSize, 16384u);
  EXPECT_EQ(out.NtbOutMaxSize, 8192u);
  EXPECT_EQ(out.NdpOutPayloadRemainder, 2);
  EXPECT_EQ(out.NdpOutAlignment, 8);
  EXPECT_EQ(out.NtbOutMaxDatagrams, 32);
  auto shortCopy = exactCopy(p.data(), 27);
  EXPECT_FALSE(NcmParseNtbParameters(shortCopy.get(), 27, &out));
  Bytes noNtb16 = p; putLe16(noNtb16, 2, 2);
  EXPECT_FALSE(NcmParseNtbParameters(noNtb16.data(), 28, &out));
  Bytes tiny = p; putLe32(tiny, 16, 20);
  EXPECT_FALSE(NcmParseNtbParameters(tiny.data(), 28, &out));
  Bytes badLength = p; putLe16(badLength, 0, 10);
  EXPECT_FALSE(NcmParseNtbParameters(badLength.data(), 28, &out));
}
