// A private network lab for AF_PACKET tests: two network namespaces joined by a veth pair,
// named after the test process (nh<pid>n1/nh<pid>n2, nh<pid>a/nh<pid>b) so parallel runs
// never collide, and deleted by the destructor even when the test fails. Nothing is
// created in the namespace the tests run in.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace ndishost::link::test {

struct CommandResult {
  int status = -1;
  std::string output;
  bool ok() const { return status == 0; }
};

inline CommandResult runCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 1024> buffer;
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) result.output.append(buffer.data(), n);
  result.status = ::pclose(pipe);
  return result;
}

// Removes the namespaces in /run/netns named <prefix><pid>... whose process is gone: what
// test runs that died before cleaning up left (a bug check aborts the process). Reads the
// directory, not `ip netns list`, which fails while another test deletes a namespace.
inline void removeDeadNamespaces(const std::string& prefix) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::size_t digits = name.find_first_not_of("0123456789", prefix.size());
    const std::size_t length = (digits == std::string::npos ? name.size() : digits) - prefix.size();
    if (length == 0 || length > 9) continue;
    const auto owner = static_cast<pid_t>(std::stol(name.substr(prefix.size(), length)));
    if (::kill(owner, 0) != 0 && errno == ESRCH) runCommand("ip netns del " + name);
  }
}

// A test's own network namespaces (names starting with <prefix><pid>), deleted with
// everything in them on destruction; dead runs' leftovers of that prefix go first.
class TestNamespaces {
 public:
  TestNamespaces(const std::string& prefix, std::vector<std::string> names) : names_(std::move(names)) {
    removeDeadNamespaces(prefix);
    for (const auto& name : names_) {
      runCommand("ip netns del " + name);  // a leftover of a crashed run with the same pid
      ok_ = ok_ && runCommand("ip netns add " + name).ok();
    }
  }
  ~TestNamespaces() {
    for (const auto& name : names_) runCommand("ip netns del " + name);
  }
  TestNamespaces(const TestNamespaces&) = delete;
  TestNamespaces& operator=(const TestNamespaces&) = delete;
  bool ok() const { return ok_; }

 private:
  std::vector<std::string> names_;
  bool ok_ = true;
};

class NetLab {
 public:
  // The lab, or null with the reason in *whyNot (no `ip`, not permitted, ...).
  static std::unique_ptr<NetLab> create(std::string* whyNot) {
    if (!runCommand("command -v ip").ok()) {
      *whyNot = "the ip command (iproute2) is not installed";
      return nullptr;
    }
    removeDeadNamespaces("nh");
    std::unique_ptr<NetLab> lab(new NetLab);
    const std::string pid = std::to_string(::getpid());
    lab->ns1 = "nh" + pid + "n1";
    lab->ns2 = "nh" + pid + "n2";
    lab->ifA = "nh" + pid + "a";
    lab->ifB = "nh" + pid + "b";
    for (const auto& ns : {lab->ns1, lab->ns2}) {
      const auto added = runCommand("ip netns add " + ns);
      if (!added.ok()) {
        *whyNot = "cannot create a network namespace (needs root or CAP_SYS_ADMIN): " + added.output;
        return nullptr;
      }
      lab->created_ += 1;
    }
    const char* steps[] = {
        // Distinct interface indexes: the kernel treats a veth whose index equals its
        // peer's as not urgent and reports its carrier up to a second late.
        "ip link add {a} netns {n1} index 20 type veth peer name {b} netns {n2} index 21",
        "ip -n {n1} link set {a} up",
        "ip -n {n2} link set {b} up",
    };
    for (const char* step : steps) {
      const auto done = runCommand(lab->expand(step));
      if (!done.ok()) {
        *whyNot = "cannot set up the veth pair (needs CAP_NET_ADMIN): " + done.output;
        return nullptr;
      }
    }
    return lab;
  }

  NetLab(const NetLab&) = delete;
  NetLab& operator=(const NetLab&) = delete;
  ~NetLab() {
    // Deleting a namespace deletes the interfaces in it.
    if (created_ >= 2) runCommand("ip netns del " + ns2);
    if (created_ >= 1) runCommand("ip netns del " + ns1);
  }

  // Runs a command with {a} {b} {n1} {n2} replaced; true on success.
  CommandResult run(const std::string& command) const { return runCommand(expand(command)); }

  std::string ns1, ns2, ifA, ifB;

 private:
  NetLab() = default;

  std::string expand(std::string text) const {
    const std::pair<const char*, const std::string*> names[] = {{"{a}", &ifA}, {"{b}", &ifB}, {"{n1}", &ns1}, {"{n2}", &ns2}};
    for (const auto& [key, value] : names)
      for (std::size_t at; (at = text.find(key)) != std::string::npos;) text.replace(at, std::char_traits<char>::length(key), *value);
    return text;
  }


  int created_ = 0;
};

}  // namespace ndishost::link::test
