#include "host/control/control_client.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "host/control/control_protocol.hpp"
#include "host/control/host_control.hpp"
#include "host/control/socket_path.hpp"

namespace ndishost::host {

std::string describeConnectFailure(const std::filesystem::path& path, int error) {
  switch (error) {
    case ENOENT: return fmt::format("ndishost is not running (no socket at {})", path.string());
    case ECONNREFUSED:
      return fmt::format("ndishost is not running (stale socket at {}, nobody is listening)", path.string());
    case EACCES:
    case EPERM:
      return fmt::format("permission denied on {}: run as root or as a member of the socket's group", path.string());
    case ENAMETOOLONG: return fmt::format("control socket path too long: {}", path.string());
    default: return fmt::format("cannot connect to ndishost at {}: {}", path.string(), std::strerror(error));
  }
}

ControlClient::ControlClient(const std::filesystem::path& socketPath)
    : path_(socketPath), reader_(16 * 1024 * 1024) {
  fd_ = control::connectUnix(path_);
  if (!fd_) throw ControlConnectError(describeConnectFailure(path_, errno));
}

void ControlClient::send(const nlohmann::json& message) {
  if (!control::sendAll(fd_.get(), message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", -1,
                        std::chrono::seconds(10)))
    throw ControlConnectError(fmt::format("lost the connection to ndishost at {}", path_.string()));
}

std::optional<nlohmann::json> ControlClient::receive(std::optional<std::chrono::milliseconds> timeout) {
  std::string line;
  switch (reader_.next(fd_.get(), line, -1, timeout)) {
    case control::LineReader::Result::Line: break;
    case control::LineReader::Result::Closed: return std::nullopt;
    case control::LineReader::Result::TimedOut:
      throw ControlTimeoutError(fmt::format("ndishost at {} did not answer in time", path_.string()));
    default: throw ControlConnectError(fmt::format("lost the connection to ndishost at {}", path_.string()));
  }
  auto reply = nlohmann::json::parse(line, nullptr, false);
  if (!reply.is_object())
    throw ControlConnectError(fmt::format("{} answered something that is not ndishost's protocol", path_.string()));
  return reply;
}

nlohmann::json ControlClient::request(const nlohmann::json& message, std::chrono::milliseconds timeout) {
  send(message);
  return expectReply(receive(timeout));
}

nlohmann::json ControlClient::expectReply(std::optional<nlohmann::json> reply) {
  if (!reply) throw ControlConnectError(fmt::format("ndishost at {} closed the connection", path_.string()));
  if (!reply->value("ok", false)) throw ControlError(reply->value("error", std::string("request failed")));
  return std::move(*reply);
}

ControlClient connectControl(const std::optional<std::filesystem::path>& explicitPath) {
  if (explicitPath) return ControlClient(*explicitPath);
  const auto candidates = controlSocketCandidates();
  for (const auto& candidate : candidates) {
    std::error_code error;
    if (std::filesystem::exists(std::filesystem::symlink_status(candidate, error))) return ControlClient(candidate);
  }
  throw ControlConnectError(describeConnectFailure(candidates.front(), ENOENT));
}

}  // namespace ndishost::host
