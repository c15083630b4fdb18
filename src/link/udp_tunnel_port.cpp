#include "link/udp_tunnel_port.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "link/callback_slot.hpp"
#include "link/link_error.hpp"
#include "link/link_log.hpp"
#include "link/port_counters.hpp"
#include "link/unique_fd.hpp"

namespace ndishost::link {
namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr int kBatchesPerWakeup = 8;
// Largest UDP payload without IPv6 jumbograms: 65535 minus the IPv4 (20) and UDP (8)
// headers, or minus only the UDP header for IPv6, whose payload length excludes its own.
constexpr std::size_t kMaxUdpPayloadV4 = 65507;
constexpr std::size_t kMaxUdpPayloadV6 = 65527;

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

std::vector<SocketAddress> resolve(const std::string& host, std::uint16_t port, const char* role) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &results);
  if (rc != 0)
    throw LinkError(std::string("udp: cannot resolve ") + role + " address '" + host + "': " + ::gai_strerror(rc));
  std::vector<SocketAddress> addresses;
  for (const addrinfo* entry = results; entry != nullptr; entry = entry->ai_next) {
    if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) continue;
    SocketAddress address;
    std::memcpy(&address.storage, entry->ai_addr, entry->ai_addrlen);
    address.length = entry->ai_addrlen;
    addresses.push_back(address);
  }
  ::freeaddrinfo(results);
  if (addresses.empty())
    throw LinkError(std::string("udp: ") + role + " address '" + host + "' has no IPv4 or IPv6 address");
  return addresses;
}

bool sameEndpoint(const sockaddr_storage& a, const SocketAddress& b) {
  if (a.ss_family != b.family()) return false;
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b.storage);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in6&>(b.storage);
  return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(in6_addr)) == 0 &&
         (y.sin6_scope_id == 0 || x.sin6_scope_id == y.sin6_scope_id);
}

std::string endpointText(const SocketAddress& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.family() == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address.storage);
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address.storage);
  ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof(host));
  // Built by appending: GCC 12 warns falsely (-Wrestrict) about "[" + std::string at -O3.
  std::string text = "[";
  text.append(host).append("]:").append(std::to_string(ntohs(in6.sin6_port)));
  return text;
}

std::array<std::byte, kUdpTunnelHeaderSize> encodeHeader(std::size_t frameLength) {
  return {std::byte{(kUdpTunnelMagic >> 24) & 0xff},
          std::byte{(kUdpTunnelMagic >> 16) & 0xff},
          std::byte{(kUdpTunnelMagic >> 8) & 0xff},
          std::byte{kUdpTunnelMagic & 0xff},
          std::byte{kUdpTunnelVersion},
          std::byte{0},
          static_cast<std::byte>((frameLength >> 8) & 0xff),
          static_cast<std::byte>(frameLength & 0xff)};
}

unsigned byteAt(std::span<const std::byte> bytes, std::size_t index) { return std::to_integer<unsigned>(bytes[index]); }

}  // namespace

struct UdpTunnelPort::Impl {
  UdpTunnelOptions options;
  std::string description;
  SocketAddress local;
  SocketAddress peer;
  UniqueFd socket;
  UniqueFd stopFd;
  PortCounters counters;
  std::atomic<std::uint64_t> rxWrongSource{0}, rxOversize{0}, txErrors{0};
  CallbackSlot<std::span<const std::byte>> receive;

  // Receive-thread state, allocated once.
  std::size_t datagramCapacity = 0;
  std::vector<std::byte> storage;
  std::vector<iovec> iovs;
  std::vector<sockaddr_storage> sources;
  std::vector<mmsghdr> messages;
  std::thread thread;

  void receiveLoop();
  void drain();
  void handleDatagram(std::size_t index);
};

void UdpTunnelPort::Impl::handleDatagram(std::size_t index) {
  const mmsghdr& message = messages[index];
  if (!sameEndpoint(sources[index], peer)) {
    counters.receiveDropped();
    rxWrongSource.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::size_t length = message.msg_len;
  const std::span<const std::byte> datagram(storage.data() + index * datagramCapacity,
                                            std::min(length, datagramCapacity));
  if (datagram.size() < kUdpTunnelHeaderSize) {
    counters.malformed();
    return;
  }
  const std::uint32_t magic = (byteAt(datagram, 0) << 24) | (byteAt(datagram, 1) << 16) |
                              (byteAt(datagram, 2) << 8) | byteAt(datagram, 3);
  const std::size_t frameLength = (byteAt(datagram, 6) << 8) | byteAt(datagram, 7);
  if (magic != kUdpTunnelMagic || byteAt(datagram, 4) != kUdpTunnelVersion || byteAt(datagram, 5) != 0 ||
      frameLength != length - kUdpTunnelHeaderSize) {
    counters.malformed();
    return;
  }
  // A well-formed frame this side cannot take: the buffer held only part of it.
  if ((message.msg_hdr.msg_flags & MSG_TRUNC) || frameLength > options.maxFrameSize) {
    counters.receiveDropped();
    rxOversize.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (frameLength < kEthernetHeader) {
    counters.malformed();
    return;
  }
  const auto frame = datagram.subspan(kUdpTunnelHeaderSize, frameLength);
  try {
    if (receive.invoke(frame)) {
      counters.received(frame.size());
    } else {
      counters.receiveDropped();
    }
  } catch (const std::exception& error) {
    counters.receiveDropped();
    linkLogger().error("udp: {} receive handler threw: {}", description, error.what());
  }
}

void UdpTunnelPort::Impl::drain() {
  for (int round = 0; round < kBatchesPerWakeup; ++round) {
    for (std::size_t i = 0; i < messages.size(); ++i) {
      messages[i] = mmsghdr{};
      msghdr& header = messages[i].msg_hdr;
      header.msg_name = &sources[i];
      header.msg_namelen = sizeof(sources[i]);
      header.msg_iov = &iovs[i];
      header.msg_iovlen = 1;
    }
    const int count = ::recvmmsg(socket.get(), messages.data(), static_cast<unsigned>(messages.size()),
                                 MSG_TRUNC | MSG_DONTWAIT, nullptr);
    if (count < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: drained. Anything else (a queued ICMP error) is consumed by the call.
      return;
    }
    for (int i = 0; i < count; ++i) handleDatagram(static_cast<std::size_t>(i));
    if (static_cast<std::size_t>(count) < messages.size()) return;
  }
}

void UdpTunnelPort::Impl::receiveLoop() {
  pollfd fds[2] = {{stopFd.get(), POLLIN, 0}, {socket.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      linkLogger().error("udp: {} receive thread stops: {}", description, systemErrorText("poll", errno));
      return;
    }
    if (fds[0].revents) return;
    if (fds[1].revents) drain();
  }
}

std::unique_ptr<UdpTunnelPort> UdpTunnelPort::open(UdpTunnelOptions options) {
  if (options.localHost.empty()) throw LinkError("udp: the local address is empty");
  if (options.peerHost.empty()) throw LinkError("udp: the peer address is empty");
  if (options.peerPort == 0) throw LinkError("udp: the peer port must not be 0");
  if (options.batchSize == 0) options.batchSize = 1;

  const auto locals = resolve(options.localHost, options.localPort, "local");
  const auto peers = resolve(options.peerHost, options.peerPort, "peer");
  auto impl = std::make_unique<Impl>();
  bool paired = false;
  for (const auto& local : locals) {
    for (const auto& peer : peers) {
      if (local.family() == peer.family()) {
        impl->local = local;
        impl->peer = peer;
        paired = true;
        break;
      }
    }
    if (paired) break;
  }
  if (!paired)
    throw LinkError("udp: local address '" + options.localHost + "' and peer address '" + options.peerHost +
                    "' are not of the same IP version");
  const bool v6 = impl->local.family() == AF_INET6;
  const std::size_t maxPayload = v6 ? kMaxUdpPayloadV6 : kMaxUdpPayloadV4;
  if (options.maxFrameSize + kUdpTunnelHeaderSize > maxPayload)
    throw LinkError("udp: maximum frame size " + std::to_string(options.maxFrameSize) + " does not fit a " +
                    (v6 ? "UDP/IPv6" : "UDP/IPv4") + " datagram (at most " +
                    std::to_string(maxPayload - kUdpTunnelHeaderSize) + ")");
  if (options.maxFrameSize < kEthernetHeader) throw LinkError("udp: maximum frame size below an Ethernet header");

  impl->socket = UniqueFd(::socket(impl->local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!impl->socket) throw LinkError(systemErrorText("udp: cannot open a socket", errno));
  const int fd = impl->socket.get();
  if (v6) {
    const int only = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only));
  }
  // Best effort: bigger buffers absorb bursts; failure leaves the system default.
  // The FORCE variants pass the system maximum when privileged.
  const int size = options.socketBufferBytes;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  if (::bind(fd, impl->local.get(), impl->local.length) != 0)
    throw LinkError(systemErrorText("udp: cannot bind " + endpointText(impl->local), errno));
  impl->local.length = sizeof(impl->local.storage);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&impl->local.storage), &impl->local.length);
  impl->description = "udp:" + endpointText(impl->local) + "->" + endpointText(impl->peer);

  impl->stopFd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->stopFd) throw LinkError(systemErrorText("udp: eventfd", errno));
  impl->options = std::move(options);
  const std::size_t batch = impl->options.batchSize;
  // One byte more than the largest acceptable datagram would also do, but MSG_TRUNC
  // reports an oversize datagram's real length either way.
  impl->datagramCapacity = kUdpTunnelHeaderSize + impl->options.maxFrameSize;
  impl->storage.assign(batch * impl->datagramCapacity, std::byte{0});
  impl->iovs.resize(batch);
  impl->sources.resize(batch);
  impl->messages.resize(batch);
  for (std::size_t i = 0; i < batch; ++i)
    impl->iovs[i] = {impl->storage.data() + i * impl->datagramCapacity, impl->datagramCapacity};

  Impl* raw = impl.get();
  raw->thread = std::thread([raw] {
    pthread_setname_np(pthread_self(), "udp-tunnel");
    raw->receiveLoop();
  });
  return std::unique_ptr<UdpTunnelPort>(new UdpTunnelPort(std::move(impl)));
}

UdpTunnelPort::UdpTunnelPort(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UdpTunnelPort::~UdpTunnelPort() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(impl_->stopFd.get(), &one, sizeof(one));
  impl_->thread.join();
}

bool UdpTunnelPort::transmit(std::span<const std::byte> frame) {
  Impl& impl = *impl_;
  if (frame.size() < kEthernetHeader || frame.size() > impl.options.maxFrameSize) {
    impl.counters.transmitDropped();
    return false;
  }
  auto header = encodeHeader(frame.size());
  iovec parts[2] = {{header.data(), header.size()}, {const_cast<std::byte*>(frame.data()), frame.size()}};
  msghdr message{};
  message.msg_name = const_cast<sockaddr*>(impl.peer.get());
  message.msg_namelen = impl.peer.length;
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  if (::sendmsg(impl.socket.get(), &message, MSG_DONTWAIT) < 0) {
    impl.counters.transmitDropped();
    impl.txErrors.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  impl.counters.transmitted(frame.size());
  return true;
}

void UdpTunnelPort::setReceiveHandler(ReceiveHandler handler) { impl_->receive.set(std::move(handler)); }

std::size_t UdpTunnelPort::maxFrameSize() const { return impl_->options.maxFrameSize; }

FramePortCounters UdpTunnelPort::counters() const { return impl_->counters.snapshot(); }

std::string UdpTunnelPort::describe() const { return impl_->description; }

UdpTunnelCounters UdpTunnelPort::udpCounters() const {
  return {impl_->rxWrongSource.load(), impl_->rxOversize.load(), impl_->txErrors.load()};
}

std::uint16_t UdpTunnelPort::localPort() const {
  const auto& storage = impl_->local.storage;
  return storage.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in&>(storage).sin_port)
                                      : ntohs(reinterpret_cast<const sockaddr_in6&>(storage).sin6_port);
}

}  // namespace ndishost::link
