// Small POSIX socket helpers for the control socket: an owning fd, whole-line writes that
// give up when told to stop, and a line reader with a size bound.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ndishost::host::control {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Writes all of `data` to a non-blocking-capable stream socket. Waits for room at most
// `timeout` in total (nullopt = forever) and gives up early when `stopFd` (if >= 0) becomes
// readable. Returns false when the peer is gone, the stop fd fired or the time ran out.
bool sendAll(int fd, std::string_view data, int stopFd, std::optional<std::chrono::milliseconds> timeout);

// Buffers bytes from a stream socket and hands out '\n'-terminated lines (without the '\n').
class LineReader {
 public:
  explicit LineReader(std::size_t maxLine) : maxLine_(maxLine) {}
  enum class Result { Line, Closed, TooLong, Stopped, TimedOut, Error };
  // Reads until a complete line is buffered. `stopFd` and `timeout` as for sendAll.
  Result next(int fd, std::string& line, int stopFd, std::optional<std::chrono::milliseconds> timeout);

 private:
  std::size_t maxLine_;
  std::string buffer_;
};

// Connects a SOCK_STREAM AF_UNIX socket to `path`; returns the fd or -1 with errno set.
UniqueFd connectUnix(const std::filesystem::path& path);
bool fitsUnixPath(const std::filesystem::path& path);

}  // namespace ndishost::host::control
