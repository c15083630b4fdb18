// Where the control socket lives, shared by `ndishost up` (server) and the control commands.
#pragma once

#include <filesystem>
#include <vector>

namespace ndishost::host {

// The socket `ndishost up` listens on when not told otherwise:
//   $NDISHOST_CONTROL if set and non-empty;
//   else /run/ndishost/control.sock when running as root (euid 0);
//   else $XDG_RUNTIME_DIR/ndishost.sock when XDG_RUNTIME_DIR is set;
//   else /run/ndishost/control.sock (binding there then fails with a clear error).
std::filesystem::path defaultControlSocketPath();

// Where a control command looks, in order, when --socket is not given: the default above,
// then the system socket (/run/ndishost/control.sock), so that a user in the socket's group
// reaches a root ndishost without options. Duplicates removed.
std::vector<std::filesystem::path> controlSocketCandidates();

inline const std::filesystem::path kSystemControlSocket = "/run/ndishost/control.sock";

}  // namespace ndishost::host
