// The control socket of a running ndishost: serves `ndishost list|stats|oid|unplug|plug|
// reset|suspend|resume|trace` (the wire format is in control_protocol.hpp) by calling a
// HostControl. Construct it after the runtime is up, destroy it before the runtime goes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

#include "host/control/host_control.hpp"
#include "host/control/socket_path.hpp"

namespace ndishost::host {

struct ControlServerOptions {
  std::size_t maxClients = 32;           // further connections get an error line and are closed
  std::size_t traceQueueLimit = 4096;    // events buffered per `trace` client before dropping
};

class ControlServer {
 public:
  // Binds `socketPath` (mode 0660, parent directory created) and starts serving on a
  // background thread (plus one thread per connected client). If the path holds a socket
  // another process still answers on, refuses with ControlError; a stale socket (nobody
  // listening) is replaced; anything that is not a socket is never touched.
  ControlServer(HostControl& host, std::filesystem::path socketPath, ControlServerOptions options = {});
  // Stops accepting, ends every client session (trace streams included), joins the
  // threads and removes the socket file if it is still the one this server created.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::filesystem::path& socketPath() const;
  std::size_t activeClients() const;  // connections currently being served

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ndishost::host
