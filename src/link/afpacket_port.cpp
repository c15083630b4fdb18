#include "link/afpacket_port.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "link/callback_slot.hpp"
#include "link/inet_checksum.hpp"
#include "link/link_error.hpp"
#include "link/link_log.hpp"
#include "link/netns.hpp"
#include "link/port_counters.hpp"
#include "link/unique_fd.hpp"

namespace ndishost::link {
namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kVlanTag = 4;
// The virtio-net header a packet socket with PACKET_VNET_HDR puts before each frame
// (Linux ABI; <linux/virtio_net.h> itself does not compile as C++: a member is named
// "class"). Host byte order on little-endian hosts.
struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gsoType;
  std::uint16_t headerLength;
  std::uint16_t gsoSize;
  std::uint16_t checksumStart;
  std::uint16_t checksumOffset;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr std::uint8_t kVnetNeedsChecksum = 1;
constexpr std::uint8_t kVnetGsoNone = 0;
constexpr std::size_t kVnetHeader = sizeof(VnetHeader);
// Batches drained before returning to poll(), so link events and stop requests are seen
// promptly under a flood.
constexpr int kBatchesPerWakeup = 8;

bool isVlanTagged(std::span<const std::byte> frame) {
  if (frame.size() < kEthernetHeader) return false;
  const unsigned type = (std::to_integer<unsigned>(frame[12]) << 8) | std::to_integer<unsigned>(frame[13]);
  return type == ETH_P_8021Q || type == ETH_P_8021AD;
}

// What the interface allows for this frame: MTU + header, plus one tag when tagged.
std::size_t frameLimit(std::span<const std::byte> frame, unsigned mtu) {
  return mtu + kEthernetHeader + (isVlanTagged(frame) ? kVlanTag : 0);
}

ifreq interfaceRequest(const std::string& name) {
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), std::min(name.size(), sizeof(request.ifr_name) - 1));
  return request;
}

void setOption(int fd, int level, int option, int value, const char* optionName, const std::string& where) {
  if (::setsockopt(fd, level, option, &value, sizeof(value)) != 0)
    throw LinkError(systemErrorText(std::string("afpacket: setsockopt(") + optionName + ") on " + where, errno));
}

// Everything the port opens inside the interface's namespace.
struct OpenedInterface {
  UniqueFd packet;
  UniqueFd netlink;
  int ifindex = 0;
  unsigned mtu = 0;
  bool up = false;
};

OpenedInterface openInterface(const AfPacketOptions& options, const std::string& where) {
  OpenedInterface opened;
  opened.packet = UniqueFd(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!opened.packet) {
    const int err = errno;
    if (err == EPERM || err == EACCES)
      throw LinkError("afpacket: permission denied opening a packet socket (needs CAP_NET_RAW)");
    if (err == EAFNOSUPPORT) throw LinkError("afpacket: this kernel has no packet sockets (AF_PACKET)");
    throw LinkError(systemErrorText("afpacket: cannot open a packet socket", err));
  }
  const int fd = opened.packet.get();

  ifreq request = interfaceRequest(options.interfaceName);
  if (::ioctl(fd, SIOCGIFINDEX, &request) != 0) {
    const int err = errno;
    if (err == ENODEV) throw LinkError("afpacket: no interface named " + where);
    throw LinkError(systemErrorText("afpacket: cannot look up interface " + where, err));
  }
  opened.ifindex = request.ifr_ifindex;

  request = interfaceRequest(options.interfaceName);
  if (::ioctl(fd, SIOCGIFHWADDR, &request) != 0)
    throw LinkError(systemErrorText("afpacket: cannot read the hardware type of " + where, errno));
  if (request.ifr_hwaddr.sa_family != ARPHRD_ETHER)
    throw LinkError("afpacket: interface " + where + " is not an Ethernet interface (ARPHRD type " +
                    std::to_string(request.ifr_hwaddr.sa_family) + ")");

  request = interfaceRequest(options.interfaceName);
  if (::ioctl(fd, SIOCGIFMTU, &request) != 0)
    throw LinkError(systemErrorText("afpacket: cannot read the MTU of " + where, errno));
  opened.mtu = static_cast<unsigned>(request.ifr_mtu);

  request = interfaceRequest(options.interfaceName);
  if (::ioctl(fd, SIOCGIFFLAGS, &request) != 0)
    throw LinkError(systemErrorText("afpacket: cannot read the flags of " + where, errno));
  opened.up = (request.ifr_flags & IFF_UP) && (request.ifr_flags & IFF_RUNNING);

  // The virtio-net header carries checksum-offload and GSO metadata with each frame.
  setOption(fd, SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", where);
  setOption(fd, SOL_PACKET, PACKET_AUXDATA, 1, "PACKET_AUXDATA", where);
  setOption(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING", where);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &options.receiveBufferBytes,
                   sizeof(options.receiveBufferBytes)) != 0)
    setOption(fd, SOL_SOCKET, SO_RCVBUF, options.receiveBufferBytes, "SO_RCVBUF", where);

  // Created with protocol 0 and bound with ETH_P_ALL only now: no frame from another
  // interface can slip in between socket() and bind().
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = opened.ifindex;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0)
    throw LinkError(systemErrorText("afpacket: cannot bind a packet socket to " + where, errno));

  packet_mreq membership{};
  membership.mr_ifindex = opened.ifindex;
  membership.mr_type = PACKET_MR_PROMISC;
  if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof(membership)) != 0)
    throw LinkError(systemErrorText("afpacket: cannot make " + where + " promiscuous", errno));

  opened.netlink = UniqueFd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!opened.netlink)
    throw LinkError(systemErrorText("afpacket: cannot open a netlink socket to watch " + where, errno));
  sockaddr_nl groups{};
  groups.nl_family = AF_NETLINK;
  groups.nl_groups = RTMGRP_LINK;
  if (::bind(opened.netlink.get(), reinterpret_cast<const sockaddr*>(&groups), sizeof(groups)) != 0)
    throw LinkError(systemErrorText("afpacket: cannot watch link changes of " + where, errno));
  return opened;
}

}  // namespace

struct AfPacketPort::Impl {
  AfPacketOptions options;
  std::string description;  // "afpacket:ns/veth1"
  std::string where;        // "'veth1'" or "'veth1' in network namespace 'ns'"
  UniqueFd packetFd;
  UniqueFd netlinkFd;
  UniqueFd stopFd;
  int ifindex = 0;
  std::atomic<unsigned> mtu{0};
  std::atomic<bool> up{false};
  std::atomic<bool> present{true};

  PortCounters counters;
  std::atomic<std::uint64_t> rxOversize{0}, rxOffloadAggregates{0}, checksumsCompleted{0},
      vlanTagsRestored{0}, linkChanges{0}, interfaceLost{0};
  std::atomic<bool> aggregateHintLogged{false};
  CallbackSlot<std::span<const std::byte>> receive;
  CallbackSlot<bool> linkState;

  // Receive-thread state: one slot per batch entry, reallocated only when the MTU grows.
  struct Slot {
    VnetHeader vnet;
    alignas(cmsghdr) std::byte control[CMSG_SPACE(sizeof(tpacket_auxdata))];
    iovec iov[2];
  };
  std::vector<Slot> slots;
  std::vector<mmsghdr> messages;
  std::vector<std::byte> frameStorage;
  std::size_t frameCapacity = 0;  // bytes a slot takes; a VLAN tag's room precedes each
  std::thread thread;

  void sizeBuffers(unsigned forMtu);
  void receiveLoop();
  void drainPackets();
  void handleFrame(std::size_t index);
  void drainNetlink();
  void applyLinkFlags(unsigned flags);
  void refreshFromKernel();
  void interfaceGone();
  void setUp(bool nowUp);
  std::span<std::byte> slotBuffer(std::size_t index) {
    return {frameStorage.data() + index * (kVlanTag + frameCapacity), kVlanTag + frameCapacity};
  }
};

void AfPacketPort::Impl::sizeBuffers(unsigned forMtu) {
  const std::size_t capacity = forMtu + kEthernetHeader + kVlanTag;
  if (capacity <= frameCapacity) return;
  frameCapacity = capacity;
  const std::size_t batch = options.batchSize;
  frameStorage.assign(batch * (kVlanTag + frameCapacity), std::byte{0});
  slots.resize(batch);
  messages.assign(batch, mmsghdr{});
  for (std::size_t i = 0; i < batch; ++i) {
    Slot& slot = slots[i];
    slot.iov[0] = {&slot.vnet, kVnetHeader};
    slot.iov[1] = {slotBuffer(i).data() + kVlanTag, frameCapacity};
  }
}

void AfPacketPort::Impl::setUp(bool nowUp) {
  if (up.exchange(nowUp) == nowUp) return;
  linkChanges.fetch_add(1, std::memory_order_relaxed);
  linkLogger().info("afpacket: {} link {}", description, nowUp ? "up" : "down");
  linkState.invoke(nowUp);
}

void AfPacketPort::Impl::applyLinkFlags(unsigned flags) {
  setUp((flags & IFF_UP) && (flags & IFF_RUNNING));
}

void AfPacketPort::Impl::interfaceGone() {
  if (!present.exchange(false)) return;
  interfaceLost.fetch_add(1, std::memory_order_relaxed);
  linkLogger().warn("afpacket: interface {} disappeared; {} is link-down and drops every frame", where,
                    description);
  setUp(false);
}

// Asks the kernel directly, for when netlink events were lost or an error hints at a change.
void AfPacketPort::Impl::refreshFromKernel() {
  ifreq request{};
  request.ifr_ifindex = ifindex;
  if (::ioctl(packetFd.get(), SIOCGIFNAME, &request) != 0) {
    if (errno == ENODEV) interfaceGone();
    return;
  }
  const std::string name(request.ifr_name, strnlen(request.ifr_name, sizeof(request.ifr_name)));
  request = interfaceRequest(name);
  if (::ioctl(packetFd.get(), SIOCGIFMTU, &request) == 0) {
    mtu.store(static_cast<unsigned>(request.ifr_mtu));
    sizeBuffers(static_cast<unsigned>(request.ifr_mtu));
  }
  request = interfaceRequest(name);
  if (::ioctl(packetFd.get(), SIOCGIFFLAGS, &request) == 0)
    applyLinkFlags(static_cast<unsigned short>(request.ifr_flags));
}

void AfPacketPort::Impl::drainNetlink() {
  alignas(nlmsghdr) std::byte buffer[16384];
  for (;;) {
    const ssize_t received = ::recv(netlinkFd.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
    if (received < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // events were lost: ask for the current state instead
        refreshFromKernel();
        continue;
      }
      return;  // EAGAIN: drained
    }
    int remaining = static_cast<int>(received);
    for (auto* message = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(message, remaining);
         message = NLMSG_NEXT(message, remaining)) {
      if (message->nlmsg_type != RTM_NEWLINK && message->nlmsg_type != RTM_DELLINK) continue;
      if (message->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) continue;
      const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(message));
      // Bridge-port notifications (AF_BRIDGE) also say RTM_DELLINK when a port leaves a
      // bridge; only the generic ones are about the device itself.
      if (info->ifi_index != ifindex || info->ifi_family != AF_UNSPEC) continue;
      if (message->nlmsg_type == RTM_DELLINK) {
        interfaceGone();
        return;
      }
      int attributesLength = static_cast<int>(message->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)));
      for (auto* attribute = IFLA_RTA(info); RTA_OK(attribute, attributesLength);
           attribute = RTA_NEXT(attribute, attributesLength)) {
        if (attribute->rta_type == IFLA_MTU && RTA_PAYLOAD(attribute) >= sizeof(std::uint32_t)) {
          std::uint32_t newMtu = 0;
          std::memcpy(&newMtu, RTA_DATA(attribute), sizeof(newMtu));
          mtu.store(newMtu);
          sizeBuffers(newMtu);
        }
      }
      applyLinkFlags(info->ifi_flags);
    }
  }
}

void AfPacketPort::Impl::handleFrame(std::size_t index) {
  mmsghdr& message = messages[index];
  const Slot& slot = slots[index];
  if (message.msg_len < kVnetHeader + kEthernetHeader) {
    counters.malformed();
    return;
  }
  std::size_t length = message.msg_len - kVnetHeader;
  const std::span<std::byte> buffer = slotBuffer(index);
  std::span<std::byte> frame = buffer.subspan(kVlanTag, std::min(length, frameCapacity));
  const unsigned currentMtu = mtu.load(std::memory_order_relaxed);
  // MSG_TRUNC makes the kernel report the real length, so a frame longer than the buffer
  // is recognized and dropped whole instead of delivered cut short.
  if ((message.msg_hdr.msg_flags & MSG_TRUNC) || length > frameCapacity ||
      length > frameLimit(frame, currentMtu)) {
    counters.receiveDropped();
    rxOversize.fetch_add(1, std::memory_order_relaxed);
    if (slot.vnet.gsoType != kVnetGsoNone) {
      rxOffloadAggregates.fetch_add(1, std::memory_order_relaxed);
      if (!aggregateHintLogged.exchange(true))
        linkLogger().warn(
            "afpacket: {} received a {}-byte offload super-frame (GSO/GRO) and dropped it; turn off "
            "segmentation offloads towards this interface (ethtool -K <sender> tso off gso off, "
            "ethtool -K <interface> gro off)",
            description, length);
    }
    return;
  }
  if (slot.vnet.flags & kVnetNeedsChecksum) {
    // A sender on this host left the checksum to offload; the far side of a real wire
    // would see it complete.
    if (!completePartialChecksum(frame, slot.vnet.checksumStart, slot.vnet.checksumOffset)) {
      counters.malformed();
      return;
    }
    checksumsCompleted.fetch_add(1, std::memory_order_relaxed);
  }
  for (cmsghdr* control = CMSG_FIRSTHDR(&message.msg_hdr); control != nullptr;
       control = CMSG_NXTHDR(&message.msg_hdr, control)) {
    if (control->cmsg_level != SOL_PACKET || control->cmsg_type != PACKET_AUXDATA ||
        control->cmsg_len < CMSG_LEN(sizeof(tpacket_auxdata)))
      continue;
    tpacket_auxdata aux;
    std::memcpy(&aux, CMSG_DATA(control), sizeof(aux));
    if (!(aux.tp_status & TP_STATUS_VLAN_VALID)) continue;
    // The kernel took the tag out of the frame into metadata: put it back where it was.
    const unsigned tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
    std::memmove(buffer.data(), buffer.data() + kVlanTag, 12);
    buffer[12] = static_cast<std::byte>(tpid >> 8);
    buffer[13] = static_cast<std::byte>(tpid & 0xff);
    buffer[14] = static_cast<std::byte>(aux.tp_vlan_tci >> 8);
    buffer[15] = static_cast<std::byte>(aux.tp_vlan_tci & 0xff);
    frame = buffer.subspan(0, frame.size() + kVlanTag);
    vlanTagsRestored.fetch_add(1, std::memory_order_relaxed);
  }
  try {
    if (receive.invoke(frame)) {
      counters.received(frame.size());
    } else {
      counters.receiveDropped();
    }
  } catch (const std::exception& error) {
    counters.receiveDropped();
    linkLogger().error("afpacket: {} receive handler threw: {}", description, error.what());
  }
}

void AfPacketPort::Impl::drainPackets() {
  for (int round = 0; round < kBatchesPerWakeup; ++round) {
    for (std::size_t i = 0; i < messages.size(); ++i) {
      messages[i] = mmsghdr{};
      msghdr& header = messages[i].msg_hdr;
      header.msg_iov = slots[i].iov;
      header.msg_iovlen = 2;
      header.msg_control = slots[i].control;
      header.msg_controllen = sizeof(slots[i].control);
    }
    const int count = ::recvmmsg(packetFd.get(), messages.data(), static_cast<unsigned>(messages.size()),
                                 MSG_TRUNC | MSG_DONTWAIT, nullptr);
    if (count < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN) return;
      // ENETDOWN and friends: the kernel tells the socket its device changed.
      refreshFromKernel();
      return;
    }
    for (int i = 0; i < count; ++i) handleFrame(static_cast<std::size_t>(i));
    if (static_cast<std::size_t>(count) < messages.size()) return;
  }
}

void AfPacketPort::Impl::receiveLoop() {
  // Netlink was subscribed after the state was first read: catch a change in between.
  refreshFromKernel();
  pollfd fds[3] = {{stopFd.get(), POLLIN, 0}, {netlinkFd.get(), POLLIN, 0}, {packetFd.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, present.load() ? 3 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      linkLogger().error("afpacket: {} receive thread stops: {}", description, systemErrorText("poll", errno));
      return;
    }
    if (fds[0].revents) return;
    if (fds[1].revents) drainNetlink();
    if (!present.load()) continue;  // only a stop request matters now
    if (fds[2].revents) drainPackets();
  }
}

std::unique_ptr<AfPacketPort> AfPacketPort::open(AfPacketOptions options) {
  const std::string& name = options.interfaceName;
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos)
    throw LinkError("afpacket: invalid interface name '" + name + "' (1 to " + std::to_string(IFNAMSIZ - 1) +
                    " characters, no '/')");
  if (options.batchSize == 0) options.batchSize = 1;

  auto impl = std::make_unique<Impl>();
  impl->where = "'" + name + "'";
  impl->description = "afpacket:" + name;
  OpenedInterface opened;
  if (options.networkNamespace.empty()) {
    opened = openInterface(options, impl->where);
  } else {
    validateNetworkNamespaceName(options.networkNamespace);
    impl->where += " in network namespace '" + options.networkNamespace + "'";
    impl->description = "afpacket:" + options.networkNamespace + "/" + name;
    runInNetworkNamespace(options.networkNamespace, [&] { opened = openInterface(options, impl->where); });
  }
  impl->options = std::move(options);
  impl->packetFd = std::move(opened.packet);
  impl->netlinkFd = std::move(opened.netlink);
  impl->ifindex = opened.ifindex;
  impl->mtu = opened.mtu;
  impl->up = opened.up;
  impl->stopFd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->stopFd) throw LinkError(systemErrorText("afpacket: eventfd", errno));
  impl->sizeBuffers(opened.mtu);

  Impl* raw = impl.get();
  raw->thread = std::thread([raw] {
    const std::string threadName = ("afpkt:" + raw->options.interfaceName).substr(0, 15);
    pthread_setname_np(pthread_self(), threadName.c_str());
    raw->receiveLoop();
  });
  linkLogger().debug("afpacket: {} open (ifindex {}, MTU {}, link {})", raw->description, raw->ifindex,
                     raw->mtu.load(), raw->up.load() ? "up" : "down");
  return std::unique_ptr<AfPacketPort>(new AfPacketPort(std::move(impl)));
}

AfPacketPort::AfPacketPort(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AfPacketPort::~AfPacketPort() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(impl_->stopFd.get(), &one, sizeof(one));
  impl_->thread.join();
}

bool AfPacketPort::transmit(std::span<const std::byte> frame) {
  Impl& impl = *impl_;
  if (!impl.present.load(std::memory_order_relaxed) || !impl.up.load(std::memory_order_relaxed) ||
      frame.size() < kEthernetHeader || frame.size() > frameLimit(frame, impl.mtu.load(std::memory_order_relaxed))) {
    impl.counters.transmitDropped();
    return false;
  }
  VnetHeader vnet{};  // no offload requested: the frame is complete as it is
  iovec parts[2] = {{&vnet, sizeof(vnet)}, {const_cast<std::byte*>(frame.data()), frame.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  if (::sendmsg(impl.packetFd.get(), &message, MSG_DONTWAIT) < 0) {
    // A full device queue, a device going down underneath: a NIC would drop it too.
    impl.counters.transmitDropped();
    return false;
  }
  impl.counters.transmitted(frame.size());
  return true;
}

void AfPacketPort::setReceiveHandler(ReceiveHandler handler) { impl_->receive.set(std::move(handler)); }

std::size_t AfPacketPort::maxFrameSize() const { return impl_->mtu.load() + kEthernetHeader + kVlanTag; }

FramePortCounters AfPacketPort::counters() const { return impl_->counters.snapshot(); }

std::string AfPacketPort::describe() const { return impl_->description; }

bool AfPacketPort::linkUp() const { return impl_->present.load() && impl_->up.load(); }

void AfPacketPort::setLinkStateHandler(LinkStateHandler handler) { impl_->linkState.set(std::move(handler)); }

AfPacketCounters AfPacketPort::afPacketCounters() const {
  AfPacketCounters c;
  c.rxOversize = impl_->rxOversize.load();
  c.rxOffloadAggregates = impl_->rxOffloadAggregates.load();
  c.checksumsCompleted = impl_->checksumsCompleted.load();
  c.vlanTagsRestored = impl_->vlanTagsRestored.load();
  c.linkChanges = impl_->linkChanges.load();
  c.interfaceLost = impl_->interfaceLost.load();
  return c;
}

bool AfPacketPort::interfacePresent() const { return impl_->present.load(); }
int AfPacketPort::interfaceIndex() const { return impl_->ifindex; }
unsigned AfPacketPort::mtu() const { return impl_->mtu.load(); }

}  // namespace ndishost::link
