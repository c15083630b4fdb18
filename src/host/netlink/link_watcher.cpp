#include "host/netlink/link_watcher.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "link/netns.hpp"

namespace ndishost::host {
namespace {

[[noreturn]] void throwSystem(const std::string& what, int err) {
  throw std::runtime_error("link watcher: " + what + ": " + std::strerror(err));
}

link::UniqueFd openNetlink(unsigned groups) {
  link::UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) throwSystem("cannot open a NETLINK_ROUTE socket", errno);
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = groups;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) throwSystem("cannot bind netlink", errno);
  return fd;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool LinkSnapshot::up() const { return (flags & IFF_UP) != 0; }
bool LinkSnapshot::promiscuous() const { return (flags & IFF_PROMISC) != 0; }
bool LinkSnapshot::allMulticast() const { return (flags & IFF_ALLMULTI) != 0; }

ReceiveFilter receiveFilterFor(const LinkSnapshot& snapshot) {
  ReceiveFilter filter;
  if (!snapshot.exists || !snapshot.up()) return filter;
  filter.directed = true;
  filter.broadcast = true;
  filter.multicast = !snapshot.multicast.empty();
  filter.allMulticast = snapshot.allMulticast();
  filter.promiscuous = snapshot.promiscuous();
  return filter;
}

LinkWatcher LinkWatcher::open(int interfaceIndex, const std::string& networkNamespace) {
  LinkWatcher watcher;
  watcher.interfaceIndex_ = interfaceIndex;
  auto openHere = [&] {
    watcher.events_ = openNetlink(RTMGRP_LINK);
    watcher.requests_ = openNetlink(0);
    // thread-self: in runInNetworkNamespace only this thread is in the namespace. The
    // open file keeps that namespace for later reads from any thread.
    watcher.devMcast_.reset(::open("/proc/thread-self/net/dev_mcast", O_RDONLY | O_CLOEXEC));
    if (!watcher.devMcast_) throwSystem("cannot open /proc/net/dev_mcast", errno);
  };
  if (networkNamespace.empty()) {
    openHere();
  } else {
    link::runInNetworkNamespace(networkNamespace, openHere);
  }
  watcher.last_ = watcher.query();
  return watcher;
}

std::vector<LinkLayerAddress> LinkWatcher::parseDevMcast(const std::string& text, int interfaceIndex) {
  // Each line: index, name, users, global users, address as 12 hex digits.
  std::vector<LinkLayerAddress> addresses;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    int index = 0;
    std::string name, users, globalUsers, hex;
    if (!(fields >> index >> name >> users >> globalUsers >> hex) || index != interfaceIndex || hex.size() != 12) continue;
    LinkLayerAddress address{};
    bool valid = true;
    for (std::size_t i = 0; i < address.size(); ++i) {
      const int high = hexDigit(hex[2 * i]), low = hexDigit(hex[2 * i + 1]);
      if (high < 0 || low < 0) valid = false;
      address[i] = static_cast<std::uint8_t>((high << 4) | low);
    }
    if (valid) addresses.push_back(address);
  }
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  return addresses;
}

LinkSnapshot LinkWatcher::query() {
  LinkSnapshot snapshot;
  struct {
    nlmsghdr header;
    ifinfomsg info;
  } request{};
  request.header.nlmsg_len = sizeof(request);
  request.header.nlmsg_type = RTM_GETLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = ++sequence_;
  request.info.ifi_family = AF_UNSPEC;
  request.info.ifi_index = interfaceIndex_;
  if (::send(requests_.get(), &request, sizeof(request), 0) < 0) throwSystem("RTM_GETLINK", errno);

  // The reply is one RTM_NEWLINK or an error (ENODEV once the interface is gone). Wait
  // for it: the kernel answers synchronously, but the socket is non-blocking.
  alignas(nlmsghdr) std::array<char, 16384> buffer;
  for (bool answered = false; !answered;) {
    pollfd waiter{.fd = requests_.get(), .events = POLLIN, .revents = 0};
    if (::poll(&waiter, 1, 1000) <= 0) throw std::runtime_error("link watcher: no answer to RTM_GETLINK");
    const ssize_t got = ::recv(requests_.get(), buffer.data(), buffer.size(), 0);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throwSystem("recv", errno);
    }
    int remaining = static_cast<int>(got);
    for (auto* message = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(message, remaining);
         message = NLMSG_NEXT(message, remaining)) {
      if (message->nlmsg_seq != sequence_) continue;  // a stale answer to an earlier request
      answered = true;
      if (message->nlmsg_type == NLMSG_ERROR) return snapshot;  // gone: exists stays false
      if (message->nlmsg_type != RTM_NEWLINK) continue;
      const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(message));
      snapshot.exists = true;
      snapshot.flags = info->ifi_flags;
      int attributeBytes = static_cast<int>(IFLA_PAYLOAD(message));
      for (auto* attribute = IFLA_RTA(info); RTA_OK(attribute, attributeBytes); attribute = RTA_NEXT(attribute, attributeBytes)) {
        if (attribute->rta_type == IFLA_MTU && RTA_PAYLOAD(attribute) >= sizeof(std::uint32_t))
          std::memcpy(&snapshot.mtu, RTA_DATA(attribute), sizeof(std::uint32_t));
      }
    }
  }

  std::string text;
  std::array<char, 4096> chunk;
  if (::lseek(devMcast_.get(), 0, SEEK_SET) < 0) throwSystem("rewinding /proc/net/dev_mcast", errno);
  for (ssize_t got; (got = ::read(devMcast_.get(), chunk.data(), chunk.size())) != 0;) {
    if (got < 0) {
      if (errno == EINTR) continue;
      throwSystem("reading /proc/net/dev_mcast", errno);
    }
    text.append(chunk.data(), static_cast<std::size_t>(got));
  }
  snapshot.multicast = parseDevMcast(text, interfaceIndex_);
  return snapshot;
}

void LinkWatcher::drainEvents() {
  // Only a wake-up: the state is re-queried. ENOBUFS (overrun) is harmless for the same
  // reason.
  std::array<char, 8192> buffer;
  while (true) {
    const ssize_t got = ::recv(events_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (got > 0 || (got < 0 && (errno == EINTR || errno == ENOBUFS))) continue;
    break;
  }
}

std::optional<LinkChange> LinkWatcher::refresh() {
  drainEvents();
  LinkSnapshot now = query();
  if (now == last_) return std::nullopt;
  LinkChange change;
  change.removed = last_.exists && !now.exists;
  change.filterChanged = receiveFilterFor(now) != receiveFilterFor(last_) ||
                         (now.flags & (IFF_UP | IFF_PROMISC | IFF_ALLMULTI)) != (last_.flags & (IFF_UP | IFF_PROMISC | IFF_ALLMULTI));
  change.mtuChanged = now.mtu != last_.mtu;
  change.multicastChanged = now.multicast != last_.multicast;
  last_ = now;
  change.now = std::move(now);
  if (!change.removed && !change.filterChanged && !change.mtuChanged && !change.multicastChanged) return std::nullopt;
  return change;
}

std::optional<LinkChange> LinkWatcher::waitForChange(std::chrono::milliseconds timeout) {
  pollfd waiter{.fd = events_.get(), .events = POLLIN, .revents = 0};
  while (::poll(&waiter, 1, static_cast<int>(timeout.count())) < 0 && errno == EINTR) {
  }
  return refresh();
}

}  // namespace ndishost::host
