#include "host/tap/tap_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "host/tap/tap_error.hpp"
#include "link/link_error.hpp"
#include "link/netns.hpp"

namespace ndishost::host {
namespace {

std::string describe(const std::string& name, const std::string& networkNamespace) {
  return "tap '" + name + "'" + (networkNamespace.empty() ? "" : " in namespace '" + networkNamespace + "'");
}

[[noreturn]] void throwSystem(const std::string& what, const std::string& where, int err) {
  if (err == EPERM || err == EACCES)
    throw TapError(TapError::Kind::NoPermission,
                   where + ": " + what + ": not permitted (needs CAP_NET_ADMIN: run as root or grant it, e.g. setcap cap_net_admin+ep)");
  if (err == ENODEV || err == ENXIO)
    throw TapError(TapError::Kind::NoSuchInterface, where + ": " + what + ": the interface no longer exists");
  throw TapError(TapError::Kind::Other, where + ": " + what + ": " + std::strerror(err));
}

ifreq requestFor(const std::string& name) {
  ifreq request{};
  std::snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", name.c_str());
  return request;
}

}  // namespace

std::string formatMacAddress(const MacAddress& mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return text;
}

TapDevice TapDevice::open(const TapOptions& options) {
  const std::string where = describe(options.name, options.networkNamespace);
  if (options.name.empty() || options.name.size() >= IFNAMSIZ || options.name.find_first_of("/: \t\n") != std::string::npos)
    throw TapError(TapError::Kind::Other, where + ": not a valid interface name (1 to 15 characters, no '/', ':' or spaces)");

  TapDevice device;
  device.name_ = options.name;
  device.networkNamespace_ = options.networkNamespace;
  device.vnetHeader_ = options.vnetHeader;

  // Both descriptors are created inside the namespace: the TAP interface appears in the
  // namespace of the thread that calls TUNSETIFF, and the control socket's ioctls act on
  // the namespace it was created in.
  auto openHere = [&] {
    device.control_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!device.control_) throwSystem("cannot open a control socket", where, errno);

    device.tun_.reset(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!device.tun_) {
      const int err = errno;
      if (err == ENOENT || err == ENODEV || err == ENXIO)
        throw TapError(TapError::Kind::NoTunDevice,
                       where + ": /dev/net/tun is missing (load the tun module: modprobe tun; in a container, pass the device in)");
      throwSystem("cannot open /dev/net/tun", where, err);
    }
    ifreq request = requestFor(options.name);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | (options.vnetHeader ? IFF_VNET_HDR : 0);
    if (::ioctl(device.tun_.get(), TUNSETIFF, &request) != 0) {
      const int err = errno;
      if (err == EBUSY)
        throw TapError(TapError::Kind::NameInUse, where + ": name in use (another process has this TAP interface open)");
      if (err == EINVAL || err == EEXIST) {
        ifreq probe = requestFor(options.name);
        if (::ioctl(device.control_.get(), SIOCGIFINDEX, &probe) == 0)
          throw TapError(TapError::Kind::NameInUse, where + ": name in use by an interface that is not a TAP interface of ours");
      }
      throwSystem("cannot create the TAP interface (TUNSETIFF)", where, err);
    }
    if (options.vnetHeader) {
      int headerSize = static_cast<int>(kVnetHeaderSize);
      if (::ioctl(device.tun_.get(), TUNSETVNETHDRSZ, &headerSize) != 0) throwSystem("TUNSETVNETHDRSZ", where, errno);
    }
    ifreq index = requestFor(options.name);
    if (::ioctl(device.control_.get(), SIOCGIFINDEX, &index) != 0) throwSystem("cannot look up the interface index", where, errno);
    device.interfaceIndex_ = index.ifr_ifindex;
  };

  if (options.networkNamespace.empty()) {
    openHere();
  } else {
    try {
      link::runInNetworkNamespace(options.networkNamespace, openHere);
    } catch (const link::LinkError& error) {
      throw TapError(TapError::Kind::Other, where + ": " + error.what());
    }
  }
  return device;
}

unsigned TapDevice::interfaceFlags() const {
  ifreq request = requestFor(name_);
  if (::ioctl(control_.get(), SIOCGIFFLAGS, &request) != 0) throwSystem("SIOCGIFFLAGS", describe(name_, networkNamespace_), errno);
  return static_cast<unsigned short>(request.ifr_flags);
}

MacAddress TapDevice::macAddress() const {
  ifreq request = requestFor(name_);
  if (::ioctl(control_.get(), SIOCGIFHWADDR, &request) != 0) throwSystem("SIOCGIFHWADDR", describe(name_, networkNamespace_), errno);
  MacAddress mac;
  std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

void TapDevice::setMacAddress(const MacAddress& mac) {
  const std::string where = describe(name_, networkNamespace_);
  if ((mac[0] & 1) != 0) throw TapError(TapError::Kind::Other, where + ": MAC " + formatMacAddress(mac) + " is a multicast address");
  ifreq request = requestFor(name_);
  request.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  std::memcpy(request.ifr_hwaddr.sa_data, mac.data(), mac.size());
  if (::ioctl(control_.get(), SIOCSIFHWADDR, &request) != 0) throwSystem("cannot set MAC " + formatMacAddress(mac), where, errno);
}

unsigned TapDevice::mtu() const {
  ifreq request = requestFor(name_);
  if (::ioctl(control_.get(), SIOCGIFMTU, &request) != 0) throwSystem("SIOCGIFMTU", describe(name_, networkNamespace_), errno);
  return static_cast<unsigned>(request.ifr_mtu);
}

void TapDevice::setMtu(unsigned mtu) {
  ifreq request = requestFor(name_);
  request.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(control_.get(), SIOCSIFMTU, &request) != 0)
    throwSystem("cannot set MTU " + std::to_string(mtu), describe(name_, networkNamespace_), errno);
}

bool TapDevice::isUp() const { return (interfaceFlags() & IFF_UP) != 0; }

void TapDevice::setUp(bool up) {
  ifreq request = requestFor(name_);
  request.ifr_flags = static_cast<short>(up ? (interfaceFlags() | IFF_UP) : (interfaceFlags() & ~unsigned{IFF_UP}));
  if (::ioctl(control_.get(), SIOCSIFFLAGS, &request) != 0)
    throwSystem(up ? "cannot set the interface up" : "cannot set the interface down", describe(name_, networkNamespace_), errno);
}

void TapDevice::setCarrier(bool connected) {
  int carrier = connected ? 1 : 0;
  if (::ioctl(tun_.get(), TUNSETCARRIER, &carrier) != 0)
    throwSystem("TUNSETCARRIER (needs Linux 5.0)", describe(name_, networkNamespace_), errno);
}

void TapDevice::setOffloads(const TapOffloads& offloads) {
  const std::string where = describe(name_, networkNamespace_);
  if (!vnetHeader_ && (offloads.checksum || offloads.tcp4 || offloads.tcp6 || offloads.ecn))
    throw TapError(TapError::Kind::Other, where + ": offloads need the virtio-net header (open with vnetHeader)");
  unsigned flags = 0;
  if (offloads.checksum) flags |= TUN_F_CSUM;
  // The kernel refuses segmentation offloads without checksum offload.
  if (offloads.checksum && offloads.tcp4) flags |= TUN_F_TSO4;
  if (offloads.checksum && offloads.tcp6) flags |= TUN_F_TSO6;
  if (offloads.checksum && (offloads.tcp4 || offloads.tcp6) && offloads.ecn) flags |= TUN_F_TSO_ECN;
  if (::ioctl(tun_.get(), TUNSETOFFLOAD, static_cast<unsigned long>(flags)) != 0) throwSystem("TUNSETOFFLOAD", where, errno);
}

void TapDevice::reopen(bool vnetHeader) {
  const std::string where = describe(name_, networkNamespace_);
  if (vnetHeader == vnetHeader_) return;
  // The new descriptor must be opened in the interface's namespace: TUNSETIFF looks the
  // name up in the namespace /dev/net/tun was opened in.
  auto attach = [&] {
    link::UniqueFd fresh(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fresh) throwSystem("cannot open /dev/net/tun", where, errno);
    if (::ioctl(tun_.get(), TUNSETPERSIST, 1) != 0) throwSystem("TUNSETPERSIST", where, errno);
    tun_.reset();  // a single-queue TAP takes one descriptor at a time
    ifreq request = requestFor(name_);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | (vnetHeader ? IFF_VNET_HDR : 0);
    const bool attached = ::ioctl(fresh.get(), TUNSETIFF, &request) == 0;
    const int err = errno;
    if (!attached) {
      // The interface stays (persistent) but has no descriptor: delete it rather than leak it.
      link::UniqueFd cleanup(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
      ifreq again = requestFor(name_);
      again.ifr_flags = IFF_TAP | IFF_NO_PI;
      if (cleanup && ::ioctl(cleanup.get(), TUNSETIFF, &again) == 0) ::ioctl(cleanup.get(), TUNSETPERSIST, 0);
      throwSystem("cannot re-attach to the TAP interface (TUNSETIFF)", where, err);
    }
    if (::ioctl(fresh.get(), TUNSETPERSIST, 0) != 0) throwSystem("TUNSETPERSIST", where, errno);
    if (vnetHeader) {
      int headerSize = static_cast<int>(kVnetHeaderSize);
      if (::ioctl(fresh.get(), TUNSETVNETHDRSZ, &headerSize) != 0) throwSystem("TUNSETVNETHDRSZ", where, errno);
    }
    tun_ = std::move(fresh);
  };
  if (networkNamespace_.empty()) {
    attach();
  } else {
    try {
      link::runInNetworkNamespace(networkNamespace_, attach);
    } catch (const link::LinkError& error) {
      throw TapError(TapError::Kind::Other, where + ": " + error.what());
    }
  }
  vnetHeader_ = vnetHeader;
}

std::size_t TapDevice::readFrames(std::span<TapFrameBuffer> buffers) {
  std::size_t filled = 0;
  std::array<std::byte, kVnetHeaderSize> header{};
  while (filled < buffers.size()) {
    TapFrameBuffer& buffer = buffers[filled];
    // One byte more than the buffer so an oversized frame shows as such instead of
    // arriving silently cut short.
    std::byte overflow{};
    iovec parts[3];
    int count = 0;
    if (vnetHeader_) parts[count++] = {header.data(), header.size()};
    parts[count++] = {buffer.storage.data(), buffer.storage.size()};
    parts[count++] = {&overflow, 1};
    const ssize_t got = ::readv(tun_.get(), parts, count);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      throwSystem("read", describe(name_, networkNamespace_), errno);
    }
    const std::size_t headerBytes = vnetHeader_ ? kVnetHeaderSize : 0;
    if (static_cast<std::size_t>(got) < headerBytes) continue;
    const std::size_t length = static_cast<std::size_t>(got) - headerBytes;
    if (length > buffer.storage.size()) {
      ++counters_->readTruncated;
      continue;
    }
    buffer.length = length;
    buffer.offload = {};
    if (vnetHeader_) {
      auto decoded = decodeVnetHeader(header);
      if (!decoded) {
        ++counters_->badVnetHeader;
        continue;
      }
      buffer.offload = *decoded;
    }
    ++counters_->framesRead;
    ++filled;
  }
  return filled;
}

std::size_t TapDevice::writeFrames(std::span<const TapFrame> frames) {
  std::size_t written = 0;
  std::array<std::byte, kVnetHeaderSize> header{};
  for (const TapFrame& frame : frames) {
    iovec parts[2];
    int count = 0;
    if (vnetHeader_) {
      encodeVnetHeader(frame.offload, header);
      parts[count++] = {header.data(), header.size()};
    }
    parts[count++] = {const_cast<std::byte*>(frame.data.data()), frame.data.size()};
    ssize_t done;
    do {
      done = ::writev(tun_.get(), parts, count);
    } while (done < 0 && errno == EINTR);
    if (done < 0) {
      ++counters_->writeErrors;
      break;
    }
    ++counters_->framesWritten;
    ++written;
  }
  return written;
}

TapCounters TapDevice::counters() const {
  constexpr auto relaxed = std::memory_order_relaxed;
  return {.framesRead = counters_->framesRead.load(relaxed),
          .framesWritten = counters_->framesWritten.load(relaxed),
          .readTruncated = counters_->readTruncated.load(relaxed),
          .badVnetHeader = counters_->badVnetHeader.load(relaxed),
          .writeErrors = counters_->writeErrors.load(relaxed)};
}

bool TapDevice::waitReadable(std::chrono::milliseconds timeout) const {
  pollfd waiter{.fd = tun_.get(), .events = POLLIN, .revents = 0};
  int ready;
  do {
    ready = ::poll(&waiter, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  return ready > 0 && (waiter.revents & POLLIN) != 0;
}

}  // namespace ndishost::host
