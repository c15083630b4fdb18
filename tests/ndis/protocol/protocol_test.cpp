// The protocol side of NDIS with the WDK-style test protocol (test_protocol.c) over loopback
// targets: registration checks, the binding state machine (bind/open, restart, pause with
// sends and receives in flight, unbind/close, each synchronous or pended by either side),
// sends and receives of real frames, OIDs sync and pending, status, and the rule violations.
#include "ndis_test.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include "loopback_target.hpp"
#include "ndis/protocol/binding.hpp"
#include "ndis/protocol/protocol_driver.hpp"
#include "ndis/protocol/protocol_helpers.hpp"
#include "ndis/protocol/protocol_side.hpp"
#include "test_protocol.h"

using namespace ndistest;
using ndishost::ndis::BindingState;
using ndishost::ndis::ProtocolSide;
using ndishost::nt::RecordViolationsScope;

namespace {

const std::u16string kNicName = u"\\DEVICE\\{4E444953-0000-0000-0000-000000000001}";

std::vector<UCHAR> frame(UCHAR seed, std::size_t length = 60) {
  std::vector<UCHAR> f(length);
  const UCHAR dst[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const UCHAR src[6] = {0x02, 0x11, 0x22, 0x33, 0x44, seed};
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;  // local experimental EtherType
  for (std::size_t i = 14; i < length; ++i) f[i] = static_cast<UCHAR>(seed + i);
  return f;
}

// Waits (up to 5 s) until `done` holds.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

LONG pendedCount(const TpBinding&) { return __atomic_load_n(&tpPended, __ATOMIC_ACQUIRE); }

class ProtocolTest : public NdisTest {
 protected:
  void SetUp() override {
    tpConfig = {};
    ndishost::ndis::setBindingCompletionModes({});
  }
  void TearDown() override {
    TpDeregister();
    side().targetDeparting(nic_);
    TpCleanup();
    tpConfig = {};
    ndishost::ndis::setBindingCompletionModes({});
    EXPECT_TRUE(side().bindings().empty());
  }

  static ProtocolSide& side() { return ProtocolSide::instance(); }

  // The library's state of the (only) binding, or Unbound when there is none.
  BindingState bindingState() {
    auto all = side().bindings();
    return all.empty() ? BindingState::Unbound : all.front().state;
  }

  // Registers, then brings the NIC in and running: the binding ends Running.
  void bindRunning() {
    ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
    side().targetArrived(nic_);
    ASSERT_EQ(bindingState(), BindingState::Paused);
    nic_.setRunning(true);
    side().targetRestarted(nic_);
    ASSERT_EQ(bindingState(), BindingState::Running);
    ASSERT_EQ(tpBindings[0].state, TpRunning);
  }

  LoopbackTarget nic_{kNicName, 7};
};

// ---- registration ---------------------------------------------------------------------------

TEST_F(ProtocolTest, RegistrationAcceptsTheTestProtocolAndRefusesBadCharacteristics) {
  auto registerWith = [](const std::function<void(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS&)>& change) {
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS c;
    TpFillCharacteristics(&c);
    change(c);
    NDIS_HANDLE handle = reinterpret_cast<NDIS_HANDLE>(0x1);
    NDIS_STATUS status = NdisRegisterProtocolDriver(nullptr, &c, &handle);
    if (status == NDIS_STATUS_SUCCESS) {
      EXPECT_NE(handle, nullptr);
      NdisDeregisterProtocolDriver(handle);
    } else {
      EXPECT_EQ(handle, nullptr);
    }
    return status;
  };
  using C = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS;
  EXPECT_EQ(registerWith([](C&) {}), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(registerWith([](C& c) { c.StatusHandlerEx = nullptr; }), NDIS_STATUS_SUCCESS);  // optional
  EXPECT_EQ(registerWith([](C& c) { c.UninstallHandler = nullptr; }), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(registerWith([](C& c) {
              c.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2;
              c.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2;
            }),
            NDIS_STATUS_SUCCESS);
  EXPECT_EQ(registerWith([](C& c) { c.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS; }),
            NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.MajorNdisVersion = 5; }), NDIS_STATUS_BAD_VERSION);
  EXPECT_EQ(registerWith([](C& c) { c.MinorNdisVersion = 7; }), NDIS_STATUS_BAD_VERSION);
  EXPECT_EQ(registerWith([](C& c) { c.Header.Revision = 3; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) {
              c.MinorNdisVersion = 0;
              c.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2;
              c.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2;
            }),
            NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.Header.Size -= 8; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.Name.Length = 0; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.BindAdapterHandlerEx = nullptr; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.UnbindAdapterHandlerEx = nullptr; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.OpenAdapterCompleteHandlerEx = nullptr; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.CloseAdapterCompleteHandlerEx = nullptr; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.NetPnPEventHandler = nullptr; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.OidRequestCompleteHandler = nullptr; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.ReceiveNetBufferListsHandler = nullptr; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](C& c) { c.SendNetBufferListsCompleteHandler = nullptr; }),
            NDIS_STATUS_BAD_CHARACTERISTICS);
  NDIS_HANDLE handle = nullptr;
  EXPECT_EQ(NdisRegisterProtocolDriver(nullptr, nullptr, &handle), NDIS_STATUS_FAILURE);
  EXPECT_EQ(side().protocolCount(), 0u);
}

TEST_F(ProtocolTest, ValidationNamesTheWrongField) {
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS c;
  TpFillCharacteristics(&c);
  c.ReceiveNetBufferListsHandler = nullptr;
  auto check = ndishost::ndis::validateProtocolCharacteristics(c);
  EXPECT_EQ(check.status, NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_NE(check.problem.find("ReceiveNetBufferListsHandler"), std::string::npos) << check.problem;
  TpFillCharacteristics(&c);
  c.Header.Size = 10;
  check = ndishost::ndis::validateProtocolCharacteristics(c);
  EXPECT_NE(check.problem.find("Header.Size"), std::string::npos) << check.problem;
}

TEST_F(ProtocolTest, TheCppHelpersRegisterBindAndDeregisterOnScopeExit) {
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS filled;
  TpFillCharacteristics(&filled);  // the handlers
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS c = ndishost::ndis::protocolCharacteristics(u"tprot", 30);
  EXPECT_EQ(c.Name.Length, 10);
  c.BindAdapterHandlerEx = filled.BindAdapterHandlerEx;
  c.UnbindAdapterHandlerEx = filled.UnbindAdapterHandlerEx;
  c.OpenAdapterCompleteHandlerEx = filled.OpenAdapterCompleteHandlerEx;
  c.CloseAdapterCompleteHandlerEx = filled.CloseAdapterCompleteHandlerEx;
  c.NetPnPEventHandler = filled.NetPnPEventHandler;
  c.OidRequestCompleteHandler = filled.OidRequestCompleteHandler;
  c.ReceiveNetBufferListsHandler = filled.ReceiveNetBufferListsHandler;
  c.SendNetBufferListsCompleteHandler = filled.SendNetBufferListsCompleteHandler;
  side().targetArrived(nic_);
  {
    // The test protocol's handlers expect its own driver context; the bind fails cleanly
    // (ProtocolBindAdapterEx returns NDIS_STATUS_FAILURE), which is all this needs.
    ndishost::ndis::ProtocolRegistration registration(nullptr, c);
    ASSERT_TRUE(registration);
    EXPECT_EQ(registration.status(), NDIS_STATUS_SUCCESS);
    EXPECT_EQ(side().protocolCount(), 1u);
    EXPECT_TRUE(side().bindings().empty());
  }
  EXPECT_EQ(side().protocolCount(), 0u);
  c.ReceiveNetBufferListsHandler = nullptr;
  ndishost::ndis::ProtocolRegistration refused(nullptr, c);
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.status(), NDIS_STATUS_BAD_CHARACTERISTICS);
}

TEST_F(ProtocolTest, DeregisteringAGarbageHandleIsReported) {
  RecordViolationsScope scope;
  int notAHandle = 0;
  NdisDeregisterProtocolDriver(&notAHandle);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-bad-handle"));
}

// ---- binding state machine -----------------------------------------------------------------

TEST_F(ProtocolTest, BindOpensWithTheAdaptersParametersThenRestartsPausesAndUnbinds) {
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  EXPECT_TRUE(side().bindings().empty());  // no adapter yet
  int pdoStandIn = 0;
  nic_.setPdo(reinterpret_cast<PDEVICE_OBJECT>(&pdoStandIn));
  side().targetArrived(nic_);

  TpBinding& b = tpBindings[0];
  ASSERT_TRUE(b.used);
  EXPECT_EQ(b.state, TpPaused);
  EXPECT_EQ(bindingState(), BindingState::Paused);
  EXPECT_EQ(b.openStatus, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(b.selectedMedium, 1u);  // {NdisMediumWan, NdisMedium802_3}
  // NDIS_BIND_PARAMETERS revision 4 for an NDIS 6.30 protocol, from the general attributes.
  EXPECT_EQ(b.bindRevision, NDIS_BIND_PARAMETERS_REVISION_4);
  EXPECT_EQ(b.bindSize, NDIS_SIZEOF_BIND_PARAMETERS_REVISION_4);
  EXPECT_EQ(b.mediaType, NdisMedium802_3);
  EXPECT_EQ(b.mtu, 1500u);
  EXPECT_EQ(b.xmitLinkSpeed, 1000000000ull);
  EXPECT_EQ(b.connectState, MediaConnectStateConnected);
  EXPECT_EQ(b.macLength, 6);
  const UCHAR mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 7};
  EXPECT_EQ(std::memcmp(b.mac, mac, 6), 0);
  EXPECT_EQ(b.boundIfIndex, 7u);
  EXPECT_EQ(b.pdo, reinterpret_cast<PDEVICE_OBJECT>(&pdoStandIn));
  EXPECT_EQ(std::u16string(reinterpret_cast<const char16_t*>(b.adapterName), b.adapterNameLength), kNicName);
  EXPECT_EQ(nic_.attachedCount(), 1u);
  EXPECT_EQ(b.pauseEvents + b.restartEvents, 0);

  nic_.setRunning(true);
  side().targetRestarted(nic_);
  EXPECT_EQ(b.restartEvents, 1);
  EXPECT_EQ(b.state, TpRunning);
  EXPECT_EQ(bindingState(), BindingState::Running);

  side().targetPausing(nic_);
  EXPECT_EQ(b.pauseEvents, 1);
  EXPECT_EQ(b.state, TpPaused);
  EXPECT_EQ(bindingState(), BindingState::Paused);

  side().targetRestarted(nic_);
  EXPECT_EQ(b.restartEvents, 2);
  EXPECT_EQ(bindingState(), BindingState::Running);
  EXPECT_EQ(b.badEventBuffers, 0);

  // Departing while Running: NDIS pauses first, then unbinds; the protocol closes.
  side().targetDeparting(nic_);
  EXPECT_EQ(b.pauseEvents, 2);
  EXPECT_EQ(b.state, TpUnbound);
  EXPECT_TRUE(side().bindings().empty());
  EXPECT_EQ(nic_.attachedCount(), 0u);
  EXPECT_EQ(nic_.attaches(), nic_.detaches());
}

TEST_F(ProtocolTest, AProtocolRegisteringLateBindsToARunningAdapterAndRestarts) {
  nic_.setRunning(true);
  side().targetArrived(nic_);  // no protocol yet: nothing happens
  EXPECT_TRUE(side().bindings().empty());
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(bindingState(), BindingState::Running);
  EXPECT_EQ(tpBindings[0].restartEvents, 1);
  // Deregistering pauses and unbinds every binding.
  TpDeregister();
  EXPECT_EQ(tpBindings[0].pauseEvents, 1);
  EXPECT_EQ(tpBindings[0].state, TpUnbound);
  EXPECT_TRUE(side().bindings().empty());
  EXPECT_EQ(side().protocolCount(), 0u);
}

TEST_F(ProtocolTest, TheBindPolicyDecidesWhichAdaptersAProtocolBindsTo) {
  side().setBindPolicy([](const ndishost::ndis::ProtocolDriver&, const ndishost::ndis::BindTarget& t) {
    return t.ifIndex() != 7;
  });
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);
  EXPECT_TRUE(side().bindings().empty());
  EXPECT_FALSE(tpBindings[0].used);
  side().setBindPolicy(nullptr);
}

TEST_F(ProtocolTest, ProtocolPendedBindUnbindAndPnPEventsAreWaitedFor) {
  tpConfig.pendBind = 1;
  tpConfig.pendPnpEvents = 1;
  tpConfig.pendUnbind = 1;
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  TpBinding& b = tpBindings[0];

  std::thread arrive([&] { side().targetArrived(nic_); });
  ASSERT_TRUE(eventually([&] { return pendedCount(b) == 1; }));
  EXPECT_EQ(bindingState(), BindingState::Opening);  // NDIS still waits
  TpCompleteBind(&b, NDIS_STATUS_SUCCESS);
  arrive.join();
  EXPECT_EQ(bindingState(), BindingState::Paused);

  nic_.setRunning(true);
  std::thread restart([&] { side().targetRestarted(nic_); });
  ASSERT_TRUE(eventually([&] { return pendedCount(b) == 2; }));
  EXPECT_EQ(bindingState(), BindingState::Restarting);
  TpCompletePnpEvent(&b, NDIS_STATUS_SUCCESS);
  restart.join();
  EXPECT_EQ(bindingState(), BindingState::Running);

  std::thread pause([&] { side().targetPausing(nic_); });
  ASSERT_TRUE(eventually([&] { return pendedCount(b) == 3; }));
  EXPECT_EQ(bindingState(), BindingState::Pausing);
  TpCompletePnpEvent(&b, NDIS_STATUS_SUCCESS);
  pause.join();
  EXPECT_EQ(bindingState(), BindingState::Paused);

  std::thread depart([&] { side().targetDeparting(nic_); });
  ASSERT_TRUE(eventually([&] { return pendedCount(b) == 4; }));
  EXPECT_EQ(bindingState(), BindingState::Closing);
  TpCompleteUnbind(&b);
  depart.join();
  EXPECT_TRUE(side().bindings().empty());
}

TEST_F(ProtocolTest, NdisPendedOpenAndCloseCompleteThroughTheProtocolsHandlers) {
  ndishost::ndis::setBindingCompletionModes({.pendOpens = true, .pendCloses = true});
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);
  TpBinding& b = tpBindings[0];
  EXPECT_EQ(b.openCompletes, 1);  // ProtocolOpenAdapterCompleteEx, then NdisCompleteBindAdapterEx
  EXPECT_EQ(bindingState(), BindingState::Paused);
  side().targetDeparting(nic_);
  EXPECT_EQ(b.closeCompletes, 1);  // ProtocolCloseAdapterCompleteEx, then NdisCompleteUnbindAdapterEx
  EXPECT_EQ(b.state, TpUnbound);
  EXPECT_TRUE(side().bindings().empty());
}

TEST_F(ProtocolTest, AFailedRestartLeavesTheBindingPaused) {
  tpConfig.failRestart = 1;
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);
  nic_.setRunning(true);
  side().targetRestarted(nic_);
  EXPECT_EQ(bindingState(), BindingState::Paused);
}

TEST_F(ProtocolTest, ABindThatClosesAndFailsLeavesNothingBehind) {
  tpConfig.failBindAfterOpen = 1;
  RecordViolationsScope scope;
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);
  EXPECT_TRUE(side().bindings().empty());
  EXPECT_EQ(nic_.attaches(), 1);
  EXPECT_EQ(nic_.detaches(), 1);
  EXPECT_TRUE(rules(scope).empty());
}

TEST_F(ProtocolTest, AnOpenWithoutTheAdaptersMediumFailsWithUnsupportedMedia) {
  tpConfig.wrongMedium = 1;
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);
  EXPECT_EQ(tpBindings[0].openStatus, NDIS_STATUS_UNSUPPORTED_MEDIA);
  EXPECT_TRUE(side().bindings().empty());
  EXPECT_EQ(nic_.attaches(), 0);
}

// ---- data path -----------------------------------------------------------------------------

TEST_F(ProtocolTest, SendsReachTheAdapterWithTheirBytesAndCompleteToTheProtocol) {
  bindRunning();
  TpBinding& b = tpBindings[0];
  std::vector<UCHAR> f1 = frame(1), f2 = frame(2, 1514);
  ASSERT_EQ(TpSendFrames(&b, f1.data(), static_cast<ULONG>(f1.size()), 2, 0), NDIS_STATUS_SUCCESS);
  ASSERT_EQ(TpSendFrames(&b, f2.data(), static_cast<ULONG>(f2.size()), 1, 0), NDIS_STATUS_SUCCESS);
  auto sent = nic_.sentFrames();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0], f1);
  EXPECT_EQ(sent[1], f1);
  EXPECT_EQ(sent[2], f2);
  for (NDIS_HANDLE source : nic_.sentSources()) EXPECT_EQ(source, b.bindingHandle);
  EXPECT_EQ(b.sendCompletes, 3);
  EXPECT_EQ(b.lastSendStatus, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(b.sendsOutstanding, 0);
}

TEST_F(ProtocolTest, ReceivesReachTheProtocolWithTheirBytesAndAreReturned) {
  bindRunning();
  TpBinding& b = tpBindings[0];
  std::vector<UCHAR> f = frame(9, 342);
  nic_.indicate(f);
  EXPECT_EQ(b.framesReceived, 1);
  ASSERT_EQ(b.lastFrameLength, f.size());
  EXPECT_EQ(std::memcmp(b.lastFrame, f.data(), f.size()), 0);
  EXPECT_TRUE(NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(b.lastReceiveFlags));
  EXPECT_EQ(nic_.returned(), 1);  // NdisReturnNetBufferLists reached the adapter

  std::vector<UCHAR> g = frame(10, 64);
  nic_.indicate(g, NDIS_RECEIVE_FLAGS_RESOURCES);
  EXPECT_EQ(b.framesReceived, 2);
  EXPECT_EQ(std::memcmp(b.lastFrame, g.data(), g.size()), 0);
  EXPECT_TRUE(NDIS_TEST_RECEIVE_CANNOT_PEND(b.lastReceiveFlags));
  EXPECT_EQ(nic_.returned(), 2);
  EXPECT_EQ(nic_.indicated(), 2);
}

TEST_F(ProtocolTest, ReceivesForAPausedBindingGoStraightBackToTheAdapter) {
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);  // Paused
  nic_.indicate(frame(3));
  EXPECT_EQ(tpBindings[0].receiveIndications, 0);
  EXPECT_EQ(nic_.returned(), 1);
}

TEST_F(ProtocolTest, PauseWaitsForSendsInFlight) {
  bindRunning();
  TpBinding& b = tpBindings[0];
  nic_.setHoldSends(true);
  std::vector<UCHAR> f = frame(4);
  ASSERT_EQ(TpSendFrames(&b, f.data(), static_cast<ULONG>(f.size()), 2, 0), NDIS_STATUS_SUCCESS);
  std::atomic<bool> paused{false};
  std::thread pause([&] {
    side().targetPausing(nic_);
    paused = true;
  });
  ASSERT_TRUE(eventually([&] { return bindingState() == BindingState::Pausing; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(paused.load());  // two sends still held by the "miniport"
  nic_.completeHeldSends();
  pause.join();
  EXPECT_EQ(bindingState(), BindingState::Paused);
  EXPECT_EQ(b.sendCompletes, 2);
  EXPECT_TRUE(NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL(b.lastSendCompleteFlags));
}

TEST_F(ProtocolTest, PauseWaitsForReceivesTheProtocolHolds) {
  tpConfig.holdReceives = 1;
  bindRunning();
  TpBinding& b = tpBindings[0];
  nic_.indicate(frame(5));
  nic_.indicate(frame(6));
  EXPECT_EQ(nic_.returned(), 0);
  std::atomic<bool> paused{false};
  std::thread pause([&] {
    side().targetPausing(nic_);
    paused = true;
  });
  ASSERT_TRUE(eventually([&] { return bindingState() == BindingState::Pausing; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(paused.load());
  TpReturnHeld(&b);
  pause.join();
  EXPECT_EQ(nic_.returned(), 2);
  EXPECT_EQ(bindingState(), BindingState::Paused);
}

// ---- OIDs and status -----------------------------------------------------------------------

TEST_F(ProtocolTest, OidRequestsCompleteSynchronouslyOrThroughProtocolOidRequestComplete) {
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);  // OIDs are allowed on a Paused binding
  TpBinding& b = tpBindings[0];

  ASSERT_EQ(TpQueryOid(&b, OID_802_3_CURRENT_ADDRESS, 6), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(b.request.DATA.QUERY_INFORMATION.BytesWritten, 6u);
  const UCHAR mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 7};
  EXPECT_EQ(std::memcmp(b.oidBuffer, mac, 6), 0);
  EXPECT_EQ(TpQueryOid(&b, OID_802_3_CURRENT_ADDRESS, 2), NDIS_STATUS_BUFFER_TOO_SHORT);
  EXPECT_EQ(b.request.DATA.QUERY_INFORMATION.BytesNeeded, 6u);

  ULONG filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST;
  ASSERT_EQ(TpSetOid(&b, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof(filter)), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(nic_.packetFilter(), filter);
  EXPECT_EQ(b.oidCompletes, 0);  // synchronous: no completion call

  nic_.setPendOid(OID_GEN_LINK_SPEED);
  ASSERT_EQ(TpQueryOid(&b, OID_GEN_LINK_SPEED, 8), NDIS_STATUS_PENDING);
  NdisCancelOidRequest(b.bindingHandle, &b);
  ASSERT_EQ(nic_.cancelledOidIds().size(), 1u);
  EXPECT_EQ(nic_.cancelledOidIds()[0], &b);
  nic_.completePendingOid(NDIS_STATUS_REQUEST_ABORTED);
  EXPECT_EQ(b.oidCompletes, 1);
  EXPECT_EQ(b.oidStatus, NDIS_STATUS_REQUEST_ABORTED);

  // A malformed request header is refused before it reaches the adapter.
  int before = nic_.oidRequests();
  b.request.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  EXPECT_EQ(NdisOidRequest(b.bindingHandle, &b.request), NDIS_STATUS_INVALID_PARAMETER);
  EXPECT_EQ(nic_.oidRequests(), before);
}

TEST_F(ProtocolTest, StatusIndicationsReachProtocolStatusEx) {
  bindRunning();
  nic_.indicateLinkState(MediaConnectStateDisconnected);
  EXPECT_EQ(tpBindings[0].statusIndications, 1);
  EXPECT_EQ(tpBindings[0].lastStatusCode, NDIS_STATUS_LINK_STATE);
  EXPECT_EQ(tpBindings[0].statusConnectState, MediaConnectStateDisconnected);
}

TEST_F(ProtocolTest, StatusIndicationsAreSkippedForAProtocolWithoutProtocolStatusEx) {
  tpConfig.noStatusHandler = 1;
  bindRunning();
  nic_.indicateLinkState(MediaConnectStateDisconnected);
  EXPECT_EQ(tpBindings[0].statusIndications, 0);
}

// ---- protocol bugs ----------------------------------------------------------------------------

TEST_F(ProtocolTest, ASendWhilePausedIsReportedAndCompletedWithStatusPaused) {
  bindRunning();
  side().targetPausing(nic_);
  TpBinding& b = tpBindings[0];
  RecordViolationsScope scope;
  std::vector<UCHAR> f = frame(7);
  ASSERT_EQ(TpSendFrames(&b, f.data(), static_cast<ULONG>(f.size()), 2, 0), NDIS_STATUS_SUCCESS);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-send-not-running"));
  EXPECT_EQ(b.sendCompletes, 2);
  EXPECT_EQ(b.lastSendStatus, NDIS_STATUS_PAUSED);
  EXPECT_TRUE(nic_.sentFrames().empty());  // never reached the adapter
}

TEST_F(ProtocolTest, ASendWithoutSourceHandleIsReportedAndFixed) {
  bindRunning();
  TpBinding& b = tpBindings[0];
  RecordViolationsScope scope;
  std::vector<UCHAR> f = frame(8);
  ASSERT_EQ(TpSendFrameWithoutSourceHandle(&b, f.data(), static_cast<ULONG>(f.size())), NDIS_STATUS_SUCCESS);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-nbl-source-handle"));
  ASSERT_EQ(nic_.sentSources().size(), 1u);
  EXPECT_EQ(nic_.sentSources()[0], b.bindingHandle);
  EXPECT_EQ(b.sendCompletes, 1);
}

TEST_F(ProtocolTest, ABindThatSucceedsWithoutOpeningIsReported) {
  tpConfig.bindWithoutOpen = 1;
  RecordViolationsScope scope;
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-bind-without-open"));
  EXPECT_TRUE(side().bindings().empty());
}

TEST_F(ProtocolTest, ABindThatFailsButLeavesTheAdapterOpenIsReportedAndClosedByNdis) {
  tpConfig.failBindLeaveOpen = 1;
  RecordViolationsScope scope;
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-bind-failed-left-open"));
  EXPECT_TRUE(side().bindings().empty());
  EXPECT_EQ(nic_.attachedCount(), 0u);
}

TEST_F(ProtocolTest, AnUnbindWithoutCloseIsReportedAndClosedByNdis) {
  tpConfig.unbindWithoutClose = 1;
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  side().targetArrived(nic_);
  RecordViolationsScope scope;
  side().targetDeparting(nic_);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-unbind-without-close"));
  EXPECT_EQ(nic_.attachedCount(), 0u);
  EXPECT_TRUE(side().bindings().empty());
}

TEST_F(ProtocolTest, OpenAndCloseOutsideBindAndUnbindAreRefused) {
  bindRunning();
  TpBinding& b = tpBindings[0];
  RecordViolationsScope scope;
  EXPECT_EQ(NdisCloseAdapterEx(b.bindingHandle), NDIS_STATUS_FAILURE);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-close-outside-unbind"));

  static NDIS_MEDIUM media[] = {NdisMedium802_3};
  NDIS_STRING name;
  name.Buffer = reinterpret_cast<PWCH>(const_cast<char16_t*>(kNicName.data()));
  name.Length = name.MaximumLength = static_cast<USHORT>(kNicName.size() * 2);
  UINT selected = 99;
  NDIS_OPEN_PARAMETERS open = {};
  open.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
  open.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
  open.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
  open.AdapterName = &name;
  open.MediumArray = media;
  open.MediumArraySize = 1;
  open.SelectedMediumIndex = &selected;
  NDIS_HANDLE handle = nullptr;
  // The binding's own BindContext, after the bind completed.
  EXPECT_EQ(NdisOpenAdapterEx(tpProtocolHandle, &b, &open, b.bindContext, &handle), NDIS_STATUS_FAILURE);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-open-outside-bind"));
  EXPECT_EQ(handle, nullptr);
  // A BindContext NDIS never gave.
  int bogus = 0;
  EXPECT_EQ(NdisOpenAdapterEx(tpProtocolHandle, &b, &open, &bogus, &handle), NDIS_STATUS_FAILURE);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-bad-handle"));
  EXPECT_EQ(bindingState(), BindingState::Running);  // nothing changed
}

TEST_F(ProtocolTest, CompletionsOfNothingPendedAreReported) {
  bindRunning();
  TpBinding& b = tpBindings[0];
  RecordViolationsScope scope;
  NET_PNP_EVENT_NOTIFICATION event = {};
  NdisCompleteNetPnPEvent(b.bindingHandle, &event, NDIS_STATUS_SUCCESS);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-complete-not-pended"));
  NdisCompleteBindAdapterEx(b.bindContext, NDIS_STATUS_SUCCESS);  // the bind is long over
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-complete-not-pended"));
  int bogus = 0;
  NdisCompleteUnbindAdapterEx(&bogus);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-bad-handle"));
}

TEST_F(ProtocolTest, ABindingHandleIsDeadAfterTheUnbind) {
  bindRunning();
  NDIS_HANDLE stale = tpBindings[0].bindingHandle;
  side().targetDeparting(nic_);
  RecordViolationsScope scope;
  NDIS_OID_REQUEST request = {};
  request.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
  request.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
  request.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
  EXPECT_EQ(NdisOidRequest(stale, &request), NDIS_STATUS_INVALID_PARAMETER);
  EXPECT_TRUE(contains(rules(scope), "ndis.protocol-bad-handle"));
}

}  // namespace
