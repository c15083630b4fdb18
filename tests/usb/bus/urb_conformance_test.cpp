// URB conformance of the USB bus driver, per emulated function: PnP IDs, descriptor reads,
// select configuration/interface, transfers with buffers and MDLs (chained too), short
// packets, stall and reset pipe, abort pipe with pending transfers, cancel, unplug with
// transfers in flight, port IOCTLs and malformed URBs -- driven by a tiny WDM client.
#include <algorithm>
#include <atomic>
#include <fmt/format.h>

#include <set>

#include "bus_test_support.hpp"

namespace usbbus_test {
namespace {

using ndishost::usb::device::test::HostMac;
using ndishost::usb::device::test::makeFrame;

class UrbConformance : public ::testing::TestWithParam<Function> {
 protected:
  BusFixture fx{GetParam()};
};

std::vector<std::string> multiSz(PWCHAR buffer) {
  std::vector<std::string> out;
  for (PWCHAR p = buffer; *p != 0;) {
    std::string s;
    while (*p != 0) s.push_back(static_cast<char>(*p++));
    ++p;
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> queryIds(PDEVICE_OBJECT pdo, BUS_QUERY_ID_TYPE type) {
  ULONG_PTR information = 0;
  NTSTATUS status = ndishost::nt::sendIrpSynchronously(
      pdo, IRP_MJ_PNP, IRP_MN_QUERY_ID, [type](PIO_STACK_LOCATION s) { s->Parameters.QueryId.IdType = type; },
      &information);
  EXPECT_EQ(status, STATUS_SUCCESS);
  auto* buffer = reinterpret_cast<PWCHAR>(information);
  if (buffer == nullptr) return {};
  // DeviceID and InstanceID are one string (REG_SZ); the ID lists are REG_MULTI_SZ.
  std::vector<std::string> ids;
  if (type == BusQueryDeviceID || type == BusQueryInstanceID) {
    std::string s;
    for (PWCHAR p = buffer; *p != 0; ++p) s.push_back(static_cast<char>(*p));
    ids.push_back(s);
  } else {
    ids = multiSz(buffer);
  }
  ExFreePool(buffer);
  return ids;
}

TEST_P(UrbConformance, PdoReportsDocumentedHardwareAndCompatibleIds) {
  PDEVICE_OBJECT pdo = fx.bus().devicePdo(fx.portNumber());
  ASSERT_NE(pdo, nullptr);
  unsigned pid = 0x0100 + static_cast<unsigned>(GetParam());
  std::string base = fmt::format("USB\\VID_1209&PID_{:04X}", pid);
  EXPECT_EQ(queryIds(pdo, BusQueryDeviceID), std::vector<std::string>{base});
  EXPECT_EQ(queryIds(pdo, BusQueryHardwareIDs), (std::vector<std::string>{base + "&REV_0100", base}));
  auto compatible = queryIds(pdo, BusQueryCompatibleIDs);
  ASSERT_EQ(compatible.size(), 3u);
  // NCM and ECM declare CDC (02/00/00) in the device descriptor, which decides; RNDIS
  // defers to its interfaces through an IAD (EF/02/01), so the first interface decides.
  const char* expected = GetParam() == Function::Rndis ? "USB\\Class_E0&SubClass_01&Prot_03"
                                                       : "USB\\Class_02&SubClass_00&Prot_00";
  EXPECT_EQ(compatible[0], expected);
  EXPECT_EQ(compatible[1], compatible[0].substr(0, compatible[0].find("&Prot")));
  EXPECT_EQ(compatible[2], compatible[0].substr(0, compatible[0].find("&SubClass")));
  EXPECT_EQ(queryIds(pdo, BusQueryInstanceID), std::vector<std::string>{"0001"});  // the serial number

  DEVICE_CAPABILITIES caps{};
  caps.Size = sizeof caps;
  caps.Version = 1;
  caps.Address = caps.UINumber = 0xFFFFFFFF;
  NTSTATUS status = ndishost::nt::sendIrpSynchronously(
      pdo, IRP_MJ_PNP, IRP_MN_QUERY_CAPABILITIES,
      [&](PIO_STACK_LOCATION s) { s->Parameters.DeviceCapabilities.Capabilities = &caps; }, nullptr);
  EXPECT_EQ(status, STATUS_SUCCESS);
  EXPECT_TRUE(caps.Removable);
  EXPECT_TRUE(caps.UniqueID);
  EXPECT_EQ(caps.Address, fx.portNumber());
  EXPECT_EQ(caps.DeviceState[PowerSystemWorking], PowerDeviceD0);

  ULONG_PTR text = 0;
  status = ndishost::nt::sendIrpSynchronously(
      pdo, IRP_MJ_PNP, IRP_MN_QUERY_DEVICE_TEXT,
      [](PIO_STACK_LOCATION s) { s->Parameters.QueryDeviceText.DeviceTextType = DeviceTextLocationInformation; },
      &text);
  ASSERT_EQ(status, STATUS_SUCCESS);
  std::string location;
  for (auto* p = reinterpret_cast<PWCHAR>(text); *p != 0; ++p) location.push_back(static_cast<char>(*p));
  EXPECT_EQ(location, "Port_#0001.Hub_#0001");
  ExFreePool(reinterpret_cast<PVOID>(text));
}

TEST_P(UrbConformance, DescriptorReadsWithBufferAndMdlCompleteAtDispatchLevel) {
  USBD_STATUS usbd = 0;
  Bytes device = fx.getDescriptor(USB_DEVICE_DESCRIPTOR_TYPE, 0, 18, &usbd);
  EXPECT_EQ(usbd, USBD_STATUS_SUCCESS);
  ASSERT_EQ(device.size(), 18u);
  EXPECT_EQ(std::to_integer<int>(device[1]), USB_DEVICE_DESCRIPTOR_TYPE);

  // Longer buffer than the descriptor: a short control transfer, length reported back.
  Bytes longer = fx.getDescriptor(USB_DEVICE_DESCRIPTOR_TYPE, 0, 64, &usbd);
  EXPECT_EQ(usbd, USBD_STATUS_SUCCESS);
  EXPECT_EQ(longer.size(), 18u);

  PoolMdl mdl(255);
  AsyncUrb request;
  request.urb.UrbHeader.Length = sizeof(_URB_CONTROL_DESCRIPTOR_REQUEST);
  request.urb.UrbHeader.Function = URB_FUNCTION_GET_DESCRIPTOR_FROM_DEVICE;
  request.urb.UrbControlDescriptorRequest.TransferBufferMDL = mdl.mdl();
  request.urb.UrbControlDescriptorRequest.TransferBufferLength = 255;
  request.urb.UrbControlDescriptorRequest.DescriptorType = USB_CONFIGURATION_DESCRIPTOR_TYPE;
  fx.client().submitAsync(request);
  ASSERT_TRUE(request.wait());
  EXPECT_EQ(request.status, STATUS_SUCCESS);
  EXPECT_EQ(request.completionIrql, DISPATCH_LEVEL);
  ULONG length = request.urb.UrbControlDescriptorRequest.TransferBufferLength;
  EXPECT_GT(length, 9u);
  EXPECT_EQ(std::to_integer<int>(mdl.data()[1]), USB_CONFIGURATION_DESCRIPTOR_TYPE);
  EXPECT_EQ(std::to_integer<unsigned>(mdl.data()[2]) | (std::to_integer<unsigned>(mdl.data()[3]) << 8), length);
  fx.client().reap(request);

  // A string descriptor (the product), and one that does not exist: the device stalls.
  Bytes product = fx.getDescriptor(USB_STRING_DESCRIPTOR_TYPE, device[15] == std::byte{0} ? 1 : std::to_integer<UCHAR>(device[15]), 255, &usbd);
  EXPECT_EQ(usbd, USBD_STATUS_SUCCESS);
  EXPECT_GT(product.size(), 2u);
  fx.getDescriptor(USB_STRING_DESCRIPTOR_TYPE, 200, 255, &usbd);
  EXPECT_EQ(usbd, USBD_STATUS_STALL_PID);
}

TEST_P(UrbConformance, SelectConfigurationFillsPipeInformation) {
  Bytes configuration = fx.configurationDescriptor();
  auto interfaces = parseInterfaces(configuration);
  SelectConfigurationUrb select(configuration);
  ASSERT_EQ(fx.client().submit(*select.urb()), STATUS_SUCCESS);
  EXPECT_EQ(select.urb()->UrbHeader.Status, USBD_STATUS_SUCCESS);
  EXPECT_NE(select.urb()->UrbSelectConfiguration.ConfigurationHandle, nullptr);
  EXPECT_EQ(fx.device().configurationValue(), 1);
  std::set<void*> handles;
  for (std::size_t i = 0; i < select.interfaceCount(); ++i) {
    PUSBD_INTERFACE_INFORMATION info = select.interface(i);
    const InterfaceInfo* expected = nullptr;
    for (const auto& candidate : interfaces) {
      if (candidate.number == info->InterfaceNumber && candidate.alternate == 0) expected = &candidate;
    }
    ASSERT_NE(expected, nullptr);
    EXPECT_EQ(info->Class, expected->cls);
    EXPECT_EQ(info->SubClass, expected->subClass);
    EXPECT_EQ(info->Protocol, expected->protocol);
    EXPECT_NE(info->InterfaceHandle, nullptr);
    ASSERT_EQ(info->NumberOfPipes, expected->endpoints.size());
    for (ULONG p = 0; p < info->NumberOfPipes; ++p) {
      EXPECT_EQ(info->Pipes[p].EndpointAddress, expected->endpoints[p]);
      EXPECT_NE(info->Pipes[p].PipeHandle, nullptr);
      EXPECT_GT(info->Pipes[p].MaximumPacketSize, 0);
      EXPECT_TRUE(handles.insert(info->Pipes[p].PipeHandle).second);
    }
  }
  auto pipes = fx.configure();  // selects again, plus the data alternate setting
  EXPECT_NE(pipes.bulkIn, nullptr);
  EXPECT_NE(pipes.bulkOut, nullptr);

  // Deconfigure: NULL descriptor; the old pipe handles are dead afterwards.
  URB deconfigure{};
  deconfigure.UrbHeader.Length = sizeof(_URB_SELECT_CONFIGURATION);
  deconfigure.UrbHeader.Function = URB_FUNCTION_SELECT_CONFIGURATION;
  EXPECT_EQ(fx.client().submit(deconfigure), STATUS_SUCCESS);
  EXPECT_EQ(fx.device().configurationValue(), 0);
  std::array<std::byte, 64> buffer{};
  URB bulk;
  BusFixture::buildBulk(bulk, pipes.bulkOut, false, buffer.data(), nullptr, 10);
  EXPECT_EQ(fx.client().submit(bulk), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(bulk.UrbHeader.Status, USBD_STATUS_INVALID_PIPE_HANDLE);
}

TEST_P(UrbConformance, MalformedUrbsGetDocumentedErrors) {
  auto pipes = fx.configure();
  std::array<std::byte, 64> buffer{};
  URB urb;

  BusFixture::buildBulk(urb, pipes.bulkOut, false, buffer.data(), nullptr, 10);
  urb.UrbHeader.Length = sizeof(_URB_BULK_OR_INTERRUPT_TRANSFER) - 1;
  EXPECT_EQ(fx.client().submit(urb), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(urb.UrbHeader.Status, USBD_STATUS_INVALID_PARAMETER);

  urb = URB{};
  urb.UrbHeader.Length = sizeof(URB);
  urb.UrbHeader.Function = 0x7F;
  EXPECT_EQ(fx.client().submit(urb), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(urb.UrbHeader.Status, USBD_STATUS_INVALID_URB_FUNCTION);

  urb = URB{};
  urb.UrbHeader.Length = sizeof(_URB_ISOCH_TRANSFER);
  urb.UrbHeader.Function = URB_FUNCTION_ISOCH_TRANSFER;
  EXPECT_EQ(fx.client().submit(urb), STATUS_NOT_SUPPORTED);
  EXPECT_EQ(urb.UrbHeader.Status, USBD_STATUS_NOT_SUPPORTED);

  int notAPipe = 0;
  for (USBD_PIPE_HANDLE bad : {static_cast<USBD_PIPE_HANDLE>(&notAPipe), static_cast<USBD_PIPE_HANDLE>(nullptr),
                               static_cast<USBD_PIPE_HANDLE>(static_cast<char*>(pipes.bulkOut) + 1)}) {
    BusFixture::buildBulk(urb, bad, false, buffer.data(), nullptr, 10);
    EXPECT_EQ(fx.client().submit(urb), STATUS_INVALID_PARAMETER);
    EXPECT_EQ(urb.UrbHeader.Status, USBD_STATUS_INVALID_PIPE_HANDLE);
  }
  urb = URB{};
  urb.UrbHeader.Length = sizeof(_URB_PIPE_REQUEST);
  urb.UrbHeader.Function = URB_FUNCTION_ABORT_PIPE;
  urb.UrbPipeRequest.PipeHandle = &notAPipe;
  EXPECT_EQ(fx.client().submit(urb), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(urb.UrbHeader.Status, USBD_STATUS_INVALID_PIPE_HANDLE);

  // The MDL describes fewer bytes than TransferBufferLength.
  PoolMdl small(16);
  BusFixture::buildBulk(urb, pipes.bulkOut, false, nullptr, small.mdl(), 64);
  EXPECT_EQ(fx.client().submit(urb), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(urb.UrbHeader.Status, USBD_STATUS_INVALID_PARAMETER);
  // Neither buffer nor MDL.
  BusFixture::buildBulk(urb, pipes.bulkOut, false, nullptr, nullptr, 64);
  EXPECT_EQ(fx.client().submit(urb), STATUS_INVALID_PARAMETER);

  // Select configuration whose interface information has no room for the pipes.
  Bytes configuration = fx.configurationDescriptor();
  SelectConfigurationUrb select(configuration);
  bool shrunk = false;
  for (std::size_t i = 0; i < select.interfaceCount(); ++i) {
    PUSBD_INTERFACE_INFORMATION info = select.interface(i);
    if (info->Length > offsetof(USBD_INTERFACE_INFORMATION, Pipes) && !shrunk) {
      // Keep Length consistent with the URB but claim fewer bytes than the pipes need.
      info->Length = static_cast<USHORT>(info->Length - sizeof(USBD_PIPE_INFORMATION));
      select.urb()->UrbHeader.Length = static_cast<USHORT>(select.urb()->UrbHeader.Length - sizeof(USBD_PIPE_INFORMATION));
      shrunk = (i + 1 == select.interfaceCount());
      if (!shrunk) {
        // Only the last interface can shrink without moving the next one.
        info->Length = static_cast<USHORT>(info->Length + sizeof(USBD_PIPE_INFORMATION));
        select.urb()->UrbHeader.Length = static_cast<USHORT>(select.urb()->UrbHeader.Length + sizeof(USBD_PIPE_INFORMATION));
      }
    }
  }
  if (shrunk) {
    EXPECT_EQ(fx.client().submit(*select.urb()), STATUS_BUFFER_TOO_SMALL);
    EXPECT_EQ(select.urb()->UrbHeader.Status, USBD_STATUS_BUFFER_TOO_SMALL);
  }
  // A configuration descriptor the device does not have.
  Bytes wrong = configuration;
  wrong[5] = std::byte{7};
  SelectConfigurationUrb other(wrong);
  EXPECT_EQ(fx.client().submit(*other.urb()), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(other.urb()->UrbHeader.Status, USBD_STATUS_INAVLID_CONFIGURATION_DESCRIPTOR);

  // A NULL URB.
  EXPECT_EQ(fx.client().ioctl(IOCTL_INTERNAL_USB_SUBMIT_URB, nullptr), STATUS_INVALID_PARAMETER);
}

TEST_P(UrbConformance, BulkInPendingTransfersCanBeCancelled) {
  auto pipes = fx.configure();
  constexpr int kRounds = 50;
  for (int round = 0; round < kRounds; ++round) {
    AsyncUrb request;
    request.buffer.resize(16384);
    BusFixture::buildBulk(request.urb, pipes.bulkIn, true, request.buffer.data(), nullptr, 16384,
                          USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(request);
    if (round % 2 == 1) std::this_thread::sleep_for(100us);
    IoCancelIrp(request.irp);
    ASSERT_TRUE(request.wait()) << "round " << round;
    EXPECT_EQ(request.status, STATUS_CANCELLED);
    EXPECT_EQ(request.urb.UrbHeader.Status, USBD_STATUS_CANCELED);
    EXPECT_EQ(request.urb.UrbBulkOrInterruptTransfer.TransferBufferLength, 0u);
    EXPECT_EQ(request.completionIrql, DISPATCH_LEVEL);
    fx.client().reap(request);
  }
}

TEST_P(UrbConformance, AbortPipeCompletesPendingTransfersFirst) {
  auto pipes = fx.configure();
  std::array<AsyncUrb, 4> reads;
  for (auto& read : reads) {
    read.buffer.resize(16384);
    BusFixture::buildBulk(read.urb, pipes.bulkIn, true, read.buffer.data(), nullptr, 16384, USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(read);
  }
  AsyncUrb abort;
  abort.urb.UrbHeader.Length = sizeof(_URB_PIPE_REQUEST);
  abort.urb.UrbHeader.Function = URB_FUNCTION_ABORT_PIPE;
  abort.urb.UrbPipeRequest.PipeHandle = pipes.bulkIn;
  fx.client().submitAsync(abort);
  ASSERT_TRUE(abort.wait());
  EXPECT_EQ(abort.status, STATUS_SUCCESS);
  EXPECT_EQ(abort.urb.UrbHeader.Status, USBD_STATUS_SUCCESS);
  for (auto& read : reads) {
    ASSERT_TRUE(read.wait());
    EXPECT_EQ(read.status, STATUS_CANCELLED);
    EXPECT_EQ(read.urb.UrbHeader.Status, USBD_STATUS_CANCELED);
    EXPECT_LT(read.order.load(), abort.order.load());
    fx.client().reap(read);
  }
  fx.client().reap(abort);

  // Nothing pending: the abort completes at once; the pipe works afterwards.
  URB again{};
  again.UrbHeader.Length = sizeof(_URB_PIPE_REQUEST);
  again.UrbHeader.Function = URB_FUNCTION_ABORT_PIPE;
  again.UrbPipeRequest.PipeHandle = pipes.bulkIn;
  EXPECT_EQ(fx.client().submit(again), STATUS_SUCCESS);
}

TEST_P(UrbConformance, StalledEndpointFailsUntilResetPipeAndClearStall) {
  auto pipes = fx.configure();
  // Halt bulk OUT with SET_FEATURE(ENDPOINT_HALT) through the URB for it.
  std::uint8_t outAddress = 0;
  for (std::uint8_t address = 1; address < 16; ++address) {
    if (fx.device().endpointActive(address)) outAddress = address;
  }
  ASSERT_NE(outAddress, 0);
  URB feature{};
  feature.UrbHeader.Length = sizeof(_URB_CONTROL_FEATURE_REQUEST);
  feature.UrbHeader.Function = URB_FUNCTION_SET_FEATURE_TO_ENDPOINT;
  feature.UrbControlFeatureRequest.FeatureSelector = 0;  // ENDPOINT_HALT
  feature.UrbControlFeatureRequest.Index = outAddress;
  ASSERT_EQ(fx.client().submit(feature), STATUS_SUCCESS);
  ASSERT_TRUE(fx.device().endpointHalted(outAddress));

  std::array<std::byte, 70> payload{};
  URB bulk;
  BusFixture::buildBulk(bulk, pipes.bulkOut, false, payload.data(), nullptr, static_cast<ULONG>(payload.size()));
  EXPECT_EQ(fx.client().submit(bulk), STATUS_UNSUCCESSFUL);
  EXPECT_EQ(bulk.UrbHeader.Status, USBD_STATUS_STALL_PID);
  EXPECT_TRUE(USBD_HALTED(bulk.UrbHeader.Status));

  URB reset{};
  reset.UrbHeader.Length = sizeof(_URB_PIPE_REQUEST);
  reset.UrbHeader.Function = URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL;
  reset.UrbPipeRequest.PipeHandle = pipes.bulkOut;
  EXPECT_EQ(fx.client().submit(reset), STATUS_SUCCESS);
  EXPECT_EQ(reset.UrbHeader.Status, USBD_STATUS_SUCCESS);
  EXPECT_FALSE(fx.device().endpointHalted(outAddress));

  // SYNC_RESET_PIPE alone is host-side; SYNC_CLEAR_STALL alone clears the device's halt.
  reset.UrbHeader.Function = URB_FUNCTION_SYNC_RESET_PIPE;
  EXPECT_EQ(fx.client().submit(reset), STATUS_SUCCESS);
  ASSERT_EQ(fx.client().submit(feature), STATUS_SUCCESS);
  reset.UrbHeader.Function = URB_FUNCTION_SYNC_CLEAR_STALL;
  EXPECT_EQ(fx.client().submit(reset), STATUS_SUCCESS);
  EXPECT_FALSE(fx.device().endpointHalted(outAddress));
}

TEST_P(UrbConformance, UnplugFailsPendingAndNewUrbsWithDeviceGone) {
  auto pipes = fx.configure();
  std::array<AsyncUrb, 3> reads;
  for (auto& read : reads) {
    read.buffer.resize(2048);
    BusFixture::buildBulk(read.urb, pipes.bulkIn, true, read.buffer.data(), nullptr, 2048, USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(read);
  }
  PDEVICE_OBJECT pdo = fx.bus().devicePdo(fx.portNumber());
  fx.bus().detach(fx.portNumber());
  for (auto& read : reads) {
    ASSERT_TRUE(read.wait());
    EXPECT_EQ(read.status, STATUS_DEVICE_NOT_CONNECTED);
    EXPECT_EQ(read.urb.UrbHeader.Status, USBD_STATUS_DEVICE_GONE);
    fx.client().reap(read);
  }
  std::array<std::byte, 64> payload{};
  URB bulk;
  BusFixture::buildBulk(bulk, pipes.bulkOut, false, payload.data(), nullptr, 60);
  EXPECT_EQ(fx.client().submit(bulk), STATUS_DEVICE_NOT_CONNECTED);
  EXPECT_EQ(bulk.UrbHeader.Status, USBD_STATUS_DEVICE_GONE);
  EXPECT_EQ(fx.bus().devicePdo(fx.portNumber()), nullptr);
  EXPECT_TRUE(fx.bus().presentPdos().empty());
  EXPECT_FALSE(fx.bus().portStatus(fx.portNumber()).connected);
  ULONG portStatus = 0xFF;
  EXPECT_EQ(fx.client().ioctl(IOCTL_INTERNAL_USB_GET_PORT_STATUS, &portStatus), STATUS_SUCCESS);
  EXPECT_EQ(portStatus, 0u);

  // The hub's BusRelations no longer lists the PDO.
  ULONG_PTR information = 0;
  NTSTATUS status = ndishost::nt::sendIrpSynchronously(
      fx.bus().rootHub(), IRP_MJ_PNP, IRP_MN_QUERY_DEVICE_RELATIONS,
      [](PIO_STACK_LOCATION s) { s->Parameters.QueryDeviceRelations.Type = BusRelations; }, &information);
  ASSERT_EQ(status, STATUS_SUCCESS);
  auto* relations = reinterpret_cast<PDEVICE_RELATIONS>(information);
  ASSERT_NE(relations, nullptr);
  EXPECT_EQ(relations->Count, 0u);
  ExFreePool(relations);

  // What the PnP manager does next: surprise removal, the client leaves, removal.
  EXPECT_EQ(ndishost::nt::sendIrpSynchronously(pdo, IRP_MJ_PNP, IRP_MN_SURPRISE_REMOVAL, nullptr, nullptr),
            STATUS_SUCCESS);
  fx.client().detach();
  EXPECT_EQ(ndishost::nt::sendIrpSynchronously(pdo, IRP_MJ_PNP, IRP_MN_REMOVE_DEVICE, nullptr, nullptr),
            STATUS_SUCCESS);
}

INSTANTIATE_TEST_SUITE_P(Functions, UrbConformance, ::testing::Values(Function::Ncm, Function::Ecm, Function::Rndis),
                         [](const auto& info) { return std::string(functionName(info.param)); });

// ---- data transfers on CDC-NCM ------------------------------------------------------------

class NcmTransfers : public ::testing::Test {
 protected:
  BusFixture fx{Function::Ncm};
  BusFixture::Pipes pipes = fx.configure();
};

TEST_F(NcmTransfers, BulkOutWithBufferMdlAndChainedMdlReachTheNetwork) {
  Bytes frame = makeFrame(100, HostMac, 1);
  Bytes ntb = buildNtb16({frame}, 0);
  URB urb;
  BusFixture::buildBulk(urb, pipes.bulkOut, false, ntb.data(), nullptr, static_cast<ULONG>(ntb.size()));
  ASSERT_EQ(fx.client().submit(urb), STATUS_SUCCESS);
  EXPECT_EQ(urb.UrbBulkOrInterruptTransfer.TransferBufferLength, ntb.size());
  ASSERT_TRUE(fx.network().waitForSent(1));
  EXPECT_EQ(fx.network().sent()[0], frame);

  Bytes frame2 = makeFrame(333, HostMac, 2);
  Bytes ntb2 = buildNtb16({frame2}, 1);
  PoolMdl mdl(static_cast<ULONG>(ntb2.size()));
  std::memcpy(mdl.data(), ntb2.data(), ntb2.size());
  BusFixture::buildBulk(urb, pipes.bulkOut, false, nullptr, mdl.mdl(), static_cast<ULONG>(ntb2.size()));
  ASSERT_EQ(fx.client().submit(urb), STATUS_SUCCESS);
  ASSERT_TRUE(fx.network().waitForSent(2));
  EXPECT_EQ(fx.network().sent()[1], frame2);

  // The same NTB over a chain of three MDLs (URB_FUNCTION_..._USING_CHAINED_MDL).
  Bytes frame3 = makeFrame(700, HostMac, 3);
  Bytes ntb3 = buildNtb16({frame3}, 2);
  ULONG a = 40, b = 300, c = static_cast<ULONG>(ntb3.size()) - a - b;
  PoolMdl m1(a), m2(b), m3(c);
  std::memcpy(m1.data(), ntb3.data(), a);
  std::memcpy(m2.data(), ntb3.data() + a, b);
  std::memcpy(m3.data(), ntb3.data() + a + b, c);
  m1.mdl()->Next = m2.mdl();
  m2.mdl()->Next = m3.mdl();
  BusFixture::buildBulk(urb, pipes.bulkOut, false, nullptr, m1.mdl(), static_cast<ULONG>(ntb3.size()));
  urb.UrbHeader.Function = URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER_USING_CHAINED_MDL;
  ASSERT_EQ(fx.client().submit(urb), STATUS_SUCCESS);
  m1.mdl()->Next = nullptr;
  m2.mdl()->Next = nullptr;
  ASSERT_TRUE(fx.network().waitForSent(3));
  EXPECT_EQ(fx.network().sent()[2], frame3);
}

TEST_F(NcmTransfers, BulkInShortTransferDeliversNtbIntoMdlChain) {
  Bytes frame = makeFrame(200, HostMac, 9);
  // Chained MDLs for an IN transfer: the NTB is scattered over them.
  PoolMdl m1(1000), m2(15384);
  m1.mdl()->Next = m2.mdl();
  AsyncUrb read;
  BusFixture::buildBulk(read.urb, pipes.bulkIn, true, nullptr, m1.mdl(), 16384, USBD_SHORT_TRANSFER_OK);
  read.urb.UrbHeader.Function = URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER_USING_CHAINED_MDL;
  fx.client().submitAsync(read);
  ASSERT_TRUE(fx.network().deliver(frame));
  ASSERT_TRUE(read.wait());
  m1.mdl()->Next = nullptr;
  EXPECT_EQ(read.status, STATUS_SUCCESS);
  EXPECT_EQ(read.completionIrql, DISPATCH_LEVEL);
  ULONG length = read.urb.UrbBulkOrInterruptTransfer.TransferBufferLength;
  EXPECT_GT(length, frame.size());
  EXPECT_LT(length, 1000u);  // short: one small NTB
  EXPECT_EQ(std::memcmp(m1.data(), "NCMH", 4), 0);
  fx.client().reap(read);

  // Without USBD_SHORT_TRANSFER_OK the short transfer still succeeds (EHCI/xHCI behaviour).
  AsyncUrb plain;
  plain.buffer.resize(16384);
  BusFixture::buildBulk(plain.urb, pipes.bulkIn, true, plain.buffer.data(), nullptr, 16384);
  fx.client().submitAsync(plain);
  ASSERT_TRUE(fx.network().deliver(makeFrame(60, HostMac, 10)));
  ASSERT_TRUE(plain.wait());
  EXPECT_EQ(plain.status, STATUS_SUCCESS);
  EXPECT_LT(plain.urb.UrbBulkOrInterruptTransfer.TransferBufferLength, 16384u);
  fx.client().reap(plain);
}

TEST_F(NcmTransfers, ClassRequestsFrameNumberAndPortIoctls) {
  // GET_NTB_PARAMETERS (0x80) on the communication interface.
  std::array<std::byte, 28> parameters{};
  ULONG transferred = 0;
  USBD_STATUS usbd = 0;
  EXPECT_EQ(fx.classInterface(true, 0x80, 0, 0, parameters.data(), 28, &transferred, &usbd), STATUS_SUCCESS);
  EXPECT_EQ(usbd, USBD_STATUS_SUCCESS);
  EXPECT_EQ(transferred, 28u);
  EXPECT_EQ(std::to_integer<int>(parameters[0]), 28);
  // An unknown class request stalls the default pipe.
  EXPECT_EQ(fx.classInterface(true, 0x7E, 0, 0, parameters.data(), 4, nullptr, &usbd), STATUS_UNSUCCESSFUL);
  EXPECT_EQ(usbd, USBD_STATUS_STALL_PID);

  URB frame{};
  frame.UrbHeader.Length = sizeof(_URB_GET_CURRENT_FRAME_NUMBER);
  frame.UrbHeader.Function = URB_FUNCTION_GET_CURRENT_FRAME_NUMBER;
  ASSERT_EQ(fx.client().submit(frame), STATUS_SUCCESS);
  ULONG first = frame.UrbGetCurrentFrameNumber.FrameNumber;
  std::this_thread::sleep_for(5ms);
  ASSERT_EQ(fx.client().submit(frame), STATUS_SUCCESS);
  EXPECT_GE(frame.UrbGetCurrentFrameNumber.FrameNumber, first + 4);

  ULONG portStatus = 0;
  EXPECT_EQ(fx.client().ioctl(IOCTL_INTERNAL_USB_GET_PORT_STATUS, &portStatus), STATUS_SUCCESS);
  EXPECT_EQ(portStatus, static_cast<ULONG>(USBD_PORT_CONNECTED | USBD_PORT_ENABLED));

  // A port reset keeps the configuration (and so the pipe handles) working.
  EXPECT_EQ(fx.client().ioctl(IOCTL_INTERNAL_USB_RESET_PORT, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(fx.device().configurationValue(), 1);
  Bytes frameOut = makeFrame(80, HostMac, 4);
  Bytes ntb = buildNtb16({frameOut}, 0);
  URB urb;
  BusFixture::buildBulk(urb, pipes.bulkOut, false, ntb.data(), nullptr, static_cast<ULONG>(ntb.size()));
  EXPECT_EQ(fx.client().submit(urb), STATUS_SUCCESS);
  EXPECT_TRUE(fx.network().waitForSent(1));

  // CYCLE_PORT: the old PDO is gone (its URBs fail), a new PDO takes the port.
  PDEVICE_OBJECT oldPdo = fx.bus().devicePdo(fx.portNumber());
  EXPECT_EQ(fx.client().ioctl(IOCTL_INTERNAL_USB_CYCLE_PORT, nullptr), STATUS_SUCCESS);
  PDEVICE_OBJECT newPdo = fx.bus().devicePdo(fx.portNumber());
  EXPECT_NE(newPdo, nullptr);
  EXPECT_NE(newPdo, oldPdo);
  EXPECT_EQ(fx.client().submit(urb), STATUS_DEVICE_NOT_CONNECTED);
  EXPECT_EQ(urb.UrbHeader.Status, USBD_STATUS_DEVICE_GONE);
}

TEST_F(NcmTransfers, SelectInterfaceTearsDownPendingTransfersAndOldHandles) {
  AsyncUrb read;
  read.buffer.resize(16384);
  BusFixture::buildBulk(read.urb, pipes.bulkIn, true, read.buffer.data(), nullptr, 16384, USBD_SHORT_TRANSFER_OK);
  fx.client().submitAsync(read);
  // Back to alternate setting 0 of the data interface: no endpoints.
  // Storage for the whole URB union (GCC checks member access against it), but the request
  // says it is exactly a select-interface URB with one interface and no pipes.
  std::vector<std::byte> storage(std::max(sizeof(URB), sizeof(_URB_SELECT_INTERFACE)));
  auto* urb = reinterpret_cast<PURB>(storage.data());
  urb->UrbHeader.Length = static_cast<USHORT>(sizeof(_URB_SELECT_INTERFACE));
  urb->UrbHeader.Function = URB_FUNCTION_SELECT_INTERFACE;
  urb->UrbSelectInterface.ConfigurationHandle = pipes.configuration;
  urb->UrbSelectInterface.Interface.Length = static_cast<USHORT>(sizeof(_URB_SELECT_INTERFACE) - offsetof(_URB_SELECT_INTERFACE, Interface));
  urb->UrbSelectInterface.Interface.InterfaceNumber = 1;
  urb->UrbSelectInterface.Interface.AlternateSetting = 0;
  EXPECT_EQ(fx.client().submit(*urb), STATUS_SUCCESS);
  EXPECT_EQ(urb->UrbSelectInterface.Interface.NumberOfPipes, 0u);
  ASSERT_TRUE(read.wait());
  EXPECT_EQ(read.status, STATUS_CANCELLED);
  fx.client().reap(read);
  std::array<std::byte, 16> data{};
  URB bulk;
  BusFixture::buildBulk(bulk, pipes.bulkOut, false, data.data(), nullptr, 16);
  EXPECT_EQ(fx.client().submit(bulk), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(bulk.UrbHeader.Status, USBD_STATUS_INVALID_PIPE_HANDLE);
  // A stale configuration handle.
  int bogus = 0;
  urb->UrbSelectInterface.ConfigurationHandle = &bogus;
  EXPECT_EQ(fx.client().submit(*urb), STATUS_INVALID_PARAMETER);
}

TEST_F(NcmTransfers, ManyReceivesRepostedFromCompletionKeepOrder) {
  constexpr int kFrames = 200;
  std::array<AsyncUrb, 4> reads;
  for (auto& read : reads) {
    read.buffer.resize(16384);
    BusFixture::buildBulk(read.urb, pipes.bulkIn, true, read.buffer.data(), nullptr, 16384, USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(read);
  }
  // The device drops what arrives while its receive queue is full, as hardware does; the
  // sender keeps at most kWindow frames ahead of the host so that none is dropped however
  // slowly this machine (or a sanitizer) runs the reader.
  constexpr int kWindow = 32;
  std::atomic<int> received{0};
  std::thread sender([&] {
    const auto giveUp = std::chrono::steady_clock::now() + 20s;
    for (int i = 0; i < kFrames; ++i) {
      while (i - received.load() >= kWindow && std::chrono::steady_clock::now() < giveUp)
        std::this_thread::sleep_for(100us);
      fx.network().deliver(makeFrame(60 + (i % 50), HostMac, static_cast<unsigned>(i)));
    }
  });
  int datagrams = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  std::size_t next = 0;
  while (datagrams < kFrames && std::chrono::steady_clock::now() < deadline) {
    AsyncUrb& read = reads[next];
    if (!read.wait(100ms)) continue;
    ASSERT_EQ(read.status, STATUS_SUCCESS);
    // Count datagrams in the NTB: NDP16 at wNdpIndex, entries until a zero pair.
    const std::byte* ntb = read.buffer.data();
    auto get16 = [&](std::size_t at) { return std::to_integer<unsigned>(ntb[at]) | (std::to_integer<unsigned>(ntb[at + 1]) << 8); };
    std::size_t ndp = get16(10);
    for (std::size_t entry = ndp + 8; get16(entry) != 0; entry += 4) ++datagrams;
    received.store(datagrams);
    fx.client().reap(read);
    BusFixture::buildBulk(read.urb, pipes.bulkIn, true, read.buffer.data(), nullptr, 16384, USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(read);
    next = (next + 1) % reads.size();
  }
  sender.join();
  EXPECT_EQ(datagrams, kFrames);
  for (auto& read : reads) IoCancelIrp(read.irp);
  for (auto& read : reads) {
    EXPECT_TRUE(read.wait());
    fx.client().reap(read);
  }
}

TEST_F(NcmTransfers, CancelRacingDeviceCompletionCompletesEachUrbOnce) {
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    unsigned seed = 0;
    while (!stop.load()) {
      fx.network().deliver(makeFrame(60, HostMac, seed++));
      std::this_thread::sleep_for(50us);
    }
  });
  int succeeded = 0, cancelled = 0;
  for (int round = 0; round < 200; ++round) {
    AsyncUrb read;
    read.buffer.resize(16384);
    BusFixture::buildBulk(read.urb, pipes.bulkIn, true, read.buffer.data(), nullptr, 16384, USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(read);
    if (round % 3 != 0) std::this_thread::sleep_for(std::chrono::microseconds(round % 7 * 20));
    IoCancelIrp(read.irp);
    ASSERT_TRUE(read.wait()) << "round " << round;
    if (read.status == STATUS_SUCCESS) {
      ++succeeded;
      EXPECT_EQ(read.urb.UrbHeader.Status, USBD_STATUS_SUCCESS);
    } else {
      ++cancelled;
      EXPECT_EQ(read.status, STATUS_CANCELLED);
      EXPECT_EQ(read.urb.UrbHeader.Status, USBD_STATUS_CANCELED);
    }
    fx.client().reap(read);
  }
  stop = true;
  sender.join();
  EXPECT_EQ(succeeded + cancelled, 200);
  EXPECT_GT(cancelled, 0);
}

}  // namespace
}  // namespace usbbus_test
