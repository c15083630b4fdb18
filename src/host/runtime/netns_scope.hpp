// Helpers of `ndishost demo` and the runtime's tests: external commands (ip, ping, iperf3)
// with a time-out and their output, and network namespaces that exist exactly as long as
// the object that created them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ndishost::host {

struct CommandResult {
  int exitStatus = -1;  // the command's exit status; -1 when it was killed or did not start
  bool timedOut = false;
  std::string output;   // stdout and stderr together
  bool ok() const { return exitStatus == 0; }
};

// Runs argv[0] (looked up in PATH) with the signal mask cleared, collects its output and
// kills it after `limit`.
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds limit);

// A command running in the background (e.g. an iperf3 server); killed and reaped by the
// destructor unless it ended.
class BackgroundCommand {
 public:
  explicit BackgroundCommand(const std::vector<std::string>& argv);
  ~BackgroundCommand();
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;
  // Waits up to `limit` for it to end; its exit status, or -1 (then it is killed).
  int wait(std::chrono::milliseconds limit);

 private:
  pid_t pid_ = -1;
};

// `ip netns add <name>` now, `ip netns del <name>` in the destructor.
class NetworkNamespace {
 public:
  // Throws std::runtime_error with ip's message when the namespace cannot be created.
  explicit NetworkNamespace(std::string name);
  ~NetworkNamespace();
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }
  // `ip netns exec <name> argv...`
  CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds limit) const;
  std::vector<std::string> execPrefix() const { return {"ip", "netns", "exec", name_}; }

 private:
  std::string name_;
};

// True when the process may create namespaces and TAP devices (root and /dev/net/tun).
bool haveNetworkPrivileges(std::string* why);

}  // namespace ndishost::host
