// Watches one Linux interface (the TAP an adapter is bound to) for what the NDIS adapter's
// receive filter must follow: IFF_UP, IFF_PROMISC, IFF_ALLMULTI, the MTU, and the
// link-layer multicast addresses the Linux stack has joined. The TAP binding maps a change
// to OID_GEN_CURRENT_PACKET_FILTER and OID_802_3_MULTICAST_LIST.
//
// How Linux exposes these (checked on 6.x): flag and MTU changes are announced as
// RTM_NEWLINK on the RTNLGRP_LINK rtnetlink group. Link-layer multicast memberships
// (dev_mc_add: IPv4/IPv6 group joins, `ip maddress add`) are announced nowhere — no
// RTM_NEWLINK, and RTM_GETMULTICAST only covers IP-level groups — so the list is read from
// /proc/net/dev_mcast each refresh(). The netlink socket is the wake-up; refresh() always
// re-reads the whole state, so a lost or coalesced notification cannot leave it stale.
// Raw NETLINK_ROUTE sockets, not libmnl: one request and one attribute walk do not need a
// library, and only the runtime libmnl0 (no headers) is installed.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "link/unique_fd.hpp"

namespace ndishost::host {

using LinkLayerAddress = std::array<std::uint8_t, 6>;

struct LinkSnapshot {
  bool exists = false;  // false once the interface is gone
  unsigned flags = 0;   // IFF_* as in ifinfomsg.ifi_flags
  unsigned mtu = 0;
  std::vector<LinkLayerAddress> multicast;  // sorted, without duplicates

  bool up() const;
  bool promiscuous() const;
  bool allMulticast() const;
  bool operator==(const LinkSnapshot&) const = default;
};

// What changed between two snapshots; the binding issues one OID per kind of change.
struct LinkChange {
  LinkSnapshot now;
  bool filterChanged = false;     // up / promiscuous / all-multicast
  bool mtuChanged = false;
  bool multicastChanged = false;
  bool removed = false;
};

// The receive filter the interface's state asks of the NIC, in NDIS terms but without
// NDIS types (the binding turns it into NDIS_PACKET_TYPE_* bits). An interface that is
// down receives nothing.
struct ReceiveFilter {
  bool directed = false, broadcast = false, multicast = false, allMulticast = false, promiscuous = false;
  bool operator==(const ReceiveFilter&) const = default;
};
ReceiveFilter receiveFilterFor(const LinkSnapshot& snapshot);

class LinkWatcher {
 public:
  // Watches interfaceIndex in the named namespace (empty: this process's). Throws
  // std::runtime_error when netlink or /proc cannot be opened there.
  static LinkWatcher open(int interfaceIndex, const std::string& networkNamespace = {});

  LinkWatcher(LinkWatcher&&) noexcept = default;
  LinkWatcher& operator=(LinkWatcher&&) noexcept = default;

  // Readable when rtnetlink announced something (poll it with the TAP fd).
  int fd() const { return events_.get(); }

  // Drains notifications, re-reads the state and returns the change from the last
  // snapshot, or nothing when nothing the binding cares about changed.
  std::optional<LinkChange> refresh();
  // Waits up to `timeout` for a notification, then refresh()es (multicast changes are
  // only seen by the re-read, so call this with a bounded timeout).
  std::optional<LinkChange> waitForChange(std::chrono::milliseconds timeout);

  const LinkSnapshot& snapshot() const { return last_; }

  // Parses /proc/net/dev_mcast text for one interface index (exposed for tests).
  static std::vector<LinkLayerAddress> parseDevMcast(const std::string& text, int interfaceIndex);

 private:
  LinkWatcher() = default;
  LinkSnapshot query();
  void drainEvents();

  int interfaceIndex_ = 0;
  link::UniqueFd events_;    // bound to RTNLGRP_LINK
  link::UniqueFd requests_;  // RTM_GETLINK requests
  link::UniqueFd devMcast_;  // /proc/net/dev_mcast of the namespace, re-read from offset 0
  std::uint32_t sequence_ = 0;
  LinkSnapshot last_;
};

}  // namespace ndishost::host
