#include "host/control/control_server.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <poll.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "host/control/control_protocol.hpp"
#include "host/control/socket_io.hpp"

namespace ndishost::host {

using control::LineReader;
using control::UniqueFd;

namespace {

// A reply that takes longer than this to leave means the client stopped reading; drop it.
constexpr std::chrono::milliseconds kReplySendTimeout{10'000};

UniqueFd makeEventFd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) throw ControlError(fmt::format("control socket: eventfd: {}", std::strerror(errno)));
  return fd;
}

void signalEventFd(int fd) {
  const std::uint64_t one = 1;
  // Only fails when the counter would overflow, i.e. it is already signalled.
  [[maybe_unused]] const ssize_t ignored = ::write(fd, &one, sizeof one);
}

void drainEventFd(int fd) {
  std::uint64_t value = 0;
  [[maybe_unused]] const ssize_t ignored = ::read(fd, &value, sizeof value);
}

std::string line(const nlohmann::json& message) { return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"; }

nlohmann::json failure(std::string_view message) { return nlohmann::json{{"ok", false}, {"error", message}}; }

std::string requireDevice(const nlohmann::json& request) {
  const auto it = request.find("device");
  if (it == request.end() || !it->is_string() || it->get<std::string>().empty())
    throw ControlError(fmt::format("\"{}\" needs a \"device\" (a device name from `ndishost list`)",
                                   request.value("cmd", "")));
  return it->get<std::string>();
}

std::uint32_t requireOid(const nlohmann::json& request) {
  const auto it = request.find("oid");
  if (it == request.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > 0xFFFFFFFFu)
    throw ControlError("\"oid\" must be a 32-bit unsigned number");
  return static_cast<std::uint32_t>(it->get<std::uint64_t>());
}

// Events of one `trace` client, filled by the HostControl sink on any thread, drained by the
// client's session thread. Shared so a sink call racing the unsubscribe stays harmless.
struct TraceQueue {
  std::mutex lock;
  std::deque<nlohmann::json> events;
  std::uint64_t dropped = 0;
  std::size_t limit = 0;
  UniqueFd wake;
};

}  // namespace

struct ControlServer::Impl {
  HostControl& host;
  std::filesystem::path path;
  ControlServerOptions options;
  UniqueFd listener;
  UniqueFd stop;  // readable once the server shuts down: every poll in every thread watches it
  ino_t socketInode = 0;
  dev_t socketDevice = 0;

  struct Session {
    std::thread thread;
    std::atomic<bool> finished{false};
  };
  mutable std::mutex sessionsLock;
  std::list<Session> sessions;
  std::atomic<std::size_t> active{0};
  std::thread acceptor;

  Impl(HostControl& h, std::filesystem::path p, ControlServerOptions o) : host(h), path(std::move(p)), options(o) {}

  void bindSocket();
  void refuseIfServed();
  void acceptLoop();
  void reapFinished();
  void serve(UniqueFd client);
  nlohmann::json dispatch(const nlohmann::json& request);
  void streamTrace(int client, LineReader& reader);
};

void ControlServer::Impl::refuseIfServed() {
  std::error_code error;
  const auto status = std::filesystem::symlink_status(path, error);
  if (error || !std::filesystem::exists(status)) return;
  if (!std::filesystem::is_socket(status))
    throw ControlError(fmt::format("{} exists and is not a socket; remove it or choose another control socket path",
                                   path.string()));
  UniqueFd probe = control::connectUnix(path);
  if (probe) {
    // Somebody answers. Ask who, only to give a better message; refuse either way.
    std::string who = "another process";
    if (control::sendAll(probe.get(), line({{"cmd", "hello"}}), -1, std::chrono::milliseconds(1000))) {
      LineReader reader(control::kMaxRequestBytes);
      std::string reply;
      if (reader.next(probe.get(), reply, -1, std::chrono::milliseconds(1000)) == LineReader::Result::Line) {
        const auto hello = nlohmann::json::parse(reply, nullptr, false);
        if (hello.is_object() && hello.value("server", "") == control::kServerName)
          who = fmt::format("another ndishost (pid {})", hello.value("pid", 0));
      }
    }
    throw ControlError(fmt::format("{} is already serving the control socket {}; stop it or use another path", who,
                                   path.string()));
  }
  if (errno != ECONNREFUSED && errno != ENOENT)
    throw ControlError(fmt::format("cannot check the existing control socket {}: {}", path.string(), std::strerror(errno)));
  // Nobody listening: left behind by an ndishost that did not exit cleanly.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw ControlError(fmt::format("cannot remove the stale control socket {}: {}", path.string(), std::strerror(errno)));
}

void ControlServer::Impl::bindSocket() {
  if (!control::fitsUnixPath(path))
    throw ControlError(fmt::format("control socket path too long ({} bytes, at most {}): {}", path.native().size(),
                                   sizeof(sockaddr_un::sun_path) - 1, path.string()));
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error)
      throw ControlError(fmt::format("cannot create {} for the control socket: {}", path.parent_path().string(),
                                     error.message()));
  }
  refuseIfServed();
  listener = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener) throw ControlError(fmt::format("control socket: {}", std::strerror(errno)));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.native().size());
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    throw ControlError(fmt::format("cannot bind the control socket {}: {}", path.string(), std::strerror(errno)));
  // Owner and group may connect (connect() needs write permission): put users who may
  // steer ndishost in the socket's group instead of opening it to everyone.
  if (::chmod(path.c_str(), 0660) != 0 || ::listen(listener.get(), 16) != 0) {
    const int saved = errno;
    ::unlink(path.c_str());
    throw ControlError(fmt::format("control socket {}: {}", path.string(), std::strerror(saved)));
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    socketInode = info.st_ino;
    socketDevice = info.st_dev;
  }
}

void ControlServer::Impl::reapFinished() {
  std::lock_guard guard(sessionsLock);
  for (auto it = sessions.begin(); it != sessions.end();) {
    if (it->finished.load()) {
      it->thread.join();
      it = sessions.erase(it);
    } else {
      ++it;
    }
  }
}

void ControlServer::Impl::acceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents & POLLIN) return;
    reapFinished();
    UniqueFd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) continue;  // EAGAIN, ECONNABORTED, EMFILE...: nothing to serve this round
    if (active.load() >= options.maxClients) {
      control::sendAll(client.get(), line(failure(fmt::format("too many control clients (at most {})", options.maxClients))),
                       stop.get(), std::chrono::milliseconds(100));
      continue;
    }
    std::lock_guard guard(sessionsLock);
    Session& session = sessions.emplace_back();
    ++active;
    session.thread = std::thread([this, &session, fd = std::move(client)]() mutable {
      serve(std::move(fd));
      --active;
      session.finished.store(true);
    });
  }
}

void ControlServer::Impl::serve(UniqueFd client) {
  LineReader reader(control::kMaxRequestBytes);
  std::string request;
  for (;;) {
    const auto result = reader.next(client.get(), request, stop.get(), std::nullopt);
    if (result == LineReader::Result::TooLong) {
      control::sendAll(client.get(), line(failure("request line too long")), stop.get(), kReplySendTimeout);
      return;
    }
    if (result != LineReader::Result::Line) return;  // client gone or server stopping
    if (request.empty()) continue;
    const auto parsed = nlohmann::json::parse(request, nullptr, false);
    if (!parsed.is_object()) {
      if (!control::sendAll(client.get(), line(failure("request is not a JSON object")), stop.get(), kReplySendTimeout)) return;
      continue;
    }
    if (parsed.value("cmd", "") == "trace") {
      streamTrace(client.get(), reader);
      return;
    }
    if (!control::sendAll(client.get(), line(dispatch(parsed)), stop.get(), kReplySendTimeout)) return;
  }
}

nlohmann::json ControlServer::Impl::dispatch(const nlohmann::json& request) {
  try {
    const auto cmdIt = request.find("cmd");
    if (cmdIt == request.end() || !cmdIt->is_string()) return failure("request has no \"cmd\"");
    const std::string cmd = cmdIt->get<std::string>();
    if (cmd == "hello")
      return {{"ok", true}, {"server", control::kServerName}, {"pid", ::getpid()}, {"protocol", control::kProtocolVersion}};
    if (cmd == "list") {
      nlohmann::json adapters = nlohmann::json::array();
      for (const AdapterRow& row : host.list()) adapters.push_back(control::toJson(row));
      return {{"ok", true}, {"adapters", std::move(adapters)}};
    }
    if (cmd == "stats") {
      std::string device;
      if (const auto it = request.find("device"); it != request.end() && it->is_string()) device = it->get<std::string>();
      return {{"ok", true}, {"stats", host.stats(device)}};
    }
    if (cmd == "oid-query") {
      const std::string device = requireDevice(request);
      const std::uint32_t oid = requireOid(request);
      const auto length = request.value("length", std::uint64_t{256});
      if (length > 64 * 1024) throw ControlError("\"length\" is at most 65536 bytes");
      const auto data = host.oidQuery(device, oid, static_cast<std::size_t>(length));
      return {{"ok", true}, {"data", control::toHex(data)}};
    }
    if (cmd == "oid-set") {
      const std::string device = requireDevice(request);
      const std::uint32_t oid = requireOid(request);
      const auto data = request.find("data");
      if (data == request.end() || !data->is_string()) throw ControlError("\"oid-set\" needs \"data\" (hex bytes)");
      std::vector<std::uint8_t> bytes;
      try {
        bytes = control::parseHexBytes(data->get<std::string>());
      } catch (const std::invalid_argument& error) {
        throw ControlError(error.what());
      }
      host.oidSet(device, oid, bytes);
      return {{"ok", true}};
    }
    if (cmd == "link") {
      const std::string device = requireDevice(request);
      const auto up = request.find("up");
      if (up == request.end() || !up->is_boolean()) throw ControlError("\"link\" needs \"up\": true or false");
      host.setLink(device, up->get<bool>());
      return {{"ok", true}};
    }
    using Action = void (HostControl::*)(const std::string&);
    static constexpr std::pair<std::string_view, Action> kDeviceActions[] = {
        {"unplug", &HostControl::unplug}, {"plug", &HostControl::plug},       {"reset", &HostControl::reset},
        {"suspend", &HostControl::suspend}, {"resume", &HostControl::resume}, {"hang", &HostControl::hang}};
    for (const auto& [name, action] : kDeviceActions) {
      if (cmd == name) {
        (host.*action)(requireDevice(request));
        return {{"ok", true}};
      }
    }
    return failure(fmt::format("unknown command \"{}\"", cmd));
  } catch (const ControlError& error) {
    return failure(error.what());
  } catch (const nlohmann::json::exception& error) {
    return failure(fmt::format("malformed request: {}", error.what()));
  } catch (const std::exception& error) {
    // The runtime broke its contract (ControlError only); still answer instead of dying.
    return failure(fmt::format("internal error: {}", error.what()));
  }
}

void ControlServer::Impl::streamTrace(int client, LineReader& reader) {
  auto queue = std::make_shared<TraceQueue>();
  queue->limit = options.traceQueueLimit;
  queue->wake = makeEventFd();
  std::unique_ptr<HostControl::Subscription> subscription;
  try {
    subscription = host.subscribe([queue](const nlohmann::json& event) {
      {
        std::lock_guard guard(queue->lock);
        if (queue->events.size() >= queue->limit) {
          ++queue->dropped;
          return;
        }
        queue->events.push_back(event);
      }
      signalEventFd(queue->wake.get());
    });
  } catch (const std::exception& error) {
    control::sendAll(client, line(failure(error.what())), stop.get(), kReplySendTimeout);
    return;
  }
  if (!control::sendAll(client, line({{"ok", true}, {"streaming", true}}), stop.get(), kReplySendTimeout)) return;

  std::deque<nlohmann::json> batch;
  std::string ignored;
  for (;;) {
    pollfd fds[3] = {{client, POLLIN | POLLRDHUP, 0}, {queue->wake.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[2].revents & POLLIN) return;
    if (fds[0].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) {
      // A trace client only listens; anything it sends is discarded, EOF ends the stream.
      const auto result = reader.next(client, ignored, stop.get(), std::chrono::milliseconds(0));
      if (result != LineReader::Result::Line && result != LineReader::Result::TimedOut) return;
    }
    if (fds[1].revents & POLLIN) {
      drainEventFd(queue->wake.get());
      std::uint64_t dropped = 0;
      {
        std::lock_guard guard(queue->lock);
        batch.swap(queue->events);
        std::swap(dropped, queue->dropped);
      }
      std::string out;
      if (dropped != 0) out += line({{"dropped", dropped}});
      for (const auto& event : batch) out += line({{"event", event}});
      batch.clear();
      // No time-out: a stalled reader only delays itself (its queue fills, events drop).
      if (!control::sendAll(client, out, stop.get(), std::nullopt)) return;
    }
  }
}

ControlServer::ControlServer(HostControl& host, std::filesystem::path socketPath, ControlServerOptions options)
    : impl_(std::make_unique<Impl>(host, std::move(socketPath), options)) {
  impl_->stop = makeEventFd();
  impl_->bindSocket();
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->acceptLoop(); });
}

ControlServer::~ControlServer() {
  signalEventFd(impl_->stop.get());
  impl_->acceptor.join();
  {
    std::lock_guard guard(impl_->sessionsLock);
    for (auto& session : impl_->sessions) session.thread.join();
    impl_->sessions.clear();
  }
  struct stat info {};
  if (::stat(impl_->path.c_str(), &info) == 0 && info.st_ino == impl_->socketInode && info.st_dev == impl_->socketDevice)
    ::unlink(impl_->path.c_str());
}

const std::filesystem::path& ControlServer::socketPath() const { return impl_->path; }

std::size_t ControlServer::activeClients() const { return impl_->active.load(); }

}  // namespace ndishost::host
