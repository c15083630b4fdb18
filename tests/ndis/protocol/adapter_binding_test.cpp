// The test protocol bound to a real miniport adapter: the traftest miniport (tests/ndis/
// traffic) on the NDIS test bed. NDIS binds the protocol when the adapter arrives, restarts
// the binding when the adapter runs, moves frames both ways, passes OIDs and status, and
// pauses and unbinds it when the device goes away -- with no leak at the end.
#include "ndis_test.hpp"
#include "ndis_test_bed.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <future>
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
  void (*fillOffload)(void*, ULONG, BOOLEAN) = nullptr;
  void (*indicateOffloadCurrentConfig)(ULONG, ULONG) = nullptr;

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
      t.fillOffload = reinterpret_cast<decltype(t.fillOffload)>(dlsym(t.handle, "TrafTestFillOffload"));
      t.indicateOffloadCurrentConfig = reinterpret_cast<decltype(t.indicateOffloadCurrentConfig)>(
          dlsym(t.handle, "TrafTestIndicateOffloadCurrentConfig"));
      if (t.control == nullptr || t.indicate == nullptr || t.completePendingOid == nullptr ||
          t.indicateLinkState == nullptr || t.completeHeldSends == nullptr || t.fillOffload == nullptr ||
          t.indicateOffloadCurrentConfig == nullptr)
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

// The traftest miniport (set up by the caller through its control block first) on a test
// bed, with the test protocol registered before the adapter arrives. `nic` is empty (and the
// failure recorded) unless the adapter and its binding came up Running.
struct BoundTraftest {
  std::unique_ptr<NdisTestBed> bed;
  std::string nic;
};

BoundTraftest bindTraftest() {
  NdisTestBedOptions options;
  options.runtime.processors = 2;
  options.miniports = {{"traftest", NDISHOST_TRAFTEST_DRIVER, TRAFTEST_HARDWARE_ID, {}}};
  BoundTraftest lab{std::make_unique<NdisTestBed>(std::move(options)), {}};
  if (TpRegister() != NDIS_STATUS_SUCCESS) {
    ADD_FAILURE() << "TpRegister failed";
    return lab;
  }
  std::string nic = lab.bed->plugRunning(TRAFTEST_HARDWARE_ID);
  if (nic.empty() || !eventually([] { return bindingState() == BindingState::Running; })) {
    ADD_FAILURE() << "the traftest adapter or its binding did not come up Running";
    return lab;
  }
  lab.nic = nic;
  return lab;
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
  EXPECT_EQ(b.bindOffloadPointer, nullptr);  // traftest set no offload attributes here

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

// "Removing a NIC" / "Stopping a NIC": IRP_MN_QUERY_REMOVE_DEVICE and _QUERY_STOP_DEVICE reach
// every bound protocol as NetEventQueryRemoveDevice, the cancels as NetEventCancelRemoveDevice;
// a protocol that fails the query vetoes it and the adapter keeps running; a pended answer
// comes with NdisCompleteNetPnPEvent.
TEST(AdapterBindingTest, RemovalQueriesReachTheProtocolWhichCanVetoOrPendThem) {
  TrafTest& traftest = TrafTest::get();
  std::memset(traftest.control, 0, sizeof(*traftest.control));
  traftest.control->SendMode = TrafTestSendLoopback;
  tpConfig = {};
  BoundTraftest lab = bindTraftest();
  ASSERT_FALSE(lab.nic.empty());
  auto& bed = lab.bed;
  const std::string nic = lab.nic;
  TpBinding& b = tpBindings[0];

  // Vetoed removal: the PnP manager sees the failure and cancels; nothing was paused.
  tpConfig.failQueryRemove = 1;
  auto vetoed = bed->remove(nic);
  EXPECT_FALSE(vetoed.removed);
  EXPECT_EQ(vetoed.vetoedBy, nic);
  EXPECT_EQ(vetoed.status, STATUS_UNSUCCESSFUL);  // NDIS_STATUS_FAILURE as an NTSTATUS
  EXPECT_EQ(b.queryRemoveEvents, 1);
  EXPECT_EQ(b.cancelRemoveEvents, 1);
  EXPECT_EQ(b.pauseEvents, 0);
  EXPECT_EQ(bed->adapterState(nic), ndishost::ndis::AdapterState::Running);
  EXPECT_EQ(bindingState(), BindingState::Running);
  std::vector<UCHAR> out = frame(3, 60);
  ASSERT_EQ(TpSendFrames(&b, out.data(), static_cast<ULONG>(out.size()), 1, 0), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(b.sendCompletes, 1);

  // A stop query is the same event; vetoed too, then cancelled with IRP_MN_CANCEL_STOP_DEVICE.
  EXPECT_EQ(bed->sendPnpIrp(nic, IRP_MN_QUERY_STOP_DEVICE), STATUS_UNSUCCESSFUL);
  EXPECT_EQ(b.queryRemoveEvents, 2);
  EXPECT_EQ(bed->sendPnpIrp(nic, IRP_MN_CANCEL_STOP_DEVICE), STATUS_SUCCESS);
  EXPECT_EQ(b.cancelRemoveEvents, 2);
  EXPECT_EQ(bed->adapterState(nic), ndishost::ndis::AdapterState::Running);

  // Accepted but pended: the removal waits for NdisCompleteNetPnPEvent, then goes on.
  tpConfig.failQueryRemove = 0;
  tpConfig.pendRemovalEvents = 1;
  LONG pendedBefore = __atomic_load_n(&tpPended, __ATOMIC_ACQUIRE);
  auto removal = std::async(std::launch::async, [&] { return bed->pnp().requestRemove(nic); });
  ASSERT_TRUE(eventually([&] { return __atomic_load_n(&tpPended, __ATOMIC_ACQUIRE) == pendedBefore + 1; }));
  EXPECT_EQ(b.queryRemoveEvents, 3);
  EXPECT_EQ(removal.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout);
  EXPECT_EQ(bed->adapterState(nic), ndishost::ndis::AdapterState::Running);
  TpCompletePnpEvent(&b, NDIS_STATUS_SUCCESS);
  auto removed = removal.get();
  bed->settle();
  EXPECT_TRUE(removed.removed);
  EXPECT_EQ(b.cancelRemoveEvents, 2);
  EXPECT_EQ(b.pauseEvents, 1);
  EXPECT_EQ(b.state, TpUnbound);
  EXPECT_EQ(b.badEventBuffers, 0);
  TpDeregister();
  TpCleanup();
  for (const auto& report : bed->shutdown()) ADD_FAILURE() << report.format();
}

// A miniport that completes its pause while it still holds sends strands them: at halt NDIS
// reports it (ndis.halt-outstanding), completes each NBL to the protocol exactly once with
// NDIS_STATUS_ADAPTER_REMOVED before unbinding it, and reports (without delivering) the
// miniport's own completions that come later, from MiniportHaltEx.
TEST(AdapterBindingTest, SendsStrandedAtHaltCompleteToTheProtocolExactlyOnce) {
  TrafTest& traftest = TrafTest::get();
  std::memset(traftest.control, 0, sizeof(*traftest.control));
  traftest.control->SendMode = TrafTestSendHold;
  traftest.control->CompleteHeldAtHalt = TRUE;
  tpConfig = {};
  BoundTraftest lab = bindTraftest();
  ASSERT_FALSE(lab.nic.empty());
  auto& bed = lab.bed;
  const std::string nic = lab.nic;
  ndishost::ndis::Adapter* adapter = bed->adapter(nic);
  ASSERT_NE(adapter, nullptr);
  auto hang = adapter->traffic().hangDetectionOptions();
  hang.pauseDrainMs = 50;  // the pause stops waiting for the held sends after 50 ms
  adapter->traffic().setHangDetectionOptions(hang);
  TpBinding& b = tpBindings[0];

  std::vector<UCHAR> out = frame(4, 60);
  ASSERT_EQ(TpSendFrames(&b, out.data(), static_cast<ULONG>(out.size()), 3, 0), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(traftest.control->HeldSends, 3);
  EXPECT_EQ(b.sendCompletes, 0);

  ndishost::nt::RecordViolationsScope scope;
  auto removed = bed->remove(nic);
  EXPECT_TRUE(removed.removed);
  EXPECT_EQ(b.sendCompletes, 3);  // each NBL once, from NDIS
  EXPECT_EQ(b.lastSendStatus, NDIS_STATUS_ADAPTER_REMOVED);
  EXPECT_EQ(b.sendsOutstanding, 0);
  EXPECT_EQ(b.state, TpUnbound);
  EXPECT_EQ(traftest.control->LateCompletions, 3);
  auto names = rules(scope);
  EXPECT_EQ(std::count(names.begin(), names.end(), "ndis.halt-outstanding"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "ndis.nbl-complete-twice"), 3);
  EXPECT_EQ(names.size(), 4u);
  TpDeregister();
  TpCleanup();
  for (const auto& report : bed->shutdown()) ADD_FAILURE() << report.format();
}

// The offload attributes reach NDIS_BIND_PARAMETERS.DefaultOffloadConfiguration as NDIS's
// copy (the miniport's blocks were on its stack); NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG
// replaces that copy before it reaches the protocol, so a later bind sees the new
// configuration; a buffer that is no NDIS_OFFLOAD is refused and changes nothing.
TEST(AdapterBindingTest, OffloadAttributesAndCurrentConfigIndicationsReachTheBindParameters) {
  constexpr std::size_t kSize = NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3;
  TrafTest& traftest = TrafTest::get();
  std::memset(traftest.control, 0, sizeof(*traftest.control));
  traftest.control->SetOffloadAttributes = TRUE;
  traftest.control->OffloadLsoMaxSize = 65536;
  tpConfig = {};
  BoundTraftest lab = bindTraftest();
  ASSERT_FALSE(lab.nic.empty());
  auto& bed = lab.bed;
  const std::string nic = lab.nic;
  ndishost::ndis::Adapter* adapter = bed->adapter(nic);
  ASSERT_NE(adapter, nullptr);

  NDIS_OFFLOAD expected = {};
  NDIS_OFFLOAD expectedHardware = {};
  traftest.fillOffload(&expected, 65536, FALSE);
  traftest.fillOffload(&expectedHardware, 65536, TRUE);
  TpBinding& first = tpBindings[0];
  ASSERT_NE(first.bindOffloadPointer, nullptr);
  EXPECT_EQ(std::memcmp(first.bindOffload, &expected, kSize), 0);
  {
    std::lock_guard guard(adapter->attributesLock());
    const auto& kept = adapter->attributes();
    ASSERT_TRUE(kept.currentOffload.has_value());
    ASSERT_TRUE(kept.hardwareOffload.has_value());
    EXPECT_EQ(std::memcmp(&kept.currentOffload->get(), &expected, kSize), 0);
    EXPECT_EQ(std::memcmp(&kept.hardwareOffload->get(), &expectedHardware, kSize), 0);
  }

  // The indication updates NDIS's copy and reaches the protocol.
  traftest.indicateOffloadCurrentConfig(32768, 0);
  EXPECT_EQ(first.lastStatusCode, NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG);
  int indications = first.statusIndications;
  NDIS_OFFLOAD updated = {};
  traftest.fillOffload(&updated, 32768, FALSE);
  {
    std::lock_guard guard(adapter->attributesLock());
    EXPECT_EQ(std::memcmp(&adapter->attributes().currentOffload->get(), &updated, kSize), 0);
  }

  // Too short a buffer: refused, not indicated, the copy unchanged.
  {
    ndishost::nt::RecordViolationsScope scope;
    traftest.indicateOffloadCurrentConfig(16384, 8);
    EXPECT_EQ(rules(scope), std::vector<std::string>{"ndis.status-bad-buffer"});
  }
  EXPECT_EQ(first.statusIndications, indications);

  // A protocol that binds now gets the indicated configuration.
  TpDeregister();
  EXPECT_TRUE(ProtocolSide::instance().bindings().empty());
  ASSERT_EQ(TpRegister(), NDIS_STATUS_SUCCESS);
  ASSERT_TRUE(eventually([] { return bindingState() == BindingState::Running; }));
  TpBinding& second = tpBindings[0];
  ASSERT_NE(second.bindOffloadPointer, nullptr);
  EXPECT_EQ(std::memcmp(second.bindOffload, &updated, kSize), 0);

  auto removed = bed->remove(nic);
  EXPECT_TRUE(removed.removed);
  EXPECT_EQ(second.state, TpUnbound);
  TpDeregister();
  TpCleanup();
  for (const auto& report : bed->shutdown()) ADD_FAILURE() << report.format();
}

}  // namespace
