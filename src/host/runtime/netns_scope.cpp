#include "host/runtime/netns_scope.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ndishost::host {

namespace {

// posix_spawn rather than fork: the process has many threads (DPCs, workers). The child
// gets an empty signal mask: ndishost blocks SIGINT/SIGTERM to read them from a signalfd.
pid_t spawn(const std::vector<std::string>& argv, int outputFd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (outputFd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, outputFd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, outputFd, STDERR_FILENO);
  }
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int error = posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) return -1;
  return pid;
}

int exitStatusOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

}  // namespace

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  CommandResult result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  const pid_t pid = spawn(argv, fds[1]);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    result.output = "cannot run " + argv.at(0);
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timedOut = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    const ssize_t got = read(fds[0], buffer, sizeof buffer);
    if (got <= 0) break;  // EOF: the command closed its output (ended)
    result.output.append(buffer, static_cast<std::size_t>(got));
  }
  close(fds[0]);
  int status = 0;
  // After EOF the command ends at once; still bound the wait by the deadline.
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline) {
      result.timedOut = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.exitStatus = result.timedOut ? -1 : exitStatusOf(status);
  return result;
}

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv) {
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_ = spawn(argv, devnull);
  if (devnull >= 0) close(devnull);
  if (pid_ < 0) throw std::runtime_error("cannot run " + argv.at(0));
}

BackgroundCommand::~BackgroundCommand() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

int BackgroundCommand::wait(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return exitStatusOf(status);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

NetworkNamespace::NetworkNamespace(std::string name) : name_(std::move(name)) {
  const auto result = runCommand({"ip", "netns", "add", name_}, std::chrono::seconds(10));
  if (!result.ok()) throw std::runtime_error("ip netns add " + name_ + ": " + result.output);
  // Loopback up, so local services (iperf3 control) behave as usual.
  run({"ip", "link", "set", "lo", "up"}, std::chrono::seconds(5));
}

NetworkNamespace::~NetworkNamespace() { runCommand({"ip", "netns", "del", name_}, std::chrono::seconds(10)); }

CommandResult NetworkNamespace::run(const std::vector<std::string>& argv, std::chrono::milliseconds limit) const {
  std::vector<std::string> full = execPrefix();
  full.insert(full.end(), argv.begin(), argv.end());
  return runCommand(full, limit);
}

bool haveNetworkPrivileges(std::string* why) {
  if (geteuid() != 0) {
    if (why != nullptr) *why = "needs root (network namespaces and TAP interfaces)";
    return false;
  }
  if (access("/dev/net/tun", R_OK | W_OK) != 0) {
    if (why != nullptr) *why = "/dev/net/tun is not available";
    return false;
  }
  return true;
}

}  // namespace ndishost::host
