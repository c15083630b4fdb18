// The test protocol bound to a real miniport adapter: the traftest miniport (tests/ndis/
// traffic) on the NDIS test bed. NDIS binds the protocol when the adapter arrives, restarts
// the binding when the adapter runs, moves frames both ways, passes OIDs and status, and
// pauses and unbinds it when the device goes away -- with no leak at the end.
#include "ndis_test.hpp"
#include "ndis_test_bed.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "ndis/protocol/protocol_side.hpp"
#include "test_protocol.h"
#include "traftest_control.h"

using namespace ndistest;
using ndishost::ndis::BindingState;
using ndishost::ndis::ProtocolSide;
using ndishost::ndis::test::NdisTestBed;
using ndishost::ndis::test::NdisTestBedOptions;

namespace {

// The traftest image, mapped before the PnP manager loads it (the loader's dlopen finds the
// same image), so its control block can be set and its helpers called.
struct TrafTest {
  void* handle = nullptr;
  TRAFTEST_CONTROL* control = nullptr;
  BOOLEAN (*indicate)(const UCHAR*, ULONG, ULONG, ULONG, ULONG, BOOLEAN) = nullptr;
  BOOLEAN (*completePendingOid)(NDIS_STATUS) = nullptr;
  void (*indicateLinkState)(NDIS_MEDIA_CONNECT_STATE, ULONG64, BOOLEAN) = nullptr;
  LONG (*completeHeldSends)(NDIS_STATUS) = nullptr;

  static TrafTest& get() {
    static TrafTest image = [] {
      TrafTest t;
      t.handle = dlopen(NDISHOST_TRAFTEST_DRIVER, RTLD_NOW | RTLD_LOCAL);
      if (t.handle == nullptr) throw std::runtime_error(dlerror());
      t.control = static_cast<TRAFTEST_CONTROL*>(dlsym(t.handle, "TrafTestControl"));
      t.indicate = reinterpret_cast<decltype(t.indicate)>(dlsym(t.handle, "TrafTestIndicate"));
      t.completePendingOid = reinterpret_cast<decltype(t.completePendingOid)>(dlsym(t.handle, "TrafTestCompletePendingOid"));
      t.indicateLinkState = reinterpret_cast<decltype(t.indicateLinkState)>(dlsym(t.handle, "TrafTestIndicateLinkState"));
      t.completeHeldSends = reinterpret_cast<decltype(t.completeHeldSends)>(dlsym(t.handle, "TrafTestCompleteHeldSends"));
      if (t.control == nullptr || t.indicate == nullptr || t.completePendingOid == nullptr ||
          t.indicateLinkState == nullptr || t.completeHeldSends == nullptr)
        throw std::runtime_error("traftest exports missing");
      return t;
    }();
    return image;
  }
};

template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

std::vector<UCHAR> frame(UCHAR seed, std::size_t length) {
  std::vector<UCHAR> f(length);
  for (std::size_t i = 0; i < length; ++i) f[i] = static_cast<UCHAR>(seed * 7 + i);
  std::memset(f.data(), 0xff, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

BindingState bindingState() {
  auto all = ProtocolSide::instance().bindings();
  return all.empty() ? BindingState::Unbound : all.front().state;
}

TEST(AdapterBindingTest, TheTestProtocolBindsToAMiniportAndMovesFramesOidsAndStatus) {
  TrafTest& traftest = TrafTest::get();
  std::memset(traftest.control, 0, sizeof(*traftest.control));
  traftest.control->RegisterReset = TRUE;
  traftest.control->SendMode = TrafTestSendLoopback;
  tpConfig = {};

  NdisTestBedOptions options;
  options.runtime.deterministic = false;
  options.runtime.processors = 2;
  options.miniports = {{"traftest", NDISHOST_TRAFTEST_DRIVER, TRAFTEST_HARDWARE_ID, {}}};
  auto bed = std::make_unique<NdisTestBed>(std::move(options));
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);  // before the adapter: bound when it arrives

  std::string nic = bed->plugRunning(TRAFTEST_HARDWARE_ID);
  ASSERT_FALSE(nic.empty());
  ndishost::ndis::Adapter* adapter = bed->adapter(nic);
  ASSERT_NE(adapter, nullptr);
  ASSERT_TRUE(eventually([] { return bindingState() == BindingState::Running; }));
  TpBinding& b = tpBindings[0];
  EXPECT_EQ(b.state, TpRunning);
  EXPECT_EQ(b.pdo, adapter->pdo());
  EXPECT_EQ(b.boundIfIndex, adapter->ifIndex());
  {
    std::lock_guard guard(adapter->attributesLock());
    const auto& general = *adapter->attributes().general;
    EXPECT_EQ(b.mediaType, general.MediaType);
    EXPECT_EQ(b.mtu, general.MtuSize);
    EXPECT_EQ(b.macLength, general.MacAddressLength);
    EXPECT_EQ(std::memcmp(b.mac, general.CurrentMacAddress, 6), 0);
  }

  // A send goes down to MiniportSendNetBufferLists, comes back as a receive (loopback) and
  // completes to ProtocolSendNetBufferListsComplete.
  std::vector<UCHAR> out = frame(1, 98);
  ASSERT_EQ(TpSendFrames(&b, out.data(), static_cast<ULONG>(out.size()), 1, 0), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(traftest.control->LastSentLength, out.size());
  EXPECT_EQ(std::memcmp(traftest.control->LastSentFrame, out.data(), out.size()), 0);
  EXPECT_EQ(b.sendCompletes, 1);
  EXPECT_EQ(b.lastSendStatus, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(b.framesReceived, 1);
  ASSERT_EQ(b.lastFrameLength, out.size());
  EXPECT_EQ(std::memcmp(b.lastFrame, out.data(), out.size()), 0);

  // A receive the miniport indicates at DISPATCH_LEVEL, returned by the protocol.
  std::vector<UCHAR> in = frame(2, 1514);
  ASSERT_TRUE(traftest.indicate(in.data(), static_cast<ULONG>(in.size()), 1, 1, 0, TRUE));
  EXPECT_EQ(b.framesReceived, 2);
  ASSERT_EQ(b.lastFrameLength, in.size());
  EXPECT_EQ(std::memcmp(b.lastFrame, in.data(), in.size()), 0);
  EXPECT_TRUE(eventually([&] { return traftest.control->Returns == traftest.control->Receives; }));

  // OIDs: a set the miniport answers at once, then one it pends.
  ULONG filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST;
  EXPECT_EQ(TpSetOid(&b, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof(filter)), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(traftest.control->PacketFilter, filter);
  traftest.control->OidMode = TrafTestOidHold;  // pends until told: NDIS must return PENDING
  filter |= NDIS_PACKET_TYPE_MULTICAST;
  EXPECT_EQ(TpSetOid(&b, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof(filter)), NDIS_STATUS_PENDING);
  EXPECT_EQ(__atomic_load_n(&b.oidCompletes, __ATOMIC_ACQUIRE), 0);
  EXPECT_TRUE(traftest.completePendingOid(NDIS_STATUS_SUCCESS));
  EXPECT_TRUE(eventually([&] { return __atomic_load_n(&b.oidCompletes, __ATOMIC_ACQUIRE) == 1; }));
  EXPECT_EQ(b.oidStatus, NDIS_STATUS_SUCCESS);
  traftest.control->OidMode = TrafTestOidSync;

  // A link-state indication reaches ProtocolStatusEx.
  traftest.indicateLinkState(MediaConnectStateDisconnected, 0, FALSE);
  EXPECT_GE(b.statusIndications, 1);
  EXPECT_EQ(b.lastStatusCode, NDIS_STATUS_LINK_STATE);
  EXPECT_EQ(b.statusConnectState, MediaConnectStateDisconnected);

  // Cancel by cancel ID: NdisCancelSendNetBufferLists reaches MiniportCancelSend with the ID
  // the protocol set; the miniport completes that NBL (NDIS_STATUS_SEND_ABORTED) to
  // ProtocolSendNetBufferListsComplete and keeps the other one.
  traftest.control->SendMode = TrafTestSendHold;
  PVOID first = TpMakeCancelId(1);
  PVOID second = TpMakeCancelId(2);
  EXPECT_EQ(reinterpret_cast<ULONG_PTR>(first) >> ((sizeof(ULONG_PTR) - 1) * 8),
            reinterpret_cast<ULONG_PTR>(second) >> ((sizeof(ULONG_PTR) - 1) * 8));
  int completesBefore = b.sendCompletes;
  ASSERT_EQ(TpSendFrameWithCancelId(&b, out.data(), static_cast<ULONG>(out.size()), first), NDIS_STATUS_SUCCESS);
  ASSERT_EQ(TpSendFrameWithCancelId(&b, out.data(), static_cast<ULONG>(out.size()), second), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(traftest.control->HeldSends, 2);
  TpCancelSends(&b, first);
  EXPECT_EQ(traftest.control->CancelSendCalls, 1);
  EXPECT_EQ(traftest.control->HeldSends, 1);
  EXPECT_EQ(b.sendCompletes, completesBefore + 1);
  EXPECT_EQ(b.lastSendStatus, NDIS_STATUS_SEND_ABORTED);
  EXPECT_EQ(traftest.completeHeldSends(NDIS_STATUS_SUCCESS), 1);
  EXPECT_EQ(b.sendCompletes, completesBefore + 2);
  EXPECT_EQ(b.lastSendStatus, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(adapter->traffic().counters().sendCancels, 1u);
  traftest.control->SendMode = TrafTestSendLoopback;

  // Removing the device pauses the binding, then unbinds it before MiniportHaltEx.
  auto removed = bed->remove(nic);
  EXPECT_TRUE(removed.removed);
  EXPECT_EQ(b.pauseEvents, 1);
  EXPECT_EQ(b.state, TpUnbound);
  EXPECT_TRUE(ProtocolSide::instance().bindings().empty());
  TpDeregister();
  TpCleanup();
  for (const auto& report : bed->shutdown()) ADD_FAILURE() << report.format();
}

}  // namespace
