#include <dlfcn.h>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>

#include "nt/pnp/symbolize.hpp"

namespace ndishost::nt::pnp {

std::string symbolizeAddress(const void* address) {
  if (address == nullptr) return "(unknown)";
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return fmt::format("{}", address);
  const char* file = info.dli_fname;
  if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
  auto at = reinterpret_cast<std::uintptr_t>(address);
  if (info.dli_sname != nullptr && info.dli_saddr != nullptr) {
    return fmt::format("{}!{}+{:#x}", file, info.dli_sname, at - reinterpret_cast<std::uintptr_t>(info.dli_saddr));
  }
  return fmt::format("{}+{:#x}", file, at - reinterpret_cast<std::uintptr_t>(info.dli_fbase));
}

}  // namespace ndishost::nt::pnp
