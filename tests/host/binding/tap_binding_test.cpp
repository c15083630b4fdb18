// The TAP binding over the real stack: the PnP manager with the USB bus driver, two emulated
// USB NICs (CDC-NCM and RNDIS) whose far sides are joined by an in-process wire, the real
// usbncm/usbrndis miniports bound by drivers/usbnic/usbnic.toml, NDIS, and the TAP protocol
// driver binding each adapter to a TAP interface in a network namespace of the test's own.
// Linux pings across it both ways; link state, promiscuous mode and multicast joins reach
// the adapter; an unplug and a deregistration under traffic complete every NBL.
//
// Needs root and /dev/net/tun (skips otherwise). Everything created is named tapbind-<pid>-*
// and removed by destructors, also when a test fails.
#include <ndis.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../../link/net_lab.hpp"
#include "../tap_lab.hpp"
#include "host/binding/tap_protocol.hpp"
#include "host/binding/tap_send_pool.hpp"
#include "link/wire.hpp"
#include "ndis/miniport/adapter.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/pnp/manifest.hpp"
#include "nt/pnp/pnp_manager.hpp"
#include "usb/bus/usb_bus.hpp"
#include "usb/device/cdc_ncm_function.hpp"
#include "usb/device/emulated_device.hpp"
#include "usb/device/rndis_function.hpp"

using namespace ndishost;
using host::BindCandidate;
using host::TapBindingStats;
using host::TapPlan;
using host::TapProtocol;
using link::test::runCommand;
using link::test::TestNamespaces;

namespace {

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}


enum class Nic { Ncm, Rndis };

// Frames in a pcap file sent by `mac` and sent to it.
std::pair<std::size_t, std::size_t> captureDirections(const std::filesystem::path& path, std::array<std::uint8_t, 6> mac) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return {0, 0};
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[4096];
  while (const std::size_t n = std::fread(chunk, 1, sizeof(chunk), file)) bytes.insert(bytes.end(), chunk, chunk + n);
  std::fclose(file);
  std::size_t sent = 0, received = 0;
  for (std::size_t at = 24; at + 16 <= bytes.size();) {
    std::uint32_t captured;
    std::memcpy(&captured, &bytes[at + 8], 4);
    at += 16;
    if (at + captured > bytes.size() || captured < 14) break;
    if (std::equal(mac.begin(), mac.end(), &bytes[at + 6])) ++sent;
    if (std::equal(mac.begin(), mac.end(), &bytes[at])) ++received;
    at += captured;
  }
  return {sent, received};
}

class TapBindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string whyNot;
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, TAP interfaces)";
    if (::access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "no /dev/net/tun";
    if (!runCommand("command -v ip && command -v ping").ok()) GTEST_SKIP() << "needs ip (iproute2) and ping";
    const std::string pid = std::to_string(::getpid());
    nsA_ = "tapbind-" + pid + "-a";
    nsB_ = "tapbind-" + pid + "-b";
    capturePath_ = std::filesystem::temp_directory_path() / ("tapbind-" + pid + "-upper.pcap");
    namespaces_ = std::make_unique<TestNamespaces>("tapbind-", std::vector<std::string>{nsA_, nsB_});
    ASSERT_TRUE(namespaces_->ok()) << "cannot create network namespaces";

    runtime_ = std::make_unique<nt::Runtime>(nt::RuntimeOptions{.processors = 2});
    wire_ = link::Wire::create("tapbind-" + pid);
    nt::pnp::Manifest manifest = nt::pnp::Manifest::load(USBNIC_MANIFEST);
    nt::pnp::ManifestDriver hub;
    hub.name = "usbhub";
    hub.builtin = true;
    hub.ids = {"ROOT\\USB"};
    manifest.addDriver(hub);
    pnp_ = std::make_unique<nt::pnp::PnpManager>(std::move(manifest));
    bus_ = std::make_unique<usb::bus::UsbBus>();
    pnp_->registerBuiltinDriver("usbhub", bus_->driverObject());
    pnp_->addRootDevice(nt::pnp::ManifestDevice{{"ROOT\\USB"}, {}, "USB root hub"});
  }

  void TearDown() override {
    protocol_.reset();  // unbinds every binding (NdisDeregisterProtocolDriver)
    if (pnp_) {
      for (const auto& report : pnp_->shutdown()) EXPECT_TRUE(report.empty()) << report.format();
      for (const auto& report : pnp_->leakReports()) EXPECT_TRUE(report.empty()) << report.format();
    }
    bus_.reset();
    pnp_.reset();
    ncm_ = nullptr;
    rndis_ = nullptr;
    wire_.a.reset();
    wire_.b.reset();
    runtime_.reset();
    namespaces_.reset();
    std::error_code ignored;
    if (!capturePath_.empty()) std::filesystem::remove(capturePath_, ignored);
  }

  // Plugs an emulated NIC whose network side is `port`; returns its bus port once the
  // adapter runs.
  unsigned plug(Nic nic, link::FramePort& port) {
    usb::device::DeviceIdentity identity;
    identity.vendorId = 0x1209;
    identity.productId = nic == Nic::Ncm ? 0x0A01 : 0x0A02;
    identity.serialNumber = nic == Nic::Ncm ? "TAPBINDA" : "TAPBINDB";
    usb::device::EthernetFunctionConfig ethernet;
    ethernet.macAddress = nic == Nic::Ncm ? usb::device::MacAddress{{0x02, 0x54, 0x42, 0, 0, 0x0a}}
                                          : usb::device::MacAddress{{0x02, 0x54, 0x42, 0, 0, 0x0b}};
    std::unique_ptr<usb::device::UsbFunction> function;
    if (nic == Nic::Ncm) {
      usb::device::CdcNcmConfig config;
      config.ethernet = ethernet;
      auto f = std::make_unique<usb::device::CdcNcmFunction>(config, port);
      ncm_ = f.get();
      function = std::move(f);
    } else {
      usb::device::RndisConfig config;
      config.ethernet = ethernet;
      auto f = std::make_unique<usb::device::RndisFunction>(config, port);
      rndis_ = f.get();
      function = std::move(f);
    }
    auto device = std::make_shared<usb::device::EmulatedUsbDevice>(identity, usb::device::Speed::High, std::move(function));
    const unsigned busPort = bus_->attach(device);
    pnp_->waitForIdle();
    const std::string instance = std::string(nic == Nic::Ncm ? "USB\\VID_1209&PID_0A01\\" : "USB\\VID_1209&PID_0A02\\") +
                                 identity.serialNumber;
    EXPECT_TRUE(waitUntil([&] { return adapterRunning(instance); })) << pnp_->formatTree();
    return busPort;
  }

  bool adapterRunning(const std::string& instance) {
    PDEVICE_OBJECT device = pnp_->referenceTopOfStack(instance);
    bool running = false;
    while (device != nullptr) {
      if (ndis::Adapter* found = ndis::Adapter::fromFdo(device); found != nullptr)
        running = found->state() == ndis::AdapterState::Running;
      PDEVICE_OBJECT lower = IoGetLowerDeviceObject(device);
      ObDereferenceObject(device);
      device = lower;
    }
    return running;
  }

  // Both NICs plugged, wired to each other; the protocol started with `choose`.
  void bringUp(TapProtocol::Chooser choose) {
    portA_ = plug(Nic::Ncm, *wire_.a);
    portB_ = plug(Nic::Rndis, *wire_.b);
    pdoA_ = bus_->devicePdo(portA_);
    pdoB_ = bus_->devicePdo(portB_);
    protocol_ = TapProtocol::start(std::move(choose), [this](const std::string& adapter, const std::string& message) {
      std::lock_guard guard(errorsLock_);
      errors_.push_back(adapter + ": " + message);
    });
  }

  TapPlan planFor(const std::string& ns, const std::string& tap, bool capture = false) {
    TapPlan plan;
    plan.tapName = tap;
    plan.netnsPath = "/run/netns/" + ns;
    if (capture) plan.upperCapture = capturePath_.string();
    return plan;
  }

  // Plans A (NCM) -> tapbind-a in nsA, B (RNDIS) -> tapbind-b in nsB.
  TapProtocol::Chooser standardChooser(bool captureA = false) {
    return [this, captureA](const BindCandidate& candidate) -> std::optional<TapPlan> {
      if (candidate.physicalDeviceObject == pdoA_) return planFor(nsA_, "tapbind-a", captureA);
      if (candidate.physicalDeviceObject == pdoB_) return planFor(nsB_, "tapbind-b");
      return std::nullopt;
    };
  }

  std::optional<TapBindingStats> statsOf(const std::string& tap) const {
    for (auto& s : protocol_->stats())
      if (s.tapName == tap) return s;
    return std::nullopt;
  }

  // Both bindings running with carrier, addresses 10.77.0.1 (A) and .2 (B).
  void bothRunningWithAddresses() {
    ASSERT_TRUE(waitUntil([&] {
      auto a = statsOf("tapbind-a"), b = statsOf("tapbind-b");
      return a && b && a->running && b->running && a->carrier && b->carrier;
    })) << "bindings did not run with carrier";
    ASSERT_TRUE(protocol_->waitRunning(statsOf("tapbind-a")->adapterName, std::chrono::milliseconds(100)));
    ASSERT_TRUE(runCommand("ip -n " + nsA_ + " addr add 10.77.0.1/24 dev tapbind-a").ok());
    ASSERT_TRUE(runCommand("ip -n " + nsB_ + " addr add 10.77.0.2/24 dev tapbind-b").ok());
  }

  link::test::CommandResult ping(const std::string& ns, const std::string& to, const std::string& options = "-c 3 -i 0.2 -W 2") {
    return runCommand("ip netns exec " + ns + " ping -n " + options + " " + to);
  }

  std::string nsA_, nsB_;
  std::filesystem::path capturePath_;
  std::unique_ptr<TestNamespaces> namespaces_;
  std::unique_ptr<nt::Runtime> runtime_;
  link::Wire::Ends wire_;
  std::unique_ptr<nt::pnp::PnpManager> pnp_;
  std::unique_ptr<usb::bus::UsbBus> bus_;
  usb::device::CdcNcmFunction* ncm_ = nullptr;
  usb::device::RndisFunction* rndis_ = nullptr;
  unsigned portA_ = 0, portB_ = 0;
  PDEVICE_OBJECT pdoA_ = nullptr, pdoB_ = nullptr;
  std::unique_ptr<TapProtocol> protocol_;
  std::mutex errorsLock_;
  std::vector<std::string> errors_;
};

// Ping both ways between two namespaces through TAP -> NDIS -> usbncm -> USB -> wire -> USB
// -> usbrndis -> NDIS -> TAP; counters, the upper-edge capture, link state and the receive
// filter follow.
TEST_F(TapBindingTest, PingBothWaysWithLinkStatePromiscuousAndMulticast) {
  bringUp(standardChooser(/*captureA=*/true));
  bothRunningWithAddresses();
  if (HasFatalFailure()) return;
  // MAC and MTU of the adapter on the TAP.
  auto link = runCommand("ip -n " + nsA_ + " link show tapbind-a");
  EXPECT_NE(link.output.find("02:54:42:00:00:0a"), std::string::npos) << link.output;
  EXPECT_NE(link.output.find("mtu 1500"), std::string::npos) << link.output;

  auto there = ping(nsA_, "10.77.0.2");
  EXPECT_TRUE(there.ok()) << there.output;
  auto back = ping(nsB_, "10.77.0.1");
  EXPECT_TRUE(back.ok()) << back.output;
  for (const char* tap : {"tapbind-a", "tapbind-b"}) {
    auto s = statsOf(tap);
    ASSERT_TRUE(s);
    EXPECT_GE(s->framesToAdapter, 6u) << tap;  // 3 requests + 3 replies, plus ARP
    EXPECT_GE(s->framesFromAdapter, 6u) << tap;
    EXPECT_GT(s->bytesToAdapter, 6u * 98) << tap;
    EXPECT_EQ(s->sendFailures, 0u) << tap;
    EXPECT_EQ(s->dropsNoNbl, 0u) << tap;
    EXPECT_EQ(s->oidFailures, 0u) << tap;
    EXPECT_NE(s->packetFilter & NDIS_PACKET_TYPE_DIRECTED, 0u) << tap;
    EXPECT_NE(s->packetFilter & NDIS_PACKET_TYPE_BROADCAST, 0u) << tap;
  }

  // Promiscuous on and off reaches OID_GEN_CURRENT_PACKET_FILTER.
  ASSERT_TRUE(runCommand("ip -n " + nsA_ + " link set tapbind-a promisc on").ok());
  EXPECT_TRUE(waitUntil([&] { return (statsOf("tapbind-a")->packetFilter & NDIS_PACKET_TYPE_PROMISCUOUS) != 0; }));
  ASSERT_TRUE(runCommand("ip -n " + nsA_ + " link set tapbind-a promisc off").ok());
  EXPECT_TRUE(waitUntil([&] { return (statsOf("tapbind-a")->packetFilter & NDIS_PACKET_TYPE_PROMISCUOUS) == 0; }));

  // A multicast join reaches OID_802_3_MULTICAST_LIST.
  const auto before = statsOf("tapbind-b")->multicastAddresses;
  ASSERT_TRUE(runCommand("ip -n " + nsB_ + " maddress add 01:00:5e:4d:00:07 dev tapbind-b").ok());
  EXPECT_TRUE(waitUntil([&] { return statsOf("tapbind-b")->multicastAddresses == before + 1; }))
      << before << " -> " << statsOf("tapbind-b")->multicastAddresses;

  // The device's link goes down: NDIS_STATUS_LINK_STATE -> carrier off; and back.
  ncm_->setLinkUp(false);
  EXPECT_TRUE(waitUntil([&] { return !statsOf("tapbind-a")->carrier; }));
  auto carrier = runCommand("ip netns exec " + nsA_ + " cat /sys/class/net/tapbind-a/carrier");
  EXPECT_EQ(carrier.output, "0\n");
  ncm_->setLinkUp(true);
  EXPECT_TRUE(waitUntil([&] { return statsOf("tapbind-a")->carrier; }));
  carrier = runCommand("ip netns exec " + nsA_ + " cat /sys/class/net/tapbind-a/carrier");
  EXPECT_EQ(carrier.output, "1\n");
  auto again = ping(nsA_, "10.77.0.2", "-c 1 -W 2");
  EXPECT_TRUE(again.ok()) << again.output;

  // The upper-edge capture holds both directions of A's traffic.
  protocol_.reset();
  EXPECT_FALSE(runCommand("ip -n " + nsA_ + " link show tapbind-a").ok()) << "the unbind closes the TAP";
  const auto [sent, received] = captureDirections(capturePath_, {0x02, 0x54, 0x42, 0, 0, 0x0a});
  EXPECT_GE(sent, 6u) << "A's echo requests and replies, down to the adapter";
  EXPECT_GE(received, 6u) << "B's echo replies and requests, up from the adapter";
  std::lock_guard guard(errorsLock_);
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

// The RNDIS device is unplugged while pings flood both ways: its binding pauses, every send
// completes, NDIS unbinds it and the driver unloads without leaks; the other binding runs
// on. Then the protocol deregisters while Linux still sends on the remaining TAP.
TEST_F(TapBindingTest, UnplugAndDeregisterUnderTrafficCompleteEveryNbl) {
  bringUp(standardChooser());
  bothRunningWithAddresses();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(ping(nsA_, "10.77.0.2", "-c 1 -W 2").ok());
  std::atomic<bool> flooding{true};
  std::thread floodA([&] { ping(nsA_, "10.77.0.2", "-f -w 2"); });
  std::thread floodB([&] { ping(nsB_, "10.77.0.1", "-f -w 2"); });
  ASSERT_TRUE(waitUntil([&] { return statsOf("tapbind-b")->framesToAdapter > 200; }));
  const auto beforeUnplug = *statsOf("tapbind-b");
  std::printf("tapbind-b before the unplug: %llu frames down, %llu up, %llu sends outstanding\n",
              static_cast<unsigned long long>(beforeUnplug.framesToAdapter),
              static_cast<unsigned long long>(beforeUnplug.framesFromAdapter),
              static_cast<unsigned long long>(beforeUnplug.sendsOutstanding));
  bus_->detach(portB_);
  pnp_->waitForIdle();
  EXPECT_FALSE(statsOf("tapbind-b")) << "unbound with its adapter";
  EXPECT_FALSE(runCommand("ip -n " + nsB_ + " link show tapbind-b").ok()) << "the unbind closes the TAP";
  auto reports = pnp_->leakReports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].driver, "usbrndis");
  EXPECT_TRUE(reports[0].empty()) << reports[0].format();
  auto a = statsOf("tapbind-a");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->running);

  // Raw frames into tapbind-a from Linux while the protocol deregisters.
  host::test::PacketSocket socket(nsA_, std::stoi(runCommand("ip netns exec " + nsA_ + " cat /sys/class/net/tapbind-a/ifindex").output));
  ASSERT_TRUE(socket.valid());
  std::thread blaster([&] {
    auto frame = host::test::testFrame(600, 7);
    while (flooding.load()) socket.send(frame);
  });
  ASSERT_TRUE(waitUntil([&] { return statsOf("tapbind-a")->framesToAdapter > a->framesToAdapter + 500; }));
  const auto beforeDeregister = *statsOf("tapbind-a");
  std::printf("tapbind-a before deregistering: %llu frames down (%llu dropped: no NBL), %llu sends outstanding\n",
              static_cast<unsigned long long>(beforeDeregister.framesToAdapter),
              static_cast<unsigned long long>(beforeDeregister.dropsNoNbl),
              static_cast<unsigned long long>(beforeDeregister.sendsOutstanding));
  protocol_.reset();  // pause (waits for every send), unbind, close, deregister
  flooding = false;
  blaster.join();
  floodA.join();
  floodB.join();
}

// A plan the host cannot carry out (a namespace that does not exist, a name in use) fails
// that adapter's bind with a message to the ErrorSink; the other adapter binds and runs.
// An adapter the chooser declines is left alone without an error.
TEST_F(TapBindingTest, BindErrorsAreReportedAndOtherAdaptersKeepWorking) {
  bringUp([this](const BindCandidate& candidate) -> std::optional<TapPlan> {
    if (candidate.physicalDeviceObject == pdoA_) return planFor("tapbind-no-such-namespace", "tapbind-a");
    return planFor(nsB_, "tapbind-b");
  });
  auto b = statsOf("tapbind-b");
  ASSERT_TRUE(b);
  EXPECT_FALSE(statsOf("tapbind-a"));
  EXPECT_TRUE(protocol_->waitRunning(b->adapterName, std::chrono::seconds(5)));
  {
    std::lock_guard guard(errorsLock_);
    ASSERT_EQ(errors_.size(), 1u);
    EXPECT_NE(errors_[0].find("tapbind-no-such-namespace"), std::string::npos) << errors_[0];
    errors_.clear();
  }
  protocol_.reset();

  // Again: A declined, B's TAP name taken by another interface in its namespace.
  ASSERT_TRUE(runCommand("ip -n " + nsB_ + " link add tapbind-busy type bridge").ok());
  protocol_ = TapProtocol::start(
      [this](const BindCandidate& candidate) -> std::optional<TapPlan> {
        if (candidate.physicalDeviceObject == pdoA_) return std::nullopt;
        return planFor(nsB_, "tapbind-busy");
      },
      [this](const std::string& adapter, const std::string& message) {
        std::lock_guard guard(errorsLock_);
        errors_.push_back(adapter + ": " + message);
      });
  EXPECT_TRUE(protocol_->stats().empty());
  std::lock_guard guard(errorsLock_);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_NE(errors_[0].find("name in use"), std::string::npos) << errors_[0];
}

// As the host runtime does it: the protocol registers first, and the adapter is bound on
// the PnP manager's thread as it arrives (bind, OIDs, TAP, restart). Frames go both ways
// between the TAP and the far end of the wire, and the unplug unbinds.
TEST_F(TapBindingTest, AProtocolRegisteredFirstBindsAdaptersAsTheyArrive) {
  protocol_ = TapProtocol::start([this](const BindCandidate&) -> std::optional<TapPlan> { return planFor(nsA_, "tapbind-a"); },
                                 [this](const std::string& adapter, const std::string& message) {
                                   std::lock_guard guard(errorsLock_);
                                   errors_.push_back(adapter + ": " + message);
                                 });
  EXPECT_TRUE(protocol_->stats().empty());
  portA_ = plug(Nic::Ncm, *wire_.a);
  ASSERT_TRUE(waitUntil([&] {
    auto a = statsOf("tapbind-a");
    return a && a->running && a->carrier;
  }));
  const int ifindex = std::stoi(runCommand("ip netns exec " + nsA_ + " cat /sys/class/net/tapbind-a/ifindex").output);
  host::test::PacketSocket socket(nsA_, ifindex);
  ASSERT_TRUE(socket.valid());

  // Linux -> TAP -> NDIS -> usbncm -> USB -> device -> wire (no handler at the far end: counted there).
  const auto down = host::test::testFrame(300, 1);
  const auto farBefore = wire_.b->counters().rxDropped + wire_.b->counters().rxFrames;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(socket.send(down));
  EXPECT_TRUE(waitUntil([&] { return wire_.b->counters().rxDropped + wire_.b->counters().rxFrames >= farBefore + 20; }))
      << wire_.b->counters().rxDropped << " at the far end";
  EXPECT_GE(statsOf("tapbind-a")->framesToAdapter, 20u);

  // Far end -> wire -> device -> USB -> usbncm -> NDIS -> TAP -> Linux (broadcast: passes the filter).
  std::vector<std::byte> up = host::test::testFrame(400, 2);
  for (int i = 0; i < 6; ++i) up[i] = std::byte{0xff};
  std::thread sender([&] {
    for (int i = 0; i < 10; ++i) {
      wire_.b->transmit(up);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  auto received = socket.receive(10, 0x88b5, std::chrono::seconds(5));
  sender.join();
  ASSERT_EQ(received.size(), 10u);
  EXPECT_EQ(received[0], up);

  bus_->detach(portA_);
  pnp_->waitForIdle();
  EXPECT_TRUE(protocol_->stats().empty());
  EXPECT_FALSE(runCommand("ip -n " + nsA_ + " link show tapbind-a").ok());
  std::lock_guard guard(errorsLock_);
  EXPECT_TRUE(errors_.empty());
}

// The send pool on its own: a fixed set of NBLs, each one NET_BUFFER over one MDL whose
// byte count is the frame's; exhausted it returns null, and what is given back is reused.
TEST(TapSendPoolTest, HandsOutCopiesInPreallocatedNblsAndRecyclesThem) {
  nt::Runtime runtime(nt::RuntimeOptions{.processors = 1});
  int source = 0;
  host::binding::TapSendPool pool(nullptr, &source, 2, 1518);
  EXPECT_EQ(pool.capacity(), 2u);
  const auto first = host::test::testFrame(60, 1), second = host::test::testFrame(1514, 2);
  PNET_BUFFER_LIST a = pool.take(first);
  PNET_BUFFER_LIST b = pool.take(second);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(pool.take(first), nullptr) << "exhausted";
  EXPECT_EQ(pool.take(host::test::testFrame(1519, 3)), nullptr) << "larger than a buffer";
  EXPECT_EQ(pool.outstanding(), 2u);
  for (auto [nbl, frame] : {std::pair{a, &first}, std::pair{b, &second}}) {
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
    EXPECT_EQ(nbl->SourceHandle, &source);
    EXPECT_EQ(NET_BUFFER_DATA_LENGTH(nb), frame->size());
    EXPECT_EQ(NET_BUFFER_DATA_OFFSET(nb), 0u);
    EXPECT_EQ(NET_BUFFER_FIRST_MDL(nb)->ByteCount, frame->size());
    EXPECT_EQ(NET_BUFFER_LIST_NEXT_NBL(nbl), nullptr);
    auto bytes = pool.frameOf(nbl);
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), frame->begin(), frame->end()));
  }
  NET_BUFFER_LIST_STATUS(a) = NDIS_STATUS_FAILURE;
  pool.give(a);
  EXPECT_EQ(pool.outstanding(), 1u);
  PNET_BUFFER_LIST again = pool.take(second);
  EXPECT_EQ(again, a) << "the same NBL, reused";
  EXPECT_EQ(NET_BUFFER_LIST_STATUS(again), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(again)), second.size());
  pool.give(again);
  pool.give(b);
  EXPECT_EQ(pool.outstanding(), 0u);
}

}  // namespace
