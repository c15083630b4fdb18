// Dropping privilege once ndishost has opened what needs it.
//
// `ndishost up` starts as root (or with file capabilities) because creating TAP interfaces,
// opening AF_PACKET sockets and entering network namespaces need CAP_NET_ADMIN,
// CAP_NET_RAW and CAP_SYS_ADMIN. Once the far sides are open and the adapters bound, it
// keeps only what a running host still uses (re-binding a re-plugged adapter opens a TAP
// again, possibly inside a namespace) and drops every other capability from the effective,
// permitted and inheritable sets and from the bounding set, so a driver bug cannot be
// turned into, say, CAP_DAC_OVERRIDE or CAP_SYS_PTRACE.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <sys/capability.h>

namespace ndishost::host {

// What a running host keeps: CAP_NET_ADMIN always (TAPs, carrier, MTU), CAP_SYS_ADMIN when
// a TAP lives in another network namespace (setns), CAP_NET_RAW when an AF_PACKET far side
// may be reopened.
std::vector<cap_value_t> capabilitiesToKeep(bool tapsInNamespaces, bool afpacketFarSides);

// Keeps exactly `keep` (where the process has them) and drops every other capability from
// the effective, permitted and inheritable sets and the bounding set; sets no_new_privs.
// Throws std::system_error naming the step that failed. A process without capabilities
// (an unprivileged run) has nothing to drop: a no-op.
void dropCapabilitiesExcept(std::span<const cap_value_t> keep);

// The effective set as names ("cap_net_admin,cap_net_raw"), for logs and tests.
std::string effectiveCapabilities();

}  // namespace ndishost::host
