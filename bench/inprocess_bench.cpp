// Frames per second through the whole in-process path (issue 6 item 7), next to a veth pair
// measured with the same harness in the same run:
//
//   AF_PACKET socket ─ send ─▶ TAP perfa<pid> ─▶ TAP binding (NDIS protocol) ─▶ NDIS ─▶
//   usbncm miniport ─▶ URB IRPs ─▶ USB bus driver ─▶ emulated CDC-NCM device ─▶ in-process
//   wire ─▶ emulated RNDIS device ─▶ USB bus driver ─▶ usbrndis miniport ─▶ NDIS receive
//   indication ─▶ TAP binding ─▶ TAP perfb<pid> ─▶ AF_PACKET socket ─ receive
//
// (and the reverse direction, RNDIS to NCM). The stack is the one `ndishost up` builds: a
// HostRuntime from a TOML configuration, both TAPs in a network namespace the benchmark
// creates (perf<pid>) and deletes at exit. Counted are frames that arrive at the other TAP;
// a window bounds the frames in flight so that the TAP and device queues do not overflow
// (frames still lost are reported in the `lost` counter; the time the harness waits before
// writing them off, 5 ms per `stalls`, is not counted: rates are over manual time). The baseline is a veth pair in
// the same namespace, driven by the same harness: the kernel's cost of the two AF_PACKET
// sockets and one device hop, the floor any TAP-based path pays.
//
// Variants (run side by side):
//   BM_InProcess_Frames             NCM <-> RNDIS, the drivers' defaults
//   BM_InProcess_Frames_FlushTimer  the same with TransmitAggregation 1 (the flush timer
//                                   always: the behaviour before adaptive aggregation)
//   BM_InProcess_EcmFrames          CDC-ECM <-> RNDIS (ECM sends from the sender's MDL)
//   BM_InProcess_EcmFrames_Copy     the same with TransmitZeroCopy 0 (ECM copies every frame)
//   BM_InProcess_Frames_ReceiveUrbs16  NCM <-> RNDIS with ReceiveUrbs 16 (default 4)
// Lost frames are the stack's own drops (mostly the receiving device finding no bulk-IN
// transfer posted: its usb_device receive_no_buffer); NDISHOST_BENCH_STATS=1 prints both
// adapters' counters after each benchmark.
//
// Needs root and /dev/net/tun; otherwise every benchmark reports an error and skips.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "host/config/config_parser.hpp"
#include "host/runtime/host_runtime.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::uint16_t kEtherType = 0x88B5;  // IEEE local experimental
constexpr unsigned kBatch = 32;               // frames per sendmmsg (one benchmark iteration)
constexpr unsigned kWindow = 256;             // frames in flight at most
constexpr auto kStall = 5ms;                  // no progress this long: what is in flight is lost

int run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

std::string pidText() { return std::to_string(::getpid()); }
std::string namespaceName() { return "perf" + pidText(); }

// The network namespace the benchmark owns; deleted (with everything in it) at exit.
class Namespace {
 public:
  Namespace() {
    removeLeftovers();
    ok_ = run("ip netns add " + namespaceName()) == 0;
    // Nothing but the benchmark's frames on its interfaces: no IPv6 autoconfiguration.
    if (ok_) {
      run("ip netns exec " + namespaceName() +
          " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
      run("ip -n " + namespaceName() + " link set lo up");
    }
  }
  ~Namespace() {
    if (ok_) run("ip netns del " + namespaceName());
  }
  bool ok() const { return ok_; }

 private:
  // perf<pid> namespaces of runs that died without cleaning up.
  static void removeLeftovers() {
    std::FILE* listing = ::popen("ip netns list 2>/dev/null", "r");
    if (listing == nullptr) return;
    char line[256];
    while (std::fgets(line, sizeof line, listing) != nullptr) {
      std::string name(line);
      name = name.substr(0, name.find_first_of(" \n"));
      if (name.rfind("perf", 0) != 0 || name.size() == 4) continue;
      const std::string digits = name.substr(4);
      if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
      if (::kill(static_cast<pid_t>(std::stol(digits)), 0) != 0 && errno == ESRCH) run("ip netns del " + name);
    }
    ::pclose(listing);
  }
  bool ok_ = false;
};

// A packet socket bound to one interface of the namespace (opened from a thread that
// entered it, so the socket lives there).
struct PacketSocket {
  int fd = -1;
  int ifindex = 0;
  std::array<std::uint8_t, 6> mac{};
  ~PacketSocket() {
    if (fd >= 0) ::close(fd);
  }
};

std::unique_ptr<PacketSocket> openPacketSocket(const std::string& interface) {
  auto result = std::make_unique<PacketSocket>();
  std::string error;
  std::thread opener([&] {
    const std::string path = "/run/netns/" + namespaceName();
    const int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
      error = "cannot enter " + path + ": " + std::strerror(errno);
      if (ns >= 0) ::close(ns);
      return;
    }
    ::close(ns);
    result->fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kEtherType));
    if (result->fd < 0) {
      error = std::string("AF_PACKET socket: ") + std::strerror(errno);
      return;
    }
    ifreq request{};
    std::snprintf(request.ifr_name, sizeof request.ifr_name, "%s", interface.c_str());
    if (::ioctl(result->fd, SIOCGIFINDEX, &request) != 0) {
      error = interface + ": " + std::strerror(errno);
      return;
    }
    result->ifindex = request.ifr_ifindex;
    if (::ioctl(result->fd, SIOCGIFHWADDR, &request) != 0) {
      error = interface + " address: " + std::strerror(errno);
      return;
    }
    std::memcpy(result->mac.data(), request.ifr_hwaddr.sa_data, 6);
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(kEtherType);
    address.sll_ifindex = result->ifindex;
    if (::bind(result->fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      error = interface + " bind: " + std::strerror(errno);
      return;
    }
    const int buffer = 8 << 20;
    ::setsockopt(result->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    ::setsockopt(result->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
    timeval timeout{0, 20'000};
    ::setsockopt(result->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  });
  opener.join();
  if (!error.empty()) throw std::runtime_error(error);
  return result;
}

// Counts the benchmark's frames arriving at a socket, on a thread of its own.
class Receiver {
 public:
  Receiver(int fd, std::size_t frameSize) : fd_(fd), frameSize_(frameSize), thread_([this] { loop(); }) {}
  ~Receiver() {
    stop_ = true;
    thread_.join();
  }
  std::uint64_t count() const { return received_.load(std::memory_order_acquire); }
  // Waits until more than `seen` frames arrived or the time-out passes.
  void waitBeyond(std::uint64_t seen, std::chrono::microseconds limit) {
    std::unique_lock lock(lock_);
    arrived_.wait_for(lock, limit, [&] { return received_.load(std::memory_order_acquire) > seen; });
  }

 private:
  void loop() {
    constexpr unsigned kSlots = 64;
    std::vector<std::array<std::uint8_t, 2048>> buffers(kSlots);
    std::array<iovec, kSlots> vectors{};
    std::array<mmsghdr, kSlots> messages{};
    std::array<sockaddr_ll, kSlots> from{};
    while (!stop_) {
      for (unsigned i = 0; i < kSlots; ++i) {
        vectors[i] = {buffers[i].data(), buffers[i].size()};
        messages[i] = {};
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &from[i];
        messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_ll);
      }
      const int n = ::recvmmsg(fd_, messages.data(), kSlots, MSG_WAITFORONE, nullptr);
      if (n <= 0) continue;  // time-out: look at stop_
      unsigned mine = 0;
      for (int i = 0; i < n; ++i)
        if (from[i].sll_pkttype != PACKET_OUTGOING && messages[i].msg_len == frameSize_) ++mine;
      if (mine != 0) {
        {
          std::lock_guard guard(lock_);
          received_.fetch_add(mine, std::memory_order_release);
        }
        arrived_.notify_all();
      }
    }
  }

  int fd_;
  std::size_t frameSize_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> received_{0};
  std::mutex lock_;
  std::condition_variable arrived_;
  std::thread thread_;
};

double processCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Sends frameSize-byte frames from `from` to `to` in batches, at most kWindow in flight,
// for as long as the benchmark runs; counts what arrives.
void pumpFrames(benchmark::State& state, const PacketSocket& from, const PacketSocket& to, std::size_t frameSize) {
  std::vector<std::uint8_t> frame(frameSize, 0x5A);
  std::memcpy(frame.data(), to.mac.data(), 6);
  std::memcpy(frame.data() + 6, from.mac.data(), 6);
  frame[12] = kEtherType >> 8;
  frame[13] = kEtherType & 0xFF;
  sockaddr_ll destination{};
  destination.sll_family = AF_PACKET;
  destination.sll_protocol = htons(kEtherType);
  destination.sll_ifindex = from.ifindex;
  destination.sll_halen = 6;
  std::memcpy(destination.sll_addr, to.mac.data(), 6);
  std::array<iovec, kBatch> vectors{};
  std::array<mmsghdr, kBatch> messages{};
  for (unsigned i = 0; i < kBatch; ++i) {
    vectors[i] = {frame.data(), frame.size()};
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
    messages[i].msg_hdr.msg_name = &destination;
    messages[i].msg_hdr.msg_namelen = sizeof destination;
  }

  Receiver receiver(to.fd, frameSize);
  std::uint64_t sent = 0, lost = 0, sendErrors = 0, stalls = 0;
  const double cpuBefore = processCpuSeconds();
  for (auto _ : state) {
    const auto iterationStart = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration stalled{};
    // Window: wait for the far end before more go in; a stall writes off what is in flight.
    // (Frames written off that arrive later count as arrived: in flight never goes negative.)
    // The time a write-off waits is the harness's loss detection, not the path's: it is
    // left out of the iteration's time (manual timing).
    for (;;) {
      const std::uint64_t arrived = receiver.count();
      const std::uint64_t inFlight = arrived + lost >= sent ? 0 : sent - arrived - lost;
      if (inFlight + kBatch <= kWindow) break;
      const auto waitStart = std::chrono::steady_clock::now();
      receiver.waitBeyond(arrived, kStall);
      if (receiver.count() == arrived) {
        lost = sent - arrived;
        ++stalls;
        stalled += std::chrono::steady_clock::now() - waitStart;
      }
    }
    unsigned offset = 0;
    while (offset < kBatch) {
      const int n = ::sendmmsg(from.fd, messages.data() + offset, kBatch - offset, 0);
      if (n <= 0) {
        ++sendErrors;  // ENOBUFS: the interface queue is full; the window drains it
        std::this_thread::sleep_for(50us);
        continue;
      }
      offset += static_cast<unsigned>(n);
    }
    sent += kBatch;
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - iterationStart - stalled).count());
  }
  const std::uint64_t arrivedInTime = receiver.count();
  const double cpuUsed = processCpuSeconds() - cpuBefore;
  // Frames still in flight get a moment to arrive before the loss count is taken.
  for (std::uint64_t before = 0; receiver.count() < sent && receiver.count() != before;) {
    before = receiver.count();
    receiver.waitBeyond(before, kStall);
  }
  const std::uint64_t arrived = receiver.count();
  state.SetItemsProcessed(static_cast<std::int64_t>(arrivedInTime));
  state.SetBytesProcessed(static_cast<std::int64_t>(arrivedInTime * frameSize));
  state.counters["frames_per_second"] = benchmark::Counter(static_cast<double>(arrivedInTime), benchmark::Counter::kIsRate);
  // CPU of the whole process (every thread of the stack, user and kernel) per frame that
  // arrived: steadier than frames/s on a shared machine, where the stack's threads wait for
  // a processor.
  state.counters["cpu_ns_per_frame"] = arrivedInTime == 0 ? 0.0 : cpuUsed * 1e9 / static_cast<double>(arrivedInTime);
  state.counters["lost"] = static_cast<double>(sent > arrived ? sent - arrived : 0);
  state.counters["send_retries"] = static_cast<double>(sendErrors);
  state.counters["stalls"] = static_cast<double>(stalls);
}

// One HostRuntime (the stack `ndishost up` builds) with the given registry keywords on
// both adapters; replaced when a benchmark asks for other keywords.
class Stack {
 public:
  Stack(const std::string& firstKind, const std::string& registry) : key_(firstKind + ":" + registry) {
    const std::string pid = pidText();
    const std::string keywords = registry.empty() ? "" : "registry = { " + registry + " }\n";
    const std::string text = "[[device]]\nkind = \"" + firstKind + "\"\nfar-side = \"wire:perf" + pid + "\"\ntap = \"perfa" + pid +
                             "\"\ntap-namespace = \"" + namespaceName() + "\"\n" + keywords +
                             "\n[[device]]\nkind = \"rndis\"\nfar-side = \"wire:perf" + pid + "\"\ntap = \"perfb" + pid +
                             "\"\ntap-namespace = \"" + namespaceName() + "\"\n" + keywords;
    auto config = ndishost::host::config::parseConfig(text, "inprocess_bench.toml", ".");
    ndishost::host::HostRuntimeOptions options;
    runtime_ = std::make_unique<ndishost::host::HostRuntime>(std::move(config), options);
    runtime_->start();
    for (const auto& device : {firstKind + "0", std::string("rndis1")})
      if (!runtime_->waitTapRunning(device, 10s)) throw std::runtime_error(device + ": TAP binding not running");
    ncm_ = openPacketSocket("perfa" + pid);
    rndis_ = openPacketSocket("perfb" + pid);
  }
  ~Stack() {
    ncm_.reset();
    rndis_.reset();
    const auto result = runtime_->stop();
    if (!result.clean())
      for (const auto& report : result.leakReports) std::fprintf(stderr, "%s\n", report.c_str());
  }
  const std::string& key() const { return key_; }
  // Both adapters' counters (NDIS, driver, TAP binding) as `ndishost stats --json` shows
  // them: printed after each benchmark when NDISHOST_BENCH_STATS is set, to see where
  // lost frames went.
  void printStats() {
    for (const auto& row : runtime_->list()) std::fprintf(stderr, "%s\n", runtime_->stats(row.device).dump().c_str());
  }
  const PacketSocket& first() const { return *ncm_; }
  const PacketSocket& rndis() const { return *rndis_; }

 private:
  std::string key_;
  std::unique_ptr<ndishost::host::HostRuntime> runtime_;
  std::unique_ptr<PacketSocket> ncm_, rndis_;
};

// The veth pair of the baseline, in the same namespace.
class VethPair {
 public:
  VethPair() {
    const std::string pid = pidText();
    const std::string ns = "ip -n " + namespaceName() + " link ";
    if (run(ns + "add perfva" + pid + " type veth peer name perfvb" + pid) != 0 ||
        run(ns + "set perfva" + pid + " up") != 0 || run(ns + "set perfvb" + pid + " up") != 0)
      throw std::runtime_error("cannot create the veth pair");
    a_ = openPacketSocket("perfva" + pid);
    b_ = openPacketSocket("perfvb" + pid);
  }
  const PacketSocket& a() const { return *a_; }
  const PacketSocket& b() const { return *b_; }

 private:
  std::unique_ptr<PacketSocket> a_, b_;
};

struct Environment {
  std::string whyNot;
  std::unique_ptr<Namespace> ns;
  std::unique_ptr<Stack> stack;
  std::unique_ptr<VethPair> veth;
};

Environment& environment() {
  static Environment env = [] {
    Environment e;
    if (::geteuid() != 0) {
      e.whyNot = "needs root (network namespace, TAP interfaces)";
    } else if (::access("/dev/net/tun", F_OK) != 0) {
      e.whyNot = "no /dev/net/tun";
    } else {
      e.ns = std::make_unique<Namespace>();
      if (!e.ns->ok()) e.whyNot = "cannot create network namespace " + namespaceName();
    }
    return e;
  }();
  return env;
}

// The stack with these keywords, (re)built on demand; nullptr after an error on `state`.
Stack* stackFor(benchmark::State& state, const std::string& firstKind, const std::string& registry) {
  Environment& env = environment();
  if (!env.whyNot.empty()) {
    state.SkipWithError(env.whyNot.c_str());
    return nullptr;
  }
  try {
    if (env.stack == nullptr || env.stack->key() != firstKind + ":" + registry) {
      env.stack.reset();
      env.stack = std::make_unique<Stack>(firstKind, registry);
    }
  } catch (const std::exception& e) {
    env.stack.reset();
    state.SkipWithError(e.what());
    return nullptr;
  }
  return env.stack.get();
}

// Args: frame size, direction (0: the first adapter (NCM or ECM) to RNDIS, 1: back).
void inProcess(benchmark::State& state, const std::string& firstKind, const std::string& registry) {
  Stack* stack = stackFor(state, firstKind, registry);
  if (stack == nullptr) return;
  const auto size = static_cast<std::size_t>(state.range(0));
  if (state.range(1) == 0)
    pumpFrames(state, stack->first(), stack->rndis(), size);
  else
    pumpFrames(state, stack->rndis(), stack->first(), size);
  if (std::getenv("NDISHOST_BENCH_STATS") != nullptr) stack->printStats();
}

void BM_InProcess_Frames(benchmark::State& state) { inProcess(state, "ncm", ""); }
void BM_InProcess_Frames_FlushTimer(benchmark::State& state) {
  inProcess(state, "ncm", "TransmitFlushDelay = 300, TransmitAggregation = 1");
}
void BM_InProcess_Frames_ReceiveUrbs16(benchmark::State& state) { inProcess(state, "ncm", "ReceiveUrbs = 16"); }
void BM_InProcess_EcmFrames(benchmark::State& state) { inProcess(state, "ecm", ""); }
void BM_InProcess_EcmFrames_Copy(benchmark::State& state) { inProcess(state, "ecm", "TransmitZeroCopy = 0"); }

void BM_Baseline_VethFrames(benchmark::State& state) {
  Environment& env = environment();
  if (!env.whyNot.empty()) {
    state.SkipWithError(env.whyNot.c_str());
    return;
  }
  try {
    if (env.veth == nullptr) env.veth = std::make_unique<VethPair>();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  pumpFrames(state, env.veth->a(), env.veth->b(), static_cast<std::size_t>(state.range(0)));
}

void frameArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "dir"});
  for (std::int64_t size : {64, 1514})
    for (std::int64_t direction : {0, 1}) b->Args({size, direction});
  b->UseManualTime();
}

BENCHMARK(BM_Baseline_VethFrames)->ArgName("size")->Arg(64)->Arg(1514)->UseManualTime();
BENCHMARK(BM_InProcess_Frames)->Apply(frameArgs);
BENCHMARK(BM_InProcess_Frames_FlushTimer)->Apply(frameArgs);
BENCHMARK(BM_InProcess_Frames_ReceiveUrbs16)->Apply(frameArgs);
BENCHMARK(BM_InProcess_EcmFrames)->Apply(frameArgs);
BENCHMARK(BM_InProcess_EcmFrames_Copy)->Apply(frameArgs);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Teardown in order: the stack (TAPs, adapters, drivers), the veth pair, the namespace.
  Environment& env = environment();
  env.stack.reset();
  env.veth.reset();
  env.ns.reset();
  return 0;
}
