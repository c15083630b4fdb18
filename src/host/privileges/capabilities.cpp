#include "host/privileges/capabilities.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>

#include <sys/prctl.h>

namespace ndishost::host {
namespace {

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;
using CapText = std::unique_ptr<char, CapFree>;

[[noreturn]] void fail(const char* step) { throw std::system_error(errno, std::generic_category(), step); }

}  // namespace

std::vector<cap_value_t> capabilitiesToKeep(bool tapsInNamespaces, bool afpacketFarSides) {
  std::vector<cap_value_t> keep;
  keep.reserve(3);
  keep.push_back(CAP_NET_ADMIN);
  if (tapsInNamespaces) keep.push_back(CAP_SYS_ADMIN);
  if (afpacketFarSides) keep.push_back(CAP_NET_RAW);
  return keep;
}

void dropCapabilitiesExcept(std::span<const cap_value_t> keep) {
  CapState current(cap_get_proc());
  if (!current) fail("cap_get_proc");
  const auto kept = [&](cap_value_t cap) { return std::find(keep.begin(), keep.end(), cap) != keep.end(); };

  // The bounding set first: dropping from it needs CAP_SETPCAP, which the clear below removes.
  const bool canSetBounding = [&] {
    cap_flag_value_t value = CAP_CLEAR;
    return cap_get_flag(current.get(), CAP_SETPCAP, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
  }();
  if (canSetBounding) {
    for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
      if (kept(cap) || !CAP_IS_SUPPORTED(cap)) continue;
      if (cap_drop_bound(cap) != 0 && errno != EINVAL) fail("cap_drop_bound");
    }
  }

  CapState wanted(cap_init());
  if (!wanted) fail("cap_init");
  for (cap_value_t cap : keep) {
    cap_flag_value_t permitted = CAP_CLEAR;
    if (cap_get_flag(current.get(), cap, CAP_PERMITTED, &permitted) != 0) fail("cap_get_flag");
    if (permitted != CAP_SET) continue;  // never ask for what the process does not have
    if (cap_set_flag(wanted.get(), CAP_PERMITTED, 1, &cap, CAP_SET) != 0 ||
        cap_set_flag(wanted.get(), CAP_EFFECTIVE, 1, &cap, CAP_SET) != 0)
      fail("cap_set_flag");
  }
  // Root keeps capabilities across execve of children only through the bounding set and
  // securebits; no_new_privs stops a setuid helper from regaining them.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("prctl(PR_SET_NO_NEW_PRIVS)");
  if (cap_set_proc(wanted.get()) != 0) fail("cap_set_proc");
}

std::string effectiveCapabilities() {
  CapState current(cap_get_proc());
  if (!current) fail("cap_get_proc");
  std::string names;
  for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    cap_flag_value_t value = CAP_CLEAR;
    if (!CAP_IS_SUPPORTED(cap) || cap_get_flag(current.get(), cap, CAP_EFFECTIVE, &value) != 0 || value != CAP_SET)
      continue;
    CapText name(cap_to_name(cap));
    if (!names.empty()) names += ',';
    names += name ? name.get() : std::to_string(cap);
  }
  return names;
}

}  // namespace ndishost::host
