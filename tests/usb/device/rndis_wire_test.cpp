// RNDIS wire formats: control messages both ways, multi-packet data transfers (round trips,
// alignment, every rejection class) and random mutations that must stay in bounds.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <random>

#include "test_support.hpp"
#include "usb/device/rndis_messages.hpp"

using namespace ndishost::usb::device;
using namespace ndishost::usb::device::test;

namespace {

static_assert(offsetof(RndisPacketMessage, DataOffset) == 8);
static_assert(offsetof(RndisPacketMessage, PerPacketInfoOffset) == 28);
static_assert(offsetof(RndisInitializeComplete, MaxTransferSize) == 36);
static_assert(offsetof(RndisInitializeComplete, PacketAlignmentFactor) == 40);
static_assert(offsetof(RndisQueryMessage, InformationBufferOffset) == 20);
static_assert(offsetof(RndisResetComplete, AddressingReset) == 12);

std::array<std::span<const std::byte>, 64> frames;

RndisPacketLimits limits(std::size_t maxPackets = 16, std::size_t alignment = 8) {
  RndisPacketLimits l;
  l.maxTransferSize = 16384;
  l.maxPackets = maxPackets;
  l.alignment = alignment;
  l.maxFrameSize = 1514;
  return l;
}

Bytes oneMessage(std::size_t frameLength) {
  Bytes out(16384);
  Bytes frame = makeFrame(frameLength);
  std::span<const std::byte> view = frame;
  std::size_t n = buildRndisPacketTransfer(out, std::span(&view, 1), 16384);
  out.resize(n);
  return out;
}

}  // namespace

TEST(RndisControl, ParsesWhatTheHostBuildersProduce) {
  Bytes m(256);
  m.resize(buildRndisInitialize(m, 7, 0x4000));
  RndisRequestParse p = parseRndisRequest(m);
  ASSERT_EQ(p.error, RndisControlError::None);
  EXPECT_EQ(p.request.messageType, rndis_message::Initialize);
  EXPECT_EQ(p.request.requestId, 7u);
  EXPECT_EQ(p.request.majorVersion, 1u);
  EXPECT_EQ(p.request.maxTransferSize, 0x4000u);

  Bytes value = bytesOf({0x0B, 0, 0, 0});
  Bytes s(256);
  s.resize(buildRndisSet(s, 9, rndis_oid::GenCurrentPacketFilter, value));
  EXPECT_EQ(s.size(), 28u + 4u);
  EXPECT_EQ(readLe32(s, 20), 20u) << "information offset counts from RequestId";
  p = parseRndisRequest(s);
  ASSERT_EQ(p.error, RndisControlError::None);
  EXPECT_EQ(p.request.oid, rndis_oid::GenCurrentPacketFilter);
  ASSERT_EQ(p.request.information.size(), 4u);
  EXPECT_EQ(readLe32(p.request.information, 0), 0x0Bu);

  Bytes r(64);
  r.resize(buildRndisReset(r));
  p = parseRndisRequest(r);
  ASSERT_EQ(p.error, RndisControlError::None);
  EXPECT_EQ(p.request.messageType, rndis_message::Reset);
}

TEST(RndisControl, RejectsMalformedRequests) {
  EXPECT_EQ(parseRndisRequest(Bytes(4)).error, RndisControlError::TooShort);
  Bytes unknown(12);
  writeLe32(unknown, 0, 0x99);
  writeLe32(unknown, 4, 12);
  EXPECT_EQ(parseRndisRequest(unknown).error, RndisControlError::UnknownMessageType);
  Bytes q(64);
  q.resize(buildRndisQuery(q, 1, rndis_oid::GenLinkSpeed));
  Bytes longer = q;
  writeLe32(longer, 4, 200);
  EXPECT_EQ(parseRndisRequest(longer).error, RndisControlError::BadMessageLength);
  Bytes shorter = q;
  writeLe32(shorter, 4, 20);
  EXPECT_EQ(parseRndisRequest(shorter).error, RndisControlError::BadMessageLength);
  Bytes badInfo = q;
  writeLe32(badInfo, 16, 8);   // 8 bytes of information...
  writeLe32(badInfo, 20, 20);  // ...starting at the end of the message
  EXPECT_EQ(parseRndisRequest(badInfo).error, RndisControlError::BadInformationBuffer);
  writeLe32(badInfo, 20, 0xFFFFFFF0);
  EXPECT_EQ(parseRndisRequest(badInfo).error, RndisControlError::BadInformationBuffer);
  Bytes truncatedInit(16);
  writeLe32(truncatedInit, 0, rndis_message::Initialize);
  writeLe32(truncatedInit, 4, 16);
  EXPECT_EQ(parseRndisRequest(truncatedInit).error, RndisControlError::TooShort);
}

TEST(RndisControl, DeviceRepliesParseBack) {
  Bytes out(1024);
  RndisInitializeCompleteFields f;
  f.requestId = 3;
  f.maxPacketsPerMessage = 8;
  f.maxTransferSize = 16384;
  f.packetAlignmentFactor = 3;
  std::size_t n = buildRndisInitializeComplete(out, f);
  EXPECT_EQ(n, 52u);
  RndisResponseParse r = parseRndisResponse(std::span(out).first(n));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.response.initialize.DeviceFlags, RndisDeviceFlagConnectionless);
  EXPECT_EQ(r.response.initialize.Medium, RndisMedium802_3);
  EXPECT_EQ(r.response.initialize.MaxTransferSize, 16384u);

  Bytes info = bytesOf({1, 2, 3, 4, 5, 6});
  n = buildRndisQueryComplete(out, 4, rndis_status::Success, info);
  r = parseRndisResponse(std::span(out).first(n));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(readLe32(out, 20), 16u);
  EXPECT_TRUE(std::equal(r.response.information.begin(), r.response.information.end(), info.begin(), info.end()));

  Bytes offending(100, std::byte{0xAB});
  n = buildRndisInvalidDataIndication(std::span(out).first(64), rndis_status::NotSupported, 0, offending);
  EXPECT_EQ(n, 64u) << "appended message is cut to fit";
  r = parseRndisResponse(std::span(out).first(n));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.response.status, rndis_status::InvalidData);
  ASSERT_EQ(r.response.information.size(), 64u - 20u);
  EXPECT_EQ(readLe32(r.response.information, 0), rndis_status::NotSupported);
}

TEST(RndisPackets, MultiPacketTransfersRoundTrip) {
  for (std::size_t count : {1u, 2u, 5u, 10u}) {
    std::vector<Bytes> sent;
    for (std::size_t i = 0; i < count; ++i) sent.push_back(makeFrame(14 + i * 151, HostMac, static_cast<unsigned>(i)));
    std::vector<std::span<const std::byte>> views(sent.begin(), sent.end());
    Bytes transfer(16384);
    std::size_t n = buildRndisPacketTransfer(transfer, views, 16384);
    ASSERT_GT(n, 0u);
    transfer.resize(n);
    RndisPacketParseResult r = parseRndisPacketTransfer(transfer, limits(), frames);
    ASSERT_EQ(r.error, RndisPacketError::None) << toString(r.error);
    ASSERT_EQ(r.packetCount, count);
    std::size_t start = 0;
    for (std::size_t i = 0; i < count; ++i) {
      EXPECT_EQ(start % 8, 0u) << "message " << i << " starts on the 8-byte boundary";
      EXPECT_TRUE(std::equal(frames[i].begin(), frames[i].end(), sent[i].begin(), sent[i].end()));
      start += readLe32(transfer, start + 4);
    }
    EXPECT_EQ(start, n);
  }
}

TEST(RndisPackets, WriterStopsAtTheTransferSizeAndPacketCount) {
  Bytes buffer(4096);
  RndisPacketWriter w;
  w.begin(buffer, 2000, 0);
  Bytes frame = makeFrame(1000);
  ASSERT_TRUE(w.append(frame));
  EXPECT_FALSE(w.append(frame)) << "a second 1044-byte message does not fit in 2000 bytes";
  EXPECT_TRUE(w.fits(2000 - 1048 - 44));
  EXPECT_FALSE(w.fits(2000 - 1048 - 43));
  EXPECT_EQ(w.finish(), 1044u);
  w.begin(buffer, 4096, 2);
  Bytes small = makeFrame(60);
  EXPECT_TRUE(w.append(small));
  EXPECT_TRUE(w.append(small));
  EXPECT_FALSE(w.append(small));
}

TEST(RndisPackets, AcceptsZeroPaddingAfterTheLastMessage) {
  Bytes t = oneMessage(60);
  t.push_back(std::byte{0});  // a host's anti-ZLP pad byte
  RndisPacketParseResult r = parseRndisPacketTransfer(t, limits(), frames);
  EXPECT_EQ(r.error, RndisPacketError::None);
  EXPECT_EQ(r.packetCount, 1u);
}

TEST(RndisPackets, RejectsEachMalformedClass) {
  auto expectError = [&](const Bytes& t, RndisPacketError error, RndisPacketLimits l = limits()) {
    RndisPacketParseResult r = parseRndisPacketTransfer(t, l, frames);
    EXPECT_EQ(r.error, error) << "got " << toString(r.error) << " expected " << toString(error);
    EXPECT_EQ(r.packetCount, 0u);
  };
  const Bytes good = oneMessage(60);
  ASSERT_EQ(parseRndisPacketTransfer(good, limits(), frames).error, RndisPacketError::None);

  expectError(Bytes{}, RndisPacketError::Empty);
  expectError(Bytes(64), RndisPacketError::Empty);
  {
    RndisPacketLimits l = limits();
    l.maxTransferSize = 100;
    expectError(good, RndisPacketError::TransferTooLong, l);
  }
  expectError(Bytes(good.begin(), good.begin() + 30), RndisPacketError::TruncatedHeader);
  {
    Bytes t = good;
    writeLe32(t, 0, rndis_message::Query);
    expectError(t, RndisPacketError::BadMessageType);
  }
  {
    Bytes t = good;
    writeLe32(t, 4, 40);
    expectError(t, RndisPacketError::BadMessageLength);
    writeLe32(t, 4, 4000);
    expectError(t, RndisPacketError::BadMessageLength);
  }
  {
    // Two messages, the first not padded to the 8-byte boundary (60 + 44 = 104 is, 61 + 44 not).
    Bytes a = oneMessage(61), b = oneMessage(60);
    Bytes t = a;
    t.insert(t.end(), b.begin(), b.end());
    expectError(t, RndisPacketError::Misaligned);
    EXPECT_EQ(parseRndisPacketTransfer(t, limits(16, 1), frames).error, RndisPacketError::None)
        << "fine for a device that asked for no alignment";
  }
  {
    Bytes t = good;
    writeLe32(t, 8, 38);
    expectError(t, RndisPacketError::BadDataOffset);
    writeLe32(t, 8, 32);  // data would overlap the header
    expectError(t, RndisPacketError::BadDataOffset);
  }
  {
    Bytes t = good;
    writeLe32(t, 12, 61);
    expectError(t, RndisPacketError::DataOutOfBounds);
    writeLe32(t, 12, 0xFFFFFFFF);
    expectError(t, RndisPacketError::DataOutOfBounds);
  }
  expectError(oneMessage(13), RndisPacketError::DataTooShort);
  expectError(oneMessage(1515), RndisPacketError::DataTooLong);
  {
    Bytes t = good;
    writeLe32(t, 20, 8);  // OOB length without a valid offset
    expectError(t, RndisPacketError::BadOutOfBandData);
  }
  {
    // Per-packet info: a 12-byte record at the end of the data, but claiming 16 bytes.
    Bytes t = good;
    t.resize(t.size() + 12);
    writeLe32(t, 4, static_cast<std::uint32_t>(t.size()));
    const std::size_t ppiOffset = good.size() - 8;
    writeLe32(t, 28, static_cast<std::uint32_t>(ppiOffset));
    writeLe32(t, 32, 12);
    writeLe32(t, good.size(), 12);
    writeLe32(t, good.size() + 8, 12);
    EXPECT_EQ(parseRndisPacketTransfer(t, limits(), frames).error, RndisPacketError::None);
    writeLe32(t, good.size(), 16);
    expectError(t, RndisPacketError::BadPerPacketInfo);
    writeLe32(t, good.size(), 12);
    writeLe32(t, 32, 16);  // block runs past the message
    expectError(t, RndisPacketError::BadPerPacketInfo);
  }
  {
    std::vector<Bytes> sent(3, makeFrame(60));
    std::vector<std::span<const std::byte>> views(sent.begin(), sent.end());
    Bytes t(4096);
    t.resize(buildRndisPacketTransfer(t, views, 4096));
    expectError(t, RndisPacketError::TooManyPackets, limits(2));
    EXPECT_EQ(parseRndisPacketTransfer(t, limits(3), frames).packetCount, 3u);
  }
}

TEST(RndisPackets, RandomMutationsStayInBounds) {
  std::mt19937 rng(777);
  std::vector<Bytes> sent{makeFrame(60), makeFrame(1514), makeFrame(14), makeFrame(333)};
  std::vector<std::span<const std::byte>> views(sent.begin(), sent.end());
  Bytes seed(16384);
  seed.resize(buildRndisPacketTransfer(seed, views, 16384));
  for (int iteration = 0; iteration < 20000; ++iteration) {
    Bytes t = seed;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      // Mostly hit the headers, where the interesting fields are.
      std::size_t where = rng() % 2 ? rng() % 48 : rng() % t.size();
      t[where] = static_cast<std::byte>(rng());
    }
    if (rng() % 8 == 0) t.resize(rng() % (t.size() + 1));
    RndisPacketParseResult r = parseRndisPacketTransfer(t, limits(), frames);
    for (std::size_t i = 0; i < r.packetCount; ++i) {
      ASSERT_GE(frames[i].data(), t.data() + 44);
      ASSERT_LE(frames[i].data() + frames[i].size(), t.data() + t.size());
    }
    (void)parseRndisRequest(t);
    (void)parseRndisResponse(t);
  }
}
