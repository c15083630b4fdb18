// RNDIS messages: the host's control messages as the emulated device parses them, the
// device's replies as the host parses them, multi-packet data transfers both ways, and
// malformed messages (bad lengths and offsets) rejected without reading out of bounds.
#include <gtest/gtest.h>

#include <vector>

#include "parser_test_support.hpp"
#include "rndis_msg.h"
#include "usb/device/rndis_messages.hpp"

using namespace usbnic_test;
namespace dev = ndishost::usb::device;

namespace {

std::span<const std::byte> view(const Bytes& b) {
  return {reinterpret_cast<const std::byte*>(b.data()), b.size()};
}


RNDIS_CONTROL_ERROR parseResponse(const Bytes& b, RNDIS_RESPONSE& r) {
  auto copy = exactCopy(b.data(), b.size());
  return RndisParseResponse(copy.get(), static_cast<ULONG>(b.size()), &r);
}

struct ParsedTransfer {
  RNDIS_PACKET_ERROR error;
  RNDIS_PACKET_INFO info;
  std::vector<RNDIS_FRAME> frames;
};

ParsedTransfer parseTransfer(const Bytes& b, ULONG maxTransfer = 16384, ULONG capacity = 64,
                             ULONG maxFrame = 1514) {
  ParsedTransfer p;
  p.frames.resize(capacity == 0 ? 1 : capacity);
  RNDIS_PACKET_LIMITS limits{maxTransfer, maxFrame};
  auto copy = exactCopy(b.data(), b.size());
  p.error = RndisParsePacketTransfer(copy.get(), static_cast<ULONG>(b.size()), &limits,
                                     p.frames.data(), capacity, &p.info);
  p.frames.resize(p.info.FrameCount);
  return p;
}

}  // namespace

TEST(RndisMessages, HostControlMessagesPassTheDeviceParser) {
  Bytes buffer(256);
  ULONG n = RndisBuildInitialize(buffer.data(), 256, 7, 16384);
  ASSERT_EQ(n, 24u);
  // Each message is kept alive while the parse result (which views into it) is used.
  const Bytes initialize(buffer.begin(), buffer.begin() + n);
  auto r = dev::parseRndisRequest(view(initialize));
  ASSERT_EQ(r.error, dev::RndisControlError::None);
  EXPECT_EQ(r.request.messageType, dev::rndis_message::Initialize);
  EXPECT_EQ(r.request.requestId, 7u);
  EXPECT_EQ(r.request.maxTransferSize, 16384u);

  const ULONG filter = 0x0B;
  n = RndisBuildSet(buffer.data(), 256, 8, 0x0001010E, &filter, sizeof(filter));
  ASSERT_EQ(n, 32u);
  const Bytes set(buffer.begin(), buffer.begin() + n);
  r = dev::parseRndisRequest(view(set));
  ASSERT_EQ(r.error, dev::RndisControlError::None);
  EXPECT_EQ(r.request.oid, 0x0001010Eu);
  ASSERT_EQ(r.request.information.size(), 4u);
  EXPECT_EQ(std::to_integer<int>(r.request.information[0]), 0x0B);

  n = RndisBuildQuery(buffer.data(), 256, 9, 0x01010101, nullptr, 0);
  ASSERT_EQ(n, 28u);
  const Bytes query(buffer.begin(), buffer.begin() + n);
  r = dev::parseRndisRequest(view(query));
  ASSERT_EQ(r.error, dev::RndisControlError::None);
  EXPECT_EQ(r.request.messageType, dev::rndis_message::Query);

  EXPECT_EQ(RndisBuildReset(buffer.data(), 256), 12u);
  EXPECT_EQ(RndisBuildHalt(buffer.data(), 256, 1), 12u);
  EXPECT_EQ(RndisBuildKeepalive(buffer.data(), 256, 1), 12u);
  EXPECT_EQ(RndisBuildKeepaliveComplete(buffer.data(), 256, 1, 0), 16u);
  // Too small a buffer: nothing built.
  EXPECT_EQ(RndisBuildInitialize(buffer.data(), 23, 1, 1), 0u);
  EXPECT_EQ(RndisBuildSet(buffer.data(), 31, 1, 1, &filter, 4), 0u);
  EXPECT_EQ(RndisBuildSet(buffer.data(), 3, 1, 1, &filter, 4), 0u);
}

TEST(RndisMessages, DeviceRepliesParse) {
  std::vector<std::byte> out(512);
  dev::RndisInitializeCompleteFields f;
  f.requestId = 7;
  f.maxPacketsPerMessage = 8;
  f.maxTransferSize = 16000;
  f.packetAlignmentFactor = 3;
  Bytes m = toBytes(std::span(out.data(), dev::buildRndisInitializeComplete(out, f)));
  RNDIS_RESPONSE r;
  ASSERT_EQ(parseResponse(m, r), RndisControlOk);
  EXPECT_EQ(r.MessageType, REMOTE_NDIS_INITIALIZE_CMPLT);
  EXPECT_EQ(r.RequestId, 7u);
  EXPECT_EQ(r.MaxPacketsPerTransfer, 8u);
  EXPECT_EQ(r.MaxTransferSize, 16000u);
  EXPECT_EQ(r.PacketAlignmentFactor, 3u);
  EXPECT_EQ(r.Medium, RNDIS_MEDIUM_802_3);

  const std::byte mac[6] = {std::byte{2}, std::byte{0}, std::byte{0x5E}, std::byte{1}, std::byte{2}, std::byte{3}};
  m = toBytes(std::span(out.data(), dev::buildRndisQueryComplete(out, 9, 0, mac)));
  ASSERT_EQ(parseResponse(m, r), RndisControlOk);
  EXPECT_EQ(r.RequestId, 9u);
  ASSERT_EQ(r.BufferLength, 6u);
  EXPECT_EQ(m[r.BufferOffset + 2], 0x5E);

  m = toBytes(std::span(out.data(), dev::buildRndisSetComplete(out, 10, 0xC00000BB)));
  ASSERT_EQ(parseResponse(m, r), RndisControlOk);
  EXPECT_EQ(r.Status, RNDIS_STATUS_NOT_SUPPORTED);

  m = toBytes(std::span(out.data(), dev::buildRndisResetComplete(out, 0, true)));
  ASSERT_EQ(parseResponse(m, r), RndisControlOk);
  EXPECT_EQ(r.AddressingReset, 1u);

  m = toBytes(std::span(out.data(), dev::buildRndisIndicateStatus(out, RNDIS_STATUS_MEDIA_DISCONNECT)));
  ASSERT_EQ(parseResponse(m, r), RndisControlOk);
  EXPECT_EQ(r.MessageType, REMOTE_NDIS_INDICATE_STATUS_MSG);
  EXPECT_EQ(r.Status, RNDIS_STATUS_MEDIA_DISCONNECT);

  m = toBytes(std::span(out.data(), dev::buildRndisInvalidDataIndication(out, 1, 4, mac)));
  ASSERT_EQ(parseResponse(m, r), RndisControlOk);
  EXPECT_GE(r.BufferLength, 8u);
  EXPECT_LE(r.BufferOffset + r.BufferLength, m.size());

  m = toBytes(std::span(out.data(), dev::buildRndisKeepaliveComplete(out, 11, 0)));
  ASSERT_EQ(parseResponse(m, r), RndisControlOk);
  EXPECT_EQ(r.MessageType, REMOTE_NDIS_KEEPALIVE_CMPLT);
  EXPECT_EQ(r.RequestId, 11u);
}

TEST(RndisMessages, RejectsBadControlLengthsAndOffsets) {
  std::vector<std::byte> out(512);
  const std::byte info[8] = {};
  const Bytes good = toBytes(std::span(out.data(), dev::buildRndisQueryComplete(out, 9, 0, info)));
  RNDIS_RESPONSE r;
  EXPECT_EQ(parseResponse(Bytes(good.begin(), good.begin() + 7), r), RndisControlTooShort);
  EXPECT_EQ(parseResponse(Bytes(good.begin(), good.begin() + 20), r), RndisControlTooShort);
  Bytes b = good; putLe32(b, 4, 33); EXPECT_EQ(parseResponse(b, r), RndisControlBadMessageLength);
  b = good; putLe32(b, 4, 20); EXPECT_EQ(parseResponse(b, r), RndisControlBadMessageLength);
  b = good; putLe32(b, 16, 9); EXPECT_EQ(parseResponse(b, r), RndisControlBadBuffer);
  b = good; putLe32(b, 20, 0xFFFFFFF0u); EXPECT_EQ(parseResponse(b, r), RndisControlBadBuffer);
  b = good; putLe32(b, 20, 4); EXPECT_EQ(parseResponse(b, r), RndisControlBadBuffer) << "inside the header";
  b = good; putLe32(b, 16, 0xFFFFFFFFu); EXPECT_EQ(parseResponse(b, r), RndisControlBadBuffer);
  b = good; putLe32(b, 0, 0x80000077u); EXPECT_EQ(parseResponse(b, r), RndisControlUnknownType);
  b = good; putLe32(b, 0, REMOTE_NDIS_INITIALIZE_CMPLT); EXPECT_EQ(parseResponse(b, r), RndisControlTooShort);
  // Every truncation and random corruption of every reply stays in bounds.
  Lcg rng{5};
  for (int round = 0; round < 20000; ++round) {
    Bytes m = good;
    m[rng.next() % 24] = static_cast<unsigned char>(rng.next());
    m.resize(rng.next() % (m.size() + 1));
    if (parseResponse(m, r) == RndisControlOk) {
      EXPECT_LE(r.MessageLength, m.size());
      EXPECT_LE(r.BufferOffset + r.BufferLength, r.MessageLength);
    }
  }
}

TEST(RndisMessages, MultiPacketTransfersRoundTripEverySize) {
  for (std::size_t size = 14; size <= 1514; ++size) {
    const std::vector<Bytes> frames = {frameOf(size, 1), frameOf(60, 2), frameOf(size, 3)};
    Bytes buffer(16384);
    RNDIS_PACKET_WRITER w;
    RndisPacketWriterBegin(&w, buffer.data(), 16384, 16384, 8, 8);
    for (const auto& f : frames) ASSERT_TRUE(RndisPacketWriterAppend(&w, f.data(), static_cast<ULONG>(f.size())));
    buffer.resize(RndisPacketWriterFinish(&w));

    // The device accepts the host's transfer ...
    std::vector<std::span<const std::byte>> seen(8);
    dev::RndisPacketLimits dl;
    dl.maxPackets = 8;
    auto dr = dev::parseRndisPacketTransfer(view(buffer), dl, seen);
    ASSERT_EQ(dr.error, dev::RndisPacketError::None) << size << " " << dev::toString(dr.error);
    ASSERT_EQ(dr.packetCount, 3u);

    // ... and the host parser accepts it too, with the same frames.
    ParsedTransfer p = parseTransfer(buffer);
    ASSERT_EQ(p.error, RndisPacketOk) << RndisPacketErrorName(p.error);
    ASSERT_EQ(p.frames.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
      ASSERT_EQ(p.frames[i].Length, frames[i].size());
      EXPECT_EQ(0, std::memcmp(buffer.data() + p.frames[i].Offset, frames[i].data(), frames[i].size()));
    }
  }
}

TEST(RndisMessages, DeviceBuiltTransfersParseWithPadding) {
  std::vector<Bytes> frames;
  std::vector<std::span<const std::byte>> views;
  for (unsigned i = 0; i < 6; ++i) frames.push_back(frameOf(60 + 200 * i, i));
  for (auto& f : frames) views.push_back(view(f));
  std::vector<std::byte> out(16384);
  const std::size_t n = dev::buildRndisPacketTransfer(out, views, 16384, 8);
  ASSERT_GT(n, 0u);
  Bytes transfer = toBytes(std::span(out.data(), n));
  transfer.push_back(0);  // the one-byte pad a device adds to avoid a zero-length packet
  ParsedTransfer p = parseTransfer(transfer);
  ASSERT_EQ(p.error, RndisPacketOk);
  ASSERT_EQ(p.frames.size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i)
    EXPECT_EQ(0, std::memcmp(transfer.data() + p.frames[i].Offset, frames[i].data(), frames[i].size()));
}

TEST(RndisMessages, WriterLimits) {
  Bytes buffer(200);
  RNDIS_PACKET_WRITER w;
  RndisPacketWriterBegin(&w, buffer.data(), 200, 150, 2, 8);
  const Bytes f = frameOf(60, 1);
  EXPECT_TRUE(RndisPacketWriterAppend(&w, f.data(), 60));
  EXPECT_FALSE(RndisPacketWriterAppend(&w, f.data(), 60)) << "104 + 44 + 60 > 150";
  EXPECT_EQ(RndisPacketWriterFinish(&w), 104u);
  RndisPacketWriterBegin(&w, buffer.data(), 200, 200, 1, 8);
  EXPECT_TRUE(RndisPacketWriterAppend(&w, f.data(), 14));
  EXPECT_FALSE(RndisPacketWriterAppend(&w, f.data(), 14)) << "MaxPacketsPerMessage";
  RndisPacketWriterBegin(&w, buffer.data(), 200, 200, 0, 8);
  EXPECT_EQ(RndisPacketWriterFinish(&w), 0u);
  EXPECT_EQ(RndisPacketWriterReserve(&w, 157), 0u);
  EXPECT_NE(RndisPacketWriterReserve(&w, 156), 0u);
}

TEST(RndisMessages, RejectsMalformedDataMessages) {
  Bytes good(16384);
  RNDIS_PACKET_WRITER w;
  RndisPacketWriterBegin(&w, good.data(), 16384, 16384, 0, 8);
  const Bytes f1 = frameOf(60, 1), f2 = frameOf(100, 2);
  RndisPacketWriterAppend(&w, f1.data(), 60);
  RndisPacketWriterAppend(&w, f2.data(), 100);
  good.resize(RndisPacketWriterFinish(&w));  // messages at 0 (length 104) and 104
  auto expectError = [&](const Bytes& b, RNDIS_PACKET_ERROR e, ULONG maxTransfer = 16384,
                         ULONG capacity = 64, ULONG maxFrame = 1514) {
    ParsedTransfer p = parseTransfer(b, maxTransfer, capacity, maxFrame);
    EXPECT_EQ(p.error, e) << RndisPacketErrorName(p.error) << " expected " << RndisPacketErrorName(e);
    EXPECT_EQ(p.info.FrameCount, 0u);
  };
  expectError(Bytes{}, RndisPacketEmpty);
  expectError(Bytes(40, 0), RndisPacketEmpty);
  expectError(good, RndisPacketTransferTooLong, 100);
  expectError(Bytes(good.begin(), good.begin() + 40), RndisPacketTruncatedHeader);
  Bytes b = good; putLe32(b, 0, 2); expectError(b, RndisPacketBadMessageType);
  b = good; putLe32(b, 4, 43); expectError(b, RndisPacketBadMessageLength);
  b = good; putLe32(b, 4, 0); expectError(b, RndisPacketBadMessageLength);
  b = good; putLe32(b, 104 + 4, 1000); expectError(b, RndisPacketBadMessageLength);
  b = good; putLe32(b, 8, 20); expectError(b, RndisPacketBadDataOffset);
  b = good; putLe32(b, 8, 0xFFFFFFF8u); expectError(b, RndisPacketBadDataOffset);
  b = good; putLe32(b, 12, 61); expectError(b, RndisPacketDataOutOfBounds);
  b = good; putLe32(b, 12, 0xFFFFFFF0u); expectError(b, RndisPacketDataOutOfBounds);
  b = good; putLe32(b, 12, 13); expectError(b, RndisPacketDataTooShort);
  expectError(good, RndisPacketDataTooLong, 16384, 64, 99);
  expectError(good, RndisPacketTooManyPackets, 16384, 1);
  EXPECT_EQ(parseTransfer(good, 16384, 2).error, RndisPacketOk);

  Lcg rng{3};
  for (int round = 0; round < 20000; ++round) {
    Bytes m = good;
    const int flips = 1 + rng.next() % 3;
    for (int i = 0; i < flips; ++i) {
      const std::size_t at = rng.next() % 2 ? rng.next() % 16 + (rng.next() % 2) * 104 : rng.next() % m.size();
      m[at % m.size()] = static_cast<unsigned char>(rng.next());
    }
    m.resize(m.size() - rng.next() % 8);
    ParsedTransfer p = parseTransfer(m);
    if (p.error == RndisPacketOk) {
      for (const auto& fr : p.frames) {
        EXPECT_LE(fr.Offset + fr.Length, m.size());
      }
    }
  }
}
