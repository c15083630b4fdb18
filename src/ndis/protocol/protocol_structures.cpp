#include "ndis/protocol/protocol_structures.hpp"

#include <cstring>

#include "ndis/protocol/bind_target.hpp"
#include "ndis/protocol/protocol_driver.hpp"

namespace ndishost::ndis {
namespace {

NDIS_STRING stringOver(std::u16string& text) {
  NDIS_STRING s;
  s.Buffer = reinterpret_cast<PWCH>(text.data());
  s.Length = static_cast<USHORT>(text.size() * sizeof(WCHAR));
  s.MaximumLength = s.Length;
  return s;
}

std::u16string lastComponent(const std::u16string& path) {
  std::size_t slash = path.find_last_of(u'\\');
  return slash == std::u16string::npos ? path : path.substr(slash + 1);
}

}  // namespace

NET_LUID interfaceLuid(NET_IFINDEX ifIndex) {
  NET_LUID luid;
  luid.Value = 0;
  luid.Info.IfType = IF_TYPE_ETHERNET_CSMACD;
  luid.Info.NetLuidIndex = ifIndex;
  return luid;
}

void fillBindParameters(BindParametersStorage& storage, BindTarget& target, const ProtocolDriver& protocol) {
  NDIS_BIND_PARAMETERS& p = storage.parameters;
  std::memset(&p, 0, sizeof(p));
  BindParametersRevision revision = bindParametersRevisionFor(protocol.minorNdisVersion());
  p.Header.Type = NDIS_OBJECT_TYPE_BIND_PARAMETERS;
  p.Header.Revision = revision.revision;
  p.Header.Size = revision.size;

  storage.adapterName = target.adapterName();
  const NDIS_STRING& service = protocol.characteristics().Name;
  storage.protocolSection.assign(reinterpret_cast<const char16_t*>(service.Buffer), service.Length / sizeof(WCHAR));
  storage.protocolSection += u"\\Parameters\\Adapters\\";
  storage.protocolSection += lastComponent(storage.adapterName);
  storage.adapterNameString = stringOver(storage.adapterName);
  storage.protocolSectionString = stringOver(storage.protocolSection);
  p.ProtocolSection = &storage.protocolSectionString;
  p.AdapterName = &storage.adapterNameString;
  p.BoundAdapterName = &storage.adapterNameString;  // no filter modules above the miniport
  p.PhysicalDeviceObject = target.physicalDeviceObject();

  p.BoundIfIndex = target.ifIndex();
  p.BoundIfNetluid = interfaceLuid(target.ifIndex());
  p.LowestIfIndex = p.BoundIfIndex;
  p.LowestIfNetluid = p.BoundIfNetluid;
  p.CompartmentId = NET_IF_COMPARTMENT_ID_PRIMARY;

  // NDIS's copy of the miniport's offload configuration, not the miniport's memory.
  storage.defaultOffload = target.offloadConfiguration();
  p.DefaultOffloadConfiguration = storage.defaultOffload ? &storage.defaultOffload->get() : nullptr;

  // What the miniport said in NdisMSetMiniportAttributes. The other pointer members (power
  // management, RSS) stay NULL: the library does not keep the miniport's pointers.
  if (std::optional<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES> general = target.generalAttributes()) {
    const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES& g = *general;
    p.MediaType = g.MediaType;
    p.MtuSize = g.MtuSize;
    p.MaxXmitLinkSpeed = g.MaxXmitLinkSpeed;
    p.XmitLinkSpeed = g.XmitLinkSpeed;
    p.MaxRcvLinkSpeed = g.MaxRcvLinkSpeed;
    p.RcvLinkSpeed = g.RcvLinkSpeed;
    p.MediaConnectState = g.MediaConnectState;
    p.MediaDuplexState = g.MediaDuplexState;
    p.LookaheadSize = g.LookaheadSize;
    p.SupportedPacketFilters = g.SupportedPacketFilters;
    p.MaxMulticastListSize = g.MaxMulticastListSize;
    p.MacAddressLength = g.MacAddressLength;
    std::memcpy(p.CurrentMacAddress, g.CurrentMacAddress, sizeof(p.CurrentMacAddress));
    p.PhysicalMediumType = g.PhysicalMediumType;
    p.AccessType = g.AccessType;
    p.DirectionType = g.DirectionType;
    p.ConnectionType = g.ConnectionType;
    p.IfType = g.IfType;
    p.IfConnectorPresent = g.IfConnectorPresent;
    p.DataBackFillSize = g.DataBackFillSize;
    p.ContextBackFillSize = g.ContextBackFillSize;
    p.MacOptions = g.MacOptions;
  }
}

}  // namespace ndishost::ndis
