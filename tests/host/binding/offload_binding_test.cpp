// Task offloads through the TAP binding, over a real miniport that advertises them: the
// offtest miniport (offtest/offtest.c, WDK-style C, NDIS 6.30) on the NDIS test bed, two
// adapters joined by the driver's own wire, each bound by the TAP protocol to a TAP in a
// network namespace of the test's own.
//
//   (a) Linux sockets sending through the TAP produce NBLs with checksum offload info at the
//       right offsets and, for TCP with TSO, LSOv2 info with the MSS; the miniport finishes
//       them like hardware and the transfer arrives intact on the other side;
//   (b) a received UDP frame with a wrong checksum but checksum-succeeded info reaches a
//       socket (VIRTIO_NET_HDR_F_DATA_VALID), and without the info Linux drops it;
//   (c) an adapter without offloads gets a TAP without IFF_VNET_HDR.
//
// Needs root and /dev/net/tun (skips otherwise). Namespaces are offload-<pid>-*, removed by
// destructors also when a test fails.
#include <ndis.h>
#include <gtest/gtest.h>
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../../link/net_lab.hpp"
#include "host/binding/tap_protocol.hpp"
#include "ndis_test_bed.hpp"
#include "offtest_control.h"

using namespace ndishost;
using host::BindCandidate;
using host::TapBindingStats;
using host::TapPlan;
using host::TapProtocol;
using link::test::runCommand;
using link::test::TestNamespaces;
using ndis::test::NdisTestBed;
using ndis::test::NdisTestBedOptions;

namespace {

constexpr unsigned kIffVnetHdr = 0x4000;  // IFF_VNET_HDR in /sys/class/net/<tap>/tun_flags

// The offtest image, mapped before the PnP manager loads it (the loader's dlopen finds it).
struct OffTest {
  void* handle = nullptr;
  OFFTEST_CONTROL* control = nullptr;
  ULONG (*copyRecords)(OFFTEST_SEND_RECORD*, ULONG) = nullptr;
  VOID (*clearRecords)(VOID) = nullptr;  // only while the driver is loaded (its lock)
  BOOLEAN (*indicate)(ULONG, const UCHAR*, ULONG, PVOID) = nullptr;

  static OffTest& get() {
    static OffTest image = [] {
      OffTest t;
      t.handle = dlopen(OFFTEST_DRIVER, RTLD_NOW | RTLD_LOCAL);
      if (t.handle == nullptr) throw std::runtime_error(dlerror());
      t.control = static_cast<OFFTEST_CONTROL*>(dlsym(t.handle, "OffTestControl"));
      t.copyRecords = reinterpret_cast<decltype(t.copyRecords)>(dlsym(t.handle, "OffTestCopyRecords"));
      t.clearRecords = reinterpret_cast<decltype(t.clearRecords)>(dlsym(t.handle, "OffTestClearRecords"));
      t.indicate = reinterpret_cast<decltype(t.indicate)>(dlsym(t.handle, "OffTestIndicate"));
      if (t.control == nullptr || t.copyRecords == nullptr || t.clearRecords == nullptr || t.indicate == nullptr)
        throw std::runtime_error("offtest exports missing");
      return t;
    }();
    return image;
  }

  std::vector<OFFTEST_SEND_RECORD> records() const {
    std::vector<OFFTEST_SEND_RECORD> all(OFFTEST_RECORDS);
    const ULONG count = copyRecords(all.data(), OFFTEST_RECORDS);
    all.resize(count < OFFTEST_RECORDS ? count : OFFTEST_RECORDS);
    return all;
  }
};

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}


class OffloadBindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, TAP interfaces)";
    if (::access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "no /dev/net/tun";
    if (!runCommand("command -v ip && command -v python3").ok()) GTEST_SKIP() << "needs ip (iproute2) and python3";
    const std::string pid = std::to_string(::getpid());
    nsA_ = "offload-" + pid + "-a";
    nsB_ = "offload-" + pid + "-b";
    scratch_ = "/tmp/offload-" + pid + "-";
    namespaces_ = std::make_unique<TestNamespaces>("offload-", std::vector<std::string>{nsA_, nsB_});
    ASSERT_TRUE(namespaces_->ok()) << "cannot create network namespaces";
    offtest_ = &OffTest::get();
  }

  void TearDown() override {
    protocol_.reset();
    if (bed_) {
      for (const auto& report : bed_->shutdown()) EXPECT_TRUE(report.empty()) << report.format();
      bed_.reset();
    }
    namespaces_.reset();
    for (const char* name : {"server", "listener", "server.py", "listener.py"}) std::remove((scratch_ + name).c_str());
  }

  // Two offtest adapters (0 -> tap offl-a in nsA, 1 -> offl-b in nsB), both running, with
  // addresses 10.78.0.1 and .2.
  void bringUp(bool advertiseOffloads) {
    std::memset(offtest_->control, 0, sizeof(*offtest_->control));
    offtest_->control->AdvertiseOffloads = advertiseOffloads;
    offtest_->control->IndicateConfigAtRestart = TRUE;
    offtest_->control->ReceiveChecksumSucceeded = TRUE;  // the send records start empty at DriverEntry

    NdisTestBedOptions options;
    options.runtime.deterministic = false;
    options.runtime.processors = 2;
    options.miniports = {{"offtest", OFFTEST_DRIVER, OFFTEST_HARDWARE_ID, {}}};
    bed_ = std::make_unique<NdisTestBed>(std::move(options));
    // Registered before the adapters arrive: each is bound while Paused, then restarted.
    protocol_ = TapProtocol::start(
        [this](const BindCandidate&) -> std::optional<TapPlan> {
          const int n = binds_++;
          if (n > 1) return std::nullopt;
          TapPlan plan;
          plan.tapName = n == 0 ? "offl-a" : "offl-b";
          plan.netnsPath = "/run/netns/" + (n == 0 ? nsA_ : nsB_);
          return plan;
        },
        [](const std::string& adapter, const std::string& message) { ADD_FAILURE() << adapter << ": " << message; });
    nicA_ = bed_->plug(OFFTEST_HARDWARE_ID, 1);
    ASSERT_FALSE(nicA_.empty());
    ASSERT_TRUE(bed_->waitForState(nicA_, ndis::AdapterState::Running));
    nicB_ = bed_->plug(OFFTEST_HARDWARE_ID, 2);
    ASSERT_FALSE(nicB_.empty());
    ASSERT_TRUE(bed_->waitForState(nicB_, ndis::AdapterState::Running));
    ASSERT_TRUE(waitUntil([&] {
      auto a = statsOf("offl-a"), b = statsOf("offl-b");
      return a && b && a->running && b->running;
    })) << "bindings did not run";
    ASSERT_TRUE(runCommand("ip -n " + nsA_ + " addr add 10.78.0.1/24 dev offl-a").ok());
    ASSERT_TRUE(runCommand("ip -n " + nsB_ + " addr add 10.78.0.2/24 dev offl-b").ok());
  }

  std::optional<TapBindingStats> statsOf(const std::string& tap) const {
    for (auto& s : protocol_->stats())
      if (s.tapName == tap) return s;
    return std::nullopt;
  }

  unsigned tunFlags(const std::string& ns, const std::string& tap) {
    auto flags = runCommand("ip netns exec " + ns + " cat /sys/class/net/" + tap + "/tun_flags");
    EXPECT_TRUE(flags.ok()) << flags.output;
    return static_cast<unsigned>(std::stoul(flags.output, nullptr, 16));
  }

  // A UDP frame to offl-a (MAC 02:4f:46:00:00:01, 10.78.0.1 port 5003) from 10.78.0.9, with
  // a correct IPv4 header checksum and a deliberately wrong UDP checksum.
  static std::vector<UCHAR> udpFrameWithBadChecksum() {
    const char payload[] = "offload-data-valid";
    const std::size_t udpLength = 8 + sizeof(payload) - 1;
    std::vector<UCHAR> f(14 + 20 + udpLength);
    const UCHAR head[] = {0x02, 0x4f, 0x46, 0, 0, 0x01, 0x02, 0x4f, 0x46, 0, 0, 0x09, 0x08, 0x00};
    std::memcpy(f.data(), head, sizeof(head));
    UCHAR* ip = f.data() + 14;
    const std::size_t total = 20 + udpLength;
    const UCHAR ipHeader[] = {0x45, 0, UCHAR(total >> 8), UCHAR(total), 0x12, 0x34, 0x40, 0, 64, 17, 0, 0,
                              10,   78, 0, 9, 10, 78, 0, 1};
    std::memcpy(ip, ipHeader, sizeof(ipHeader));
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = UCHAR(~sum >> 8);
    ip[11] = UCHAR(~sum);
    UCHAR* udp = ip + 20;
    const UCHAR udpHeader[] = {0x9c, 0x40, 0x13, 0x8b, UCHAR(udpLength >> 8), UCHAR(udpLength), 0x12, 0x34};
    std::memcpy(udp, udpHeader, sizeof(udpHeader));  // 40000 -> 5003, checksum 0x1234 (wrong)
    std::memcpy(udp + 8, payload, sizeof(payload) - 1);
    return f;
  }

  // Starts a UDP listener on 10.78.0.1:5003 in nsA that writes "ready", then "got" or
  // "timeout" (after `seconds`) to a file; returns the file's path once it is ready.
  std::string startListener(double seconds) {
    const std::string out = scratch_ + "listener";
    std::remove(out.c_str());
    const std::string script =
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "s.bind(('10.78.0.1',5003))\n"
        "f=open(sys.argv[1],'w'); f.write('ready\\n'); f.flush()\n"
        "s.settimeout(" + std::to_string(seconds) + ")\n"
        "try:\n"
        "  d=s.recv(100); f.write('got '+d.decode()+'\\n')\n"
        "except socket.timeout:\n"
        "  f.write('timeout\\n')\n"
        "f.close()\n";
    std::ofstream(scratch_ + "listener.py") << script;
    runCommand("ip netns exec " + nsA_ + " python3 " + scratch_ + "listener.py " + out + " >/dev/null 2>&1 &");
    EXPECT_TRUE(waitUntil([&] { return readFile(out).find("ready") != std::string::npos; })) << "listener did not start";
    return out;
  }

  OffTest* offtest_ = nullptr;
  std::string nsA_, nsB_, scratch_;
  std::unique_ptr<TestNamespaces> namespaces_;
  std::unique_ptr<NdisTestBed> bed_;
  std::unique_ptr<TapProtocol> protocol_;
  std::atomic<int> binds_{0};
  std::string nicA_, nicB_;
};

// (a) TCP with TSO and UDP from a namespace: the NBLs carry LSOv2 info with the MSS and
// checksum info at the TCP/UDP header offset; the transfer arrives intact on the other side.
TEST_F(OffloadBindingTest, SocketsSendingThroughTheTapProduceChecksumAndLsoInfo) {
  bringUp(/*advertiseOffloads=*/true);
  if (HasFatalFailure()) return;
  EXPECT_NE(tunFlags(nsA_, "offl-a") & kIffVnetHdr, 0u) << "the TAP has no virtio-net header";
  ASSERT_TRUE(statsOf("offl-a")->vnetHeader);

  // A 4 MiB TCP transfer nsA -> nsB, counted by the receiver.
  const std::string server = scratch_ + "server";
  const std::string serverScript =
      "import socket,sys\n"
      "l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); l.bind(('10.78.0.2',5001)); l.listen(1)\n"
      "open(sys.argv[1],'w').write('ready\\n')\n"
      "l.settimeout(8); c,_=l.accept(); c.settimeout(8); n=0\n"
      "while True:\n"
      "  d=c.recv(65536)\n"
      "  if not d: break\n"
      "  n+=len(d)\n"
      "open(sys.argv[1],'w').write('received %d\\n' % n)\n";
  std::ofstream(scratch_ + "server.py") << serverScript;
  runCommand("ip netns exec " + nsB_ + " python3 " + scratch_ + "server.py " + server + " >/dev/null 2>&1 &");
  ASSERT_TRUE(waitUntil([&] { return readFile(server).find("ready") != std::string::npos; })) << "server did not start";
  auto client = runCommand("ip netns exec " + nsA_ +
                           " python3 -c \"import socket; s=socket.create_connection(('10.78.0.2',5001),timeout=8); "
                           "s.sendall(b'x'*(4<<20)); s.close()\"");
  ASSERT_TRUE(client.ok()) << client.output;
  EXPECT_TRUE(waitUntil([&] { return readFile(server).find("received") != std::string::npos; }, std::chrono::seconds(8)));
  EXPECT_EQ(readFile(server), "received " + std::to_string(4 << 20) + "\n");

  std::size_t largeSends = 0, tcpChecksums = 0, udpChecksums = 0;
  const std::vector<OFFTEST_SEND_RECORD> transfer = offtest_->records();
  for (const OFFTEST_SEND_RECORD& r : transfer) {
    if (r.Adapter != 0 || r.Length < 34 || r.Head[12] != 0x08 || r.Head[13] != 0x00) continue;  // IPv4 from nsA
    NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO c;
    NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO l;
    c.Value = r.ChecksumInfo;
    l.Value = r.LargeSendInfo;
    const UCHAR protocol = r.Head[14 + 9];
    if (l.Value != nullptr) {
      ++largeSends;
      EXPECT_EQ(l.LsoV2Transmit.Type, NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE);
      EXPECT_EQ(l.LsoV2Transmit.IPVersion, NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4);
      EXPECT_EQ(l.LsoV2Transmit.TcpHeaderOffset, 34u);
      EXPECT_GE(l.LsoV2Transmit.MSS, 1000u);
      EXPECT_LE(l.LsoV2Transmit.MSS, 1460u);
      EXPECT_GT(r.Length, 1514u) << "a large send larger than one frame";
      EXPECT_EQ(protocol, 6);
      EXPECT_EQ(r.Head[14 + 2], 0);  // LSOv2: IPv4 total length 0
      EXPECT_EQ(r.Head[14 + 3], 0);
      EXPECT_EQ(c.Value, nullptr) << "LSOv2 sends carry no checksum info";
    } else if (c.Value != nullptr) {
      EXPECT_TRUE(c.Transmit.IsIPv4);
      EXPECT_FALSE(c.Transmit.IsIPv6);
      EXPECT_EQ(c.Transmit.TcpHeaderOffset, 34u);
      EXPECT_LE(r.Length, 1514u);
      if (c.Transmit.TcpChecksum) {
        ++tcpChecksums;
        EXPECT_EQ(protocol, 6);
      }
      if (c.Transmit.UdpChecksum) {
        ++udpChecksums;
        EXPECT_EQ(protocol, 17);
      }
    }
  }
  EXPECT_GT(largeSends, 0u);
  EXPECT_GT(tcpChecksums, 0u);  // SYN, the last segment, FIN

  // One UDP datagram nsA -> nsB (the records start again: the transfer filled them).
  offtest_->clearRecords();
  auto udp = runCommand("ip netns exec " + nsA_ +
                        " python3 -c \"import socket; socket.socket(socket.AF_INET,socket.SOCK_DGRAM)"
                        ".sendto(b'u'*100,('10.78.0.2',5002))\"");
  ASSERT_TRUE(udp.ok()) << udp.output;
  auto udpRecord = [&]() -> std::optional<OFFTEST_SEND_RECORD> {
    for (const auto& r : offtest_->records())
      if (r.Adapter == 0 && r.Length >= 34 && r.Head[12] == 0x08 && r.Head[14 + 9] == 17) return r;
    return std::nullopt;
  };
  ASSERT_TRUE(waitUntil([&] { return udpRecord().has_value(); }));
  NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO u;
  u.Value = udpRecord()->ChecksumInfo;
  EXPECT_TRUE(u.Transmit.IsIPv4);
  EXPECT_TRUE(u.Transmit.UdpChecksum);
  EXPECT_FALSE(u.Transmit.TcpChecksum);
  EXPECT_EQ(u.Transmit.TcpHeaderOffset, 34u);
  EXPECT_EQ(udpRecord()->LargeSendInfo, nullptr);
  ++udpChecksums;

  // The same over IPv6: LSOv2 for IPv6 with the TCP header after the 40-byte IPv6 header.
  ASSERT_TRUE(runCommand("ip -n " + nsA_ + " addr add fd00:78::1/64 dev offl-a nodad").ok());
  ASSERT_TRUE(runCommand("ip -n " + nsB_ + " addr add fd00:78::2/64 dev offl-b nodad").ok());
  offtest_->clearRecords();
  std::remove(server.c_str());
  std::string server6Script = serverScript;
  server6Script.replace(server6Script.find("l=socket.socket()"), 17, "l=socket.socket(socket.AF_INET6)");
  server6Script.replace(server6Script.find("'10.78.0.2'"), 11, "'fd00:78::2'");
  std::ofstream(scratch_ + "server.py") << server6Script;
  runCommand("ip netns exec " + nsB_ + " python3 " + scratch_ + "server.py " + server + " >/dev/null 2>&1 &");
  ASSERT_TRUE(waitUntil([&] { return readFile(server).find("ready") != std::string::npos; })) << "server did not start";
  auto client6 = runCommand("ip netns exec " + nsA_ +
                            " python3 -c \"import socket; s=socket.create_connection(('fd00:78::2',5001),timeout=8); "
                            "s.sendall(b'y'*(1<<20)); s.close()\"");
  ASSERT_TRUE(client6.ok()) << client6.output;
  EXPECT_TRUE(waitUntil([&] { return readFile(server).find("received") != std::string::npos; }, std::chrono::seconds(8)));
  EXPECT_EQ(readFile(server), "received " + std::to_string(1 << 20) + "\n");
  std::size_t largeSends6 = 0;
  for (const OFFTEST_SEND_RECORD& r : offtest_->records()) {
    NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO l;
    l.Value = r.LargeSendInfo;
    if (r.Adapter != 0 || l.Value == nullptr) continue;
    ++largeSends6;
    EXPECT_EQ(r.Head[12], 0x86);
    EXPECT_EQ(l.LsoV2Transmit.IPVersion, NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6);
    EXPECT_EQ(l.LsoV2Transmit.TcpHeaderOffset, 54u);
    EXPECT_GE(l.LsoV2Transmit.MSS, 1000u);
    EXPECT_LE(l.LsoV2Transmit.MSS, 1440u);
    EXPECT_EQ(r.Head[14 + 4], 0);  // LSOv2: IPv6 payload length 0
    EXPECT_EQ(r.Head[14 + 5], 0);
  }
  EXPECT_GT(largeSends6, 0u);

  auto a = statsOf("offl-a");
  ASSERT_TRUE(a);
  EXPECT_GE(a->largeSendsOffloaded, largeSends + largeSends6);  // the records hold the first NBLs only
  EXPECT_GE(a->checksumOffloaded, tcpChecksums + udpChecksums);
  EXPECT_EQ(a->dropsOffload, 0u);
  EXPECT_EQ(a->checksumsInSoftware, 0u);
  EXPECT_EQ(a->largeSendCompletionsMalformed, 0u);
  EXPECT_GT(a->receiveChecksumVerified, 0u);  // the ACKs from nsB, verified by adapter 0
  EXPECT_EQ(__atomic_load_n(&offtest_->control->SoftwareDrops, __ATOMIC_ACQUIRE), 0);
}

// (b) A UDP frame with a wrong checksum reaches the socket only when the adapter says the
// checksum succeeded (DATA_VALID); without that Linux verifies it and drops it.
TEST_F(OffloadBindingTest, ChecksumSucceededInfoBecomesDataValid) {
  bringUp(/*advertiseOffloads=*/true);
  if (HasFatalFailure()) return;
  const std::vector<UCHAR> frame = udpFrameWithBadChecksum();
  NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO succeeded;
  succeeded.Value = nullptr;
  succeeded.Receive.IpChecksumSucceeded = 1;
  succeeded.Receive.UdpChecksumSucceeded = 1;

  const auto verifiedBefore = statsOf("offl-a")->receiveChecksumVerified;
  std::string out = startListener(3.0);
  ASSERT_TRUE(waitUntil([&] {
    offtest_->indicate(0, frame.data(), static_cast<ULONG>(frame.size()), succeeded.Value);
    return readFile(out).find("got") != std::string::npos;
  })) << readFile(out);
  EXPECT_NE(readFile(out).find("got offload-data-valid"), std::string::npos);
  EXPECT_GT(statsOf("offl-a")->receiveChecksumVerified, verifiedBefore);
  ASSERT_TRUE(waitUntil([&] { return readFile(out).find("got") != std::string::npos; }));

  // The same frame without the info: Linux checks the UDP checksum and drops it.
  out = startListener(1.0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(offtest_->indicate(0, frame.data(), static_cast<ULONG>(frame.size()), nullptr));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(waitUntil([&] { return readFile(out).find("timeout") != std::string::npos; })) << readFile(out);
  EXPECT_EQ(readFile(out).find("got"), std::string::npos) << readFile(out);

  // Checksum-failed info: passed on without DATA_VALID (Linux drops it too), and counted.
  NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO failed;
  failed.Value = nullptr;
  failed.Receive.UdpChecksumFailed = 1;
  const auto failedBefore = statsOf("offl-a")->receiveChecksumFailed;
  EXPECT_TRUE(offtest_->indicate(0, frame.data(), static_cast<ULONG>(frame.size()), failed.Value));
  EXPECT_EQ(statsOf("offl-a")->receiveChecksumFailed, failedBefore + 1);
}

// (c) No offload attributes: the TAP is opened without IFF_VNET_HDR and frames cross plain.
TEST_F(OffloadBindingTest, AnAdapterWithoutOffloadsGetsATapWithoutVnetHeader) {
  bringUp(/*advertiseOffloads=*/false);
  if (HasFatalFailure()) return;
  EXPECT_EQ(tunFlags(nsA_, "offl-a") & kIffVnetHdr, 0u);
  EXPECT_EQ(tunFlags(nsB_, "offl-b") & kIffVnetHdr, 0u);
  EXPECT_FALSE(statsOf("offl-a")->vnetHeader);
  auto ping = runCommand("ip netns exec " + nsA_ + " ping -n -c 2 -i 0.2 -W 2 10.78.0.2");
  EXPECT_TRUE(ping.ok()) << ping.output;
  for (const OFFTEST_SEND_RECORD& r : offtest_->records()) {
    EXPECT_EQ(r.ChecksumInfo, nullptr);
    EXPECT_EQ(r.LargeSendInfo, nullptr);
  }
  EXPECT_EQ(statsOf("offl-a")->checksumOffloaded, 0u);
}

}  // namespace
