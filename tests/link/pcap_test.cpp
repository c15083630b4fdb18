#include "link/pcap_writer.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "link/capturing_frame_port.hpp"
#include "link/link_error.hpp"
#include "link/usbmon_event.hpp"
#include "link/wire.hpp"
#include "test_support.hpp"

namespace ndishost::link {
namespace {

using test::makeFrame;
using test::seedOf;

std::uint64_t readLittleEndian(std::span<const std::byte> bytes, std::size_t offset, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value |= std::to_integer<std::uint64_t>(bytes[offset + i]) << (8 * i);
  return value;
}

struct PcapRecord {
  std::uint32_t seconds, fraction, capturedLength, originalLength;
  std::vector<std::byte> data;
};

struct PcapFile {
  std::uint32_t magic = 0, snapshotLength = 0, linkType = 0;
  std::uint16_t major = 0, minor = 0;
  std::vector<PcapRecord> records;
};

PcapFile readPcap(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto bytes = std::as_bytes(std::span(raw));
  PcapFile file;
  if (bytes.size() < 24) return file;
  file.magic = static_cast<std::uint32_t>(readLittleEndian(bytes, 0, 4));
  file.major = static_cast<std::uint16_t>(readLittleEndian(bytes, 4, 2));
  file.minor = static_cast<std::uint16_t>(readLittleEndian(bytes, 6, 2));
  file.snapshotLength = static_cast<std::uint32_t>(readLittleEndian(bytes, 16, 4));
  file.linkType = static_cast<std::uint32_t>(readLittleEndian(bytes, 20, 4));
  std::size_t offset = 24;
  while (offset + 16 <= bytes.size()) {
    PcapRecord record;
    record.seconds = static_cast<std::uint32_t>(readLittleEndian(bytes, offset, 4));
    record.fraction = static_cast<std::uint32_t>(readLittleEndian(bytes, offset + 4, 4));
    record.capturedLength = static_cast<std::uint32_t>(readLittleEndian(bytes, offset + 8, 4));
    record.originalLength = static_cast<std::uint32_t>(readLittleEndian(bytes, offset + 12, 4));
    offset += 16;
    if (offset + record.capturedLength > bytes.size()) break;
    const auto data = bytes.subspan(offset, record.capturedLength);
    record.data.assign(data.begin(), data.end());
    offset += record.capturedLength;
    file.records.push_back(std::move(record));
  }
  return file;
}

class LinkPcap : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    directory_ = std::filesystem::temp_directory_path() /
                 ("ndishost-link-pcap-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(directory_);  // kept for a look when a test fails
  }
  std::filesystem::path file(const std::string& name) const { return directory_ / name; }

  std::filesystem::path directory_;
};

bool haveTshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

// tshark's field output for a capture, one line per packet.
std::vector<std::string> tsharkFields(const std::filesystem::path& path, const std::vector<std::string>& fields,
                                      const std::string& displayFilter = {}) {
  std::string command = "tshark -n -r '" + path.string() + "' -T fields -E separator=/t";
  if (!displayFilter.empty()) command += " -Y '" + displayFilter + "'";
  for (const auto& field : fields) command += " -e " + field;
  command += " 2>/dev/null";
  std::vector<std::string> lines;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return lines;
  std::string output;
  std::array<char, 4096> buffer;
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  ::pclose(pipe);
  std::istringstream stream(output);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

TEST_F(LinkPcap, EthernetFileHasTheClassicLayout) {
  auto writer = PcapWriter::create(file("eth.pcap"), {.linkType = PcapLinkType::Ethernet, .snapshotLength = 128});
  const auto small = makeFrame(60, 1);
  const auto large = makeFrame(1514, 2);
  ASSERT_TRUE(writer->append(small));
  ASSERT_TRUE(writer->append(large));
  EXPECT_EQ(writer->recordsWritten(), 2u);
  writer->close();
  EXPECT_FALSE(writer->append(small));  // closed

  const PcapFile pcap = readPcap(file("eth.pcap"));
  EXPECT_EQ(pcap.magic, 0xa1b2c3d4u);
  EXPECT_EQ(pcap.major, 2);
  EXPECT_EQ(pcap.minor, 4);
  EXPECT_EQ(pcap.snapshotLength, 128u);
  EXPECT_EQ(pcap.linkType, 1u);
  ASSERT_EQ(pcap.records.size(), 2u);
  EXPECT_EQ(pcap.records[0].capturedLength, 60u);
  EXPECT_EQ(pcap.records[0].originalLength, 60u);
  EXPECT_EQ(pcap.records[0].data, small);
  EXPECT_LT(pcap.records[0].fraction, 1000000u);
  // Cut to the snapshot length, original length kept.
  EXPECT_EQ(pcap.records[1].capturedLength, 128u);
  EXPECT_EQ(pcap.records[1].originalLength, 1514u);
  EXPECT_TRUE(std::equal(pcap.records[1].data.begin(), pcap.records[1].data.end(), large.begin()));
  const auto now = static_cast<std::uint32_t>(std::time(nullptr));
  EXPECT_LE(pcap.records[0].seconds, now);
  EXPECT_GE(pcap.records[0].seconds + 60, now);
}

TEST_F(LinkPcap, NanosecondFilesUseTheirMagic) {
  auto writer =
      PcapWriter::create(file("ns.pcap"), {.linkType = PcapLinkType::Ethernet, .precision = PcapTimePrecision::Nanoseconds});
  const auto frame = makeFrame(60, 1);
  const std::span<const std::byte> parts[] = {frame};
  ASSERT_TRUE(writer->append(parts, 60, timespec{1700000000, 123456789}));
  writer->close();
  const PcapFile pcap = readPcap(file("ns.pcap"));
  EXPECT_EQ(pcap.magic, 0xa1b23c4du);
  ASSERT_EQ(pcap.records.size(), 1u);
  EXPECT_EQ(pcap.records[0].seconds, 1700000000u);
  EXPECT_EQ(pcap.records[0].fraction, 123456789u);
}

TEST_F(LinkPcap, ConcurrentAppendsNeverInterleave) {
  auto writer = PcapWriter::create(file("threads.pcap"));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto seed = static_cast<std::uint32_t>(t * 100000 + i);
        writer->append(makeFrame(60 + (seed % 1400), seed));
      }
    });
  for (auto& thread : threads) thread.join();
  writer->flush();
  const PcapFile pcap = readPcap(file("threads.pcap"));
  ASSERT_EQ(pcap.records.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::vector<int> nextPerThread(kThreads, 0);
  for (const auto& record : pcap.records) {
    const std::uint32_t seed = seedOf(record.data);
    ASSERT_EQ(record.data, makeFrame(60 + (seed % 1400), seed));
    const int thread = static_cast<int>(seed / 100000);
    ASSERT_EQ(static_cast<int>(seed % 100000), nextPerThread[thread]++);  // each thread's order kept
  }
}

TEST_F(LinkPcap, CreateErrorsAreClear) {
  try {
    PcapWriter::create(file("missing-dir") / "x.pcap");
    ADD_FAILURE() << "no error";
  } catch (const LinkError& error) {
    EXPECT_NE(std::string(error.what()).find("pcap: cannot create '"), std::string::npos) << error.what();
  }
  EXPECT_THROW(PcapWriter::create(file("u.pcap"), {.linkType = PcapLinkType::UsbLinuxMmapped, .snapshotLength = 32}),
               LinkError);
}

TEST_F(LinkPcap, EthernetCaptureDissectsInTshark) {
  auto writer = PcapWriter::create(file("dissect-eth.pcap"));
  writer->append(makeFrame(60, 1));
  writer->append(makeFrame(1514, 2, 0x0800));
  writer->close();
  if (!haveTshark()) GTEST_SKIP() << "tshark is not installed (Debian package: tshark)";
  const auto lines = tsharkFields(file("dissect-eth.pcap"), {"eth.dst", "eth.src", "eth.type"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "02:00:00:00:00:99\t02:00:00:00:00:01\t0x88b5");
  EXPECT_EQ(lines[1], "02:00:00:00:00:99\t02:00:00:00:00:01\t0x0800");
  EXPECT_TRUE(tsharkFields(file("dissect-eth.pcap"), {"frame.number"}, "_ws.malformed").empty());
}

// A plausible enumeration-and-traffic sequence of a USB NIC.
void writeUsbSequence(PcapWriter& writer) {
  const UsbSetupPacket getDeviceDescriptor = {0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00};
  const UsbmonUrb control = UsbmonEvent::controlUrb({.id = 0xffff880012340000, .bus = 3, .device = 7}, getDeviceDescriptor);
  std::array<std::byte, 18> descriptor{};
  descriptor[0] = std::byte{18};
  descriptor[1] = std::byte{1};
  writer.append(UsbmonEvent::controlSubmit(control, getDeviceDescriptor));
  writer.append(UsbmonEvent::complete(control, usbmon_status::kSuccess, 18, descriptor));

  const UsbmonUrb bulkOut{.id = 0x1000, .bus = 3, .device = 7, .endpoint = 0x02, .type = UsbTransferType::Bulk,
                          .transferFlags = usbmon_flags::kZeroPacket};
  const auto frame = makeFrame(98, 3);
  writer.append(UsbmonEvent::submit(bulkOut, 98, frame));
  writer.append(UsbmonEvent::complete(bulkOut, usbmon_status::kSuccess, 98));

  const UsbmonUrb bulkIn{.id = 0x2000, .bus = 3, .device = 7, .endpoint = 0x81, .type = UsbTransferType::Bulk};
  writer.append(UsbmonEvent::submit(bulkIn, 16384));
  writer.append(UsbmonEvent::complete(bulkIn, usbmon_status::kSuccess, 60, makeFrame(60, 4)));

  const UsbmonUrb interruptIn{.id = 0x3000, .bus = 3, .device = 7, .endpoint = 0x83,
                              .type = UsbTransferType::Interrupt, .interval = 8};
  writer.append(UsbmonEvent::submit(interruptIn, 16));
  writer.append(UsbmonEvent::complete(interruptIn, usbmon_status::kShutdown, 0));
  writer.append(UsbmonEvent::submitError(bulkIn, usbmon_status::kNoDevice));
}

TEST_F(LinkPcap, UsbmonRecordsFollowTheLinuxEncoding) {
  auto writer = PcapWriter::create(file("usb.pcap"), {.linkType = PcapLinkType::UsbLinuxMmapped});
  writeUsbSequence(*writer);
  writer->close();
  const PcapFile pcap = readPcap(file("usb.pcap"));
  EXPECT_EQ(pcap.linkType, 220u);
  ASSERT_EQ(pcap.records.size(), 9u);
  for (const auto& record : pcap.records) {
    ASSERT_GE(record.data.size(), 64u);
    // len_cap says exactly how much data follows the header.
    EXPECT_EQ(readLittleEndian(record.data, 36, 4), record.data.size() - 64);
  }
  auto field = [&](std::size_t record, std::size_t offset, std::size_t size) {
    return readLittleEndian(pcap.records[record].data, offset, size);
  };
  // Control submit: IN direction from bmRequestType, setup present, no data yet.
  EXPECT_EQ(field(0, 0, 8), 0xffff880012340000u);
  EXPECT_EQ(field(0, 8, 1), static_cast<std::uint64_t>('S'));
  EXPECT_EQ(field(0, 9, 1), 2u);     // control
  EXPECT_EQ(field(0, 10, 1), 0x80u);  // endpoint 0 IN
  EXPECT_EQ(field(0, 11, 1), 7u);
  EXPECT_EQ(field(0, 12, 2), 3u);
  EXPECT_EQ(field(0, 14, 1), 0u);                                    // setup present
  EXPECT_EQ(field(0, 15, 1), static_cast<std::uint64_t>('<'));       // IN data not there yet
  EXPECT_EQ(static_cast<std::int32_t>(field(0, 28, 4)), -115);       // -EINPROGRESS
  EXPECT_EQ(field(0, 32, 4), 18u);                                   // wLength
  EXPECT_EQ(field(0, 40, 8), 0x0012000001000680u);                   // setup bytes in order
  EXPECT_EQ(field(0, 56, 4) & usbmon_flags::kDirectionIn, usbmon_flags::kDirectionIn);
  // Control complete: status 0, the descriptor captured, no setup.
  EXPECT_EQ(field(1, 8, 1), static_cast<std::uint64_t>('C'));
  EXPECT_EQ(field(1, 0, 8), 0xffff880012340000u);
  EXPECT_EQ(field(1, 14, 1), static_cast<std::uint64_t>('-'));
  EXPECT_EQ(field(1, 15, 1), 0u);
  EXPECT_EQ(field(1, 28, 4), 0u);
  EXPECT_EQ(field(1, 36, 4), 18u);
  // Bulk OUT submit carries the data; its completion does not ('>').
  EXPECT_EQ(field(2, 10, 1), 0x02u);
  EXPECT_EQ(field(2, 9, 1), 3u);
  EXPECT_EQ(field(2, 36, 4), 98u);
  EXPECT_EQ(field(2, 56, 4), usbmon_flags::kZeroPacket);
  EXPECT_EQ(field(3, 15, 1), static_cast<std::uint64_t>('>'));
  EXPECT_EQ(field(3, 32, 4), 98u);
  EXPECT_EQ(field(3, 36, 4), 0u);
  // Bulk IN: submit has the buffer length but no data; completion has the data.
  EXPECT_EQ(field(4, 32, 4), 16384u);
  EXPECT_EQ(field(4, 36, 4), 0u);
  EXPECT_EQ(field(5, 32, 4), 60u);
  EXPECT_EQ(field(5, 36, 4), 60u);
  EXPECT_TRUE(std::equal(pcap.records[5].data.begin() + 64, pcap.records[5].data.end(), makeFrame(60, 4).begin()));
  // Interrupt: interval recorded; a shutdown status as -ESHUTDOWN.
  EXPECT_EQ(field(6, 9, 1), 1u);
  EXPECT_EQ(field(6, 48, 4), 8u);
  EXPECT_EQ(static_cast<std::int32_t>(field(7, 28, 4)), -108);
  // Error event.
  EXPECT_EQ(field(8, 8, 1), static_cast<std::uint64_t>('E'));
  EXPECT_EQ(field(8, 15, 1), static_cast<std::uint64_t>('E'));
  EXPECT_EQ(static_cast<std::int32_t>(field(8, 28, 4)), -19);
  // Header time matches the record time.
  EXPECT_EQ(field(0, 16, 8), pcap.records[0].seconds);
  EXPECT_EQ(field(0, 24, 4), pcap.records[0].fraction);
}

TEST_F(LinkPcap, UsbmonSnapshotLengthLowersLenCap) {
  auto writer = PcapWriter::create(file("usb-snap.pcap"), {.linkType = PcapLinkType::UsbLinuxMmapped, .snapshotLength = 100});
  const UsbmonUrb bulkOut{.id = 1, .endpoint = 0x02};
  const auto frame = makeFrame(500, 1);
  ASSERT_TRUE(writer->append(UsbmonEvent::submit(bulkOut, 500, frame)));
  writer->close();
  const PcapFile pcap = readPcap(file("usb-snap.pcap"));
  ASSERT_EQ(pcap.records.size(), 1u);
  EXPECT_EQ(pcap.records[0].capturedLength, 100u);
  EXPECT_EQ(pcap.records[0].originalLength, 564u);
  EXPECT_EQ(readLittleEndian(pcap.records[0].data, 32, 4), 500u);  // URB length unchanged
  EXPECT_EQ(readLittleEndian(pcap.records[0].data, 36, 4), 36u);   // only 36 data bytes kept
}

TEST_F(LinkPcap, UsbmonCaptureDissectsInTshark) {
  auto writer = PcapWriter::create(file("dissect-usb.pcap"), {.linkType = PcapLinkType::UsbLinuxMmapped});
  writeUsbSequence(*writer);
  writer->close();
  if (!haveTshark()) GTEST_SKIP() << "tshark is not installed (Debian package: tshark)";
  const auto lines = tsharkFields(file("dissect-usb.pcap"),
                                  {"usb.urb_type", "usb.transfer_type", "usb.endpoint_address", "usb.urb_status",
                                   "usb.bus_id", "usb.device_address", "usb.setup.bRequest"});
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_EQ(lines[0], "'S'\t0x02\t0x80\t-115\t3\t7\t6");
  EXPECT_EQ(lines[1], "'C'\t0x02\t0x80\t0\t3\t7\t");
  EXPECT_EQ(lines[2], "'S'\t0x03\t0x02\t-115\t3\t7\t");
  EXPECT_EQ(lines[3], "'C'\t0x03\t0x02\t0\t3\t7\t");
  EXPECT_EQ(lines[4], "'S'\t0x03\t0x81\t-115\t3\t7\t");
  EXPECT_EQ(lines[5], "'C'\t0x03\t0x81\t0\t3\t7\t");
  EXPECT_EQ(lines[6], "'S'\t0x01\t0x83\t-115\t3\t7\t");
  EXPECT_EQ(lines[7], "'C'\t0x01\t0x83\t-108\t3\t7\t");
  EXPECT_EQ(lines[8], "'E'\t0x03\t0x81\t-19\t3\t7\t");
  // The device descriptor in the control completion is dissected as one.
  const auto descriptor = tsharkFields(file("dissect-usb.pcap"), {"usb.bDescriptorType"});
  EXPECT_EQ(descriptor.at(1), "0x01");
  EXPECT_TRUE(tsharkFields(file("dissect-usb.pcap"), {"frame.number"}, "_ws.malformed || _ws.expert.severity >= warning")
                  .empty());
}

TEST_F(LinkPcap, CapturingPortRecordsBothDirectionsInOrder) {
  auto writer = std::shared_ptr<PcapWriter>(PcapWriter::create(file("port.pcap")));
  test::FrameCollector received;
  auto ends = Wire::create("capture", {.delivery = WireDelivery::Synchronous});
  WirePort* far = ends.b.get();
  far->setReceiveHandler([&](std::span<const std::byte> frame) {
    far->transmit(makeFrame(frame.size(), seedOf(frame) + 1000));  // answers at once
  });
  CapturingFramePort port(std::move(ends.a), writer);
  port.setReceiveHandler(received.handler());
  ASSERT_TRUE(port.transmit(makeFrame(60, 1)));
  ASSERT_TRUE(port.transmit(makeFrame(70, 2)));
  ASSERT_EQ(received.count(), 2u);
  EXPECT_TRUE(port.linkUp());
  EXPECT_NE(port.describe().find("wire:capture[A] (captured to "), std::string::npos);
  writer->close();
  const PcapFile pcap = readPcap(file("port.pcap"));
  ASSERT_EQ(pcap.records.size(), 4u);
  EXPECT_EQ(pcap.records[0].data, makeFrame(60, 1));
  EXPECT_EQ(pcap.records[1].data, makeFrame(60, 1001));
  EXPECT_EQ(pcap.records[2].data, makeFrame(70, 2));
  EXPECT_EQ(pcap.records[3].data, makeFrame(70, 1002));
}

TEST_F(LinkPcap, CapturingPortNeedsAnEthernetWriter) {
  auto usb = std::shared_ptr<PcapWriter>(
      PcapWriter::create(file("wrong.pcap"), {.linkType = PcapLinkType::UsbLinuxMmapped}));
  auto ends = Wire::create("capture-wrong");
  EXPECT_THROW(CapturingFramePort(std::move(ends.a), usb), LinkError);
}

// tshark reads frames cut to the snapshot length with their original length.
TEST_F(LinkPcap, TsharkSeesCutFramesWithTheirOriginalLength) {
  if (!haveTshark()) GTEST_SKIP() << "tshark is not installed (Debian package: tshark)";
  {
    auto writer = PcapWriter::create(file("snapped.pcap"), {.snapshotLength = 100});
    writer->append(makeFrame(60, 1));
    writer->append(makeFrame(1514, 2, 0x0800));
  }
  const auto lines = tsharkFields(file("snapped.pcap"), {"frame.len", "frame.cap_len"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "60\t60");
  EXPECT_EQ(lines[1], "1514\t100");
}

}  // namespace
}  // namespace ndishost::link
