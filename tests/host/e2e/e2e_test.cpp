// End-to-end tests of the real `ndishost up` binary with real Linux networking: each test
// writes a TOML configuration, creates its own namespaces (e2e-<pid>-...), starts ndishost
// with a private control socket, waits until the TAPs exist and `ndishost list` shows every
// adapter Running, addresses the TAPs inside the namespaces and sends real traffic.
// Everything is removed by destructors, also when an assertion fails; ndishost is stopped
// with SIGTERM and reaped (SIGKILL only when it does not stop within 15 s).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "host/runtime/netns_scope.hpp"
#include "sha256.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using ndishost::host::CommandResult;
using ndishost::host::NetworkNamespace;
using ndishost::host::runCommand;

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

const std::string kPid = std::to_string(::getpid());

std::string uniqueName(const std::string& tag) { return "e2e-" + kPid + "-" + tag; }
// Interface names are at most 15 characters; the pid keeps parallel runs apart.
std::string tapName(const std::string& tag) { return "e2e" + kPid + tag; }

bool skipReason(std::string& why) {
  if (!ndishost::host::haveNetworkPrivileges(&why)) return true;
  return false;
}

// A private directory for the configuration and the control socket.
class TempDirectory {
 public:
  explicit TempDirectory(const std::string& tag)
      : path_(std::filesystem::temp_directory_path() / uniqueName(tag)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// One running `ndishost up`: output collected by a thread (so a chatty process never blocks
// on a full pipe), SIGTERM + reap in the destructor.
class Ndishost {
 public:
  Ndishost(const std::filesystem::path& config, std::filesystem::path socket, std::vector<std::string> extra = {})
      : socket_(std::move(socket)) {
    std::vector<std::string> args{NDISHOST_BINARY, "up", "--config", config.string(), "--socket", socket_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    // A clean signal mask: gtest/sanitizer threads must not hide SIGTERM from the child.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    const int spawned = ::posix_spawn(&pid_, argv[0], &actions, &attributes, argv.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (spawned != 0) {
      ::close(fds[0]);
      pid_ = -1;
      throw std::runtime_error("cannot start " NDISHOST_BINARY);
    }
    reader_ = std::thread([this, fd = fds[0]] {
      char buffer[4096];
      for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        std::lock_guard lock(mutex_);
        output_.append(buffer, static_cast<std::size_t>(n));
      }
      ::close(fd);
    });
  }
  ~Ndishost() { stop(15s); }
  Ndishost(const Ndishost&) = delete;
  Ndishost& operator=(const Ndishost&) = delete;

  std::string output() const {
    std::lock_guard lock(mutex_);
    return output_;
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exitStatus_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      return false;
    }
    return true;
  }

  // `ndishost <args...> --socket <ours>`
  CommandResult control(std::vector<std::string> args) const {
    args.insert(args.begin(), NDISHOST_BINARY);
    args.push_back("--socket");
    args.push_back(socket_.string());
    return runCommand(args, 20s);
  }

  std::optional<nlohmann::json> list() const {
    const CommandResult r = control({"list", "--json"});
    if (!r.ok()) return std::nullopt;
    try {
      return nlohmann::json::parse(r.output);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  std::string state(const std::string& device) const {
    if (auto rows = list())
      for (const auto& row : *rows)
        if (row.value("device", "") == device) return row.value("state", "");
    return "";
  }

  std::optional<nlohmann::json> stats(const std::string& device) const {
    const CommandResult r = control({"stats", "--json", device});
    if (!r.ok()) return std::nullopt;
    try {
      auto all = nlohmann::json::parse(r.output);
      if (all.contains(device)) return all[device];
      return all;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // Waits for the control socket (opened once every adapter is Running and bound) and for
  // `list` to show every row Running.
  bool waitReady(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!running()) return false;
      if (output().find("control socket") != std::string::npos) {
        if (auto rows = list(); rows && rows->is_array() && !rows->empty()) {
          bool all = true;
          for (const auto& row : *rows) all = all && row.value("state", "") == "Running";
          if (all) return true;
        }
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // SIGTERM, then waits up to `limit`; the exit status, -1 when it had to be killed (or
  // died of a signal). Idempotent.
  int stop(std::chrono::milliseconds limit) {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      const auto deadline = std::chrono::steady_clock::now() + limit;
      int status = 0;
      bool reaped = false;
      while (std::chrono::steady_clock::now() < deadline) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          reaped = true;
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
      if (!reaped) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        exitStatus_ = -1;
      } else {
        exitStatus_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();
    return exitStatus_;
  }

 private:
  std::filesystem::path socket_;
  pid_t pid_ = -1;
  int exitStatus_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::string output_;
};

// Lines of the output that report leaks or violations ("usbncm: no leaks" is fine).
std::vector<std::string> leakLines(const std::string& output) {
  std::vector<std::string> found;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    const bool mentionsLeak = line.find("leak") != std::string::npos && line.find("no leaks") == std::string::npos;
    if (mentionsLeak || line.find("violation") != std::string::npos) found.push_back(line);
  }
  return found;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

// Brings a TAP up and gives it an IPv4 and an IPv6 address (no DAD, so it is usable at once).
void address(const NetworkNamespace& ns, const std::string& tap, const std::string& v4, const std::string& v6) {
  auto r = ns.run({"ip", "link", "set", tap, "up"}, 5s);
  ASSERT_TRUE(r.ok()) << r.output;
  r = ns.run({"ip", "addr", "replace", v4, "dev", tap}, 5s);
  ASSERT_TRUE(r.ok()) << r.output;
  if (!v6.empty()) {
    r = ns.run({"ip", "-6", "addr", "replace", v6, "dev", tap, "nodad"}, 5s);
    ASSERT_TRUE(r.ok()) << r.output;
  }
}

bool interfaceExists(const NetworkNamespace& ns, const std::string& name) {
  return ns.run({"ip", "link", "show", "dev", name}, 5s).ok();
}

bool waitInterface(const NetworkNamespace& ns, const std::string& name, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (interfaceExists(ns, name)) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

CommandResult ping(const NetworkNamespace& from, const std::string& to, int count = 3, int waitSeconds = 3) {
  std::vector<std::string> argv{"ping", "-c", std::to_string(count), "-i", "0.2", "-W", std::to_string(waitSeconds), to};
  return from.run(argv, 30s);
}

// Runs `work` on a thread that has entered the namespace (setns only affects that thread).
template <typename Work>
auto inNamespace(const NetworkNamespace& ns, Work work) {
  return std::async(std::launch::async, [path = ns.path(), work = std::move(work)]() mutable {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open " + path);
    const int entered = ::setns(fd, CLONE_NEWNET);
    ::close(fd);
    if (entered != 0) throw std::runtime_error("setns " + path);
    return work();
  });
}

struct TransferResult {
  std::uint64_t bytes = 0;
  std::string sha256;
  std::string error;
};

void setTimeouts(int fd, std::chrono::seconds limit) {
  timeval tv{static_cast<time_t>(limit.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Accepts one connection on `port` and hashes what arrives until EOF.
TransferResult receiveAll(std::uint16_t port, std::promise<void>& listening, std::chrono::seconds limit,
                          std::chrono::seconds ioTimeout = 10s, std::atomic<std::uint64_t>* progress = nullptr) {
  TransferResult result;
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 1) != 0) {
    result.error = "bind/listen failed";
    listening.set_value();
    ::close(listener);
    return result;
  }
  listening.set_value();
  pollfd waiter{listener, POLLIN, 0};
  if (::poll(&waiter, 1, static_cast<int>(limit.count() * 1000)) != 1) {
    result.error = "no connection";
    ::close(listener);
    return result;
  }
  const int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
  setTimeouts(connection, ioTimeout);
  e2e::Sha256 hash;
  std::vector<std::uint8_t> buffer(1 << 16);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const ssize_t n = ::recv(connection, buffer.data(), buffer.size(), 0);
    if (n == 0) break;
    if (n < 0 || std::chrono::steady_clock::now() > deadline) {
      result.error = n < 0 ? "recv: " + std::string(strerror(errno)) : "time limit";
      break;
    }
    hash.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
    result.bytes += static_cast<std::uint64_t>(n);
    if (progress != nullptr) progress->store(result.bytes);
  }
  ::close(connection);
  result.sha256 = hash.hexDigest();
  return result;
}

// Connects to `to`:`port` and sends `total` pseudo-random bytes (or until `stop` is set).
TransferResult sendAll(const std::string& to, std::uint16_t port, std::uint64_t total, std::chrono::seconds limit,
                       const std::atomic<bool>* stop = nullptr, std::chrono::seconds ioTimeout = 10s) {
  TransferResult result;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setTimeouts(fd, 10s);  // connecting includes ARP; a loaded sanitizer build may need seconds
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, to.c_str(), &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    result.error = "connect: " + std::string(strerror(errno));
    ::close(fd);
    return result;
  }
  setTimeouts(fd, ioTimeout);
  e2e::Sha256 hash;
  std::vector<std::uint8_t> buffer(1 << 16);
  std::uint64_t state = 0x9e3779b97f4a7c15ull ^ total;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (result.bytes < total && (stop == nullptr || !stop->load())) {
    for (std::size_t i = 0; i < buffer.size(); i += 8) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      std::memcpy(buffer.data() + i, &state, 8);
    }
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), total - result.bytes));
    std::size_t sent = 0;
    while (sent < chunk) {
      const ssize_t n = ::send(fd, buffer.data() + sent, chunk - sent, MSG_NOSIGNAL);
      if (n <= 0 || std::chrono::steady_clock::now() > deadline) {
        result.error = n <= 0 ? "send: " + std::string(strerror(errno)) : "time limit";
        hash.update(std::span(buffer.data(), sent));
        result.bytes += sent;
        ::close(fd);
        result.sha256 = hash.hexDigest();
        return result;
      }
      sent += static_cast<std::size_t>(n);
    }
    hash.update(std::span(buffer.data(), chunk));
    result.bytes += chunk;
  }
  ::shutdown(fd, SHUT_WR);
  // Wait for the receiver's close so every byte was taken before we report.
  char drain;
  (void)::recv(fd, &drain, 1, 0);
  ::close(fd);
  result.sha256 = hash.hexDigest();
  return result;
}

std::uint16_t portFor(int offset) { return static_cast<std::uint16_t>(20000 + (::getpid() * 7 + offset) % 30000); }

// Two namespaces, NCM (left) and RNDIS (right) on one in-process wire, a TAP in each, an
// ndishost up with them; addresses 10.231.0.1/2 and fd00:e2e::1/2.
// An endless TCP stream from one namespace to another, for tests that disturb the adapters
// while traffic runs: received() counts what arrived so far; finish() stops the sender and
// checks that every byte sent arrived, intact.
class TcpStream {
 public:
  TcpStream(const NetworkNamespace& from, const NetworkNamespace& to, const std::string& toAddress,
            std::uint16_t port) {
    auto ready = listening_.get_future();
    receiver_ = inNamespace(to, [this, port] { return receiveAll(port, listening_, 120s, 30s, &received_); });
    ready.wait();
    sender_ = inNamespace(from, [this, toAddress, port] {
      return sendAll(toAddress, port, ~0ull >> 1, 120s, &stop_, 30s);
    });
  }
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream() {
    if (sender_.valid()) finish();
  }

  std::uint64_t received() const { return received_.load(); }
  // Waits up to `limit` until at least `atLeast` bytes arrived (TCP backs off while an
  // adapter is away: retransmissions come up to a few seconds apart).
  bool waitReceived(std::uint64_t atLeast, std::chrono::seconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (received_.load() < atLeast && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    return received_.load() >= atLeast;
  }
  void finish() {
    stop_ = true;
    const TransferResult sent = sender_.get();
    const TransferResult got = receiver_.get();
    EXPECT_EQ(sent.error, "");
    EXPECT_EQ(got.error, "");
    EXPECT_EQ(got.bytes, sent.bytes);
    EXPECT_EQ(got.sha256, sent.sha256);
  }

 private:
  std::promise<void> listening_;
  std::atomic<bool> stop_ = false;
  std::atomic<std::uint64_t> received_{0};
  std::future<TransferResult> receiver_, sender_;
};

class WireLab : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (skipReason(why)) GTEST_SKIP() << why;
    directory_ = std::make_unique<TempDirectory>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    left_ = std::make_unique<NetworkNamespace>(uniqueName("l"));
    right_ = std::make_unique<NetworkNamespace>(uniqueName("r"));
    const auto config = directory_->path() / "ndishost.toml";
    std::ofstream(config) << globalConfig_ << device("ncm0", "ncm", leftTap_, *left_) << "\n" << device(rightDevice_, rightKind_, rightTap_, *right_);
    eventLog_ = directory_->path() / "events.jsonl";
    host_ = std::make_unique<Ndishost>(config, directory_->path() / "control.sock",
                                       std::vector<std::string>{"--event-log", eventLog_.string()});
    ASSERT_TRUE(host_->waitReady(kThreadSanitizer ? 90s : 30s)) << host_->output();
    ASSERT_TRUE(waitInterface(*left_, leftTap_, 5s));
    ASSERT_TRUE(waitInterface(*right_, rightTap_, 5s));
    ASSERT_NO_FATAL_FAILURE(address(*left_, leftTap_, "10.231.0.1/24", "fd00:e2e::1/64"));
    ASSERT_NO_FATAL_FAILURE(address(*right_, rightTap_, "10.231.0.2/24", "fd00:e2e::2/64"));
  }
  void TearDown() override {
    // ndishost first (it owns the TAPs), then the namespaces, then the directory.
    if (host_) {
      const int status = host_->stop(15s);
      if (!stoppedByTest_) {
        EXPECT_EQ(status, 0) << host_->output();
        EXPECT_EQ(joined(leakLines(host_->output())), "");
      }
    }
    host_.reset();
    right_.reset();
    left_.reset();
    directory_.reset();
  }

  // One [[device]] on the lab's wire; `extra` are more key = value lines.
  std::string device(const std::string& name, const std::string& kind, const std::string& tap,
                     const NetworkNamespace& ns) const {
    return fmt::format("[[device]]\nname = \"{}\"\nkind = \"{}\"\nfar-side = \"wire:e2e-{}\"\ntap = \"{}\"\n"
                       "tap-namespace = \"{}\"\n{}",
                       name, kind, kPid, tap, ns.name(), extraDeviceKeys_);
  }

  // Subclasses change the right-hand device and add keys to both before SetUp.
  std::string rightDevice_ = "rndis0";
  std::string rightKind_ = "rndis";
  std::string extraDeviceKeys_;
  std::string globalConfig_;  // top-level tables before the devices
  const std::string leftTap_ = tapName("n");
  const std::string rightTap_ = tapName("r");
  std::unique_ptr<TempDirectory> directory_;
  std::unique_ptr<NetworkNamespace> left_;
  std::unique_ptr<NetworkNamespace> right_;
  std::unique_ptr<Ndishost> host_;
  std::filesystem::path eventLog_;
  bool stoppedByTest_ = false;
};

// The event-log records (written by ndishost's log thread) whose summary contains `text`,
// waiting up to `limit` for at least one.
std::vector<nlohmann::json> waitEventRecords(const std::filesystem::path& file, const std::string& text,
                                             std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<nlohmann::json> found;
  for (;;) {
    found.clear();
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      const auto record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_object() && record.value("summary", "").find(text) != std::string::npos) found.push_back(record);
    }
    if (!found.empty() || std::chrono::steady_clock::now() > deadline) return found;
    std::this_thread::sleep_for(50ms);
  }
}

// `ip -o link show` of the interface, e.g. "...: <NO-CARRIER,BROADCAST,MULTICAST,UP> ...".
std::string linkFlags(const NetworkNamespace& ns, const std::string& tap) {
  const CommandResult r = ns.run({"ip", "-o", "link", "show", "dev", tap}, 5s);
  return r.ok() ? r.output : "";
}

bool hasNoCarrier(const NetworkNamespace& ns, const std::string& tap) {
  return linkFlags(ns, tap).find("NO-CARRIER") != std::string::npos;
}

// /sys/class/net/<tap>/carrier inside the namespace (`ip netns exec` mounts its sysfs):
// "1" or "0"; reading it while the interface is down fails (EINVAL), hence "".
std::string sysfsCarrier(const NetworkNamespace& ns, const std::string& tap) {
  const CommandResult r = ns.run({"cat", "/sys/class/net/" + tap + "/carrier"}, 5s);
  if (!r.ok()) return "";
  return r.output.substr(0, r.output.find('\n'));
}

std::string listLink(const Ndishost& host, const std::string& device) {
  if (auto rows = host.list())
    for (const auto& row : *rows)
      if (row.value("device", "") == device) return row.value("link", "");
  return "";
}

// 1. IPv4 and IPv6 ping both ways, NCM <-> RNDIS on a wire.
TEST_F(WireLab, PingIpv4AndIpv6BothWays) {
  auto r = ping(*left_, "10.231.0.2");
  EXPECT_TRUE(r.ok()) << r.output << "\nstats: " << host_->control({"stats", "--json"}).output;
  r = ping(*right_, "10.231.0.1");
  EXPECT_TRUE(r.ok()) << r.output;
  r = ping(*left_, "fd00:e2e::2");
  EXPECT_TRUE(r.ok()) << r.output;
  r = ping(*right_, "fd00:e2e::1");
  EXPECT_TRUE(r.ok()) << r.output;
  // The frames really went through the adapters: both TAP bindings counted them.
  auto s = host_->stats("ncm0");
  ASSERT_TRUE(s.has_value());
  EXPECT_GE((*s)["binding"].value("frames_to_adapter", 0u), 12u) << s->dump();
  EXPECT_GE((*s)["binding"].value("frames_from_adapter", 0u), 12u) << s->dump();
}

// 2. A TCP transfer arrives with the same SHA-256: 1 GiB in the plain build; under the
// sanitizers, which slow the data path down (ASan ~5x, TSan ~20x), 64 MiB and 4 MiB unless
// NDISHOST_E2E_LONG=1 asks for the whole GiB there too.
TEST_F(WireLab, TcpTransferArrivesIntact) {
  const char* longSetting = std::getenv("NDISHOST_E2E_LONG");
  const bool longRun = (longSetting != nullptr && std::string(longSetting) == "1") ||
                       (!kThreadSanitizer && !kAddressSanitizer);
  std::uint64_t total = 1024ull << 20;
  if (!longRun) total = (kThreadSanitizer ? 4ull : 64ull) << 20;
  const auto limit = longRun ? 600s : 120s;
  const std::uint16_t port = portFor(1);
  std::promise<void> listening;
  auto ready = listening.get_future();
  auto receiver = inNamespace(*right_, [&] { return receiveAll(port, listening, limit); });
  ready.wait();
  const auto started = std::chrono::steady_clock::now();
  auto sender = inNamespace(*left_, [&] { return sendAll("10.231.0.2", port, total, limit); });
  const TransferResult sent = sender.get();
  const TransferResult received = receiver.get();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(sent.error, "");
  EXPECT_EQ(received.error, "");
  EXPECT_EQ(sent.bytes, total);
  EXPECT_EQ(received.bytes, total);
  EXPECT_EQ(received.sha256, sent.sha256);
  std::cout << "[ e2e      ] " << (total >> 20) << " MiB in " << seconds << " s = " << (total * 8 / seconds / 1e6)
            << " Mbit/s, sha256 " << received.sha256 << "\n";
}

// 3. iperf3 TCP and UDP, two seconds each.
TEST_F(WireLab, Iperf3TcpAndUdp) {
  if (runCommand({"iperf3", "--version"}, 5s).exitStatus != 0 && runCommand({"iperf3", "-v"}, 5s).exitStatus != 0)
    GTEST_SKIP() << "iperf3 not installed (scripts/install-deps.sh)";
  const std::string port = std::to_string(portFor(2));
  auto serverArgs = right_->execPrefix();
  for (const char* a : {"iperf3", "-s", "-B", "10.231.0.2", "-p"}) serverArgs.push_back(a);
  serverArgs.push_back(port);
  ndishost::host::BackgroundCommand server(serverArgs);
  auto client = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{"iperf3", "-c", "10.231.0.2", "-p", port, "-t", "2", "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    CommandResult r;
    for (int attempt = 0; attempt < 20; ++attempt) {  // the server needs a moment to listen
      r = left_->run(argv, 30s);
      if (r.ok() || r.output.find("Connection refused") == std::string::npos) break;
      std::this_thread::sleep_for(200ms);
    }
    return r;
  };
  // The number at `pointer` in an iperf3 --json report, or nothing when the output is not
  // such a report.
  auto reported = [](const CommandResult& r, const char* pointer) -> std::optional<double> {
    const auto json = nlohmann::json::parse(r.output, nullptr, /*allow_exceptions=*/false);
    const nlohmann::json::json_pointer at(pointer);
    if (json.is_discarded() || !json.is_object() || !json.contains(at) || !json.at(at).is_number())
      return std::nullopt;
    return json.at(at).get<double>();
  };
  // Once in CI (parallel load) iperf3 exited 0 well within its -t time with output that was
  // no report (cause not found): such a run is printed and repeated once.
  auto measure = [&](std::vector<std::string> extra, const char* pointer) -> std::optional<double> {
    for (int run = 0; run < 2; ++run) {
      const CommandResult r = client(extra);
      if (!r.ok()) {
        ADD_FAILURE() << "iperf3 failed:\n" << r.output;
        return std::nullopt;
      }
      if (auto value = reported(r, pointer)) return value;
      std::cout << "[ e2e      ] iperf3 output without " << pointer << " (run " << run + 1 << "):\n" << r.output << "\n";
    }
    return std::nullopt;
  };
  const std::optional<double> tcpBits = measure({}, "/end/sum_received/bits_per_second");
  ASSERT_TRUE(tcpBits.has_value());
  EXPECT_GT(*tcpBits, 1e6);
  const std::optional<double> lost = measure({"-u", "-b", "50M"}, "/end/sum/lost_percent");
  ASSERT_TRUE(lost.has_value());
  EXPECT_LT(*lost, 50.0);
  std::cout << "[ e2e      ] iperf3 TCP " << *tcpBits / 1e6 << " Mbit/s, UDP 50M lost " << *lost << " %\n";
}

// 4. unplug under traffic: traffic stops, ndishost keeps running; plug: traffic resumes.
TEST_F(WireLab, UnplugAndPlugUnderTraffic) {
  auto floodArgs = left_->execPrefix();
  for (const char* a : {"ping", "-q", "-i", "0.01", "-w", "60", "10.231.0.2"}) floodArgs.push_back(a);
  ndishost::host::BackgroundCommand flood(floodArgs);
  std::this_thread::sleep_for(500ms);
  auto r = host_->control({"unplug", "rndis0"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(host_->running()) << host_->output();
  EXPECT_EQ(host_->state("rndis0"), "unplugged");
  r = ping(*left_, "10.231.0.2", 1);
  EXPECT_FALSE(r.ok()) << "answered while unplugged: " << r.output;
  EXPECT_TRUE(host_->running()) << host_->output();

  r = host_->control({"plug", "rndis0"});
  ASSERT_TRUE(r.ok()) << r.output;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (host_->state("rndis0") != "Running" && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  ASSERT_EQ(host_->state("rndis0"), "Running") << host_->output();
  // The TAP is created anew with the new adapter: address it again.
  ASSERT_TRUE(waitInterface(*right_, rightTap_, 10s));
  ASSERT_NO_FATAL_FAILURE(address(*right_, rightTap_, "10.231.0.2/24", "fd00:e2e::2/64"));
  r = ping(*left_, "10.231.0.2");
  EXPECT_TRUE(r.ok()) << r.output;
  r = ping(*right_, "fd00:e2e::1");
  EXPECT_TRUE(r.ok()) << r.output;
}

// 5. SIGTERM under traffic: exit status 0 within 15 s, no leak or violation lines.
TEST_F(WireLab, SigtermUnderTrafficExitsCleanly) {
  std::atomic<bool> stop = false;
  const std::uint16_t port = portFor(3);
  std::promise<void> listening;
  auto ready = listening.get_future();
  auto receiver = inNamespace(*right_, [&] { return receiveAll(port, listening, 20s, 2s); });
  ready.wait();
  auto sender = inNamespace(*left_, [&] { return sendAll("10.231.0.2", port, ~0ull >> 1, 20s, &stop, 2s); });
  // Traffic is flowing before the signal.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::uint64_t frames = 0;
  CommandResult lastStats;
  while (frames < 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    lastStats = host_->control({"stats", "--json", "ncm0"});
    if (auto s = host_->stats("ncm0")) frames = (*s)["binding"].value("frames_to_adapter", std::uint64_t{0});
  }
  EXPECT_GE(frames, 200u) << "last `stats` (exit " << lastStats.exitStatus << "): " << lastStats.output;
  const auto signalled = std::chrono::steady_clock::now();
  const int status = host_->stop(15s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  stoppedByTest_ = true;
  stop = true;
  const TransferResult sent = sender.get();
  const TransferResult received = receiver.get();
  EXPECT_GT(received.bytes, 0u) << "sender: " << sent.error << "; receiver: " << received.error;
  EXPECT_EQ(status, 0) << host_->output();
  EXPECT_LT(seconds, 15.0);
  EXPECT_EQ(joined(leakLines(host_->output())), "") << host_->output();
  EXPECT_NE(host_->output().find("no leaks"), std::string::npos) << host_->output();
  std::cout << "[ e2e      ] stopped " << seconds << " s after SIGTERM\n";
}

// 7. Promiscuous mode on the TAP reaches the adapter's packet filter.
TEST_F(WireLab, PromiscuousModeReachesPacketFilter) {
  constexpr std::uint32_t kPromiscuous = 0x20;  // NDIS_PACKET_TYPE_PROMISCUOUS
  auto filter = [&] {
    auto s = host_->stats("ncm0");
    return s ? (*s)["binding"].value("packet_filter", std::uint32_t{0}) : 0u;
  };
  auto waitFilter = [&](bool promiscuous) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (((filter() & kPromiscuous) != 0) == promiscuous) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  EXPECT_TRUE(waitFilter(false)) << std::hex << filter();
  auto r = left_->run({"ip", "link", "set", leftTap_, "promisc", "on"}, 5s);
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(waitFilter(true)) << std::hex << filter();
  // The device's own filter (queried from the miniport) agrees.
  r = host_->control({"oid", "query", "ncm0", "OID_GEN_CURRENT_PACKET_FILTER", "--json"});
  ASSERT_TRUE(r.ok()) << r.output;
  const std::string data = nlohmann::json::parse(r.output).value("data", "");  // little-endian hex
  ASSERT_GE(data.size(), 2u) << r.output;
  EXPECT_NE(std::stoul(data.substr(0, 2), nullptr, 16) & kPromiscuous, 0u) << r.output;
  r = left_->run({"ip", "link", "set", leftTap_, "promisc", "off"}, 5s);
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(waitFilter(false)) << std::hex << filter();
  // Traffic still flows afterwards.
  r = ping(*left_, "10.231.0.2", 2);
  EXPECT_TRUE(r.ok()) << r.output;
}

// 9. `ndishost link <dev> down|up`: the device reports the link change, the adapter
// indicates it, the TAP in its namespace loses and regains carrier, `list` and `stats`
// show it, ping fails while the link is down and works again afterwards; the event log
// records both. Both drivers: NCM (left) and RNDIS (right).
TEST_F(WireLab, LinkDownAndUpIsVisibleAsCarrier) {
  auto r = ping(*left_, "10.231.0.2", 1);
  ASSERT_TRUE(r.ok()) << r.output;
  struct Side {
    const char* device;
    NetworkNamespace* ns;
    std::string tap;
    NetworkNamespace* peer;
    const char* peerAddress;
  };
  for (const Side& side : {Side{"ncm0", left_.get(), leftTap_, right_.get(), "10.231.0.1"},
                           Side{"rndis0", right_.get(), rightTap_, left_.get(), "10.231.0.2"}}) {
    SCOPED_TRACE(side.device);
    EXPECT_EQ(sysfsCarrier(*side.ns, side.tap), "1");
    r = host_->control({"link", side.device, "down"});
    ASSERT_TRUE(r.ok()) << r.output;
    EXPECT_EQ(r.output, std::string(side.device) + ": link down\n");
    // The command returns once the TAP followed.
    EXPECT_TRUE(hasNoCarrier(*side.ns, side.tap)) << linkFlags(*side.ns, side.tap);
    EXPECT_EQ(sysfsCarrier(*side.ns, side.tap), "0");
    EXPECT_EQ(listLink(*host_, side.device), "down");
    auto s = host_->stats(side.device);
    ASSERT_TRUE(s.has_value());
    EXPECT_FALSE((*s)["binding"].value("carrier", true)) << s->dump();
    EXPECT_EQ((*s)["state"], "Running") << s->dump();  // link down is not a state change
    // No carrier: nothing leaves the TAP and nothing comes back to it.
    r = ping(*side.peer, side.peerAddress, 1, 1);
    EXPECT_FALSE(r.ok()) << "answered with the link down: " << r.output;
    EXPECT_TRUE(host_->running()) << host_->output();

    r = host_->control({"link", side.device, "up"});
    ASSERT_TRUE(r.ok()) << r.output;
    EXPECT_FALSE(hasNoCarrier(*side.ns, side.tap)) << linkFlags(*side.ns, side.tap);
    EXPECT_EQ(sysfsCarrier(*side.ns, side.tap), "1");
    EXPECT_EQ(listLink(*host_, side.device).rfind("up ", 0), 0u) << listLink(*host_, side.device);
    r = ping(*side.peer, side.peerAddress, 2);
    EXPECT_TRUE(r.ok()) << r.output << "\nstats: " << host_->control({"stats", "--json"}).output;
  }
  // Both changes of both devices are in the event log, attributed to the device.
  for (const char* change : {"link down", "link up"}) {
    const auto records = waitEventRecords(eventLog_, change);
    std::set<std::string> devices;
    for (const auto& record : records) {
      devices.insert(record.value("device", ""));
      EXPECT_EQ(record.value("kind", ""), "status") << record.dump();
    }
    EXPECT_EQ(devices, (std::set<std::string>{"ncm0", "rndis0"})) << change;
  }
  // Unknown device and bad state words are refused.
  EXPECT_EQ(host_->control({"link", "ncm9", "down"}).exitStatus, 1);
  EXPECT_GE(host_->control({"link", "ncm0", "sideways"}).exitStatus, 105);
}

// 10. MTU 9000 over NCM: two NCM devices with max-segment-size = 9014 on the wire; the
// TAP binding gives each TAP the adapter's MTU (9000), unfragmented 9000-byte IP packets
// (ping -M do -s 8972) cross both ways, and a TCP transfer (MSS 8960) arrives intact.
class JumboLab : public WireLab {
 protected:
  void SetUp() override {
    rightDevice_ = "ncm1";
    rightKind_ = "ncm";
    extraDeviceKeys_ = "max-segment-size = 9014\n";
    WireLab::SetUp();
  }
};

int interfaceMtu(const NetworkNamespace& ns, const std::string& tap) {
  const std::string flags = linkFlags(ns, tap);
  const auto at = flags.find(" mtu ");
  return at == std::string::npos ? 0 : std::atoi(flags.c_str() + at + 5);
}

TEST_F(JumboLab, Mtu9000PingAndTcpOverNcm) {
  // The MTU comes from the adapter (OID_GEN_MAXIMUM_FRAME_SIZE / NDIS MtuSize), not from us.
  EXPECT_EQ(interfaceMtu(*left_, leftTap_), 9000) << linkFlags(*left_, leftTap_);
  EXPECT_EQ(interfaceMtu(*right_, rightTap_), 9000) << linkFlags(*right_, rightTap_);
  const auto before = host_->stats("ncm0");
  ASSERT_TRUE(before.has_value());
  // 8972 bytes of ICMP data + 8 ICMP + 20 IP = 9000, Don't Fragment: one 9014-byte frame.
  auto jumboPing = [](const NetworkNamespace& from, const std::string& to) {
    return from.run({"ping", "-M", "do", "-s", "8972", "-c", "3", "-i", "0.2", "-W", "3", to}, 30s);
  };
  auto r = jumboPing(*left_, "10.231.0.2");
  EXPECT_TRUE(r.ok()) << r.output << "\nstats: " << host_->control({"stats", "--json"}).output;
  r = jumboPing(*right_, "10.231.0.1");
  EXPECT_TRUE(r.ok()) << r.output;
  // One more byte does not fit: the kernel refuses it locally (DF, above the MTU).
  r = left_->run({"ping", "-M", "do", "-s", "8973", "-c", "1", "-W", "1", "10.231.0.2"}, 10s);
  EXPECT_FALSE(r.ok()) << r.output;
  // The jumbo frames crossed the devices whole: 6 echo requests/replies of 9014 bytes each way.
  const auto after = host_->stats("ncm0");
  ASSERT_TRUE(after.has_value());
  const auto delta = [&](const char* group, const char* counter) {
    return (*after)[group].value(counter, std::uint64_t{0}) - (*before)[group].value(counter, std::uint64_t{0});
  };
  EXPECT_GE(delta("usb_device", "from_host_bytes"), 6u * 9014u) << after->dump();
  EXPECT_GE(delta("usb_device", "to_host_bytes"), 6u * 9014u) << after->dump();
  EXPECT_EQ((*after)["usb_device"].value("to_host_too_large", std::uint64_t{1}), 0u) << after->dump();

  const std::uint64_t total = (kThreadSanitizer ? 4ull : 32ull) << 20;
  const std::uint16_t port = portFor(6);
  std::promise<void> listening;
  auto ready = listening.get_future();
  auto receiver = inNamespace(*right_, [&] { return receiveAll(port, listening, 120s); });
  ready.wait();
  const auto started = std::chrono::steady_clock::now();
  auto sender = inNamespace(*left_, [&] { return sendAll("10.231.0.2", port, total, 120s); });
  const TransferResult sent = sender.get();
  const TransferResult received = receiver.get();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(sent.error, "");
  EXPECT_EQ(received.error, "");
  EXPECT_EQ(received.bytes, total);
  EXPECT_EQ(received.sha256, sent.sha256);
  std::cout << "[ e2e      ] MTU 9000: " << (total >> 20) << " MiB in " << seconds << " s = "
            << (total * 8 / seconds / 1e6) << " Mbit/s\n";
}

// 11. Power and reset under traffic, through the real devices: a TCP stream runs from the
// NCM side to the RNDIS side while each adapter is suspended (D3) and resumed (D0), then
// reset. `list` shows the adapter paused in D3 while suspended, the event log has the power
// IRPs, the reset is counted, the stream continues after every step and arrives intact, and
// afterwards every NBL came back (sends = completions, receives = returns) with no rule
// violation.
TEST_F(WireLab, SuspendResumeAndResetUnderTraffic) {
  TcpStream stream(*left_, *right_, "10.231.0.2", portFor(7));
  auto flowing = [&](const std::string& after) {
    const std::uint64_t mark = stream.received();
    EXPECT_TRUE(stream.waitReceived(mark + (256u << 10), kThreadSanitizer ? 30s : 15s))
        << "the stream did not continue after " << after << "\nstats: " << host_->control({"stats", "--json"}).output;
  };
  auto counter = [&](const std::string& device, const char* group, const char* name) {
    const auto s = host_->stats(device);
    return s ? (*s)[group].value(name, std::uint64_t{0}) : std::uint64_t{0};
  };
  flowing("the start");
  for (const std::string device : {"ncm0", "rndis0"}) {
    SCOPED_TRACE(device);
    auto r = host_->control({"suspend", device});
    ASSERT_TRUE(r.ok()) << r.output;
    EXPECT_EQ(host_->state(device), "Paused (D3)");
    EXPECT_TRUE(host_->running()) << host_->output();
    r = host_->control({"resume", device});
    ASSERT_TRUE(r.ok()) << r.output;
    EXPECT_EQ(host_->state(device), "Running");
    flowing("suspend/resume of " + device);

    const std::uint64_t resets = counter(device, "ndis", "resets");
    r = host_->control({"reset", device});
    ASSERT_TRUE(r.ok()) << r.output;
    EXPECT_EQ(counter(device, "ndis", "resets"), resets + 1);
    EXPECT_EQ(host_->state(device), "Running");
    flowing("reset of " + device);
  }
  stream.finish();

  // Quiet now: every NBL handed down came back, both ways, and nothing broke a rule.
  for (const std::string device : {"ncm0", "rndis0"}) {
    SCOPED_TRACE(device);
    std::optional<nlohmann::json> s;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      s = host_->stats(device);
      ASSERT_TRUE(s.has_value());
      const auto& n = (*s)["ndis"];
      const bool settled = n.value("sends", 0ull) == n.value("send_completions", 0ull) &&
                           n.value("receives", 0ull) == n.value("returns", 0ull) &&
                           (*s)["binding"].value("sends_outstanding", 1ull) == 0;
      if (settled || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(50ms);
    }
    const auto& n = (*s)["ndis"];
    EXPECT_EQ(n.value("sends", 0ull), n.value("send_completions", 0ull)) << s->dump();
    EXPECT_EQ(n.value("receives", 0ull), n.value("returns", 0ull)) << s->dump();
    EXPECT_EQ((*s)["binding"].value("sends_outstanding", 1ull), 0u) << s->dump();
    EXPECT_EQ(n.value("violations", 1ull), 0u) << s->dump();
    EXPECT_EQ(n.value("hangs_detected", 1ull), 0u) << s->dump();
    EXPECT_GT(n.value("sends", 0ull), 0u) << s->dump();
  }
  // The event log has the power changes and resets of both devices.
  const auto power = waitEventRecords(eventLog_, "SET_POWER D");
  std::set<std::string> seen;
  for (const auto& record : power)
    seen.insert(record.value("device", "") + " " + record["details"].value("power", ""));
  EXPECT_EQ(seen, (std::set<std::string>{"ncm0 D0", "ncm0 D3", "rndis0 D0", "rndis0 D3"}));
  std::set<std::string> resetDevices;
  for (const auto& record : waitEventRecords(eventLog_, "MiniportResetEx"))
    if (record.value("kind", "") == "reset") resetDevices.insert(record.value("device", ""));
  EXPECT_EQ(resetDevices, (std::set<std::string>{"ncm0", "rndis0"}));
}

// 12. A device that stops answering (`ndishost hang`): its bulk transfers stay pending, so
// the sends the miniport holds age; NDIS's send time-out (check-for-hang-ms = 250, two
// periods) detects the hang and calls MiniportResetEx, the driver aborts and resets its
// pipes (which revives the device), and the TCP stream running through it continues and
// arrives intact.
class HangLab : public WireLab {
 protected:
  void SetUp() override {
    globalConfig_ = "[ndis]\ncheck-for-hang-ms = 250\n\n";
    WireLab::SetUp();
  }
};

TEST_F(HangLab, UnresponsiveDeviceIsDetectedAndResetUnderTraffic) {
  TcpStream stream(*left_, *right_, "10.231.0.2", portFor(8));
  auto waitReceived = [&](std::uint64_t atLeast) { return stream.waitReceived(atLeast, kThreadSanitizer ? 30s : 15s); };
  auto ndisCounter = [&](const char* name) {
    const auto s = host_->stats("ncm0");
    return s ? (*s)["ndis"].value(name, std::uint64_t{0}) : std::uint64_t{0};
  };
  ASSERT_TRUE(waitReceived(256u << 10)) << "no traffic before the hang";
  const std::uint64_t resetsBefore = ndisCounter("resets");
  auto r = host_->control({"hang", "ncm0"});
  ASSERT_TRUE(r.ok()) << r.output;
  // Detected and reset by NDIS on its own.
  const auto deadline = std::chrono::steady_clock::now() + (kThreadSanitizer ? 30s : 10s);
  while (ndisCounter("resets") == resetsBefore && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  const auto afterReset = host_->stats("ncm0");
  ASSERT_TRUE(afterReset.has_value());
  EXPECT_GT((*afterReset)["ndis"].value("resets", 0ull), resetsBefore) << afterReset->dump();
  EXPECT_GE((*afterReset)["ndis"].value("hangs_detected", 0ull), 1u) << afterReset->dump();
  // The stream continues through the revived device.
  const std::uint64_t mark = stream.received();
  EXPECT_TRUE(waitReceived(mark + (1u << 20))) << "the stream did not continue after the reset\nstats: "
                                               << host_->control({"stats", "--json"}).output;
  EXPECT_EQ(host_->state("ncm0"), "Running");
  stream.finish();
  // The event log tells the story: the hang injected, then NDIS's reset.
  EXPECT_FALSE(waitEventRecords(eventLog_, "ndishost hang").empty());
  bool resetLogged = false;
  for (const auto& record : waitEventRecords(eventLog_, "MiniportResetEx"))
    resetLogged = resetLogged || record.value("device", "") == "ncm0";
  EXPECT_TRUE(resetLogged);
}

// 6. afpacket far side: the device's network port is one end of a veth pair (in a
// namespace of ours); the other end sits in a third namespace with an address.
TEST(AfpacketFarSide, PingAcrossVeth) {
  std::string why;
  if (skipReason(why)) GTEST_SKIP() << why;
  TempDirectory directory("afpacket");
  NetworkNamespace tapSide(uniqueName("t"));
  NetworkNamespace portSide(uniqueName("p"));
  NetworkNamespace peerSide(uniqueName("q"));
  const std::string portEnd = tapName("p");
  const std::string peerEnd = tapName("q");
  const std::string tap = tapName("a");
  // The veth pair is created inside portSide (nothing in the test's own namespace).
  auto r = portSide.run({"ip", "link", "add", portEnd, "type", "veth", "peer", "name", peerEnd}, 5s);
  ASSERT_TRUE(r.ok()) << r.output;
  r = portSide.run({"ip", "link", "set", peerEnd, "netns", peerSide.name()}, 5s);
  ASSERT_TRUE(r.ok()) << r.output;
  ASSERT_TRUE(portSide.run({"ip", "link", "set", portEnd, "up"}, 5s).ok());
  ASSERT_NO_FATAL_FAILURE(address(peerSide, peerEnd, "10.232.0.2/24", "fd00:e2f::2/64"));
  const auto config = directory.path() / "ndishost.toml";
  std::ofstream(config) << "[[device]]\nname = \"ecm0\"\nkind = \"ecm\"\nfar-side = \"afpacket:" << portSide.name() << "/"
                        << portEnd << "\"\ntap = \"" << tap << "\"\ntap-namespace = \"" << tapSide.name() << "\"\n";
  Ndishost host(config, directory.path() / "control.sock");
  ASSERT_TRUE(host.waitReady(kThreadSanitizer ? 90s : 30s)) << host.output();
  ASSERT_TRUE(waitInterface(tapSide, tap, 5s));
  ASSERT_NO_FATAL_FAILURE(address(tapSide, tap, "10.232.0.1/24", "fd00:e2f::1/64"));
  r = ping(tapSide, "10.232.0.2");
  EXPECT_TRUE(r.ok()) << r.output;
  r = ping(peerSide, "fd00:e2f::1");
  EXPECT_TRUE(r.ok()) << r.output;
  EXPECT_EQ(host.stop(15s), 0) << host.output();
  EXPECT_EQ(joined(leakLines(host.output())), "");
}

// 8. udp far side: two ndishost processes, their devices joined by a UDP tunnel on loopback.
TEST(UdpFarSide, PingBetweenTwoProcesses) {
  std::string why;
  if (skipReason(why)) GTEST_SKIP() << why;
  TempDirectory directory("udp");
  NetworkNamespace a(uniqueName("ua"));
  NetworkNamespace b(uniqueName("ub"));
  const std::string tapA = tapName("u");
  const std::string tapB = tapName("v");
  const std::string portA = std::to_string(portFor(4));
  const std::string portB = std::to_string(portFor(5));
  const auto configA = directory.path() / "a.toml";
  const auto configB = directory.path() / "b.toml";
  std::ofstream(configA) << "[[device]]\nname = \"ncm0\"\nkind = \"ncm\"\nfar-side = \"udp:127.0.0.1:" << portA << "->127.0.0.1:"
                         << portB << "\"\ntap = \"" << tapA << "\"\ntap-namespace = \"" << a.name() << "\"\n";
  std::ofstream(configB) << "[[device]]\nname = \"rndis0\"\nkind = \"rndis\"\nmac = \"02:4e:44:00:00:02\"\n"
                         << "far-side = \"udp:127.0.0.1:" << portB << "->127.0.0.1:" << portA << "\"\ntap = \"" << tapB
                         << "\"\ntap-namespace = \"" << b.name() << "\"\n";
  Ndishost hostA(configA, directory.path() / "a.sock");
  Ndishost hostB(configB, directory.path() / "b.sock");
  ASSERT_TRUE(hostA.waitReady(kThreadSanitizer ? 90s : 30s)) << hostA.output();
  ASSERT_TRUE(hostB.waitReady(kThreadSanitizer ? 90s : 30s)) << hostB.output();
  ASSERT_TRUE(waitInterface(a, tapA, 5s));
  ASSERT_TRUE(waitInterface(b, tapB, 5s));
  ASSERT_NO_FATAL_FAILURE(address(a, tapA, "10.233.0.1/24", "fd00:e30::1/64"));
  ASSERT_NO_FATAL_FAILURE(address(b, tapB, "10.233.0.2/24", "fd00:e30::2/64"));
  auto r = ping(a, "10.233.0.2");
  EXPECT_TRUE(r.ok()) << r.output;
  r = ping(b, "fd00:e30::1");
  EXPECT_TRUE(r.ok()) << r.output;
  EXPECT_EQ(hostB.stop(15s), 0) << hostB.output();
  EXPECT_EQ(hostA.stop(15s), 0) << hostA.output();
  EXPECT_EQ(joined(leakLines(hostA.output() + hostB.output())), "");
}

}  // namespace
