// The bus driver's usbmon capture, checked with tshark: CDC-NCM traffic must dissect as NTBs
// with the right datagram count, RNDIS control traffic as CDC encapsulated commands and
// responses carrying the RNDIS message types, and every URB as a submit/complete pair.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>

#include "bus_test_support.hpp"
#include "link/pcap_writer.hpp"

namespace usbbus_test {
namespace {

using ndishost::usb::device::test::HostMac;
using ndishost::usb::device::test::makeFrame;

bool tsharkInstalled() { return std::system("tshark -v > /dev/null 2>&1") == 0; }

std::vector<std::string> tsharkLines(const std::filesystem::path& capture, const std::string& arguments) {
  std::string command = "tshark -n -r '" + capture.string() + "' " + arguments + " 2>/dev/null";
  std::vector<std::string> lines;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return lines;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
    std::string line(buffer);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    lines.push_back(line);
  }
  pclose(pipe);
  return lines;
}

class TempCapture {
 public:
  explicit TempCapture(const char* name)
      : path_(std::filesystem::temp_directory_path() /
              (std::string("usbbus-") + name + "-" + std::to_string(::getpid()) + ".pcap")) {}
  ~TempCapture() {
    std::error_code ignored;
    if (!::testing::Test::HasFailure()) std::filesystem::remove(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

ndishost::usb::bus::UsbBusOptions captureTo(const std::filesystem::path& path) {
  ndishost::usb::bus::UsbBusOptions options;
  options.capturePath = path;
  return options;
}

TEST(UsbmonCapture, NcmTrafficDissectsAsNtbsWithEveryDatagram) {
  if (!tsharkInstalled()) GTEST_SKIP() << "tshark is not installed";
  TempCapture file("ncm");
  std::uint64_t records = 0;
  {
    BusFixture fx(Function::Ncm, captureTo(file.path()));
    fx.getDescriptor(USB_DEVICE_DESCRIPTOR_TYPE, 0, 18);
    auto pipes = fx.configure();
    // Host to device: three NTBs with 2, 3 and 1 datagrams.
    std::uint16_t sequence = 0;
    for (std::size_t count : {2u, 3u, 1u}) {
      std::vector<Bytes> datagrams;
      for (std::size_t i = 0; i < count; ++i) datagrams.push_back(makeFrame(64 + 10 * i, HostMac, static_cast<unsigned>(i)));
      Bytes ntb = buildNtb16(datagrams, sequence++);
      URB urb;
      BusFixture::buildBulk(urb, pipes.bulkOut, false, ntb.data(), nullptr, static_cast<ULONG>(ntb.size()));
      ASSERT_EQ(fx.client().submit(urb), STATUS_SUCCESS);
    }
    ASSERT_TRUE(fx.network().waitForSent(6));
    // Device to host: one frame in one NTB.
    AsyncUrb read;
    read.buffer.resize(16384);
    BusFixture::buildBulk(read.urb, pipes.bulkIn, true, read.buffer.data(), nullptr, 16384, USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(read);
    ASSERT_TRUE(fx.network().deliver(makeFrame(90, HostMac, 7)));
    ASSERT_TRUE(read.wait());
    EXPECT_EQ(read.status, STATUS_SUCCESS);
    fx.client().reap(read);
    records = fx.bus().capture()->recordsWritten();
  }
  ASSERT_GT(records, 0u);

  // Every URB appears as a submit ('S') and a completion ('C').
  std::map<std::string, int> types;
  for (const auto& line : tsharkLines(file.path(), "-T fields -e usb.urb_type")) ++types[line];
  EXPECT_EQ(types["'S'"], types["'C'"]) << "submits vs completions";
  EXPECT_EQ(static_cast<std::uint64_t>(types["'S'"] + types["'C'"]), records);

  // The NTBs: 4 blocks, 2 + 3 + 1 datagrams out, 1 in.
  auto counts = tsharkLines(file.path(), "-Y mbim.bulk -T fields -e usb.endpoint_address.direction -e mbim.bulk.total_nb_datagrams");
  ASSERT_EQ(counts.size(), 4u) << "NTBs dissected";
  int out = 0, in = 0;
  for (const auto& line : counts) {
    std::istringstream fields(line);
    int direction = -1, datagrams = 0;
    fields >> direction >> datagrams;
    (direction == 1 ? in : out) += datagrams;
  }
  EXPECT_EQ(out, 6);
  EXPECT_EQ(in, 1);
  auto signatures = tsharkLines(file.path(), "-Y mbim.bulk -T fields -e mbim.bulk.nth.signature");
  for (const auto& s : signatures) EXPECT_EQ(s, "NCMH");
}

TEST(UsbmonCapture, RndisControlAndDataDissect) {
  if (!tsharkInstalled()) GTEST_SKIP() << "tshark is not installed";
  TempCapture file("rndis");
  {
    BusFixture fx(Function::Rndis, captureTo(file.path()), ndishost::usb::device::RndisInterfaceClass::CdcAbstractVendor);
    fx.getDescriptor(USB_DEVICE_DESCRIPTOR_TYPE, 0, 18);
    auto pipes = fx.configure();
    auto put32 = [](Bytes& b, std::size_t at, std::uint32_t v) {
      for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFF);
    };
    // REMOTE_NDIS_INITIALIZE_MSG, then its REMOTE_NDIS_INITIALIZE_CMPLT.
    Bytes initialize(24);
    put32(initialize, 0, 0x00000002);
    put32(initialize, 4, 24);
    put32(initialize, 8, 1);
    put32(initialize, 12, 1);
    put32(initialize, 16, 0);
    put32(initialize, 20, 16384);
    USBD_STATUS usbd = 0;
    ASSERT_EQ(fx.classInterface(false, 0x00, 0, 0, initialize.data(), 24, nullptr, &usbd), STATUS_SUCCESS);
    Bytes response(1025);
    ULONG got = 0;
    // The response is announced on the interrupt pipe first.
    AsyncUrb notification;
    notification.buffer.resize(8);
    BusFixture::buildBulk(notification.urb, pipes.interruptIn, true, notification.buffer.data(), nullptr, 8,
                          USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(notification);
    ASSERT_TRUE(notification.wait());
    fx.client().reap(notification);
    ASSERT_EQ(fx.classInterface(true, 0x01, 0, 0, response.data(), 1025, &got, &usbd), STATUS_SUCCESS);
    ASSERT_GE(got, 16u);
    EXPECT_EQ(std::to_integer<int>(response[3]), 0x80);  // 0x80000002

    // REMOTE_NDIS_SET_MSG(OID_GEN_CURRENT_PACKET_FILTER): the data path opens.
    Bytes set(32);
    put32(set, 0, 0x00000005);
    put32(set, 4, 32);
    put32(set, 8, 2);
    put32(set, 12, 0x0001010E);
    put32(set, 16, 4);
    put32(set, 20, 20);
    put32(set, 24, 0);
    put32(set, 28, 0x0000000B);  // directed | multicast | broadcast
    ASSERT_EQ(fx.classInterface(false, 0x00, 0, 0, set.data(), 32, nullptr, &usbd), STATUS_SUCCESS);
    AsyncUrb again;
    again.buffer.resize(8);
    BusFixture::buildBulk(again.urb, pipes.interruptIn, true, again.buffer.data(), nullptr, 8, USBD_SHORT_TRANSFER_OK);
    fx.client().submitAsync(again);
    ASSERT_TRUE(again.wait());
    fx.client().reap(again);
    ASSERT_EQ(fx.classInterface(true, 0x01, 0, 0, response.data(), 1025, &got, &usbd), STATUS_SUCCESS);
    EXPECT_EQ(std::to_integer<int>(response[0]), 0x05);  // REMOTE_NDIS_SET_CMPLT 0x80000005
    EXPECT_EQ(std::to_integer<int>(response[12]), 0);    // Status: RNDIS_STATUS_SUCCESS

    // One REMOTE_NDIS_PACKET_MSG on bulk OUT.
    Bytes frame = makeFrame(100, HostMac, 3);
    Bytes packet(44 + frame.size());
    put32(packet, 0, 0x00000001);
    put32(packet, 4, static_cast<std::uint32_t>(packet.size()));
    put32(packet, 8, 36);  // DataOffset from byte 8
    put32(packet, 12, static_cast<std::uint32_t>(frame.size()));
    std::memcpy(packet.data() + 44, frame.data(), frame.size());
    URB urb;
    BusFixture::buildBulk(urb, pipes.bulkOut, false, packet.data(), nullptr, static_cast<ULONG>(packet.size()));
    ASSERT_EQ(fx.client().submit(urb), STATUS_SUCCESS);
    ASSERT_TRUE(fx.network().waitForSent(1));
  }
  // Class requests on the CDC interface: SEND_ENCAPSULATED_COMMAND (0) and
  // GET_ENCAPSULATED_RESPONSE (1).
  auto requests = tsharkLines(file.path(), "-Y \"usbcom.control.request_code\" -T fields -e usbcom.control.request_code");
  std::map<std::string, int> codes;
  for (const auto& r : requests) ++codes[r];
  EXPECT_GE(codes["0x00"] + codes["0"], 1) << "SEND_ENCAPSULATED_COMMAND";
  EXPECT_GE(codes["0x01"] + codes["1"], 1) << "GET_ENCAPSULATED_RESPONSE";
  // The RNDIS message types in the captured data: INITIALIZE_MSG out, INITIALIZE_CMPLT in,
  // PACKET_MSG on bulk OUT.
  auto data = tsharkLines(file.path(), "-T fields -e usb.capdata -e usbcom.control.payload -e usb.data_fragment");
  bool initializeMsg = false, initializeCmplt = false, packetMsg = false;
  for (const auto& line : data) {
    std::string hex;
    for (char c : line) {
      if (std::isxdigit(static_cast<unsigned char>(c))) hex.push_back(static_cast<char>(std::tolower(c)));
    }
    if (hex.rfind("0200000018000000", 0) == 0) initializeMsg = true;
    if (hex.rfind("02000080", 0) == 0) initializeCmplt = true;
    if (hex.rfind("01000000", 0) == 0 && hex.size() >= 2 * 144) packetMsg = true;
  }
  EXPECT_TRUE(initializeMsg) << "REMOTE_NDIS_INITIALIZE_MSG";
  EXPECT_TRUE(initializeCmplt) << "REMOTE_NDIS_INITIALIZE_CMPLT";
  EXPECT_TRUE(packetMsg) << "REMOTE_NDIS_PACKET_MSG";
}

}  // namespace
}  // namespace usbbus_test
