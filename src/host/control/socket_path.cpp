#include "host/control/socket_path.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace ndishost::host {

namespace {

const char* nonEmptyEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

std::filesystem::path defaultControlSocketPath() {
  if (const char* explicitPath = nonEmptyEnv("NDISHOST_CONTROL")) return explicitPath;
  if (::geteuid() == 0) return kSystemControlSocket;
  if (const char* runtimeDir = nonEmptyEnv("XDG_RUNTIME_DIR")) return std::filesystem::path(runtimeDir) / "ndishost.sock";
  return kSystemControlSocket;
}

std::vector<std::filesystem::path> controlSocketCandidates() {
  std::vector<std::filesystem::path> candidates{defaultControlSocketPath()};
  // An explicit $NDISHOST_CONTROL means exactly that socket: no fallback that could reach
  // a different ndishost than the one the user named.
  if (nonEmptyEnv("NDISHOST_CONTROL") == nullptr &&
      std::find(candidates.begin(), candidates.end(), kSystemControlSocket) == candidates.end())
    candidates.push_back(kSystemControlSocket);
  return candidates;
}

}  // namespace ndishost::host
