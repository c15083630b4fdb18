// What a protocol binds to: one adapter as the protocol side sees it.
//
// For a miniport adapter this is its name, PDO, interface index, the general and offload
// attributes the miniport set (NDIS_BIND_PARAMETERS comes from them) and its AdapterTraffic.
// The protocol side uses only this interface, so the binding state machine, the open and the
// data path can be exercised over any target (tests use a loopback one).
//
// BindingTraffic is the part of AdapterTraffic (traffic/adapter_traffic.hpp) a binding uses,
// with the same meaning; a miniport adapter's target forwards it to the adapter's traffic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ndis/core/ndis_ddk.hpp"
#include "ndis/core/offload_block.hpp"
#include "ndis/traffic/adapter_traffic.hpp"

namespace ndishost::ndis {

class BindingTraffic {
 public:
  virtual ~BindingTraffic() = default;
  virtual void attach(UpperBinding& binding) = 0;
  virtual void detach(UpperBinding& binding) = 0;
  virtual void send(UpperBinding& binding, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG sendFlags) = 0;
  virtual void returnNetBufferLists(UpperBinding& binding, PNET_BUFFER_LIST nbls, ULONG returnFlags) = 0;
  virtual NDIS_STATUS oidRequest(UpperBinding& binding, PNDIS_OID_REQUEST request) = 0;
  virtual void cancelSend(UpperBinding& binding, PVOID cancelId) = 0;
  virtual void cancelOidRequest(UpperBinding& binding, PVOID requestId) = 0;
};

class BindTarget {
 public:
  virtual ~BindTarget() = default;
  // What logs call it ("usbncm adapter 1").
  virtual std::string describe() const = 0;
  // NDIS_BIND_PARAMETERS.AdapterName / NDIS_OPEN_PARAMETERS.AdapterName ("\DEVICE\...").
  virtual std::u16string adapterName() const = 0;
  virtual PDEVICE_OBJECT physicalDeviceObject() const = 0;
  virtual NET_IFINDEX ifIndex() const = 0;
  // A copy of what the miniport set with NdisMSetMiniportAttributes (pointer members NULL).
  virtual std::optional<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES> generalAttributes() const = 0;
  // The current offload configuration (NDIS_BIND_PARAMETERS.DefaultOffloadConfiguration): the
  // miniport's offload attributes, updated by NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG; none
  // when it set no offload attributes.
  virtual std::optional<OffloadBlock> offloadConfiguration() const { return std::nullopt; }
  // True while the target moves data (a new binding is restarted right after its bind).
  virtual bool running() const = 0;
  // How long a binding's pause waits for sends the target still holds (milliseconds; 0: as
  // long as it takes). A miniport adapter says HangDetectionOptions::pauseDrainMs; the sends
  // it strands are completed to the binding when the adapter halts.
  virtual std::uint32_t pauseDrainMs() const { return 0; }
  virtual BindingTraffic& traffic() = 0;
};

}  // namespace ndishost::ndis
