// The USB NIC miniports end to end, shared by usbnic_traffic_tests and usbnic_control_tests:
// the PnP manager with the USB bus driver as a builtin driver on ROOT\USB, an emulated
// CDC-NCM, CDC-ECM or RNDIS device plugged into the bus, and the image the miniport manifest
// (drivers/usbnic/usbnic.toml) binds to its compatible ID (usbncm or usbrndis), loaded and
// run by the real NDIS library. A test binding above the adapter sends and receives frames
// and records status indications; the far side of the device is a frame port the test
// controls.
#pragma once
#include "ndis_test.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../usb/device/test_support.hpp"
#include "ndis/miniport/adapter.hpp"
#include "ndis/miniport/adapter_lifecycle.hpp"
#include "ndis/traffic/adapter_traffic.hpp"
#include "nt/pnp/manifest.hpp"
#include "nt/pnp/pnp_manager.hpp"
#include "usb/bus/usb_bus.hpp"
#include "usb/device/cdc_ncm_function.hpp"
#include "usb/device/cdc_ecm_function.hpp"
#include "usb/device/emulated_device.hpp"
#include "usb/device/rndis_function.hpp"

namespace nictest {

using namespace ndishost;
using ndishost::ndis::Adapter;
using ndishost::ndis::AdapterState;
using ndishost::ndis::UpperBinding;
using usb::device::test::Bytes;
using usb::device::test::FakeFramePort;

inline constexpr char kInstancePath[] = "USB\\VID_1209&PID_0A01\\NIC0001";
inline const usb::device::MacAddress kDeviceMac{{0x02, 0x00, 0x5E, 0x10, 0x00, 0x01}};

inline bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline Bytes bytesOf(PNET_BUFFER nb) {
  std::vector<UCHAR> data(NET_BUFFER_DATA_LENGTH(nb));
  if (!data.empty()) {
    auto* p = static_cast<UCHAR*>(NdisGetDataBuffer(nb, static_cast<ULONG>(data.size()), data.data(), 1, 0));
    if (p != nullptr && p != data.data()) std::memcpy(data.data(), p, data.size());
  }
  Bytes out(data.size());
  std::memcpy(out.data(), data.data(), data.size());
  return out;
}

// A protocol binding's view of the adapter: receives copied and returned at once, send
// completions counted per NBL.
class TestBinding final : public UpperBinding {
 public:
  explicit TestBinding(ndis::AdapterTraffic& traffic) : traffic_(traffic) {}

  void receive(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER, ULONG count, ULONG receiveFlags) override {
    ULONG seen = 0;
    {
      std::lock_guard guard(lock);
      for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != nullptr; nb = NET_BUFFER_NEXT_NB(nb))
          received.push_back(bytesOf(nb));
        ++seen;
      }
      if (seen != count) ++countMismatches;
    }
    if ((receiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) == 0) traffic_.returnNetBufferLists(*this, nbls, 0);
  }
  void sendComplete(PNET_BUFFER_LIST nbls, ULONG) override {
    std::lock_guard guard(lock);
    for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
      completions.push_back({nbl, NET_BUFFER_LIST_STATUS(nbl)});
  }
  void oidComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status) override {
    std::lock_guard guard(lock);
    oidCompletions.push_back({request, status});
  }
  void status(const NDIS_STATUS_INDICATION& indication) override {
    std::lock_guard guard(lock);
    statuses.push_back(indication.StatusCode);
    if (indication.StatusCode == NDIS_STATUS_LINK_STATE && indication.StatusBuffer != nullptr &&
        indication.StatusBufferSize >= NDIS_SIZEOF_LINK_STATE_REVISION_1) {
      NDIS_LINK_STATE state{};
      std::memcpy(&state, indication.StatusBuffer, NDIS_SIZEOF_LINK_STATE_REVISION_1);
      linkStates.push_back(state);
    } else if (indication.StatusCode == NDIS_STATUS_LINK_STATE) {
      ++malformedLinkStates;
    }
  }
  std::vector<NDIS_LINK_STATE> linkStatesSnapshot() {
    std::lock_guard guard(lock);
    return linkStates;
  }

  std::size_t receivedCount() {
    std::lock_guard guard(lock);
    return received.size();
  }
  std::size_t completionCount() {
    std::lock_guard guard(lock);
    return completions.size();
  }

  std::mutex lock;
  std::vector<Bytes> received;
  int countMismatches = 0;
  std::vector<std::pair<PNET_BUFFER_LIST, NDIS_STATUS>> completions;
  std::vector<std::pair<PNDIS_OID_REQUEST, NDIS_STATUS>> oidCompletions;
  std::vector<NDIS_STATUS> statuses;
  std::vector<NDIS_LINK_STATE> linkStates;
  int malformedLinkStates = 0;

 private:
  ndis::AdapterTraffic& traffic_;
};

// Frames to send: one NBL, one NET_BUFFER over one MDL each, from the test's own pool.
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
  PNET_BUFFER_LIST make(const Bytes& data) {
    Frame f;
    f.data = std::make_unique<Bytes>(data);
    f.mdl = NdisAllocateMdl(nullptr, f.data->data(), static_cast<UINT>(f.data->size()));
    f.nbl = NdisAllocateNetBufferAndNetBufferList(pool_, 0, 0, f.mdl, 0, static_cast<ULONG>(f.data->size()));
    frames_.push_back(std::move(f));
    return frames_.back().nbl;
  }

 private:
  struct Frame {
    std::unique_ptr<Bytes> data;
    PMDL mdl;
    PNET_BUFFER_LIST nbl;
  };
  NDIS_HANDLE pool_;
  std::vector<Frame> frames_;
};

inline NDIS_OID_REQUEST makeQuery(NDIS_OID oid, void* buffer, ULONG length) {
  NDIS_OID_REQUEST request{};
  request.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
  request.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
  request.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
  request.RequestType = NdisRequestQueryInformation;
  request.DATA.QUERY_INFORMATION.Oid = oid;
  request.DATA.QUERY_INFORMATION.InformationBuffer = buffer;
  request.DATA.QUERY_INFORMATION.InformationBufferLength = length;
  return request;
}

// The miniport manifest as built, plus the builtin hub on ROOT\USB.
inline nt::pnp::Manifest nicManifest() {
  nt::pnp::Manifest manifest = nt::pnp::Manifest::load(USBNIC_MANIFEST);
  nt::pnp::ManifestDriver hub;
  hub.name = "usbhub";
  hub.builtin = true;
  hub.ids = {"ROOT\\USB"};
  manifest.addDriver(hub);
  return manifest;
}

// The emulated function behind the adapter.
enum class Function { Ncm, Ecm, Rndis };

inline std::string functionName(const ::testing::TestParamInfo<Function>& info) {
  switch (info.param) {
    case Function::Ncm: return "Ncm";
    case Function::Ecm: return "Ecm";
    case Function::Rndis: return "Rndis";
  }
  return "Unknown";
}

// A device function that passes everything to the real one, except that the test can put
// raw bulk-IN messages of its own (malformed NTBs, RNDIS messages, runts) in front of the
// function's: the bytes the driver then receives are exactly the test's.
class InjectingFunction final : public usb::device::UsbFunction {
 public:
  explicit InjectingFunction(std::unique_ptr<usb::device::UsbFunction> inner) : inner_(std::move(inner)) {}

  void inject(std::uint8_t endpoint, Bytes message) {
    usb::device::FunctionHost* host;
    {
      std::lock_guard guard(lock_);
      endpoint_ = endpoint;
      queue_.push_back(std::move(message));
      host = host_;
    }
    if (host != nullptr) host->requestService();
  }
  std::size_t pending() {
    std::lock_guard guard(lock_);
    return queue_.size() + (lent_ ? 1 : 0);
  }

  usb::device::FunctionLayout describe(usb::device::StringTable& strings) override { return inner_->describe(strings); }
  void attach(usb::device::FunctionHost& host) override {
    {
      std::lock_guard guard(lock_);
      host_ = &host;
    }
    inner_->attach(host);
  }
  void detach() override {
    inner_->detach();
    std::lock_guard guard(lock_);
    host_ = nullptr;
  }
  void onConfiguration(std::uint8_t value) override { inner_->onConfiguration(value); }
  void onAlternateSetting(std::uint8_t interfaceNumber, std::uint8_t alternate) override {
    inner_->onAlternateSetting(interfaceNumber, alternate);
  }
  usb::device::ControlResult classRequest(const usb::device::SetupPacket& setup, std::span<std::byte> data) override {
    return inner_->classRequest(setup, data);
  }
  usb::device::DeviceClock::time_point service(usb::device::DeviceClock::time_point now) override {
    return inner_->service(now);
  }
  std::optional<usb::device::InMessage> nextInMessage(std::uint8_t endpoint) override {
    {
      std::lock_guard guard(lock_);
      if (endpoint == endpoint_ && (lent_ || !queue_.empty())) {
        if (!lent_) {
          current_ = std::move(queue_.front());
          queue_.pop_front();
          lent_ = true;
        }
        return usb::device::InMessage{std::span<const std::byte>(current_), true};
      }
    }
    return inner_->nextInMessage(endpoint);
  }
  void releaseInMessage(std::uint8_t endpoint) override {
    {
      std::lock_guard guard(lock_);
      if (endpoint == endpoint_ && lent_) {
        lent_ = false;
        return;
      }
    }
    inner_->releaseInMessage(endpoint);
  }
  std::size_t outMessageCapacity(std::uint8_t endpoint) const override { return inner_->outMessageCapacity(endpoint); }
  void onOutMessage(std::uint8_t endpoint, std::span<const std::byte> message) override {
    inner_->onOutMessage(endpoint, message);
  }

 private:
  std::unique_ptr<usb::device::UsbFunction> inner_;
  std::mutex lock_;
  usb::device::FunctionHost* host_ = nullptr;
  std::uint8_t endpoint_ = 0;
  std::deque<Bytes> queue_;
  Bytes current_;
  bool lent_ = false;
};

class NicFixture : public ::testing::TestWithParam<Function> {
 protected:
  void SetUp() override {
    pnp_ = std::make_unique<nt::pnp::PnpManager>(nicManifest());
    bus_ = std::make_unique<usb::bus::UsbBus>();
    pnp_->registerBuiltinDriver("usbhub", bus_->driverObject());
    pnp_->addRootDevice(nt::pnp::ManifestDevice{{"ROOT\\USB"}, {}, "USB root hub"});
  }

  void TearDown() override {
    if (binding_ != nullptr && adapter_ != nullptr) adapter_->traffic().detach(*binding_);
    binding_.reset();
    if (pnp_) {
      for (const auto& report : pnp_->shutdown()) EXPECT_TRUE(report.empty()) << report.format();
      for (const auto& report : pnp_->leakReports()) EXPECT_TRUE(report.empty()) << report.format();
    }
    frames_.reset();
    bus_.reset();
    pnp_.reset();
  }

  void plugDevice() {
    usb::device::DeviceIdentity identity;
    identity.vendorId = 0x1209;
    identity.productId = 0x0A01;
    identity.serialNumber = "NIC0001";
    usb::device::EthernetFunctionConfig ethernet;
    ethernet.macAddress = kDeviceMac;
    if (maxFrameSize_ != 0) ethernet.maxFrameSize = maxFrameSize_;
    std::unique_ptr<usb::device::UsbFunction> function;
    switch (GetParam()) {
      case Function::Ncm: {
        usb::device::CdcNcmConfig config;
        config.ethernet = ethernet;
        function = std::make_unique<usb::device::CdcNcmFunction>(config, network_);
        break;
      }
      case Function::Ecm: {
        usb::device::CdcEcmConfig config;
        config.ethernet = ethernet;
        function = std::make_unique<usb::device::CdcEcmFunction>(config, network_);
        break;
      }
      case Function::Rndis: {
        usb::device::RndisConfig config;
        config.ethernet = ethernet;
        function = std::make_unique<usb::device::RndisFunction>(config, network_);
        break;
      }
    }
    ethernetFunction_ = static_cast<usb::device::EthernetFunction*>(function.get());
    if (wrapFunction_) {
      auto wrapper = std::make_unique<InjectingFunction>(std::move(function));
      injector_ = wrapper.get();
      function = std::move(wrapper);
    }
    device_ = std::make_shared<usb::device::EmulatedUsbDevice>(identity, usb::device::Speed::High,
                                                               std::move(function));
    port_ = bus_->attach(device_);
    pnp_->waitForIdle();
  }

  const char* expectedDriver() const { return GetParam() == Function::Rndis ? "usbrndis" : "usbncm"; }

  Adapter* findAdapter() {
    PDEVICE_OBJECT device = pnp_->referenceTopOfStack(kInstancePath);
    while (device != nullptr) {
      if (Adapter* found = Adapter::fromFdo(device); found != nullptr) {
        ObDereferenceObject(device);
        return found;
      }
      PDEVICE_OBJECT lower = IoGetLowerDeviceObject(device);
      ObDereferenceObject(device);
      device = lower;
    }
    return nullptr;
  }

  // Plugs the device and binds the test binding to the Running adapter.
  void bringUp() {
    plugDevice();
    ASSERT_TRUE(waitUntil([&] {
      Adapter* a = findAdapter();
      return a != nullptr && a->state() == AdapterState::Running;
    })) << pnp_->formatTree();
    adapter_ = findAdapter();
    auto info = pnp_->device(kInstancePath);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->driver, expectedDriver());
    binding_ = std::make_unique<TestBinding>(adapter_->traffic());
    adapter_->traffic().attach(*binding_);
    frames_ = std::make_unique<SendFrames>();
    // What a protocol does first: the receive filter (an RNDIS device moves no data before).
    ULONG filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST | NDIS_PACKET_TYPE_MULTICAST;
    EXPECT_EQ(request(NdisRequestSetInformation, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof filter),
              NDIS_STATUS_SUCCESS);
  }

  // Makes `request` from the binding and waits for it when the miniport pends it. Only
  // completions recorded after the submission count: request blocks on the stack reuse
  // addresses.
  NDIS_STATUS submit(NDIS_OID_REQUEST& request) {
    std::size_t seen;
    {
      std::lock_guard guard(binding_->lock);
      seen = binding_->oidCompletions.size();
    }
    NDIS_STATUS status = adapter_->traffic().oidRequest(*binding_, &request);
    if (status != NDIS_STATUS_PENDING) return status;
    auto completion = [&]() -> std::optional<NDIS_STATUS> {
      std::lock_guard guard(binding_->lock);
      for (std::size_t i = seen; i < binding_->oidCompletions.size(); ++i)
        if (binding_->oidCompletions[i].first == &request) return binding_->oidCompletions[i].second;
      return std::nullopt;
    };
    if (!waitUntil([&] { return completion().has_value(); })) {
      ADD_FAILURE() << "OID request 0x" << std::hex << request.DATA.QUERY_INFORMATION.Oid << " never completed";
      return NDIS_STATUS_PENDING;
    }
    return *completion();
  }

  // An OID request from the binding, waited for when the miniport pends it.
  NDIS_STATUS request(NDIS_REQUEST_TYPE type, NDIS_OID oid, void* buffer, ULONG length, ULONG* written = nullptr) {
    NDIS_OID_REQUEST request = makeQuery(oid, buffer, length);
    request.RequestType = type;
    const NDIS_STATUS status = submit(request);
    if (written != nullptr) *written = request.DATA.QUERY_INFORMATION.BytesWritten;
    return status;
  }

  NDIS_STATUS query(NDIS_OID oid, void* buffer, ULONG length, ULONG* written) {
    return request(NdisRequestQueryInformation, oid, buffer, length, written);
  }

  // A ULONG query that must succeed with 4 bytes (0xFFFFFFFF and a test failure otherwise).
  ULONG queryUlong(NDIS_OID oid) {
    ULONG value = 0xFFFFFFFF, written = 0;
    EXPECT_EQ(query(oid, &value, sizeof value, &written), NDIS_STATUS_SUCCESS) << std::hex << oid;
    EXPECT_EQ(written, sizeof value) << std::hex << oid;
    return value;
  }
  // A 64-bit statistics counter.
  ULONG64 queryCounter(NDIS_OID oid) {
    ULONG64 value = 0;
    ULONG written = 0;
    EXPECT_EQ(query(oid, &value, sizeof value, &written), NDIS_STATUS_SUCCESS) << std::hex << oid;
    EXPECT_EQ(written, sizeof value) << std::hex << oid;
    return value;
  }
  NDIS_STATUS setUlong(NDIS_OID oid, ULONG value) {
    return request(NdisRequestSetInformation, oid, &value, sizeof value);
  }

  // The receive filter the emulated device applies now.
  usb::device::PacketFilter devicePacketFilter() const {
    switch (GetParam()) {
      case Function::Ncm: return static_cast<usb::device::CdcNcmFunction*>(ethernetFunction_)->packetFilter();
      case Function::Ecm: return static_cast<usb::device::CdcEcmFunction*>(ethernetFunction_)->packetFilter();
      case Function::Rndis: return static_cast<usb::device::RndisFunction*>(ethernetFunction_)->packetFilter();
    }
    return {};
  }

  // Chains `nbls` (NEXT_NBL) and sends them as one call.
  void sendChain(const std::vector<PNET_BUFFER_LIST>& nbls) {
    if (nbls.empty()) return;
    for (std::size_t j = 0; j + 1 < nbls.size(); ++j) NET_BUFFER_LIST_NEXT_NBL(nbls[j]) = nbls[j + 1];
    NET_BUFFER_LIST_NEXT_NBL(nbls.back()) = nullptr;
    adapter_->traffic().send(*binding_, nbls.front(), 0, 0);
  }

  nt::Runtime runtime_;
  FakeFramePort network_;
  std::unique_ptr<nt::pnp::PnpManager> pnp_;
  std::unique_ptr<usb::bus::UsbBus> bus_;
  std::shared_ptr<usb::device::EmulatedUsbDevice> device_;
  usb::device::EthernetFunction* ethernetFunction_ = nullptr;
  std::size_t maxFrameSize_ = 0;          // set before bringUp(): the device's largest frame (0: default)
  bool wrapFunction_ = false;             // set before bringUp() to get injector_
  InjectingFunction* injector_ = nullptr;
  unsigned port_ = 0;
  Adapter* adapter_ = nullptr;
  std::unique_ptr<TestBinding> binding_;
  std::unique_ptr<SendFrames> frames_;
};

}  // namespace nictest
