// The traffic paths of a running adapter, driven the way the protocol side drives them: a
// test bus reports a device, the PnP manager loads the traftest miniport under NDIS, and a
// test binding attached to the adapter's AdapterTraffic sends frames, takes receives, issues
// OID requests and watches status indications. Hang detection runs in deterministic mode,
// where the virtual clock moves the hang check timer.
#include "ndis_test.hpp"

#include "ndis_test_bed.hpp"

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ndis/traffic/adapter_traffic.hpp"
#include "ndis/core/ndis_rules.hpp"
#include "traftest_control.h"

using namespace ndishost;
using namespace ndishost::ndis;
using ndishost::ndis::test::NdisTestBed;
using ndishost::ndis::test::NdisTestBedOptions;

namespace {

// The traftest image, mapped before the PnP manager loads it (the loader's dlopen finds the
// same image), so TrafTestControl is set before DriverEntry and its helpers can be called.
struct TrafTestImage {
  void* handle = nullptr;
  TRAFTEST_CONTROL* control = nullptr;
  void (*record)(char) = nullptr;
  BOOLEAN (*indicate)(const UCHAR*, ULONG, ULONG, ULONG, ULONG, BOOLEAN) = nullptr;
  LONG (*completeHeldSends)(NDIS_STATUS) = nullptr;
  BOOLEAN (*completePendingOid)(NDIS_STATUS) = nullptr;
  void (*completeNbl)(PNET_BUFFER_LIST) = nullptr;
  void (*completeOid)(PNDIS_OID_REQUEST, NDIS_STATUS) = nullptr;
  void (*indicateLinkState)(NDIS_MEDIA_CONNECT_STATE, ULONG64, BOOLEAN) = nullptr;
  void (*resetComplete)() = nullptr;
  PNDIS_OID_REQUEST (*lastOid)() = nullptr;

  template <typename T>
  static void bind(void* handle, T& function, const char* name) {
    function = reinterpret_cast<T>(dlsym(handle, name));
    if (function == nullptr) throw std::runtime_error(std::string("traftest export missing: ") + name);
  }

  static TrafTestImage& get() {
    static TrafTestImage image = [] {
      TrafTestImage loaded;
      loaded.handle = dlopen(NDISHOST_TRAFTEST_DRIVER, RTLD_NOW | RTLD_LOCAL);
      if (loaded.handle == nullptr) throw std::runtime_error(dlerror());
      loaded.control = static_cast<TRAFTEST_CONTROL*>(dlsym(loaded.handle, "TrafTestControl"));
      if (loaded.control == nullptr) throw std::runtime_error("TrafTestControl missing");
      bind(loaded.handle, loaded.record, "TrafTestRecordEvent");
      bind(loaded.handle, loaded.indicate, "TrafTestIndicate");
      bind(loaded.handle, loaded.completeHeldSends, "TrafTestCompleteHeldSends");
      bind(loaded.handle, loaded.completePendingOid, "TrafTestCompletePendingOid");
      bind(loaded.handle, loaded.completeNbl, "TrafTestCompleteNbl");
      bind(loaded.handle, loaded.completeOid, "TrafTestCompleteOid");
      bind(loaded.handle, loaded.indicateLinkState, "TrafTestIndicateLinkState");
      bind(loaded.handle, loaded.resetComplete, "TrafTestResetComplete");
      bind(loaded.handle, loaded.lastOid, "TrafTestLastOid");
      return loaded;
    }();
    return image;
  }
};

TrafTestImage& image() { return TrafTestImage::get(); }

// Copies a NET_BUFFER's data out (whatever its MDL layout).
std::vector<UCHAR> bytesOf(PNET_BUFFER nb) {
  std::vector<UCHAR> data(NET_BUFFER_DATA_LENGTH(nb));
  if (data.empty()) return data;
  auto* p = static_cast<UCHAR*>(NdisGetDataBuffer(nb, static_cast<ULONG>(data.size()), data.data(), 1, 0));
  if (p != nullptr && p != data.data()) std::memcpy(data.data(), p, data.size());
  return data;
}

// A protocol binding's view of the adapter, recorded.
class TestBinding final : public UpperBinding {
 public:
  explicit TestBinding(AdapterTraffic& traffic) : traffic_(traffic) {}

  void receive(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count, ULONG receiveFlags) override {
    if (record(nbls, port, count, receiveFlags)) traffic_.returnNetBufferLists(*this, nbls, 0);
  }

  // True when the binding hands the NBLs back at once (outside its lock: the return calls
  // the miniport, which may raise IRQL).
  bool record(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count, ULONG receiveFlags) {
    std::lock_guard guard(lock);
    ULONG seen = 0;
    for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = nbl->Next) {
      frames.push_back(bytesOf(NET_BUFFER_LIST_FIRST_NB(nbl)));
      ++seen;
    }
    lastReceived = nbls;
    lastReceiveFlags = receiveFlags;
    lastReceivePort = port;
    receiveCounts.push_back(count);
    if (seen != count) ++countMismatches;
    if ((receiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) != 0) return false;  // copied; not ours to keep
    if (!keepReceives) return true;
    kept.push_back(nbls);
    return false;
  }

  void sendComplete(PNET_BUFFER_LIST nbls, ULONG) override {
    std::lock_guard guard(lock);
    for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = nbl->Next) {
      completions.push_back({nbl, nbl->Status});
      sourceHandles.push_back(nbl->SourceHandle);
    }
  }

  void oidComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status) override {
    std::lock_guard guard(lock);
    oidCompletions.push_back({request, status});
  }

  void status(const NDIS_STATUS_INDICATION& indication) override {
    std::lock_guard guard(lock);
    statuses.push_back(indication.StatusCode);
    statusSources.push_back(indication.SourceHandle);
    if (indication.StatusCode == NDIS_STATUS_RESET_START) image().record('S');
    if (indication.StatusCode == NDIS_STATUS_RESET_END) {
      image().record('E');
      if (indication.StatusBufferSize == sizeof(NDIS_STATUS))
        resetEndStatus = *static_cast<NDIS_STATUS*>(indication.StatusBuffer);
    }
    if (indication.StatusCode == NDIS_STATUS_LINK_STATE && indication.StatusBufferSize >= sizeof(NDIS_LINK_STATE))
      lastLink = *static_cast<NDIS_LINK_STATE*>(indication.StatusBuffer);
  }

  void returnKept() {
    std::vector<PNET_BUFFER_LIST> chains;
    {
      std::lock_guard guard(lock);
      chains.swap(kept);
    }
    for (PNET_BUFFER_LIST chain : chains) traffic_.returnNetBufferLists(*this, chain, 0);
  }

  template <typename T>
  std::size_t sizeOf(const std::vector<T>& v) {
    std::lock_guard guard(lock);
    return v.size();
  }

  std::mutex lock;
  bool keepReceives = false;
  std::vector<std::vector<UCHAR>> frames;
  std::vector<ULONG> receiveCounts;
  PNET_BUFFER_LIST lastReceived = nullptr;
  ULONG lastReceiveFlags = 0;
  NDIS_PORT_NUMBER lastReceivePort = 0;
  int countMismatches = 0;
  std::vector<PNET_BUFFER_LIST> kept;
  std::vector<std::pair<PNET_BUFFER_LIST, NDIS_STATUS>> completions;
  std::vector<NDIS_HANDLE> sourceHandles;
  std::vector<std::pair<PNDIS_OID_REQUEST, NDIS_STATUS>> oidCompletions;
  std::vector<NDIS_STATUS> statuses;
  std::vector<NDIS_HANDLE> statusSources;
  NDIS_STATUS resetEndStatus = NDIS_STATUS_PENDING;
  NDIS_LINK_STATE lastLink{};

 private:
  AdapterTraffic& traffic_;
};

// Frames the test sends: one NBL with one NB over one MDL each, from the test's own pool.
class SendFrames {
 public:
  SendFrames() : pool_(ndistest::makeNblPool(0, TRUE, 0)) {}
  ~SendFrames() {
    for (auto& f : frames_) {
      NdisFreeNetBufferList(f.nbl);
      NdisFreeMdl(f.mdl);
    }
    NdisFreeNetBufferListPool(pool_);
  }

  PNET_BUFFER_LIST make(std::vector<UCHAR> data) {
    Frame f;
    f.data = std::make_unique<std::vector<UCHAR>>(std::move(data));
    f.mdl = NdisAllocateMdl(nullptr, f.data->data(), static_cast<UINT>(f.data->size()));
    f.nbl = NdisAllocateNetBufferAndNetBufferList(pool_, 0, 0, f.mdl, 0, static_cast<ULONG>(f.data->size()));
    f.nbl->SourceHandle = kProtocolHandle;
    frames_.push_back(std::move(f));
    return frames_.back().nbl;
  }

  static inline const NDIS_HANDLE kProtocolHandle = reinterpret_cast<NDIS_HANDLE>(0x5eed);

 private:
  struct Frame {
    std::unique_ptr<std::vector<UCHAR>> data;
    PMDL mdl;
    PNET_BUFFER_LIST nbl;
  };
  NDIS_HANDLE pool_;
  std::vector<Frame> frames_;
};

// An Ethernet frame: destination, source, EtherType 0x88B5 (local experimental), payload.
std::vector<UCHAR> ethernetFrame(UCHAR seed, std::size_t payload) {
  std::vector<UCHAR> frame = {0x02, 0x54, 0x52, 0x41, 0x46, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, seed, 0x88, 0xB5};
  for (std::size_t i = 0; i < payload; ++i) frame.push_back(static_cast<UCHAR>(seed + i * 7));
  return frame;
}

NDIS_OID_REQUEST makeRequest(NDIS_REQUEST_TYPE type, NDIS_OID oid, void* buffer, ULONG length, PVOID id = nullptr) {
  NDIS_OID_REQUEST request{};
  request.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
  request.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
  request.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
  request.RequestType = type;
  request.RequestId = id;
  request.DATA.QUERY_INFORMATION.Oid = oid;
  request.DATA.QUERY_INFORMATION.InformationBuffer = buffer;
  request.DATA.QUERY_INFORMATION.InformationBufferLength = length;
  return request;
}

// Real mode: polls until `done` or two seconds pass.
bool waitFor(const std::function<bool()>& done) {
  auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!done()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Deterministic mode: lets `ms` of virtual time pass (timers and work items run meanwhile).
void letVirtualTimePass(LONGLONG ms) {
  LARGE_INTEGER interval;
  interval.QuadPart = -ms * 10000;
  KeDelayExecutionThread(KernelMode, FALSE, &interval);
}

const std::string kHardwareId = TRAFTEST_HARDWARE_ID;

class TrafficTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::memset(&control, 0, sizeof(control));
    control.RegisterReset = TRUE;
    control.AddressingReset = TRUE;
    control.CheckForHangTimeInSeconds = 5;  // a 4 s period ("a multiple of 2 seconds")
  }

  void TearDown() override {
    if (binding && adapter) adapter->traffic().detach(*binding);
    binding.reset();
    frames.reset();
    bed.reset();
  }

  void start(bool deterministic = false) {
    NdisTestBedOptions options;
    options.runtime.deterministic = deterministic;
    options.runtime.processors = deterministic ? 1 : 2;
    options.miniports = {{"traftest", NDISHOST_TRAFTEST_DRIVER, kHardwareId, {}}};
    bed = std::make_unique<NdisTestBed>(std::move(options));
    nic = bed->plugRunning(kHardwareId);
    ASSERT_FALSE(nic.empty());
    adapter = bed->adapter(nic);
    ASSERT_NE(adapter, nullptr);
    binding = std::make_unique<TestBinding>(adapter->traffic());
    adapter->traffic().attach(*binding);
    frames = std::make_unique<SendFrames>();
  }

  AdapterTraffic& traffic() { return adapter->traffic(); }

  std::string events() const {
    LONG recorded = control.EventCount;
    LONG count = std::min<LONG>(recorded, TRAFTEST_MAX_EVENTS);
    return std::string(control.Events, static_cast<std::size_t>(count));
  }

  NDIS_STATUS setUlong(NDIS_OID oid, ULONG value) {
    NDIS_OID_REQUEST request = makeRequest(NdisRequestSetInformation, oid, &value, sizeof value);
    NDIS_STATUS status = traffic().oidRequest(*binding, &request);
    EXPECT_NE(status, NDIS_STATUS_PENDING);
    return status;
  }

  // Removes the device (orderly), then checks every driver unloaded without leaks.
  void finish() {
    traffic().detach(*binding);
    binding.reset();
    frames.reset();
    auto removed = bed->remove(nic);
    EXPECT_TRUE(removed.removed);
    adapter = nullptr;
    for (const auto& report : bed->shutdown()) ADD_FAILURE() << report.format();
    EXPECT_EQ(control.Adapters, 0);
  }

  TRAFTEST_CONTROL& control = *image().control;
  std::unique_ptr<NdisTestBed> bed;
  std::string nic;
  Adapter* adapter = nullptr;
  std::unique_ptr<TestBinding> binding;
  std::unique_ptr<SendFrames> frames;
};

TEST_F(TrafficTest, SendsAndReceivesRealFrames) {
  start();
  // Send: the miniport gets the exact bytes, the port and flags; the completion goes back to
  // the binding with the SourceHandle the binding had.
  std::vector<UCHAR> out = ethernetFrame(0x31, 100);
  PNET_BUFFER_LIST nbl = frames->make(out);
  traffic().send(*binding, nbl, 0, 0);
  EXPECT_EQ(control.SentNbls, 1);
  ASSERT_EQ(control.LastSentLength, out.size());
  EXPECT_EQ(std::memcmp(control.LastSentFrame, out.data(), out.size()), 0);
  EXPECT_EQ(control.LastSendPort, 0u);
  ASSERT_EQ(binding->sizeOf(binding->completions), 1u);
  EXPECT_EQ(binding->completions[0].first, nbl);
  EXPECT_EQ(binding->completions[0].second, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(binding->sourceHandles[0], SendFrames::kProtocolHandle);
  EXPECT_EQ(traffic().sendsHeld(), 0u);

  // Receive three frames the binding keeps; the miniport gets them back only when returned.
  binding->keepReceives = true;
  std::vector<UCHAR> in = ethernetFrame(0x77, 60);
  ASSERT_TRUE(image().indicate(in.data(), static_cast<ULONG>(in.size()), 3, 3, 0, FALSE));
  ASSERT_EQ(binding->sizeOf(binding->frames), 3u);
  for (const auto& frame : binding->frames) EXPECT_EQ(frame, in);
  EXPECT_EQ(control.Returns, 0);
  binding->returnKept();
  EXPECT_EQ(control.Returns, 3);

  // NDIS_RECEIVE_FLAGS_RESOURCES at DISPATCH_LEVEL: the binding must copy; the miniport has
  // the NBLs back when the indication returns (no MiniportReturnNetBufferLists).
  std::vector<UCHAR> in2 = ethernetFrame(0x12, 1486);
  ASSERT_TRUE(image().indicate(in2.data(), static_cast<ULONG>(in2.size()), 2, 2,
                               NDIS_RECEIVE_FLAGS_RESOURCES | NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL, TRUE));
  ASSERT_EQ(binding->sizeOf(binding->frames), 5u);
  EXPECT_EQ(binding->frames[4], in2);
  EXPECT_NE(binding->lastReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES, 0u);
  EXPECT_NE(binding->lastReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL, 0u);
  EXPECT_EQ(control.Returns, 3);

  // Loopback: what goes out comes back in, byte for byte.
  binding->keepReceives = false;
  control.SendMode = TrafTestSendLoopback;
  std::vector<UCHAR> echo = ethernetFrame(0x5a, 200);
  traffic().send(*binding, frames->make(echo), 0, NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK);
  EXPECT_EQ(control.LastSendFlags, static_cast<ULONG>(NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK));
  ASSERT_EQ(binding->sizeOf(binding->frames), 6u);
  EXPECT_EQ(binding->frames[5], echo);
  EXPECT_EQ(binding->countMismatches, 0);

  TrafficCounters c = traffic().counters();
  EXPECT_EQ(c.sends, 2u);
  EXPECT_EQ(c.sendCompletions, 2u);
  EXPECT_EQ(c.receives, 6u);
  EXPECT_EQ(c.returns, 4u);  // 3 kept and returned + 1 loopback frame returned at once
  EXPECT_EQ(c.violations, 0u);
  EXPECT_EQ(control.Returns, 4);
  finish();
}

TEST_F(TrafficTest, PauseRefusesNewSendsAndWaitsForHeldOnes) {
  start();
  control.SendMode = TrafTestSendHold;
  PNET_BUFFER_LIST a = frames->make(ethernetFrame(1, 50));
  PNET_BUFFER_LIST b = frames->make(ethernetFrame(2, 50));
  a->Next = b;
  traffic().send(*binding, a, 0, 0);
  EXPECT_EQ(control.HeldSends, 2);
  EXPECT_EQ(traffic().sendsHeld(), 2u);

  // Power down pauses the adapter; the pause cannot finish while the miniport holds sends.
  std::atomic<bool> poweredDown{false};
  std::thread power([&] {
    EXPECT_EQ(bed->setDevicePower(nic, PowerDeviceD3), STATUS_SUCCESS);
    poweredDown = true;
  });
  ASSERT_TRUE(waitFor([&] { return adapter->state() == AdapterState::Paused; }));
  // Not Running: NDIS completes new sends itself with NDIS_STATUS_PAUSED.
  PNET_BUFFER_LIST c = frames->make(ethernetFrame(3, 50));
  traffic().send(*binding, c, 0, 0);
  EXPECT_EQ(control.SentNbls, 2);
  ASSERT_EQ(binding->sizeOf(binding->completions), 1u);
  EXPECT_EQ(binding->completions[0].first, c);
  EXPECT_EQ(binding->completions[0].second, NDIS_STATUS_PAUSED);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(poweredDown.load());
  EXPECT_EQ(events().find('W'), std::string::npos);  // no OID_PNP_SET_POWER before quiescence

  EXPECT_EQ(image().completeHeldSends(NDIS_STATUS_SUCCESS), 2);
  power.join();
  EXPECT_TRUE(poweredDown.load());
  EXPECT_EQ(events(), "QW");
  EXPECT_EQ(control.PowerState, NdisDeviceStateD3);
  ASSERT_EQ(binding->sizeOf(binding->completions), 3u);
  EXPECT_EQ(binding->completions[1].first, a);
  EXPECT_EQ(binding->completions[2].first, b);
  EXPECT_EQ(traffic().counters().sendsRefused, 1u);

  // Back to D0 and Running: sends reach the miniport again.
  control.SendMode = TrafTestSendComplete;
  ASSERT_EQ(bed->setDevicePower(nic, PowerDeviceD0), STATUS_SUCCESS);
  ASSERT_TRUE(bed->waitForState(nic, AdapterState::Running));
  EXPECT_EQ(control.PowerState, NdisDeviceStateD0);
  traffic().send(*binding, frames->make(ethernetFrame(4, 50)), 0, 0);
  EXPECT_EQ(control.SentNbls, 3);
  finish();
}

// The miniport completed every NBL inside MiniportSendNetBufferLists (nothing is held) but
// the handler has not returned: the pause waits for the call itself, so the adapter cannot be
// powered down, halted or freed under a running send handler.
TEST_F(TrafficTest, PauseWaitsForASendHandlerStillRunning) {
  start();
  control.SendMode = TrafTestSendBlock;
  PNET_BUFFER_LIST nbl = frames->make(ethernetFrame(7, 80));
  std::thread sender([&] { traffic().send(*binding, nbl, 0, 0); });
  ASSERT_TRUE(waitFor([&] { return __atomic_load_n(&control.SendBlocked, __ATOMIC_ACQUIRE) == 1; }));
  EXPECT_EQ(binding->sizeOf(binding->completions), 1u);
  EXPECT_EQ(traffic().sendsHeld(), 0u);

  std::atomic<bool> poweredDown{false};
  std::thread power([&] {
    EXPECT_EQ(bed->setDevicePower(nic, PowerDeviceD3), STATUS_SUCCESS);
    poweredDown = true;
  });
  // MiniportPause returned (Paused), but NDIS's pause is not over while the handler runs:
  // no power OIDs yet, the power IRP not done.
  ASSERT_TRUE(waitFor([&] { return adapter->state() == AdapterState::Paused; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(poweredDown.load());
  EXPECT_EQ(events(), "");

  __atomic_store_n(&control.SendRelease, 1, __ATOMIC_RELEASE);
  sender.join();
  power.join();
  EXPECT_TRUE(poweredDown.load());
  EXPECT_EQ(events(), "QW");
  EXPECT_EQ(control.PowerState, NdisDeviceStateD3);
  control.SendMode = TrafTestSendComplete;
  ASSERT_EQ(bed->setDevicePower(nic, PowerDeviceD0), STATUS_SUCCESS);
  ASSERT_TRUE(bed->waitForState(nic, AdapterState::Running));
  finish();
}

// A miniport that completes its pause while it still holds sends breaks "Pausing an Adapter";
// with a pause drain time set, NDIS stops waiting for them, and the halt that follows is
// reported (ndis.halt-outstanding, p3 = the sends held) instead of hanging the removal.
TEST_F(TrafficTest, HaltWithSendsTheMiniportStillHoldsIsReported) {
  nt::RecordViolationsScope violations;
  start();
  HangDetectionOptions options;
  options.pauseDrainMs = 100;
  traffic().setHangDetectionOptions(options);
  control.SendMode = TrafTestSendHold;
  PNET_BUFFER_LIST a = frames->make(ethernetFrame(1, 50));
  PNET_BUFFER_LIST b = frames->make(ethernetFrame(2, 50));
  a->Next = b;
  traffic().send(*binding, a, 0, 0);
  EXPECT_EQ(traffic().sendsHeld(), 2u);

  traffic().detach(*binding);
  auto removed = bed->remove(nic);
  EXPECT_TRUE(removed.removed);
  adapter = nullptr;
  auto recorded = violations.take();
  const nt::Violation* halt = nullptr;
  for (const auto& v : recorded)
    if (v.rule == "ndis.halt-outstanding") halt = &v;
  ASSERT_NE(halt, nullptr);
  EXPECT_EQ(halt->code, nt::bugcheck::BugcodeNdisDriver);
  EXPECT_EQ(halt->parameters[0], static_cast<std::uint64_t>(NdisBugSubcode::HaltWithOutstanding));
  EXPECT_EQ(halt->parameters[2], 2u);
  EXPECT_EQ(recorded.size(), 1u);
  // The miniport was halted all the same and never completed them.
  EXPECT_EQ(control.Adapters, 0);
  EXPECT_EQ(binding->sizeOf(binding->completions), 0u);
  binding.reset();
  frames.reset();
  for (const auto& report : bed->shutdown()) ADD_FAILURE() << report.format();
}

TEST_F(TrafficTest, CancelSendByCancelId) {
  start();
  control.SendMode = TrafTestSendHold;
  PNET_BUFFER_LIST a = frames->make(ethernetFrame(1, 50));
  PNET_BUFFER_LIST b = frames->make(ethernetFrame(2, 50));
  NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(a, reinterpret_cast<PVOID>(0xA));
  NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(b, reinterpret_cast<PVOID>(0xB));
  traffic().send(*binding, a, 0, 0);
  traffic().send(*binding, b, 0, 0);
  traffic().cancelSend(*binding, reinterpret_cast<PVOID>(0xA));
  EXPECT_EQ(control.CancelSendCalls, 1);
  ASSERT_EQ(binding->sizeOf(binding->completions), 1u);
  EXPECT_EQ(binding->completions[0].first, a);
  EXPECT_EQ(binding->completions[0].second, NDIS_STATUS_SEND_ABORTED);
  EXPECT_EQ(traffic().sendsHeld(), 1u);
  EXPECT_EQ(image().completeHeldSends(NDIS_STATUS_SUCCESS), 1);
  EXPECT_EQ(traffic().sendsHeld(), 0u);
  EXPECT_EQ(traffic().counters().sendCancels, 1u);
  finish();
}

TEST_F(TrafficTest, OidsSynchronousAndAnsweredByNdis) {
  start();
  // A set the miniport completes synchronously: the status is the return value.
  EXPECT_EQ(setUlong(OID_GEN_CURRENT_PACKET_FILTER, NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST),
            NDIS_STATUS_SUCCESS);
  EXPECT_EQ(control.PacketFilter, static_cast<ULONG>(NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST));
  LONG miniportCalls = control.OidCalls;

  // A query whose buffer is too small: BytesNeeded says how much, nothing written.
  ULONG small = 0;
  NDIS_OID_REQUEST q = makeRequest(NdisRequestQueryInformation, OID_GEN_XMIT_OK, &small, sizeof small);
  EXPECT_EQ(traffic().oidRequest(*binding, &q), NDIS_STATUS_BUFFER_TOO_SHORT);
  EXPECT_EQ(q.DATA.QUERY_INFORMATION.BytesNeeded, sizeof(ULONG64));
  EXPECT_EQ(q.DATA.QUERY_INFORMATION.BytesWritten, 0u);

  // Queries NDIS answers from the general attributes without calling the miniport.
  miniportCalls = control.OidCalls;
  NDIS_OID list[16] = {};
  NDIS_OID_REQUEST s = makeRequest(NdisRequestQueryInformation, OID_GEN_SUPPORTED_LIST, list, 4);
  EXPECT_EQ(traffic().oidRequest(*binding, &s), NDIS_STATUS_BUFFER_TOO_SHORT);
  EXPECT_EQ(s.DATA.QUERY_INFORMATION.BytesNeeded, 7 * sizeof(NDIS_OID));
  s = makeRequest(NdisRequestQueryInformation, OID_GEN_SUPPORTED_LIST, list, sizeof list);
  EXPECT_EQ(traffic().oidRequest(*binding, &s), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(s.DATA.QUERY_INFORMATION.BytesWritten, 7 * sizeof(NDIS_OID));
  EXPECT_EQ(list[0], static_cast<NDIS_OID>(OID_GEN_SUPPORTED_LIST));
  EXPECT_EQ(list[6], static_cast<NDIS_OID>(OID_PNP_SET_POWER));
  ULONG value = 0;
  NDIS_OID_REQUEST f = makeRequest(NdisRequestQueryInformation, OID_GEN_MAXIMUM_FRAME_SIZE, &value, sizeof value);
  EXPECT_EQ(traffic().oidRequest(*binding, &f), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(value, 1500u);
  NDIS_OID_REQUEST m = makeRequest(NdisRequestQueryInformation, OID_GEN_MEDIA_SUPPORTED, &value, sizeof value);
  EXPECT_EQ(traffic().oidRequest(*binding, &m), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(value, static_cast<ULONG>(NdisMedium802_3));
  NDIS_OID_REQUEST pf = makeRequest(NdisRequestQueryInformation, OID_GEN_CURRENT_PACKET_FILTER, &value, sizeof value);
  EXPECT_EQ(traffic().oidRequest(*binding, &pf), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(value, static_cast<ULONG>(NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST));
  NDIS_OID_REQUEST mc = makeRequest(NdisRequestQueryInformation, OID_GEN_MEDIA_CONNECT_STATUS, &value, sizeof value);
  EXPECT_EQ(traffic().oidRequest(*binding, &mc), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(value, static_cast<ULONG>(NdisMediaStateConnected));
  EXPECT_EQ(control.OidCalls, miniportCalls);

  // Link state indications reach the binding (with the adapter as source) and what NDIS answers.
  image().indicateLinkState(MediaConnectStateDisconnected, 0, FALSE);
  ASSERT_EQ(binding->sizeOf(binding->statuses), 1u);
  EXPECT_EQ(binding->statuses[0], NDIS_STATUS_LINK_STATE);
  EXPECT_EQ(binding->statusSources[0], adapter->handle());
  EXPECT_EQ(binding->lastLink.MediaConnectState, MediaConnectStateDisconnected);
  EXPECT_EQ(traffic().oidRequest(*binding, &mc), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(value, static_cast<ULONG>(NdisMediaStateDisconnected));
  TrafficCounters c = traffic().counters();
  EXPECT_EQ(c.oidsAnsweredByNdis, 7u);
  EXPECT_EQ(c.statusIndications, 1u);
  finish();
}

TEST_F(TrafficTest, OidsPendedSerialisedAndCancelled) {
  start();
  // Pended and completed by the miniport's timer: the binding gets the completion.
  control.OidMode = TrafTestOidPend;
  ULONG filter = NDIS_PACKET_TYPE_DIRECTED;
  NDIS_OID_REQUEST a = makeRequest(NdisRequestSetInformation, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof filter);
  EXPECT_EQ(traffic().oidRequest(*binding, &a), NDIS_STATUS_PENDING);
  ASSERT_TRUE(waitFor([&] { return binding->sizeOf(binding->oidCompletions) == 1; }));
  EXPECT_EQ(binding->oidCompletions[0].first, &a);
  EXPECT_EQ(binding->oidCompletions[0].second, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(a.DATA.SET_INFORMATION.BytesRead, sizeof(ULONG));

  // One at a time: while the miniport holds one, the next waits in NDIS.
  control.OidMode = TrafTestOidHold;
  LONG calls = control.OidCalls;
  ULONG64 xmit = 0;
  NDIS_OID_REQUEST first = makeRequest(NdisRequestQueryInformation, OID_GEN_XMIT_OK, &xmit, sizeof xmit,
                                       reinterpret_cast<PVOID>(1));
  NDIS_OID_REQUEST second = makeRequest(NdisRequestSetInformation, OID_GEN_CURRENT_PACKET_FILTER, &filter,
                                        sizeof filter, reinterpret_cast<PVOID>(2));
  NDIS_OID_REQUEST third = makeRequest(NdisRequestSetInformation, OID_GEN_CURRENT_LOOKAHEAD, &filter, sizeof filter,
                                       reinterpret_cast<PVOID>(3));
  EXPECT_EQ(traffic().oidRequest(*binding, &first), NDIS_STATUS_PENDING);
  EXPECT_EQ(traffic().oidRequest(*binding, &second), NDIS_STATUS_PENDING);
  EXPECT_EQ(traffic().oidRequest(*binding, &third), NDIS_STATUS_PENDING);
  EXPECT_EQ(control.OidCalls, calls + 1);

  // Cancelling a queued request completes it in NDIS; the miniport never sees it.
  traffic().cancelOidRequest(*binding, reinterpret_cast<PVOID>(2));
  ASSERT_EQ(binding->sizeOf(binding->oidCompletions), 2u);
  EXPECT_EQ(binding->oidCompletions[1].first, &second);
  EXPECT_EQ(binding->oidCompletions[1].second, NDIS_STATUS_REQUEST_ABORTED);
  EXPECT_EQ(control.CancelOidCalls, 0);

  // Cancelling the one at the miniport goes to MiniportCancelOidRequest; then the next
  // queued request goes down.
  traffic().cancelOidRequest(*binding, reinterpret_cast<PVOID>(1));
  EXPECT_EQ(control.CancelOidCalls, 1);
  ASSERT_EQ(binding->sizeOf(binding->oidCompletions), 3u);
  EXPECT_EQ(binding->oidCompletions[2].first, &first);
  EXPECT_EQ(binding->oidCompletions[2].second, NDIS_STATUS_REQUEST_ABORTED);
  EXPECT_EQ(control.OidCalls, calls + 2);
  EXPECT_EQ(image().lastOid(), &third);
  EXPECT_TRUE(image().completePendingOid(NDIS_STATUS_SUCCESS));
  ASSERT_EQ(binding->sizeOf(binding->oidCompletions), 4u);
  EXPECT_EQ(binding->oidCompletions[3].first, &third);
  finish();
}

TEST_F(TrafficTest, MiniportRuleViolationsAreReportedAndHarmless) {
  nt::RecordViolationsScope violations;
  start();
  // Completing an NBL NDIS never sent to it.
  PNET_BUFFER_LIST stranger = frames->make(ethernetFrame(9, 20));
  image().completeNbl(stranger);
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.nbl-not-owned"));
  EXPECT_EQ(binding->sizeOf(binding->completions), 0u);
  // Completing one twice (the binding still owns it after the first completion).
  PNET_BUFFER_LIST nbl = frames->make(ethernetFrame(8, 20));
  traffic().send(*binding, nbl, 0, 0);
  image().completeNbl(nbl);
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.nbl-complete-twice"));
  EXPECT_EQ(binding->sizeOf(binding->completions), 1u);
  EXPECT_EQ(nbl->SourceHandle, SendFrames::kProtocolHandle);

  // A receive whose count does not match its chain, and a DISPATCH_LEVEL flag at PASSIVE.
  std::vector<UCHAR> in = ethernetFrame(0x44, 30);
  ASSERT_TRUE(image().indicate(in.data(), static_cast<ULONG>(in.size()), 2, 3, 0, FALSE));
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.receive-count-mismatch"));
  EXPECT_EQ(binding->receiveCounts.back(), 2u);  // the chain's real length
  ASSERT_TRUE(image().indicate(in.data(), static_cast<ULONG>(in.size()), 1, 1, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL, FALSE));
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.receive-dispatch-flag"));
  EXPECT_EQ(binding->lastReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL, 0u);
  EXPECT_EQ(control.Returns, 3);
  // A binding returning an NBL it already returned: reported, the miniport not called again.
  traffic().returnNetBufferLists(*binding, binding->lastReceived, 0);
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.return-not-indicated"));
  EXPECT_EQ(control.Returns, 3);

  // OID completion with NDIS_STATUS_PENDING, then twice.
  control.OidMode = TrafTestOidHold;
  ULONG filter = NDIS_PACKET_TYPE_BROADCAST;
  NDIS_OID_REQUEST r = makeRequest(NdisRequestSetInformation, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof filter);
  EXPECT_EQ(traffic().oidRequest(*binding, &r), NDIS_STATUS_PENDING);
  image().completeOid(&r, NDIS_STATUS_PENDING);
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.oid-complete-pending"));
  EXPECT_EQ(binding->sizeOf(binding->oidCompletions), 0u);
  EXPECT_TRUE(image().completePendingOid(NDIS_STATUS_SUCCESS));
  EXPECT_EQ(binding->sizeOf(binding->oidCompletions), 1u);
  image().completeOid(&r, NDIS_STATUS_SUCCESS);
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.oid-complete-twice"));
  EXPECT_EQ(binding->sizeOf(binding->oidCompletions), 1u);
  control.OidMode = TrafTestOidSync;

  // A reset completion with no reset, a status indication with a wrong header.
  image().resetComplete();
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.reset-not-pending"));
  image().indicateLinkState(MediaConnectStateConnected, 1000, TRUE);
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.status-bad-header"));
  EXPECT_EQ(binding->sizeOf(binding->statuses), 0u);

  // Receives while Paused are refused and handed back to the miniport.
  ASSERT_EQ(bed->setDevicePower(nic, PowerDeviceD3), STATUS_SUCCESS);
  std::size_t before = binding->sizeOf(binding->frames);
  ASSERT_TRUE(image().indicate(in.data(), static_cast<ULONG>(in.size()), 1, 1, 0, FALSE));
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.receive-while-paused"));
  EXPECT_EQ(binding->sizeOf(binding->frames), before);
  EXPECT_EQ(control.Returns, 4);
  EXPECT_GE(traffic().counters().violations, 8u);
  finish();
}

TEST_F(TrafficTest, SurpriseRemovalCompletesEverySendExactlyOnce) {
  nt::RecordViolationsScope violations;
  start();
  control.SendMode = TrafTestSendHold;
  PNET_BUFFER_LIST a = frames->make(ethernetFrame(1, 50));
  PNET_BUFFER_LIST b = frames->make(ethernetFrame(2, 50));
  PNET_BUFFER_LIST c = frames->make(ethernetFrame(3, 50));
  a->Next = b;
  traffic().send(*binding, a, 0, 0);
  traffic().send(*binding, c, 0, 0);
  binding->keepReceives = true;
  std::vector<UCHAR> in = ethernetFrame(0x21, 40);
  ASSERT_TRUE(image().indicate(in.data(), static_cast<ULONG>(in.size()), 1, 1, 0, FALSE));
  // The miniport fails what it holds when told of the removal; the pause waits for that and
  // for the receive the binding still holds, which it returns when its adapter goes.
  std::thread unplug([&] { EXPECT_EQ(bed->unplug(nic), STATUS_SUCCESS); });
  ASSERT_TRUE(waitFor([&] { return binding->sizeOf(binding->completions) == 3; }));
  binding->returnKept();
  unplug.join();
  adapter = nullptr;
  ASSERT_EQ(binding->sizeOf(binding->completions), 3u);
  EXPECT_EQ(binding->completions[0].first, a);
  EXPECT_EQ(binding->completions[1].first, b);
  EXPECT_EQ(binding->completions[2].first, c);
  for (const auto& [nbl, status] : binding->completions) EXPECT_EQ(status, NDIS_STATUS_ADAPTER_REMOVED);
  EXPECT_EQ(control.Returns, 1);
  EXPECT_TRUE(ndistest::rules(violations).empty());
  binding.reset();
  frames.reset();
  for (const auto& report : bed->shutdown()) ADD_FAILURE() << report.format();
  EXPECT_EQ(control.Adapters, 0);
}

// --- hang detection (deterministic mode, virtual clock) ---------------------------------

TEST_F(TrafficTest, HeldSendIsDetectedAndResetReplaysAddressing) {
  start(/*deterministic=*/true);
  EXPECT_EQ(traffic().checkPeriodMs(), 4000u);  // CheckForHangTimeInSeconds 5 -> 4 s
  EXPECT_EQ(setUlong(OID_GEN_CURRENT_PACKET_FILTER, NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST),
            NDIS_STATUS_SUCCESS);
  UCHAR multicast[12] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x01, 0x00, 0x5e, 0x00, 0x00, 0x02};
  NDIS_OID_REQUEST mc = makeRequest(NdisRequestSetInformation, OID_802_3_MULTICAST_LIST, multicast, sizeof multicast);
  EXPECT_EQ(traffic().oidRequest(*binding, &mc), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(events(), "FM");

  control.SendMode = TrafTestSendHold;
  PNET_BUFFER_LIST nbl = frames->make(ethernetFrame(1, 64));
  traffic().send(*binding, nbl, 0, 0);
  // Checks run every 4 s; a send is stamped with the check period it was sent in and is a
  // hang once two checks passed. Under one period: at most one check, no hang.
  letVirtualTimePass(3000);
  EXPECT_EQ(control.ResetCalls, 0);
  letVirtualTimePass(6000);  // more than two periods since the send: detected
  EXPECT_EQ(control.ResetCalls, 1);
  // RESET_START, MiniportResetEx, the filter and multicast list again, RESET_END.
  EXPECT_EQ(events(), "FMSXFME");
  EXPECT_EQ(control.PacketFilter, static_cast<ULONG>(NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST));
  ASSERT_EQ(control.MulticastLength, sizeof multicast);
  EXPECT_EQ(std::memcmp(control.Multicast, multicast, sizeof multicast), 0);
  EXPECT_EQ(binding->resetEndStatus, NDIS_STATUS_SUCCESS);
  // The miniport failed the held send back during the reset (NDIS 6.30 rule).
  ASSERT_EQ(binding->sizeOf(binding->completions), 1u);
  EXPECT_EQ(binding->completions[0].second, NDIS_STATUS_REQUEST_ABORTED);
  TrafficCounters c = traffic().counters();
  EXPECT_EQ(c.hangsDetected, 1u);
  EXPECT_EQ(c.resets, 1u);
  // It works again: no further resets.
  traffic().send(*binding, frames->make(ethernetFrame(2, 64)), 0, 0);
  letVirtualTimePass(12000);
  EXPECT_EQ(control.ResetCalls, 1);
  finish();
}

TEST_F(TrafficTest, StuckOidIsDetectedAndPendedResetCompletes) {
  control.PendReset = TRUE;
  control.AddressingReset = FALSE;
  start(/*deterministic=*/true);
  control.OidMode = TrafTestOidHold;
  ULONG filter = NDIS_PACKET_TYPE_DIRECTED;
  NDIS_OID_REQUEST r = makeRequest(NdisRequestSetInformation, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof filter);
  EXPECT_EQ(traffic().oidRequest(*binding, &r), NDIS_STATUS_PENDING);
  letVirtualTimePass(3000);
  EXPECT_EQ(control.ResetCalls, 0);
  letVirtualTimePass(6000);
  EXPECT_EQ(control.ResetCalls, 1);
  // No addressing replay (AddressingReset FALSE); the reset pended and completed.
  EXPECT_EQ(events(), "SXxE");
  ASSERT_EQ(binding->sizeOf(binding->oidCompletions), 1u);
  EXPECT_EQ(binding->oidCompletions[0].second, NDIS_STATUS_REQUEST_ABORTED);
  // OIDs flow again after the reset.
  EXPECT_EQ(setUlong(OID_GEN_CURRENT_PACKET_FILTER, NDIS_PACKET_TYPE_BROADCAST), NDIS_STATUS_SUCCESS);
  finish();
}

// A miniport that never completes anything, not even its pended reset: NDIS reports it (log,
// counter, hang handler "reset-timeout"), keeps it in reset (requests fail with
// NDIS_STATUS_RESET_IN_PROGRESS, sends are refused), and the adapter can still be removed.
TEST_F(TrafficTest, ResetThatNeverCompletesIsReportedAndTheAdapterStillGoes) {
  control.NeverCompleteReset = TRUE;
  start(/*deterministic=*/true);
  HangDetectionOptions options;
  options.restartWithoutResetHandler = true;
  options.resetChecks = 2;
  traffic().setHangDetectionOptions(options);
  std::vector<std::string> reasons;
  std::vector<bool> restarts;
  traffic().setHangHandler([&](const HangEvent& event) {
    reasons.emplace_back(event.reason);
    restarts.push_back(event.restartRequested);
  });
  control.OidMode = TrafTestOidHold;
  ULONG filter = NDIS_PACKET_TYPE_DIRECTED;
  NDIS_OID_REQUEST r = makeRequest(NdisRequestSetInformation, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof filter);
  EXPECT_EQ(traffic().oidRequest(*binding, &r), NDIS_STATUS_PENDING);
  letVirtualTimePass(9000);  // > two 4 s periods: the OID time-out, MiniportResetEx pends
  EXPECT_EQ(control.ResetCalls, 1);
  EXPECT_EQ(events(), "SX");
  EXPECT_TRUE(reasons.empty());  // the hang handler runs once the reset is over or overdue
  letVirtualTimePass(8500);      // two more periods without NdisMResetComplete
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], "reset-timeout");
  EXPECT_TRUE(restarts[0]);
  TrafficCounters c = traffic().counters();
  EXPECT_EQ(c.resetsOverdue, 1u);
  EXPECT_EQ(c.resets, 1u);
  // Still in reset: nothing reaches the wedged miniport.
  ULONG lookahead = 256;
  NDIS_OID_REQUEST l = makeRequest(NdisRequestSetInformation, OID_GEN_CURRENT_LOOKAHEAD, &lookahead, sizeof lookahead);
  EXPECT_EQ(traffic().oidRequest(*binding, &l), NDIS_STATUS_RESET_IN_PROGRESS);
  traffic().send(*binding, frames->make(ethernetFrame(3, 40)), 0, 0);
  ASSERT_EQ(binding->sizeOf(binding->completions), 1u);
  EXPECT_EQ(binding->completions[0].second, NDIS_STATUS_RESET_IN_PROGRESS);
  letVirtualTimePass(20000);
  EXPECT_EQ(control.ResetCalls, 1);  // no second reset while one is outstanding
  EXPECT_EQ(reasons.size(), 1u);
  // Removal: the halt ends NDIS's wait for the reset; the miniport is halted and unloads.
  traffic().setHangHandler({});
  finish();
  EXPECT_EQ(reasons.size(), 1u);
}

TEST_F(TrafficTest, CheckForHangExDecidesWhenGiven) {
  control.RegisterCheckForHang = TRUE;
  control.CheckForHangTimeInSeconds = 0;  // 0 -> 2 s
  start(/*deterministic=*/true);
  EXPECT_EQ(traffic().checkPeriodMs(), 2000u);
  // Bringing the adapter up took virtual time: checks already ran, all healthy.
  LONG before = control.CheckForHangCalls;
  EXPECT_GE(before, 1);
  EXPECT_EQ(control.ResetCalls, 0);
  control.EventCount = 0;
  control.CheckForHangResult = TRUE;
  letVirtualTimePass(3000);  // one or two checks
  EXPECT_GE(control.CheckForHangCalls, before + 1);
  EXPECT_LE(control.CheckForHangCalls, before + 2);
  EXPECT_EQ(control.ResetCalls, 1);  // TRUE -> reset (which makes the "hardware" healthy)
  EXPECT_EQ(events().substr(0, 4), "CSXE");
  LONG after = control.CheckForHangCalls;
  letVirtualTimePass(4100);
  EXPECT_GE(control.CheckForHangCalls, after + 2);
  EXPECT_EQ(control.ResetCalls, 1);
  EXPECT_EQ(traffic().counters().hangsDetected, 1u);
  finish();
}

TEST_F(TrafficTest, HangWithoutResetHandlerIsReported) {
  control.RegisterReset = FALSE;
  start(/*deterministic=*/true);
  HangDetectionOptions options;
  options.restartWithoutResetHandler = true;
  traffic().setHangDetectionOptions(options);
  std::vector<HangEvent> hangs;
  traffic().setHangHandler([&](const HangEvent& event) { hangs.push_back(event); });
  control.SendMode = TrafTestSendHold;
  traffic().send(*binding, frames->make(ethernetFrame(1, 64)), 0, 0);
  letVirtualTimePass(10000);
  ASSERT_EQ(hangs.size(), 1u);
  EXPECT_STREQ(hangs[0].reason, "send-timeout");
  EXPECT_FALSE(hangs[0].resetHandled);
  EXPECT_TRUE(hangs[0].restartRequested);
  TrafficCounters c = traffic().counters();
  EXPECT_EQ(c.hangsWithoutReset, 1u);
  EXPECT_EQ(c.resets, 0u);
  EXPECT_EQ(control.ResetCalls, 0);
  EXPECT_EQ(image().completeHeldSends(NDIS_STATUS_SUCCESS), 1);
  traffic().setHangHandler({});
  finish();
}

TEST_F(TrafficTest, HostRequestedResetRunsLikeADetectedOne) {
  start();
  EXPECT_EQ(setUlong(OID_GEN_CURRENT_PACKET_FILTER, NDIS_PACKET_TYPE_DIRECTED), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(traffic().resetFromHost(), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(control.ResetCalls, 1);
  // RESET_START, MiniportResetEx, the packet filter replayed (AddressingReset), RESET_END.
  EXPECT_EQ(events(), "FSXFE");
  EXPECT_EQ(binding->resetEndStatus, NDIS_STATUS_SUCCESS);
  TrafficCounters c = traffic().counters();
  EXPECT_EQ(c.resets, 1u);
  EXPECT_EQ(c.hangsDetected, 0u);  // asked for, not detected
  // The adapter still moves frames.
  control.SendMode = TrafTestSendComplete;
  traffic().send(*binding, frames->make(ethernetFrame(3, 64)), 0, 0);
  EXPECT_EQ(binding->sizeOf(binding->completions), 1u);
  finish();
}

TEST_F(TrafficTest, HostRequestedResetOfAMiniportWithoutResetHandlerIsNotSupported) {
  control.RegisterReset = FALSE;
  start();
  EXPECT_EQ(traffic().resetFromHost(), NDIS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(control.ResetCalls, 0);
  EXPECT_EQ(traffic().counters().resets, 0u);
  finish();
}

}  // namespace
