#include "host/control/socket_io.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ndishost::host::control {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left for poll(): -1 = forever, 0 = expired.
int remainingMs(std::optional<Clock::time_point> deadline) {
  if (!deadline) return -1;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

std::optional<Clock::time_point> deadlineAfter(std::optional<std::chrono::milliseconds> timeout) {
  if (!timeout) return std::nullopt;
  return Clock::now() + *timeout;
}

enum class WaitResult { Ready, Stopped, TimedOut, Error };

WaitResult waitFor(int fd, short events, int stopFd, std::optional<Clock::time_point> deadline) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {stopFd, POLLIN, 0}};
    const int count = ::poll(fds, stopFd >= 0 ? 2 : 1, remainingMs(deadline));
    if (count < 0) {
      if (errno == EINTR) continue;
      return WaitResult::Error;
    }
    if (count == 0) return WaitResult::TimedOut;
    if (stopFd >= 0 && (fds[1].revents & POLLIN)) return WaitResult::Stopped;
    return WaitResult::Ready;  // includes POLLHUP/POLLERR: the following call reports it
  }
}

}  // namespace

bool sendAll(int fd, std::string_view data, int stopFd, std::optional<std::chrono::milliseconds> timeout) {
  const auto deadline = deadlineAfter(timeout);
  while (!data.empty()) {
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      data.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (waitFor(fd, POLLOUT, stopFd, deadline) != WaitResult::Ready) return false;
      continue;
    }
    return false;
  }
  return true;
}

LineReader::Result LineReader::next(int fd, std::string& line, int stopFd,
                                    std::optional<std::chrono::milliseconds> timeout) {
  const auto deadline = deadlineAfter(timeout);
  for (;;) {
    if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
      line.assign(buffer_, 0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Result::Line;
    }
    if (buffer_.size() > maxLine_) return Result::TooLong;
    switch (waitFor(fd, POLLIN, stopFd, deadline)) {
      case WaitResult::Ready: break;
      case WaitResult::Stopped: return Result::Stopped;
      case WaitResult::TimedOut: return Result::TimedOut;
      case WaitResult::Error: return Result::Error;
    }
    char chunk[4096];
    const ssize_t got = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (got == 0) return Result::Closed;
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return errno == ECONNRESET ? Result::Closed : Result::Error;
    }
    buffer_.append(chunk, static_cast<std::size_t>(got));
  }
}

bool fitsUnixPath(const std::filesystem::path& path) {
  return path.native().size() < sizeof(sockaddr_un::sun_path);
}

UniqueFd connectUnix(const std::filesystem::path& path) {
  if (!fitsUnixPath(path)) {
    errno = ENAMETOOLONG;
    return UniqueFd{};
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.native().size());
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
    if (errno != EINTR) break;
  }
  const int saved = errno;
  fd.reset();
  errno = saved;
  return fd;
}

}  // namespace ndishost::host::control
