// EmulatedUsbDevice: chapter-9 standard requests and the transfer model (packets, ZLPs,
// overrun, halt, cancel, disconnect, re-entrant submission), driven through a scripted
// function whose IN messages and OUT observations the test controls.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>

#include "test_support.hpp"
#include "usb/device/descriptors.hpp"
#include "usb/device/emulated_device.hpp"

using namespace ndishost::usb::device;
using namespace ndishost::usb::device::test;

namespace {

constexpr std::uint8_t BulkIn = 0x81;
constexpr std::uint8_t BulkOut = 0x02;
constexpr std::uint8_t InterruptIn = 0x83;

// Interface 0: alt 0 without endpoints, alt 1 with bulk IN/OUT. Interface 1: interrupt IN.
class ScriptedFunction final : public UsbFunction {
 public:
  struct Message {
    Bytes data;
    bool zlp = true;
  };

  FunctionLayout describe(StringTable& strings) override {
    iInterface = strings.add(std::string_view("scripted"));
    FunctionLayout layout;
    AlternateSettingSpec idle;
    idle.interfaceClass = 0xFF;
    idle.iInterface = iInterface;
    AlternateSettingSpec running = idle;
    running.alternateSetting = 1;
    running.endpoints = {EndpointSpec::bulk(BulkIn), EndpointSpec::bulk(BulkOut)};
    layout.interfaces.push_back({0, {idle, running}});
    AlternateSettingSpec status;
    status.interfaceClass = 0xFF;
    status.endpoints = {EndpointSpec::interrupt(InterruptIn, 16, 8)};
    layout.interfaces.push_back({1, {status}});
    return layout;
  }
  void attach(FunctionHost& h) override {
    std::lock_guard lock(mutex);
    host = &h;
  }
  void detach() override {
    std::lock_guard lock(mutex);
    host = nullptr;
  }
  void onConfiguration(std::uint8_t value) override {
    std::lock_guard lock(mutex);
    configurations.push_back(value);
  }
  void onAlternateSetting(std::uint8_t intf, std::uint8_t alt) override {
    std::lock_guard lock(mutex);
    alternates.emplace_back(intf, alt);
  }
  ControlResult classRequest(const SetupPacket& setup, std::span<std::byte> data) override {
    // One supported vendor request: 0xC1/0x01 returns 4 bytes.
    if (setup.bmRequestType == 0xC1 && setup.bRequest == 0x01 && data.size() >= 4) {
      writeLe32(data, 0, 0xCAFEF00D);
      return ControlResult::ok(4);
    }
    return ControlResult::stall();
  }
  DeviceClock::time_point service(DeviceClock::time_point) override {
    return DeviceClock::time_point::max();
  }
  std::optional<InMessage> nextInMessage(std::uint8_t ep) override {
    std::lock_guard lock(mutex);
    auto& queue = ep == BulkIn ? bulk : interrupt;
    if (queue.empty()) return std::nullopt;
    lent[ep == BulkIn] = true;
    return InMessage{queue.front().data, queue.front().zlp};
  }
  void releaseInMessage(std::uint8_t ep) override {
    std::lock_guard lock(mutex);
    auto& queue = ep == BulkIn ? bulk : interrupt;
    if (!queue.empty()) queue.pop_front();
    lent[ep == BulkIn] = false;
    ++released;
  }
  std::size_t outMessageCapacity(std::uint8_t) const override { return outCapacity; }
  void onOutMessage(std::uint8_t, std::span<const std::byte> message) override {
    std::lock_guard lock(mutex);
    out.emplace_back(message.begin(), message.end());
  }

  // Test side.
  void pushIn(std::uint8_t ep, Bytes data, bool zlp = true) {
    FunctionHost* h;
    {
      std::lock_guard lock(mutex);
      (ep == BulkIn ? bulk : interrupt).push_back({std::move(data), zlp});
      h = host;
    }
    if (h) h->requestService();
  }
  std::vector<Bytes> outMessages() {
    std::lock_guard lock(mutex);
    return out;
  }

  std::mutex mutex;
  FunctionHost* host = nullptr;
  std::deque<Message> bulk, interrupt;
  bool lent[2] = {false, false};
  int released = 0;
  std::vector<Bytes> out;
  std::vector<std::uint8_t> configurations;
  std::vector<std::pair<std::uint8_t, std::uint8_t>> alternates;
  std::size_t outCapacity = 4096;
  std::uint8_t iInterface = 0;
};

struct Rig {
  explicit Rig(Speed speed = Speed::High) {
    auto f = std::make_unique<ScriptedFunction>();
    fn = f.get();
    DeviceIdentity id;
    id.vendorId = 0x1234;
    id.productId = 0x5678;
    id.remoteWakeupCapable = true;
    device = std::make_unique<EmulatedUsbDevice>(id, speed, std::move(f));
  }
  void start() {
    ASSERT_TRUE(setConfiguration(*device, 1));
    ASSERT_TRUE(setInterface(*device, 0, 1));
  }
  ScriptedFunction* fn;
  std::unique_ptr<EmulatedUsbDevice> device;
};

}  // namespace

// ---- standard requests ---------------------------------------------------------------------

TEST(StandardRequests, DescriptorsAreConsistent) {
  Rig rig;
  Bytes device = getDescriptor(*rig.device, descriptor_type::Device, 0);
  auto fields = parseDeviceDescriptor(device);
  ASSERT_TRUE(fields);
  EXPECT_EQ(device.size(), 18u);
  EXPECT_EQ(fields->idVendor, 0x1234);
  EXPECT_EQ(fields->idProduct, 0x5678);
  EXPECT_EQ(fields->bcdUSB, 0x0200);
  EXPECT_EQ(fields->bMaxPacketSize0, 64);

  // A host reads 9 bytes first, then wTotalLength.
  Bytes head = getDescriptor(*rig.device, descriptor_type::Configuration, 0, 9);
  ASSERT_EQ(head.size(), 9u);
  Bytes config = getDescriptor(*rig.device, descriptor_type::Configuration, 0, readLe16(head, 2));
  ConfigurationParseResult parsed = parseConfigurationDescriptor(config);
  ASSERT_EQ(parsed.error, DescriptorError::None) << toString(parsed.error);
  EXPECT_EQ(parsed.configuration.fields.bNumInterfaces, 2);
  EXPECT_EQ(parsed.configuration.fields.bmAttributes, 0xE0);  // self-powered, remote wakeup
  const ParsedAlternateSetting* running = parsed.configuration.find(0, 1);
  ASSERT_TRUE(running);
  ASSERT_EQ(running->endpoints.size(), 2u);
  EXPECT_EQ(running->endpoints[0].fields.wMaxPacketSize, 512);
  const ParsedAlternateSetting* status = parsed.configuration.find(1, 0);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->endpoints[0].type(), EndpointType::Interrupt);
  EXPECT_EQ(status->endpoints[0].fields.bInterval, 7) << "8 ms = 2^(7-1) microframes";

  // Other speed: the same layout at full speed.
  Bytes other = getDescriptor(*rig.device, descriptor_type::OtherSpeedConfiguration, 0);
  parsed = parseConfigurationDescriptor(other);
  ASSERT_EQ(parsed.error, DescriptorError::None);
  EXPECT_EQ(parsed.configuration.fields.bDescriptorType, descriptor_type::OtherSpeedConfiguration);
  EXPECT_EQ(parsed.configuration.find(0, 1)->endpoints[0].fields.wMaxPacketSize, 64);
  EXPECT_EQ(parsed.configuration.find(1, 0)->endpoints[0].fields.bInterval, 8);
  auto qualifier = parseDeviceQualifier(getDescriptor(*rig.device, descriptor_type::DeviceQualifier, 0));
  ASSERT_TRUE(qualifier);
  EXPECT_EQ(qualifier->bNumConfigurations, 1);
  EXPECT_TRUE(getDescriptor(*rig.device, descriptor_type::Bos, 0).empty()) << "no BOS below USB 2.1";

  // Strings: language table, then UTF-16LE text.
  Bytes languages = getDescriptor(*rig.device, descriptor_type::String, 0);
  ASSERT_EQ(languages.size(), 4u);
  EXPECT_EQ(readLe16(languages, 2), LanguageEnglishUs);
  auto product = parseStringDescriptor(getDescriptor(*rig.device, descriptor_type::String, fields->iProduct));
  ASSERT_TRUE(product);
  EXPECT_EQ(*product, utf8ToUtf16(DeviceIdentity{}.product));
  auto scripted = parseStringDescriptor(getDescriptor(*rig.device, descriptor_type::String, rig.fn->iInterface));
  ASSERT_TRUE(scripted);
  EXPECT_EQ(*scripted, u"scripted");
  EXPECT_TRUE(getDescriptor(*rig.device, descriptor_type::String, 99).empty());

  // wLength shorter than the descriptor truncates.
  EXPECT_EQ(getDescriptor(*rig.device, descriptor_type::Device, 0, 8).size(), 8u);
}

TEST(StandardRequests, SuperSpeedHasBosAndCompanionsButNoQualifier) {
  Rig rig(Speed::Super);
  auto device = parseDeviceDescriptor(getDescriptor(*rig.device, descriptor_type::Device, 0));
  ASSERT_TRUE(device);
  EXPECT_EQ(device->bcdUSB, 0x0320);
  EXPECT_EQ(device->bMaxPacketSize0, 9);
  EXPECT_TRUE(getDescriptor(*rig.device, descriptor_type::DeviceQualifier, 0).empty());
  Bytes bos = getDescriptor(*rig.device, descriptor_type::Bos, 0);
  ASSERT_GE(bos.size(), 5u);
  EXPECT_EQ(readLe16(bos, 2), bos.size());
  const Bytes config = getDescriptor(*rig.device, descriptor_type::Configuration, 0);
  auto parsed = parseConfigurationDescriptor(config);
  ASSERT_EQ(parsed.error, DescriptorError::None);
  const auto& ep = parsed.configuration.find(0, 1)->endpoints[0];
  EXPECT_EQ(ep.fields.wMaxPacketSize, 1024);
  EXPECT_TRUE(ep.superSpeedCompanion.has_value());
}

TEST(StandardRequests, ConfigurationAndInterfaceSelection) {
  Rig rig;
  Bytes one(1);
  EXPECT_TRUE(control(*rig.device, 0x80, standard_request::GetConfiguration, 0, 0, one).succeeded());
  EXPECT_EQ(one[0], std::byte{0});
  // Interface requests need the Configured state.
  EXPECT_EQ(control(*rig.device, 0x81, standard_request::GetInterface, 0, 0, one).status,
            TransferStatus::Stall);
  EXPECT_FALSE(setInterface(*rig.device, 0, 1));

  EXPECT_TRUE(controlNoData(*rig.device, 0x00, standard_request::SetAddress, 5, 0).succeeded());
  EXPECT_EQ(rig.device->address(), 5);
  EXPECT_FALSE(setConfiguration(*rig.device, 2));
  ASSERT_TRUE(setConfiguration(*rig.device, 1));
  EXPECT_FALSE(controlNoData(*rig.device, 0x00, standard_request::SetAddress, 6, 0).succeeded())
      << "SET_ADDRESS in the Configured state";
  EXPECT_TRUE(control(*rig.device, 0x80, standard_request::GetConfiguration, 0, 0, one).succeeded());
  EXPECT_EQ(one[0], std::byte{1});
  EXPECT_FALSE(rig.device->endpointActive(BulkIn));
  EXPECT_TRUE(rig.device->endpointActive(InterruptIn));

  EXPECT_TRUE(setInterface(*rig.device, 0, 1));
  EXPECT_TRUE(rig.device->endpointActive(BulkIn));
  EXPECT_TRUE(rig.device->endpointActive(BulkOut));
  EXPECT_TRUE(control(*rig.device, 0x81, standard_request::GetInterface, 0, 0, one).succeeded());
  EXPECT_EQ(one[0], std::byte{1});
  EXPECT_FALSE(setInterface(*rig.device, 0, 2)) << "no such alternate setting";
  EXPECT_FALSE(setInterface(*rig.device, 7, 0)) << "no such interface";
  EXPECT_TRUE(setInterface(*rig.device, 0, 0));
  EXPECT_FALSE(rig.device->endpointActive(BulkIn));
  {
    std::lock_guard lock(rig.fn->mutex);
    ASSERT_EQ(rig.fn->configurations, std::vector<std::uint8_t>{1});
    ASSERT_EQ(rig.fn->alternates.size(), 2u);
    EXPECT_EQ(rig.fn->alternates[1], std::make_pair(std::uint8_t{0}, std::uint8_t{0}));
  }
  ASSERT_TRUE(setConfiguration(*rig.device, 0));
  EXPECT_FALSE(rig.device->endpointActive(InterruptIn));
}

TEST(StandardRequests, StatusAndFeatures) {
  Rig rig;
  rig.start();
  Bytes two(2);
  ASSERT_TRUE(control(*rig.device, 0x80, standard_request::GetStatus, 0, 0, two).succeeded());
  EXPECT_EQ(readLe16(two, 0), 0x0001) << "self-powered, remote wakeup disabled";
  EXPECT_TRUE(controlNoData(*rig.device, 0x00, standard_request::SetFeature,
                            feature_selector::DeviceRemoteWakeup, 0).succeeded());
  ASSERT_TRUE(control(*rig.device, 0x80, standard_request::GetStatus, 0, 0, two).succeeded());
  EXPECT_EQ(readLe16(two, 0), 0x0003);
  EXPECT_FALSE(controlNoData(*rig.device, 0x00, standard_request::SetFeature,
                             feature_selector::TestMode, 0).succeeded());

  ASSERT_TRUE(control(*rig.device, 0x82, standard_request::GetStatus, 0, BulkIn, two).succeeded());
  EXPECT_EQ(readLe16(two, 0), 0);
  ASSERT_TRUE(controlNoData(*rig.device, 0x02, standard_request::SetFeature,
                            feature_selector::EndpointHalt, BulkIn).succeeded());
  ASSERT_TRUE(control(*rig.device, 0x82, standard_request::GetStatus, 0, BulkIn, two).succeeded());
  EXPECT_EQ(readLe16(two, 0), 1);
  EXPECT_TRUE(rig.device->endpointHalted(BulkIn));
  ASSERT_TRUE(controlNoData(*rig.device, 0x02, standard_request::ClearFeature,
                            feature_selector::EndpointHalt, BulkIn).succeeded());
  EXPECT_FALSE(rig.device->endpointHalted(BulkIn));
  EXPECT_TRUE(control(*rig.device, 0x82, standard_request::GetStatus, 0, 0x00, two).succeeded())
      << "endpoint 0 status";
  EXPECT_FALSE(control(*rig.device, 0x82, standard_request::GetStatus, 0, 0x85, two).succeeded());
  EXPECT_TRUE(control(*rig.device, 0x81, standard_request::GetStatus, 0, 1, two).succeeded());
  EXPECT_FALSE(control(*rig.device, 0x81, standard_request::GetStatus, 0, 9, two).succeeded());
}

TEST(StandardRequests, MalformedRequestsStallAndTheNextSetupWorks) {
  Rig rig;
  rig.start();
  Bytes buffer(4);
  // Wrong direction, unknown request, unsupported requests.
  EXPECT_EQ(control(*rig.device, 0x00, standard_request::GetDescriptor, 0x0100, 0, buffer).status,
            TransferStatus::Stall);
  EXPECT_EQ(controlNoData(*rig.device, 0x00, 0x42, 0, 0).status, TransferStatus::Stall);
  EXPECT_EQ(controlNoData(*rig.device, 0x02, standard_request::SynchFrame, 0, BulkIn).status,
            TransferStatus::Stall);
  // A class request the function does not know stalls...
  EXPECT_EQ(control(*rig.device, 0xA1, 0x7F, 0, 0, buffer).status, TransferStatus::Stall);
  EXPECT_EQ(control(*rig.device, 0xC1, 0x01, 0, 9, buffer).status, TransferStatus::Stall)
      << "vendor request to an interface that does not exist";
  // ...and the default pipe recovers with the next SETUP; CLEAR_FEATURE(ENDPOINT_HALT) on
  // endpoint 0 is accepted too (hosts send it after a control stall).
  EXPECT_TRUE(controlNoData(*rig.device, 0x02, standard_request::ClearFeature,
                            feature_selector::EndpointHalt, 0).succeeded());
  ControlResult ok = control(*rig.device, 0xC1, 0x01, 0, 0, buffer);
  ASSERT_TRUE(ok.succeeded());
  EXPECT_EQ(readLe32(buffer, 0), 0xCAFEF00Du);
  EXPECT_GE(rig.device->counters().controlStalls, 5u);
}

// ---- transfer model ----------------------------------------------------------------------------

TEST(Transfers, OutMessagesEndAtShortPacketZlpOrFullBuffer) {
  Rig rig;
  rig.start();
  rig.fn->outCapacity = 2048;
  // Short packet: one message.
  EXPECT_EQ(writeOut(*rig.device, BulkOut, makeFrame(700)), TransferStatus::Success);
  // 512 bytes (one full high-speed packet) without ZLP: the device keeps waiting...
  EXPECT_EQ(writeOut(*rig.device, BulkOut, makeFrame(512, HostMac, 2)), TransferStatus::Success);
  EXPECT_EQ(rig.fn->outMessages().size(), 1u);
  // ...and the next transfer continues the same message.
  EXPECT_EQ(writeOut(*rig.device, BulkOut, makeFrame(100, HostMac, 3)), TransferStatus::Success);
  ASSERT_EQ(rig.fn->outMessages().size(), 2u);
  EXPECT_EQ(rig.fn->outMessages()[1].size(), 612u);
  // With the ZLP flag the 512 bytes are a message of their own.
  EXPECT_EQ(writeOut(*rig.device, BulkOut, makeFrame(512), true), TransferStatus::Success);
  ASSERT_EQ(rig.fn->outMessages().size(), 3u);
  EXPECT_EQ(rig.fn->outMessages()[2].size(), 512u);
  // A separate zero-length transfer is a ZLP too.
  writeOut(*rig.device, BulkOut, makeFrame(1024));
  writeOut(*rig.device, BulkOut, {});
  ASSERT_EQ(rig.fn->outMessages().size(), 4u);
  EXPECT_EQ(rig.fn->outMessages()[3].size(), 1024u);
  // Exactly the receive buffer: ends without a ZLP.
  Bytes full = makeFrame(2048, HostMac, 4);
  writeOut(*rig.device, BulkOut, full);
  ASSERT_EQ(rig.fn->outMessages().size(), 5u);
  EXPECT_EQ(rig.fn->outMessages()[4], full);
  // More than the buffer: split at the buffer size.
  writeOut(*rig.device, BulkOut, makeFrame(2048 + 100));
  ASSERT_EQ(rig.fn->outMessages().size(), 7u);
  EXPECT_EQ(rig.fn->outMessages()[5].size(), 2048u);
  EXPECT_EQ(rig.fn->outMessages()[6].size(), 100u);
}

TEST(Transfers, InTransferEndsOnShortPacketAndSplitsOnlyOnPacketBoundaries) {
  Rig rig;
  rig.start();
  Bytes message = makeFrame(1300);
  rig.fn->pushIn(BulkIn, message);
  // 1024 = two full packets: the rest stays in the device for the next transfer.
  InResult first = readIn(*rig.device, BulkIn, 1024);
  ASSERT_TRUE(first.completed);
  EXPECT_EQ(first.status, TransferStatus::Success);
  ASSERT_EQ(first.data.size(), 1024u);
  InResult second = readIn(*rig.device, BulkIn, 4096);
  ASSERT_EQ(second.data.size(), 276u);
  Bytes joined = first.data;
  joined.insert(joined.end(), second.data.begin(), second.data.end());
  EXPECT_EQ(joined, message);

  // A buffer that is not a multiple of the packet size: babble, the message is lost.
  rig.fn->pushIn(BulkIn, makeFrame(1300));
  InResult overrun = readIn(*rig.device, BulkIn, 1000);
  EXPECT_EQ(overrun.status, TransferStatus::Overrun);
  EXPECT_EQ(overrun.data.size(), 1000u);
  EXPECT_EQ(rig.device->counters().inOverruns, 1u);
  rig.fn->pushIn(BulkIn, makeFrame(60));
  EXPECT_EQ(readIn(*rig.device, BulkIn, 4096).data.size(), 60u) << "next message intact";
}

TEST(Transfers, ZeroLengthPacketRules) {
  Rig rig;
  rig.start();
  // 1024 bytes with ZLP into a bigger buffer: the ZLP ends the transfer.
  rig.fn->pushIn(BulkIn, makeFrame(1024), true);
  EXPECT_EQ(readIn(*rig.device, BulkIn, 4096).data.size(), 1024u);
  // Exactly filling the buffer: the owed ZLP arrives as the next, empty, transfer.
  rig.fn->pushIn(BulkIn, makeFrame(1024), true);
  EXPECT_EQ(readIn(*rig.device, BulkIn, 1024).data.size(), 1024u);
  InResult zlp = readIn(*rig.device, BulkIn, 1024);
  ASSERT_TRUE(zlp.completed);
  EXPECT_EQ(zlp.data.size(), 0u);
  // Without a ZLP, a message ending on a packet boundary does not end the transfer: the next
  // message continues it.
  rig.fn->pushIn(BulkIn, makeFrame(512), false);
  PendingTransfer t(BulkIn, Bytes(4096));
  rig.device->submit(t.transfer);
  EXPECT_FALSE(t.wait(50ms));
  rig.fn->pushIn(BulkIn, makeFrame(100), true);
  ASSERT_TRUE(t.wait());
  EXPECT_EQ(t.transfer.actualLength, 612u);
}

TEST(Transfers, InactiveEndpointsDoNotRespond) {
  Rig rig;
  EXPECT_EQ(readIn(*rig.device, BulkIn, 512).status, TransferStatus::NoResponse) << "unconfigured";
  ASSERT_TRUE(setConfiguration(*rig.device, 1));
  EXPECT_EQ(writeOut(*rig.device, BulkOut, makeFrame(60)), TransferStatus::NoResponse)
      << "alternate setting 0 has no endpoints";
  EXPECT_EQ(readIn(*rig.device, 0x8F, 512).status, TransferStatus::NoResponse) << "no such endpoint";
}

TEST(Transfers, HaltedEndpointStallsUntilClearFeature) {
  Rig rig;
  rig.start();
  PendingTransfer pending(BulkIn, Bytes(512));
  rig.device->submit(pending.transfer);
  ASSERT_TRUE(controlNoData(*rig.device, 0x02, standard_request::SetFeature,
                            feature_selector::EndpointHalt, BulkIn).succeeded());
  ASSERT_TRUE(pending.wait());
  EXPECT_EQ(pending.transfer.status, TransferStatus::Stall);
  EXPECT_EQ(readIn(*rig.device, BulkIn, 512).status, TransferStatus::Stall);
  ASSERT_TRUE(controlNoData(*rig.device, 0x02, standard_request::ClearFeature,
                            feature_selector::EndpointHalt, BulkIn).succeeded());
  rig.fn->pushIn(BulkIn, makeFrame(64 + 7));
  InResult r = readIn(*rig.device, BulkIn, 512);
  EXPECT_EQ(r.status, TransferStatus::Success);
  EXPECT_EQ(r.data.size(), 71u);
}

TEST(Transfers, CancelAndAbort) {
  Rig rig;
  rig.start();
  PendingTransfer a(BulkIn, Bytes(512)), b(BulkIn, Bytes(512)), c(BulkIn, Bytes(512));
  rig.device->submit(a.transfer);
  rig.device->submit(b.transfer);
  rig.device->submit(c.transfer);
  EXPECT_TRUE(rig.device->cancel(b.transfer));
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(b.transfer.status, TransferStatus::Cancelled);
  EXPECT_FALSE(rig.device->cancel(b.transfer)) << "already completed";
  rig.device->abortEndpoint(BulkIn);
  ASSERT_TRUE(a.wait());
  ASSERT_TRUE(c.wait());
  EXPECT_EQ(a.transfer.status, TransferStatus::Cancelled);
  EXPECT_EQ(c.transfer.status, TransferStatus::Cancelled);
  // Completions never run on the submitting thread.
  EXPECT_NE(a.completedOn, std::this_thread::get_id());
}

TEST(Transfers, SetInterfaceCancelsPendingTransfers) {
  Rig rig;
  rig.start();
  PendingTransfer t(BulkIn, Bytes(512));
  rig.device->submit(t.transfer);
  ASSERT_TRUE(setInterface(*rig.device, 0, 0));
  ASSERT_TRUE(t.wait());
  EXPECT_EQ(t.transfer.status, TransferStatus::Cancelled);
}

TEST(Transfers, DisconnectCompletesEverythingWithDeviceGone) {
  Rig rig;
  rig.start();
  std::atomic<int> disconnectCalls{0};
  rig.device->setDisconnectHandler([&] { ++disconnectCalls; });
  PendingTransfer in(BulkIn, Bytes(512)), notify(InterruptIn, Bytes(16));
  rig.device->submit(in.transfer);
  rig.device->submit(notify.transfer);
  rig.device->disconnect();
  ASSERT_TRUE(in.wait());
  ASSERT_TRUE(notify.wait());
  EXPECT_EQ(in.transfer.status, TransferStatus::DeviceGone);
  EXPECT_EQ(notify.transfer.status, TransferStatus::DeviceGone);
  EXPECT_FALSE(rig.device->isConnected());
  EXPECT_EQ(readIn(*rig.device, BulkIn, 512).status, TransferStatus::DeviceGone);
  Bytes buffer(18);
  EXPECT_EQ(control(*rig.device, 0x80, standard_request::GetDescriptor, 0x0100, 0, buffer).status,
            TransferStatus::DeviceGone);
  EXPECT_TRUE(eventually([&] { return disconnectCalls.load() == 1; }));
  rig.device->disconnect();
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(disconnectCalls.load(), 1);
  std::lock_guard lock(rig.fn->mutex);
  EXPECT_EQ(rig.fn->configurations.back(), 0) << "the function saw the device go away";
}

TEST(Transfers, ResetPortReturnsToDefaultState) {
  Rig rig;
  rig.start();
  PendingTransfer t(BulkIn, Bytes(512));
  rig.device->submit(t.transfer);
  rig.device->resetPort();
  ASSERT_TRUE(t.wait());
  EXPECT_EQ(t.transfer.status, TransferStatus::Cancelled);
  EXPECT_EQ(rig.device->configurationValue(), 0);
  EXPECT_EQ(rig.device->address(), 0);
  EXPECT_EQ(readIn(*rig.device, BulkIn, 512).status, TransferStatus::NoResponse);
  rig.start();  // enumerates again
  rig.fn->pushIn(BulkIn, makeFrame(60));
  EXPECT_EQ(readIn(*rig.device, BulkIn, 512).data.size(), 60u);
}

namespace {

// Re-posts itself from its own completion callback, as a driver's receive path does.
struct Reposter {
  UsbDevice* device = nullptr;
  Transfer transfer;
  Bytes buffer = Bytes(512);
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::size_t> lengths;
  int remaining = 0;

  static void complete(Transfer& t, void* context) {
    auto* self = static_cast<Reposter*>(context);
    bool again;
    {
      std::lock_guard lock(self->mutex);
      self->lengths.push_back(t.status == TransferStatus::Success ? t.actualLength : 99999);
      again = --self->remaining > 0;
      self->cv.notify_all();
    }
    // Re-entrant: inside the completion, on the device thread.
    if (again) self->device->submit(t);
  }
};

}  // namespace

TEST(Transfers, SubmitFromInsideTheCompletionCallback) {
  Rig rig;
  rig.start();
  Reposter r;
  r.device = rig.device.get();
  r.remaining = 20;
  r.transfer.endpoint = BulkIn;
  r.transfer.buffer = r.buffer;
  r.transfer.completion = &Reposter::complete;
  r.transfer.context = &r;
  rig.device->submit(r.transfer);
  for (int i = 0; i < 20; ++i) rig.fn->pushIn(BulkIn, makeFrame(60 + static_cast<std::size_t>(i)));
  std::unique_lock lock(r.mutex);
  ASSERT_TRUE(r.cv.wait_for(lock, 3s, [&] { return r.lengths.size() == 20; }));
  for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(r.lengths[i], 60 + i);
}

TEST(Transfers, ControlTransferFromInsideACompletionCallback) {
  Rig rig;
  rig.start();
  struct Context {
    UsbDevice* device;
    ControlResult result;
    std::atomic<bool> done{false};
  } ctx{rig.device.get(), {}, {}};
  Transfer t;
  Bytes buffer(512);
  t.endpoint = BulkIn;
  t.buffer = buffer;
  t.context = &ctx;
  t.completion = [](Transfer&, void* c) {
    auto* context = static_cast<Context*>(c);
    Bytes data(2);
    SetupPacket setup{0x80, standard_request::GetStatus, 0, 0, 2};
    context->result = context->device->controlTransfer(setup, data);
    context->done = true;
  };
  rig.device->submit(t);
  rig.fn->pushIn(BulkIn, makeFrame(60));
  ASSERT_TRUE(eventually([&] { return ctx.done.load(); }));
  EXPECT_TRUE(ctx.result.succeeded());
}

TEST(Transfers, SubmittingAPendingTransferIsACallerBug) {
  Rig rig;
  rig.start();
  PendingTransfer t(BulkIn, Bytes(512));
  rig.device->submit(t.transfer);
  EXPECT_THROW(rig.device->submit(t.transfer), std::logic_error);
  rig.device->cancel(t.transfer);
  ASSERT_TRUE(t.wait());
}

TEST(Transfers, DestroyingTheDeviceCompletesPendingTransfers) {
  Rig rig;
  rig.start();
  PendingTransfer t(BulkIn, Bytes(512));
  rig.device->submit(t.transfer);
  rig.device.reset();
  ASSERT_TRUE(t.isDone());
  EXPECT_EQ(t.transfer.status, TransferStatus::DeviceGone);
}

// ---- pure descriptor helpers ---------------------------------------------------------------------

TEST(Descriptors, StringsAreUtf16LittleEndian) {
  Bytes d = buildStringDescriptor(utf8ToUtf16("Aé€😀"));
  ASSERT_EQ(d.size(), 2u + 2u * 5u);  // the emoji is a surrogate pair
  EXPECT_EQ(readU8(d, 0), d.size());
  EXPECT_EQ(readU8(d, 1), descriptor_type::String);
  EXPECT_EQ(readLe16(d, 2), 0x0041);
  EXPECT_EQ(readLe16(d, 4), 0x00E9);
  EXPECT_EQ(readLe16(d, 6), 0x20AC);
  EXPECT_EQ(readLe16(d, 8), 0xD83D);
  EXPECT_EQ(readLe16(d, 10), 0xDE00);
  EXPECT_EQ(utf8ToUtf16("\xFF" "a"), u"\uFFFDa");
  EXPECT_EQ(buildStringDescriptor(std::u16string(300, u'x')).size(), 254u);
}

TEST(Descriptors, InterruptIntervalEncodings) {
  EXPECT_EQ(EndpointSpec::interrupt(0x81, 16, 1).intervalHigh, 4);    // 8 microframes
  EXPECT_EQ(EndpointSpec::interrupt(0x81, 16, 32).intervalHigh, 9);   // 256 microframes
  EXPECT_EQ(EndpointSpec::interrupt(0x81, 16, 32).intervalFull, 32);
  EXPECT_EQ(EndpointSpec::interrupt(0x81, 128, 1).maxPacketFull, 64);
}

TEST(Descriptors, ParserRejectsInconsistentConfigurations) {
  FunctionLayout layout;
  AlternateSettingSpec alt;
  alt.endpoints = {EndpointSpec::bulk(0x81)};
  layout.interfaces.push_back({0, {alt}});
  Bytes good = buildConfigurationDescriptor(DeviceIdentity{}, layout, Speed::High);
  ASSERT_EQ(parseConfigurationDescriptor(good).error, DescriptorError::None);
  EXPECT_EQ(parseConfigurationDescriptor(Bytes(good.begin(), good.begin() + 5)).error,
            DescriptorError::TooShort);
  Bytes b = good;
  writeLe16(b, 2, static_cast<std::uint16_t>(b.size() + 1));
  EXPECT_EQ(parseConfigurationDescriptor(b).error, DescriptorError::TotalLengthMismatch);
  b = good;
  b[9 + 4] = std::byte{2};  // bNumEndpoints
  EXPECT_EQ(parseConfigurationDescriptor(b).error, DescriptorError::EndpointCountMismatch);
  b = good;
  b[4] = std::byte{2};  // bNumInterfaces
  EXPECT_EQ(parseConfigurationDescriptor(b).error, DescriptorError::InterfaceCountMismatch);
  b = good;
  b[9] = std::byte{0};  // bLength 0 would loop forever in a naive walker
  EXPECT_EQ(parseConfigurationDescriptor(b).error, DescriptorError::BadLength);
  b = good;
  b[9] = std::byte{60};
  EXPECT_EQ(parseConfigurationDescriptor(b).error, DescriptorError::BadLength);
  b = good;
  b[1] = std::byte{descriptor_type::Device};
  EXPECT_EQ(parseConfigurationDescriptor(b).error, DescriptorError::NotConfiguration);
}
