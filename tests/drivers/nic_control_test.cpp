// The USB NIC miniports' control side end to end (fixture: nic_fixture.hpp), against the
// emulated CDC-NCM, CDC-ECM and RNDIS devices through the real NDIS library and USB stack:
// link state indications from the device's notifications, pause/restart in the middle of
// traffic, every OID of the supported list, the receive filter and multicast list reaching
// the device, statistics, RNDIS OID forwarding, and stalled pipes recovered.
#include "nic_fixture.hpp"

#include <cstdint>
#include <cstdio>
#include <numeric>

// USBNIC_TX_AGGREGATE_* (keyword TransmitAggregation).
#include "../../drivers/usbnic/inc/usbnic.h"

using namespace nictest;
using usb::device::test::GroupMac;
using usb::device::test::OtherGroupMac;
using usb::device::test::PeerMac;
using usb::device::test::makeFrame;

namespace {

const usb::device::MacAddress kBroadcastMac{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
constexpr std::uint8_t kInterruptEndpoint = 0x81;
constexpr std::uint8_t kBulkInEndpoint = 0x82;
constexpr std::uint8_t kBulkOutEndpoint = 0x03;

class NicControl : public NicFixture {
 protected:
  bool mediaConnected() { return queryUlong(OID_GEN_MEDIA_CONNECT_STATUS) == NdisMediaStateConnected; }

  // The link states indicated after the first `from`.
  std::vector<NDIS_LINK_STATE> linkStatesSince(std::size_t from) {
    auto all = binding_->linkStatesSnapshot();
    return {all.begin() + static_cast<std::ptrdiff_t>(std::min(from, all.size())), all.end()};
  }

  // Waits for a link state indication after `from` that matches.
  bool waitForLinkState(std::size_t from, NDIS_MEDIA_CONNECT_STATE state, ULONG64 speed) {
    return waitUntil([&] {
      for (const auto& s : linkStatesSince(from))
        if (s.MediaConnectState == state && s.XmitLinkSpeed == speed) return true;
      return false;
    });
  }

  // Halts an endpoint of the device, as the device does when it rejects what it was sent.
  void haltEndpoint(std::uint8_t endpoint) {
    usb::device::SetupPacket setup{0x02, usb::device::standard_request::SetFeature,
                                   usb::device::feature_selector::EndpointHalt, endpoint, 0};
    const auto result = device_->controlTransfer(setup, {});
    // (The driver may already have reset it again: transfers pending on it stall at once.)
    ASSERT_EQ(result.status, usb::device::TransferStatus::Success);
  }

  std::vector<PNET_BUFFER_LIST> makeFrames(std::size_t count, const usb::device::MacAddress& to, unsigned seed,
                                           std::vector<Bytes>* copies = nullptr) {
    std::vector<PNET_BUFFER_LIST> nbls;
    for (std::size_t i = 0; i < count; ++i) {
      Bytes frame = makeFrame(60 + (i * 97 + seed) % 1455, to, static_cast<unsigned>(seed + i));
      if (copies != nullptr) copies->push_back(frame);
      nbls.push_back(frames_->make(frame));
    }
    return nbls;
  }
};

// NETWORK_CONNECTION / CONNECTION_SPEED_CHANGE (NCM, ECM) and INDICATE_STATUS(MEDIA_CONNECT /
// MEDIA_DISCONNECT) (RNDIS) become NDIS_STATUS_LINK_STATE indications: down with unknown
// speeds, up with the device's speed (RNDIS: queried from the device on the connect), and
// the OIDs follow.
TEST_P(NicControl, LinkDownAndUpAreIndicatedWithTheDeviceSpeed) {
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  ASSERT_TRUE(waitUntil([&] { return mediaConnected(); })) << "the link never came up";

  std::size_t mark = binding_->linkStatesSnapshot().size();
  ethernetFunction_->setLinkUp(false);
  ASSERT_TRUE(waitForLinkState(mark, MediaConnectStateDisconnected, NDIS_LINK_SPEED_UNKNOWN));
  for (const auto& s : linkStatesSince(mark)) {
    EXPECT_EQ(s.Header.Type, NDIS_OBJECT_TYPE_DEFAULT);
    EXPECT_EQ(s.Header.Revision, NDIS_LINK_STATE_REVISION_1);
    EXPECT_EQ(s.Header.Size, NDIS_SIZEOF_LINK_STATE_REVISION_1);
    EXPECT_EQ(s.RcvLinkSpeed, s.XmitLinkSpeed);
  }
  EXPECT_EQ(queryUlong(OID_GEN_MEDIA_CONNECT_STATUS), static_cast<ULONG>(NdisMediaStateDisconnected));

  // The link comes back at 100 Mb/s.
  mark = binding_->linkStatesSnapshot().size();
  ethernetFunction_->setLinkSpeed(100'000'000);
  ethernetFunction_->setLinkUp(true);
  ASSERT_TRUE(waitForLinkState(mark, MediaConnectStateConnected, 100'000'000))
      << linkStatesSince(mark).size() << " link states since the link came back";
  const auto up = linkStatesSince(mark);
  EXPECT_EQ(up.back().MediaConnectState, MediaConnectStateConnected);
  EXPECT_EQ(up.back().XmitLinkSpeed, 100'000'000u);
  EXPECT_EQ(up.back().RcvLinkSpeed, 100'000'000u);
  EXPECT_EQ(up.back().MediaDuplexState, MediaDuplexStateFull);
  EXPECT_EQ(queryUlong(OID_GEN_MEDIA_CONNECT_STATUS), static_cast<ULONG>(NdisMediaStateConnected));
  EXPECT_EQ(queryUlong(OID_GEN_LINK_SPEED), 1'000'000u);  // 100 bps units

  // A speed change on a link that stays up.
  mark = binding_->linkStatesSnapshot().size();
  ethernetFunction_->setLinkSpeed(10'000'000);
  ASSERT_TRUE(waitForLinkState(mark, MediaConnectStateConnected, 10'000'000));
  EXPECT_EQ(queryUlong(OID_GEN_LINK_SPEED), 100'000u);

  // Down and up again in quick succession: the last indication is the device's state.
  ethernetFunction_->setLinkUp(false);
  ethernetFunction_->setLinkUp(true);
  ethernetFunction_->setLinkUp(false);
  ASSERT_TRUE(waitUntil([&] {
    auto all = binding_->linkStatesSnapshot();
    return !all.empty() && all.back().MediaConnectState == MediaConnectStateDisconnected && !mediaConnected();
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(binding_->linkStatesSnapshot().back().MediaConnectState, MediaConnectStateDisconnected);
  std::lock_guard guard(binding_->lock);
  EXPECT_EQ(binding_->malformedLinkStates, 0);
}

// MiniportPause in the middle of traffic both ways: sends the miniport holds complete (those
// already in a transfer successfully, queued ones with NDIS_STATUS_PAUSED), each once and in
// order; no receive is indicated while paused; after MiniportRestart both directions flow.
TEST_P(NicControl, PauseAndRestartInTheMiddleOfTraffic) {
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  ASSERT_TRUE(waitUntil([&] { return network_.hasHandler(); }));

  std::vector<Bytes> copies;
  const auto nbls = makeFrames(1024, PeerMac, 1, &copies);
  std::atomic<bool> stop{false};
  std::thread injector([&] {
    for (unsigned i = 0; !stop.load(); ++i) {
      network_.deliver(makeFrame(60 + (i * 53) % 1455, kDeviceMac, i));
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  ASSERT_TRUE(waitUntil([&] { return binding_->receivedCount() >= 10; }));
  sendChain(nbls);
  ndis::pauseAdapter(*adapter_, NDIS_PAUSE_NDIS_INTERNAL);
  ASSERT_EQ(adapter_->state(), AdapterState::Paused);

  // Everything sent came back, each once: a prefix of the chain (those already in transfers)
  // successfully, the rest (queued in the miniport) with NDIS_STATUS_PAUSED, each group in
  // send order. (The two groups may interleave: in-flight transfers finish while the pause
  // returns the queue.)
  std::size_t succeeded = 0, paused = 0;
  {
    std::lock_guard guard(binding_->lock);
    ASSERT_EQ(binding_->completions.size(), nbls.size()) << "sends outstanding after the pause completed";
    std::vector<PNET_BUFFER_LIST> ok, refused;
    for (const auto& [nbl, status] : binding_->completions) {
      if (status == NDIS_STATUS_SUCCESS) {
        ok.push_back(nbl);
      } else {
        EXPECT_EQ(status, NDIS_STATUS_PAUSED);
        refused.push_back(nbl);
      }
    }
    succeeded = ok.size();
    paused = refused.size();
    EXPECT_TRUE(std::equal(ok.begin(), ok.end(), nbls.begin())) << "successful sends are not the chain's prefix, in order";
    EXPECT_TRUE(std::equal(refused.begin(), refused.end(), nbls.begin() + static_cast<std::ptrdiff_t>(succeeded)))
        << "paused sends are not the chain's rest, in order";
  }
  EXPECT_GT(succeeded, 0u);
  EXPECT_GT(paused, 0u) << "the pause came after the traffic, not during it";
  EXPECT_TRUE(waitUntil([&] { return network_.sentCount() >= succeeded; }));
  EXPECT_EQ(network_.sentCount(), succeeded) << "a send completed PAUSED reached the wire (or one was lost)";
  const auto sent = network_.sent();
  for (std::size_t i = 0; i < std::min(sent.size(), succeeded); ++i) EXPECT_EQ(sent[i], copies[i]) << i;

  // Paused: frames keep arriving at the device, none is indicated.
  const std::size_t receivedAtPause = binding_->receivedCount();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(binding_->receivedCount(), receivedAtPause) << "receive indicated while paused";
  stop = true;
  injector.join();

  // Restart: the device's queued frames come up, new sends go out.
  ASSERT_TRUE(ndis::restartAdapter(*adapter_));
  EXPECT_TRUE(waitUntil([&] { return binding_->receivedCount() > receivedAtPause; })) << "no receive after restart";
  std::vector<Bytes> after;
  const auto more = makeFrames(64, PeerMac, 7, &after);
  sendChain(more);
  ASSERT_TRUE(network_.waitForSent(succeeded + more.size(), std::chrono::seconds(5)));
  ASSERT_TRUE(waitUntil([&] { return binding_->completionCount() >= nbls.size() + more.size(); }));
  const auto sentAfter = network_.sent();
  for (std::size_t i = 0; i < more.size(); ++i) EXPECT_EQ(sentAfter[succeeded + i], after[i]) << i;
  std::lock_guard guard(binding_->lock);
  for (std::size_t i = nbls.size(); i < binding_->completions.size(); ++i)
    EXPECT_EQ(binding_->completions[i].second, NDIS_STATUS_SUCCESS);
}

// Thousands of NBLs handed down at once, far more than the transfers in flight: the miniport
// queues (never drops) and sends them as the transfers come back; each arrives in order and
// completes exactly once, in order, successfully.
TEST_P(NicControl, ThousandsOfSendsInFlightCompleteOnceInOrder) {
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  std::vector<Bytes> copies;
  const auto nbls = makeFrames(4096, PeerMac, 3, &copies);
  const auto messagesBefore = ethernetFunction_->ethernetCounters().fromHostMessages;
  for (std::size_t i = 0; i < nbls.size(); i += 128)
    sendChain({nbls.begin() + static_cast<std::ptrdiff_t>(i), nbls.begin() + static_cast<std::ptrdiff_t>(i + 128)});
  ASSERT_TRUE(network_.waitForSent(nbls.size(), std::chrono::seconds(10))) << network_.sentCount() << " arrived";
  ASSERT_TRUE(waitUntil([&] { return binding_->completionCount() >= nbls.size(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto sent = network_.sent();
  ASSERT_EQ(sent.size(), nbls.size());
  for (std::size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(sent[i], copies[i]) << "frame " << i;
  // Under load the aggregating protocols put many frames in each transfer (NCM: NTBs of up
  // to 16 KiB, about 20 of these frames; RNDIS: the device's 8 packets per message).
  const auto messages = ethernetFunction_->ethernetCounters().fromHostMessages - messagesBefore;
  std::printf("[ measure  ] %zu frames in %llu bulk-OUT messages (%.1f per message)\n", nbls.size(),
              static_cast<unsigned long long>(messages), static_cast<double>(nbls.size()) / static_cast<double>(messages));
  if (GetParam() != Function::Ecm) {
    EXPECT_LE(messages * 4, nbls.size()) << "fewer than 4 frames per transfer under load";
  }
  std::lock_guard guard(binding_->lock);
  ASSERT_EQ(binding_->completions.size(), nbls.size()) << "an NBL completed twice";
  for (std::size_t i = 0; i < nbls.size(); ++i) {
    ASSERT_EQ(binding_->completions[i].first, nbls[i]) << "completion " << i << " out of order";
    EXPECT_EQ(binding_->completions[i].second, NDIS_STATUS_SUCCESS);
  }
}

// Keywords for one test: the adapter configuration provider answers them.
class KeywordScope {
 public:
  explicit KeywordScope(std::vector<std::pair<std::u16string, ULONG>> keywords) {
    ndis::setAdapterConfigurationProvider(
        [keywords = std::move(keywords)](const ndis::AdapterConfigurationRequest&, ndis::ConfigurationStore& store) {
          for (const auto& [name, value] : keywords) store.setInteger(name, value);
        });
  }
  ~KeywordScope() { ndis::setAdapterConfigurationProvider({}); }
  KeywordScope(const KeywordScope&) = delete;
  KeywordScope& operator=(const KeywordScope&) = delete;
};

// With TransmitAggregation = 1 (cdc_ncm's rule, the drivers' behaviour before adaptive
// aggregation), frames that trickle in one send at a time wait (at most the flush delay,
// keyword TransmitFlushDelay, 300 us) and go out together; a lone frame goes out after that
// delay, not later. (The default, adaptive, sends a frame meeting an idle pipe at once:
// trickling frames 20 us apart then aggregate only behind transfers in flight, which this
// test's count of saved transfers cannot rely on; AdaptiveAggregationSendsALoneFrameAtOnce
// covers it.)
TEST_P(NicControl, TricklingSendsAreAggregatedByTheFlushTimer) {
  if (GetParam() == Function::Ecm) GTEST_SKIP() << "ECM sends one frame per transfer";
  KeywordScope keywords({{u"TransmitAggregation", USBNIC_TX_AGGREGATE_TIMER}});
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  // A lone frame: out when the flush timer runs.
  const auto lone = makeFrames(1, PeerMac, 40);
  const auto start = std::chrono::steady_clock::now();
  sendChain(lone);
  ASSERT_TRUE(network_.waitForSent(1, std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));

  std::vector<Bytes> copies;
  const auto nbls = makeFrames(128, PeerMac, 41, &copies);
  const auto messagesBefore = ethernetFunction_->ethernetCounters().fromHostMessages;
  for (PNET_BUFFER_LIST nbl : nbls) {
    sendChain({nbl});
    // 20 us apart (spinning: a sleep on a loaded machine lasts far longer than asked).
    const auto next = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
    while (std::chrono::steady_clock::now() < next) {
    }
  }
  ASSERT_TRUE(network_.waitForSent(1 + nbls.size(), std::chrono::seconds(5)));
  ASSERT_TRUE(waitUntil([&] { return binding_->completionCount() >= 1 + nbls.size(); }));
  const auto messages = ethernetFunction_->ethernetCounters().fromHostMessages - messagesBefore;
  std::printf("[ measure  ] %zu trickled frames in %llu bulk-OUT messages\n", nbls.size(),
              static_cast<unsigned long long>(messages));
  // One transfer per frame without the timer; a loaded machine (or a sanitizer) may stretch
  // the spacing, so only demand that a quarter of the transfers were saved.
  EXPECT_LE(messages * 4, nbls.size() * 3) << "trickling frames were not aggregated";
  const auto sent = network_.sent();
  for (std::size_t i = 0; i < nbls.size(); ++i) EXPECT_EQ(sent[1 + i], copies[i]) << i;
  std::lock_guard guard(binding_->lock);
  for (const auto& c : binding_->completions) EXPECT_EQ(c.second, NDIS_STATUS_SUCCESS);
}

// Adaptive aggregation (the default): a lone frame meeting an idle bulk-OUT pipe goes at
// once instead of waiting for the flush timer. With the longest flush delay (10 ms), 16
// frames sent one at a time, each after the previous arrived, would take at least 160 ms
// under the timer rule; adaptively they take a fraction of that. Frames sent while a
// transfer is in flight still aggregate: a burst of single-NBL sends (repeated, as whether
// the pipe is busy depends on timing) needs fewer transfers than frames, and everything
// arrives in order.
TEST_P(NicControl, AdaptiveAggregationSendsALoneFrameAtOnce) {
  if (GetParam() == Function::Ecm) GTEST_SKIP() << "ECM sends one frame per transfer";
  KeywordScope keywords({{u"TransmitFlushDelay", 10000}});
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  std::vector<Bytes> lone;
  const auto loneNbls = makeFrames(16, PeerMac, 60, &lone);
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < loneNbls.size(); ++i) {
    sendChain({loneNbls[i]});
    ASSERT_TRUE(network_.waitForSent(i + 1, std::chrono::seconds(5))) << i;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::printf("[ measure  ] 16 lone frames one after another in %lld us (flush delay 10 ms)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
  EXPECT_LT(elapsed, std::chrono::milliseconds(80)) << "lone frames waited for the flush timer";

  // Bursts of single sends: behind a transfer in flight the frames gather (until its
  // completion or the timer sends them). Whether a send finds the pipe busy depends on how
  // fast the device drains it, so bursts are repeated until one needed fewer transfers than
  // frames; every frame of every burst must arrive in order either way.
  std::vector<Bytes> expected = lone;
  std::size_t fewestMessages = SIZE_MAX;
  for (unsigned attempt = 0; attempt < 20 && fewestMessages >= 64; ++attempt) {
    std::vector<Bytes> burst;
    const auto burstNbls = makeFrames(64, PeerMac, 61 + attempt, &burst);
    const auto messagesBefore = ethernetFunction_->ethernetCounters().fromHostMessages;
    const std::size_t sentBefore = expected.size();
    for (PNET_BUFFER_LIST nbl : burstNbls) sendChain({nbl});
    expected.insert(expected.end(), burst.begin(), burst.end());
    ASSERT_TRUE(network_.waitForSent(expected.size(), std::chrono::seconds(5))) << attempt;
    ASSERT_TRUE(waitUntil([&] { return binding_->completionCount() >= expected.size(); })) << attempt;
    const std::size_t messages = ethernetFunction_->ethernetCounters().fromHostMessages - messagesBefore;
    std::printf("[ measure  ] a burst of %zu single sends in %zu bulk-OUT messages\n", expected.size() - sentBefore,
                messages);
    fewestMessages = std::min(fewestMessages, messages);
  }
  EXPECT_LT(fewestMessages, 64u) << "frames behind a transfer in flight were never aggregated";
  EXPECT_EQ(network_.sent(), expected);
  std::lock_guard guard(binding_->lock);
  for (const auto& c : binding_->completions) EXPECT_EQ(c.second, NDIS_STATUS_SUCCESS);
}

// Keyword NtbFormat = 32: the NCM driver selects NTB32 (SET_NTB_FORMAT) and frames of every
// size cross in NTB32 blocks both ways, byte-identical.
TEST_P(NicControl, Ntb32WhenTheKeywordAsksForIt) {
  if (GetParam() != Function::Ncm) GTEST_SKIP() << "NCM only";
  struct ProviderScope {
    ProviderScope() {
      ndis::setAdapterConfigurationProvider(
          [](const ndis::AdapterConfigurationRequest&, ndis::ConfigurationStore& store) {
            store.setInteger(u"NtbFormat", 32);
          });
    }
    ~ProviderScope() { ndis::setAdapterConfigurationProvider({}); }
  } provider;
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  auto* ncm = static_cast<usb::device::CdcNcmFunction*>(ethernetFunction_);
  EXPECT_EQ(ncm->ntbFormat(), usb::device::NtbFormat::Ntb32);
  ASSERT_TRUE(waitUntil([&] { return network_.hasHandler(); }));

  std::vector<Bytes> out;
  const auto nbls = makeFrames(64, PeerMac, 51, &out);
  sendChain(nbls);
  ASSERT_TRUE(network_.waitForSent(nbls.size(), std::chrono::seconds(5)))
      << network_.sentCount() << " arrived, NTBs rejected " << ncm->ncmCounters().rejectedTotal();
  EXPECT_EQ(network_.sent(), out);
  EXPECT_GT(ncm->ncmCounters().ntbsReceived, 0u);

  std::vector<Bytes> in;
  for (std::size_t size = 60; size <= 1514; size += 97) {
    in.push_back(makeFrame(size, kDeviceMac, static_cast<unsigned>(size)));
    ASSERT_TRUE(network_.deliver(in.back()));
  }
  ASSERT_TRUE(waitUntil([&] { return binding_->receivedCount() >= in.size(); })) << binding_->receivedCount();
  EXPECT_GT(ncm->ncmCounters().ntbsSent, 0u);
  std::lock_guard guard(binding_->lock);
  EXPECT_EQ(binding_->received, in);
}

// Every OID in OID_GEN_SUPPORTED_LIST answers a query with its documented length (or, for
// OID_PNP_SET_POWER, which is set-only, fails), and a short buffer is refused with the
// length needed.
TEST_P(NicControl, EverySupportedOidAnswersWithItsDocumentedLength) {
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  std::vector<NDIS_OID> oids(256);
  ULONG written = 0;
  ASSERT_EQ(query(OID_GEN_SUPPORTED_LIST, oids.data(), static_cast<ULONG>(oids.size() * sizeof(NDIS_OID)), &written),
            NDIS_STATUS_SUCCESS);
  ASSERT_EQ(written % sizeof(NDIS_OID), 0u);
  oids.resize(written / sizeof(NDIS_OID));
  ASSERT_GE(oids.size(), 20u);
  EXPECT_NE(std::find(oids.begin(), oids.end(), OID_GEN_SUPPORTED_LIST), oids.end());
  for (NDIS_OID required : std::initializer_list<NDIS_OID>{OID_GEN_CURRENT_PACKET_FILTER, OID_802_3_MULTICAST_LIST, OID_GEN_STATISTICS,
                            OID_802_3_CURRENT_ADDRESS, OID_802_3_PERMANENT_ADDRESS, OID_GEN_MEDIA_CONNECT_STATUS,
                            OID_PNP_QUERY_POWER, OID_PNP_SET_POWER})
    EXPECT_NE(std::find(oids.begin(), oids.end(), required), oids.end()) << std::hex << required;

  for (NDIS_OID oid : oids) {
    SCOPED_TRACE(::testing::Message() << "OID 0x" << std::hex << oid);
    std::vector<UCHAR> buffer(512, 0xCC);
    written = 0;
    if (oid == OID_PNP_SET_POWER) {
      EXPECT_NE(query(oid, buffer.data(), static_cast<ULONG>(buffer.size()), &written), NDIS_STATUS_SUCCESS);
      continue;
    }
    if (oid == OID_PNP_QUERY_POWER) {
      NDIS_DEVICE_POWER_STATE state = NdisDeviceStateD3;
      EXPECT_EQ(query(oid, &state, sizeof state, &written), NDIS_STATUS_SUCCESS);
      continue;
    }
    const NDIS_STATUS status = query(oid, buffer.data(), static_cast<ULONG>(buffer.size()), &written);
    ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
    ULONG expected = sizeof(ULONG);
    switch (oid) {
      case OID_GEN_SUPPORTED_LIST: expected = static_cast<ULONG>(oids.size() * sizeof(NDIS_OID)); break;
      case OID_GEN_VENDOR_DESCRIPTION:
        ASSERT_GT(written, 1u);
        EXPECT_EQ(buffer[written - 1], 0) << "not NUL-terminated";
        expected = written;
        break;
      case OID_GEN_DRIVER_VERSION: expected = sizeof(USHORT); break;
      case OID_GEN_STATISTICS: {
        expected = sizeof(NDIS_STATISTICS_INFO);
        NDIS_STATISTICS_INFO info;
        std::memcpy(&info, buffer.data(), sizeof info);
        EXPECT_EQ(info.Header.Revision, NDIS_STATISTICS_INFO_REVISION_1);
        EXPECT_EQ(info.Header.Size, NDIS_SIZEOF_STATISTICS_INFO_REVISION_1);
        EXPECT_NE(info.SupportedStatistics, 0u);
        break;
      }
      case OID_802_3_PERMANENT_ADDRESS:
      case OID_802_3_CURRENT_ADDRESS:
        expected = 6;
        EXPECT_EQ(std::memcmp(buffer.data(), kDeviceMac.bytes.data(), 6), 0);
        break;
      case OID_802_3_MULTICAST_LIST: expected = 0; break;  // none set yet
      case OID_PNP_CAPABILITIES: expected = sizeof(NDIS_PNP_CAPABILITIES); break;
      case OID_GEN_XMIT_OK:
      case OID_GEN_RCV_OK:
      case OID_GEN_XMIT_ERROR:
      case OID_GEN_RCV_ERROR:
      case OID_GEN_RCV_NO_BUFFER: expected = sizeof(ULONG64); break;  // 64 bits when there is room
      default: break;
    }
    EXPECT_EQ(written, expected);

    // A buffer one byte short of the answer is refused with the length it needs.
    if (expected == 0) continue;
    NDIS_OID_REQUEST shortRequest = makeQuery(oid, buffer.data(), expected - 1);
    const NDIS_STATUS shortStatus = submit(shortRequest);
    if (oid == OID_GEN_XMIT_OK || oid == OID_GEN_RCV_OK || oid == OID_GEN_XMIT_ERROR || oid == OID_GEN_RCV_ERROR ||
        oid == OID_GEN_RCV_NO_BUFFER) {
      EXPECT_EQ(shortStatus, NDIS_STATUS_SUCCESS) << "a counter fits 32 bits";
      EXPECT_EQ(shortRequest.DATA.QUERY_INFORMATION.BytesWritten, sizeof(ULONG));
      continue;
    }
    EXPECT_TRUE(shortStatus == NDIS_STATUS_BUFFER_TOO_SHORT || shortStatus == NDIS_STATUS_INVALID_LENGTH)
        << std::hex << shortStatus;
    EXPECT_GE(shortRequest.DATA.QUERY_INFORMATION.BytesNeeded, expected);
  }

  // The vendor description: RNDIS asks the device (REMOTE_NDIS_QUERY_MSG), CDC drivers answer.
  char description[128] = {};
  ASSERT_EQ(query(OID_GEN_VENDOR_DESCRIPTION, description, sizeof description, &written), NDIS_STATUS_SUCCESS);
  if (GetParam() == Function::Rndis)
    EXPECT_STREQ(description, "ndishost emulated RNDIS adapter");
  else
    EXPECT_STREQ(description, "ndishost USB network adapter");
}

// OID_GEN_CURRENT_PACKET_FILTER and OID_802_3_MULTICAST_LIST reach the device (NCM/ECM
// SET_ETHERNET_PACKET_FILTER / SET_ETHERNET_MULTICAST_FILTERS, RNDIS sets): the device's
// filter state follows, and it filters multicast groups by the list.
TEST_P(NicControl, PacketFilterAndMulticastListReachTheDevice) {
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  usb::device::PacketFilter expected;
  expected.directed = expected.broadcast = expected.multicast = true;
  EXPECT_EQ(devicePacketFilter(), expected);  // what bringUp set

  ASSERT_EQ(request(NdisRequestSetInformation, OID_802_3_MULTICAST_LIST, const_cast<std::uint8_t*>(GroupMac.bytes.data()),
                    6),
            NDIS_STATUS_SUCCESS);
  UCHAR list[12] = {};
  ULONG written = 0;
  ASSERT_EQ(query(OID_802_3_MULTICAST_LIST, list, sizeof list, &written), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(written, 6u);
  EXPECT_EQ(std::memcmp(list, GroupMac.bytes.data(), 6), 0);
  // A list of an odd length is refused.
  EXPECT_NE(request(NdisRequestSetInformation, OID_802_3_MULTICAST_LIST, list, 5), NDIS_STATUS_SUCCESS);

  // Group on the list in, other group out, broadcast and directed in; the directed frame
  // last marks the end.
  ASSERT_TRUE(waitUntil([&] { return network_.hasHandler(); }));
  const Bytes other = makeFrame(100, OtherGroupMac, 1);
  const Bytes group = makeFrame(101, GroupMac, 2);
  const Bytes broadcast = makeFrame(102, kBroadcastMac, 3);
  const Bytes directed = makeFrame(103, kDeviceMac, 4);
  for (const Bytes* f : {&other, &group, &broadcast, &directed}) ASSERT_TRUE(network_.deliver(*f));
  ASSERT_TRUE(waitUntil([&] { return binding_->receivedCount() >= 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard guard(binding_->lock);
    ASSERT_EQ(binding_->received.size(), 3u);
    EXPECT_EQ(binding_->received[0], group);
    EXPECT_EQ(binding_->received[1], broadcast);
    EXPECT_EQ(binding_->received[2], directed);
  }

  // Promiscuous: the device passes everything.
  ASSERT_EQ(setUlong(OID_GEN_CURRENT_PACKET_FILTER, NDIS_PACKET_TYPE_PROMISCUOUS | NDIS_PACKET_TYPE_DIRECTED),
            NDIS_STATUS_SUCCESS);
  usb::device::PacketFilter promiscuous;
  promiscuous.promiscuous = promiscuous.directed = true;
  EXPECT_EQ(devicePacketFilter(), promiscuous);
  EXPECT_EQ(queryUlong(OID_GEN_CURRENT_PACKET_FILTER),
            static_cast<ULONG>(NDIS_PACKET_TYPE_PROMISCUOUS | NDIS_PACKET_TYPE_DIRECTED));
  const Bytes stranger = makeFrame(104, PeerMac, 5);
  ASSERT_TRUE(network_.deliver(stranger));
  ASSERT_TRUE(waitUntil([&] { return binding_->receivedCount() >= 4; }));
  {
    std::lock_guard guard(binding_->lock);
    EXPECT_EQ(binding_->received[3], stranger);
  }
  // Filter bits nobody supports are refused and change nothing.
  EXPECT_EQ(setUlong(OID_GEN_CURRENT_PACKET_FILTER, NDIS_PACKET_TYPE_SOURCE_ROUTING), NDIS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(devicePacketFilter(), promiscuous);
}

// The statistics OIDs count exactly the test's frames, by kind and bytes.
TEST_P(NicControl, StatisticsCountTheFrames) {
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  ASSERT_TRUE(waitUntil([&] { return network_.hasHandler(); }));
  auto statistics = [&] {
    NDIS_STATISTICS_INFO info{};
    ULONG written = 0;
    EXPECT_EQ(query(OID_GEN_STATISTICS, &info, sizeof info, &written), NDIS_STATUS_SUCCESS);
    return info;
  };
  const ULONG64 xmitBefore = queryCounter(OID_GEN_XMIT_OK), rcvBefore = queryCounter(OID_GEN_RCV_OK);
  const NDIS_STATISTICS_INFO before = statistics();

  std::vector<Bytes> directedOut, broadcastOut;
  auto out = makeFrames(20, PeerMac, 11, &directedOut);
  auto outBroadcast = makeFrames(5, kBroadcastMac, 12, &broadcastOut);
  out.insert(out.end(), outBroadcast.begin(), outBroadcast.end());
  sendChain(out);
  ULONG64 outBytes = 0;
  for (const auto& f : directedOut) outBytes += f.size();
  for (const auto& f : broadcastOut) outBytes += f.size();

  ULONG64 inBytes = 0;
  for (unsigned i = 0; i < 10; ++i) {
    const Bytes f = makeFrame(200 + i, kDeviceMac, i);
    inBytes += f.size();
    ASSERT_TRUE(network_.deliver(f));
  }
  for (unsigned i = 0; i < 3; ++i) {
    const Bytes f = makeFrame(300 + i, kBroadcastMac, i);
    inBytes += f.size();
    ASSERT_TRUE(network_.deliver(f));
  }
  ASSERT_TRUE(waitUntil([&] { return binding_->completionCount() >= out.size() && binding_->receivedCount() >= 13; }));

  EXPECT_EQ(queryCounter(OID_GEN_XMIT_OK) - xmitBefore, 25u);
  EXPECT_EQ(queryCounter(OID_GEN_RCV_OK) - rcvBefore, 13u);
  const NDIS_STATISTICS_INFO after = statistics();
  EXPECT_EQ(after.ifHCOutUcastPkts - before.ifHCOutUcastPkts, 20u);
  EXPECT_EQ(after.ifHCOutBroadcastPkts - before.ifHCOutBroadcastPkts, 5u);
  EXPECT_EQ(after.ifHCOutMulticastPkts - before.ifHCOutMulticastPkts, 0u);
  EXPECT_EQ(after.ifHCOutOctets - before.ifHCOutOctets, outBytes);
  EXPECT_EQ(after.ifHCInUcastPkts - before.ifHCInUcastPkts, 10u);
  EXPECT_EQ(after.ifHCInBroadcastPkts - before.ifHCInBroadcastPkts, 3u);
  EXPECT_EQ(after.ifHCInOctets - before.ifHCInOctets, inBytes);
  EXPECT_EQ(after.ifOutErrors, before.ifOutErrors);
  EXPECT_EQ(after.ifInErrors, before.ifInErrors);
}

// RNDIS: OIDs the driver does not answer itself go to the device as REMOTE_NDIS_QUERY_MSG /
// REMOTE_NDIS_SET_MSG, and the device's answer (or refusal) comes back.
TEST_P(NicControl, RndisForwardsOidsToTheDevice) {
  if (GetParam() != Function::Rndis) GTEST_SKIP() << "RNDIS only";
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  auto* rndis = static_cast<usb::device::RndisFunction*>(ethernetFunction_);
  const auto messagesBefore = rndis->rndisCounters().controlMessages;
  EXPECT_EQ(queryUlong(OID_GEN_VENDOR_ID), rndis->rndisConfig().vendorId);
  EXPECT_EQ(queryUlong(OID_GEN_VENDOR_DRIVER_VERSION), rndis->rndisConfig().vendorDriverVersion);
  // Too short for the description: the device's length comes back as BytesNeeded.
  char tiny[4];
  NDIS_OID_REQUEST shortRequest = makeQuery(OID_GEN_VENDOR_DESCRIPTION, tiny, sizeof tiny);
  EXPECT_EQ(submit(shortRequest), NDIS_STATUS_BUFFER_TOO_SHORT);
  EXPECT_EQ(shortRequest.DATA.QUERY_INFORMATION.BytesNeeded, rndis->rndisConfig().vendorDescription.size() + 1);
  // An OID the device does not implement: its NOT_SUPPORTED comes back.
  ULONG value = 0, written = 0;
  EXPECT_EQ(query(OID_GEN_RCV_CRC_ERROR, &value, sizeof value, &written), NDIS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(request(NdisRequestSetInformation, OID_GEN_RCV_CRC_ERROR, &value, sizeof value), NDIS_STATUS_NOT_SUPPORTED);
  EXPECT_GE(rndis->rndisCounters().controlMessages - messagesBefore, 5u);
}

// The device halts its endpoints (as it does on input it rejects): the driver resets the
// pipes (URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL clears the halt) and carries on --
// receives, sends queued meanwhile, and notifications flow again.
TEST_P(NicControl, StalledPipesAreResetAndTrafficContinues) {
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  ASSERT_TRUE(waitUntil([&] { return network_.hasHandler(); }));
  ASSERT_TRUE(waitUntil([&] { return mediaConnected(); }));

  // Bulk IN: the pending receives complete with a stall (counted as receive errors).
  const ULONG64 errorsBefore = queryCounter(OID_GEN_RCV_ERROR);
  haltEndpoint(kBulkInEndpoint);
  ASSERT_TRUE(waitUntil([&] { return !device_->endpointHalted(kBulkInEndpoint); })) << "bulk IN never reset";
  EXPECT_GT(queryCounter(OID_GEN_RCV_ERROR), errorsBefore) << "no receive saw the stall";
  for (unsigned i = 0; i < 8; ++i) ASSERT_TRUE(network_.deliver(makeFrame(64 + i, kDeviceMac, i)));
  ASSERT_TRUE(waitUntil([&] { return binding_->receivedCount() >= 8; })) << binding_->receivedCount();

  // Bulk OUT: the first transfer stalls, its frames fail; everything queued behind it goes
  // out after the reset without another send to push it.
  haltEndpoint(kBulkOutEndpoint);
  const auto first = makeFrames(256, PeerMac, 21);
  sendChain(first);
  ASSERT_TRUE(waitUntil([&] { return binding_->completionCount() >= first.size(); }))
      << binding_->completionCount() << " of " << first.size() << " completed";
  EXPECT_FALSE(device_->endpointHalted(kBulkOutEndpoint));
  std::size_t failed = 0;
  {
    std::lock_guard guard(binding_->lock);
    for (const auto& c : binding_->completions) failed += c.second != NDIS_STATUS_SUCCESS;
  }
  EXPECT_GT(failed, 0u) << "no send saw the stall";
  EXPECT_EQ(network_.sentCount(), first.size() - failed);

  std::vector<Bytes> copies;
  const auto second = makeFrames(16, PeerMac, 31, &copies);
  sendChain(second);
  ASSERT_TRUE(network_.waitForSent(first.size() - failed + second.size(), std::chrono::seconds(5)));
  const auto sent = network_.sent();
  for (std::size_t i = 0; i < second.size(); ++i) EXPECT_EQ(sent[sent.size() - second.size() + i], copies[i]);

  // Interrupt IN: notifications resume after the reset.
  haltEndpoint(kInterruptEndpoint);
  ASSERT_TRUE(waitUntil([&] { return !device_->endpointHalted(kInterruptEndpoint); })) << "interrupt IN never reset";
  const std::size_t mark = binding_->linkStatesSnapshot().size();
  ethernetFunction_->setLinkUp(false);
  EXPECT_TRUE(waitForLinkState(mark, MediaConnectStateDisconnected, NDIS_LINK_SPEED_UNKNOWN));
}

// Little-endian message building for the crafted inputs.
struct Message {
  Bytes bytes;
  Message& le16(std::uint16_t v) {
    for (int i = 0; i < 2; ++i) bytes.push_back(static_cast<std::byte>(v >> (8 * i)));
    return *this;
  }
  Message& le32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::byte>(v >> (8 * i)));
    return *this;
  }
  Message& text(const char* s) {
    while (*s != 0) bytes.push_back(static_cast<std::byte>(*s++));
    return *this;
  }
  Message& fill(std::size_t n, int value = 0x5A) {
    bytes.insert(bytes.end(), n, static_cast<std::byte>(value));
    return *this;
  }
};

// What a broken or hostile device can send on bulk IN, for each protocol: every message is
// rejected whole, counted (OID_GEN_RCV_ERROR, OID_GEN_STATISTICS ifInErrors), nothing is
// indicated from it, and the frames after it flow.
std::vector<Bytes> malformedInputs(Function function) {
  std::vector<Bytes> out;
  switch (function) {
    case Function::Ncm:
      out.push_back(Message{}.text("XXXX").le16(12).le16(0).le16(64).le16(12).fill(52).bytes);  // bad NTH signature
      out.push_back(Message{}.text("NCMH").le16(12).le16(1).le16(2000).le16(12).fill(52).bytes);  // block beyond transfer
      out.push_back(Message{}.text("NCMH").le16(12).le16(2).le16(64).le16(60).fill(52).bytes);  // NDP past the end
      out.push_back(Message{}
                        .text("NCMH").le16(12).le16(3).le16(64).le16(12)
                        .text("NCM0").le16(16).le16(0).le16(200).le16(60).le16(0).le16(0)
                        .fill(36).bytes);  // datagram outside the block
      out.push_back(Message{}.text("NCMH").le16(12).bytes);  // short transfer
      break;
    case Function::Ecm:
      out.push_back(Message{}.fill(5).bytes);     // runt
      out.push_back(Message{}.fill(13).bytes);    // shorter than an Ethernet header
      out.push_back(Message{}.fill(1530).bytes);  // longer than the largest frame
      break;
    case Function::Rndis:
      out.push_back(Message{}.le32(0x99).le32(104).le32(36).le32(60).fill(28).fill(60).bytes);  // unknown type
      out.push_back(Message{}.le32(1).le32(5000).le32(36).le32(60).fill(28).fill(60).bytes);    // longer than the transfer
      out.push_back(Message{}.le32(1).le32(104).le32(36).le32(200).fill(28).fill(60).bytes);    // data past the message
      out.push_back(Message{}.le32(1).le32(10).fill(2).bytes);                                  // truncated header
      break;
  }
  return out;
}

TEST_P(NicControl, MalformedInputFromTheDeviceIsCountedAndDropped) {
  wrapFunction_ = true;
  bringUp();
  ASSERT_NE(adapter_, nullptr);
  ASSERT_NE(injector_, nullptr);
  ASSERT_TRUE(waitUntil([&] { return network_.hasHandler(); }));
  const ULONG64 errorsBefore = queryCounter(OID_GEN_RCV_ERROR);
  const auto inputs = malformedInputs(GetParam());
  std::vector<Bytes> good;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    injector_->inject(kBulkInEndpoint, inputs[i]);
    ASSERT_TRUE(waitUntil([&] { return injector_->pending() == 0; })) << "input " << i << " never taken";
    good.push_back(makeFrame(80 + i, kDeviceMac, static_cast<unsigned>(i)));
    ASSERT_TRUE(network_.deliver(good.back()));
    ASSERT_TRUE(waitUntil([&] { return binding_->receivedCount() >= good.size(); })) << "after input " << i;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard guard(binding_->lock);
    ASSERT_EQ(binding_->received, good) << "something of a malformed message was indicated";
  }
  EXPECT_EQ(queryCounter(OID_GEN_RCV_ERROR) - errorsBefore, inputs.size());
  NDIS_STATISTICS_INFO info{};
  ULONG written = 0;
  ASSERT_EQ(query(OID_GEN_STATISTICS, &info, sizeof info, &written), NDIS_STATUS_SUCCESS);
  EXPECT_GE(info.ifInErrors, inputs.size());
}

INSTANTIATE_TEST_SUITE_P(UsbNic, NicControl, ::testing::Values(Function::Ncm, Function::Ecm, Function::Rndis),
                         functionName);

}  // namespace
