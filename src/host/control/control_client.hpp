// The client side of the control socket, used by the control commands and the tests.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "host/control/socket_io.hpp"

namespace ndishost::host {

// Could not talk to ndishost at all: not running, no permission, connection lost, no answer.
class ControlConnectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The running ndishost did not answer within the time asked for.
class ControlTimeoutError : public ControlConnectError {
 public:
  using ControlConnectError::ControlConnectError;
};

class ControlClient {
 public:
  // Connects; throws ControlConnectError with a message for the user ("ndishost is not
  // running (no socket at ...)", "permission denied on ...").
  explicit ControlClient(const std::filesystem::path& socketPath);

  // Sends one request and returns the reply object. A reply with "ok":false throws
  // ControlError carrying the server's message; transport trouble throws ControlConnectError.
  nlohmann::json request(const nlohmann::json& message,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // For `trace`: send without waiting, then read messages one by one. nullopt = the server
  // closed the connection (ndishost stopped).
  void send(const nlohmann::json& message);
  // Throws ControlTimeoutError when nothing complete arrived in `timeout`; a later call
  // continues with what was partially received.
  std::optional<nlohmann::json> receive(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // The reply to a request sent with send(): as request() does with it.
  nlohmann::json expectReply(std::optional<nlohmann::json> reply);

  const std::filesystem::path& socketPath() const { return path_; }

 private:
  std::filesystem::path path_;
  control::UniqueFd fd_;
  control::LineReader reader_;
};

// The message for a failed connect() to `path` with `error` (errno).
std::string describeConnectFailure(const std::filesystem::path& path, int error);

// Connects to the socket `--socket` named, or else to the first of controlSocketCandidates()
// that exists (socket_path.hpp).
ControlClient connectControl(const std::optional<std::filesystem::path>& explicitPath);

}  // namespace ndishost::host
