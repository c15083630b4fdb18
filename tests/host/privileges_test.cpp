// Dropping capabilities: checked in a forked child, since a process cannot get them back.
#include "host/privileges/capabilities.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using ndishost::host::capabilitiesToKeep;
using ndishost::host::dropCapabilitiesExcept;
using ndishost::host::effectiveCapabilities;

bool privileged() {
  cap_t caps = cap_get_proc();
  cap_flag_value_t value = CAP_CLEAR;
  cap_get_flag(caps, CAP_DAC_OVERRIDE, CAP_EFFECTIVE, &value);
  cap_free(caps);
  return value == CAP_SET;
}

// Runs `body` in a child; returns its exit status (0 = every check passed, n = check n failed).
template <typename Body>
int inChild(Body body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

TEST(HostPrivileges, KeepsWhatTheHostNeedsAndNothingElse) {
  if (!privileged()) GTEST_SKIP() << "needs root (CAP_DAC_OVERRIDE) to have something to drop";
  const auto dir = std::filesystem::temp_directory_path() / ("ndishost-priv-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto secret = dir / "secret";
  std::ofstream(secret) << "root only";
  ASSERT_EQ(chmod(secret.c_str(), 0), 0);
  ASSERT_EQ(chown(secret.c_str(), 12345, 12345), 0);  // not ours: only CAP_DAC_OVERRIDE opens it

  const int result = inChild([&] {
    if (open(secret.c_str(), O_RDONLY) < 0) return 1;  // root can, before the drop
    const auto keep = capabilitiesToKeep(true, false);
    dropCapabilitiesExcept(keep);
    if (effectiveCapabilities() != "cap_net_admin,cap_sys_admin") return 2;
    errno = 0;
    if (open(secret.c_str(), O_RDONLY) >= 0 || errno != EACCES) return 3;  // DAC override gone
    if (CAP_IS_SUPPORTED(CAP_SYS_PTRACE) && cap_get_bound(CAP_SYS_PTRACE) != 0) return 4;  // and from the bound
    if (cap_get_bound(CAP_NET_ADMIN) != 1) return 5;
    return 0;
  });
  std::filesystem::remove_all(dir);
  EXPECT_EQ(result, 0) << "check " << result << " failed in the child";
}

TEST(HostPrivileges, AskingToKeepWhatTheProcessLacksKeepsNothingExtra) {
  if (!privileged()) GTEST_SKIP() << "needs root";
  const int result = inChild([] {
    const std::array<cap_value_t, 1> first{CAP_NET_RAW};
    dropCapabilitiesExcept(first);
    if (effectiveCapabilities() != "cap_net_raw") return 1;
    // Now CAP_NET_ADMIN is gone: keeping it again must not bring it back.
    const std::array<cap_value_t, 2> second{CAP_NET_RAW, CAP_NET_ADMIN};
    dropCapabilitiesExcept(second);
    if (effectiveCapabilities() != "cap_net_raw") return 2;
    return 0;
  });
  EXPECT_EQ(result, 0) << "check " << result << " failed in the child";
}

TEST(HostPrivileges, TheHostKeepsNetAdminAndOnlyWhatItsConfigurationUses) {
  EXPECT_EQ(capabilitiesToKeep(false, false), std::vector<cap_value_t>{CAP_NET_ADMIN});
  EXPECT_EQ(capabilitiesToKeep(true, true), (std::vector<cap_value_t>{CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_NET_RAW}));
}

}  // namespace
