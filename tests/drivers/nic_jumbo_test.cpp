// Jumbo frames end to end (fixture: nic_fixture.hpp): an emulated CDC-NCM, CDC-ECM or RNDIS
// device whose largest frame is 9014 bytes (CDC wMaxSegmentSize; RNDIS
// OID_GEN_MAXIMUM_FRAME_SIZE 9000), the driver sizing its buffers and NTBs from it and
// reporting MTU 9000; the standard 1514 device unchanged; frames longer than the maximum
// refused by the driver (completed with failure, counted); keyword *JumboPacket limiting it.
#include "nic_fixture.hpp"

using namespace nictest;
using usb::device::test::PeerMac;
using usb::device::test::makeFrame;

namespace {

constexpr std::size_t kJumbo = 9014;

class NicJumbo : public NicFixture {
 protected:
  // NicFixture::bringUp with the device's largest frame set to `maxFrameSize`.
  void bringUp(std::size_t maxFrameSize) {
    maxFrameSize_ = maxFrameSize;
    NicFixture::bringUp();
    ASSERT_TRUE(waitUntil([&] { return network_.hasHandler(); }));
  }

  // Sends `frames` as one chain and waits for every completion; the NBLs, in frame order.
  std::vector<PNET_BUFFER_LIST> sendAll(const std::vector<Bytes>& frames) {
    std::vector<PNET_BUFFER_LIST> nbls;
    for (const Bytes& frame : frames) nbls.push_back(frames_->make(frame));
    const std::size_t before = binding_->completionCount();
    sendChain(nbls);
    EXPECT_TRUE(waitUntil([&] { return binding_->completionCount() >= before + nbls.size(); }))
        << binding_->completionCount();
    return nbls;
  }

  // How `nbl` completed (completions come in completion order, not send order).
  NDIS_STATUS completionStatus(PNET_BUFFER_LIST nbl) {
    std::lock_guard guard(binding_->lock);
    for (const auto& [completed, status] : binding_->completions)
      if (completed == nbl) return status;
    ADD_FAILURE() << "NBL never completed";
    return NDIS_STATUS_PENDING;
  }

  void expectOversizeRefused(std::size_t maximum) {
    bringUp(maximum);
    ASSERT_NE(adapter_, nullptr);
    const ULONG64 errorsBefore = queryCounter(OID_GEN_XMIT_ERROR);
    const std::vector<Bytes> out{makeFrame(60, PeerMac, 1), makeFrame(maximum + 1, PeerMac, 2),
                                 makeFrame(maximum, PeerMac, 3)};
    const auto nbls = sendAll(out);
    EXPECT_EQ(completionStatus(nbls[0]), NDIS_STATUS_SUCCESS);
    EXPECT_EQ(completionStatus(nbls[1]), NDIS_STATUS_INVALID_LENGTH);
    EXPECT_EQ(completionStatus(nbls[2]), NDIS_STATUS_SUCCESS);
    ASSERT_TRUE(network_.waitForSent(2, std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(network_.sent(), (std::vector<Bytes>{out[0], out[2]}));
    EXPECT_EQ(queryCounter(OID_GEN_XMIT_ERROR), errorsBefore + 1);
  }
};

// A 9014-byte device: MTU 9000 reported, frames up to 9014 bytes cross both ways
// byte-identical (NCM: one jumbo datagram per 16 KiB NTB, several small ones around it).
TEST_P(NicJumbo, JumboFramesCrossBothWays) {
  bringUp(kJumbo);
  ASSERT_NE(adapter_, nullptr);
  EXPECT_EQ(queryUlong(OID_GEN_MAXIMUM_FRAME_SIZE), 9000u);
  EXPECT_EQ(queryUlong(OID_GEN_MAXIMUM_TOTAL_SIZE), kJumbo);
  EXPECT_EQ(queryUlong(OID_GEN_MAXIMUM_LOOKAHEAD), 9000u);
  if (GetParam() == Function::Ncm) {
    EXPECT_EQ(static_cast<usb::device::CdcNcmFunction*>(ethernetFunction_)->maxDatagramSize(), kJumbo);
  }

  std::vector<Bytes> out;
  for (std::size_t size : {kJumbo, std::size_t{60}, std::size_t{1514}, std::size_t{4000}, kJumbo, kJumbo - 1, kJumbo})
    out.push_back(makeFrame(size, PeerMac, static_cast<unsigned>(size + out.size())));
  const auto nbls = sendAll(out);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(completionStatus(nbls[i]), NDIS_STATUS_SUCCESS) << i;
  ASSERT_TRUE(network_.waitForSent(out.size(), std::chrono::seconds(5))) << network_.sentCount();
  EXPECT_EQ(network_.sent(), out);

  std::vector<Bytes> in;
  for (std::size_t size : {kJumbo, std::size_t{1514}, std::size_t{60}, kJumbo, std::size_t{7777}}) {
    in.push_back(makeFrame(size, kDeviceMac, static_cast<unsigned>(size + in.size())));
    ASSERT_TRUE(network_.deliver(in.back()));
  }
  ASSERT_TRUE(waitUntil([&] { return binding_->receivedCount() >= in.size(); })) << binding_->receivedCount();
  std::lock_guard guard(binding_->lock);
  EXPECT_EQ(binding_->received, in);
}

// The standard device: MTU 1500, as before jumbo support.
TEST_P(NicJumbo, StandardDeviceUnchanged) {
  bringUp(1514);
  ASSERT_NE(adapter_, nullptr);
  EXPECT_EQ(queryUlong(OID_GEN_MAXIMUM_FRAME_SIZE), 1500u);
  EXPECT_EQ(queryUlong(OID_GEN_MAXIMUM_TOTAL_SIZE), 1514u);
  if (GetParam() == Function::Ncm) {
    EXPECT_EQ(static_cast<usb::device::CdcNcmFunction*>(ethernetFunction_)->maxDatagramSize(), 1514u);
  }
  const std::vector<Bytes> out{makeFrame(1514, PeerMac, 1), makeFrame(60, PeerMac, 2)};
  sendAll(out);
  ASSERT_TRUE(network_.waitForSent(out.size(), std::chrono::seconds(5)));
  EXPECT_EQ(network_.sent(), out);
}

// A frame longer than the maximum is not sent: its NBL completes with
// NDIS_STATUS_INVALID_LENGTH and OID_GEN_XMIT_ERROR counts it; the frames around it go.
TEST_P(NicJumbo, OversizeFrameFromTheHostIsRefused) { expectOversizeRefused(1514); }
TEST_P(NicJumbo, OversizeJumboFrameFromTheHostIsRefused) { expectOversizeRefused(kJumbo); }

// Keyword *JumboPacket (frame size, header included) limits a jumbo device: 4088 gives MTU
// 4074, and an NCM function is told its new maximum datagram size.
TEST_P(NicJumbo, JumboPacketKeywordLimitsTheFrameSize) {
  struct ProviderScope {
    ProviderScope() {
      ndis::setAdapterConfigurationProvider(
          [](const ndis::AdapterConfigurationRequest&, ndis::ConfigurationStore& store) {
            store.setInteger(u"*JumboPacket", 4088);
          });
    }
    ~ProviderScope() { ndis::setAdapterConfigurationProvider({}); }
  } provider;
  bringUp(kJumbo);
  ASSERT_NE(adapter_, nullptr);
  EXPECT_EQ(queryUlong(OID_GEN_MAXIMUM_FRAME_SIZE), 4074u);
  EXPECT_EQ(queryUlong(OID_GEN_MAXIMUM_TOTAL_SIZE), 4088u);
  if (GetParam() == Function::Ncm) {
    EXPECT_EQ(static_cast<usb::device::CdcNcmFunction*>(ethernetFunction_)->maxDatagramSize(), 4088u);
  }

  const std::vector<Bytes> out{makeFrame(4088, PeerMac, 1), makeFrame(4089, PeerMac, 2)};
  const auto nbls = sendAll(out);
  EXPECT_EQ(completionStatus(nbls[0]), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(completionStatus(nbls[1]), NDIS_STATUS_INVALID_LENGTH);
  ASSERT_TRUE(network_.waitForSent(1, std::chrono::seconds(5)));
  const Bytes in = makeFrame(4088, kDeviceMac, 3);
  ASSERT_TRUE(network_.deliver(in));
  ASSERT_TRUE(waitUntil([&] { return binding_->receivedCount() >= 1; }));
  std::lock_guard guard(binding_->lock);
  EXPECT_EQ(binding_->received.front(), in);
}

INSTANTIATE_TEST_SUITE_P(Functions, NicJumbo, ::testing::Values(Function::Ncm, Function::Ecm, Function::Rndis),
                         functionName);

}  // namespace
